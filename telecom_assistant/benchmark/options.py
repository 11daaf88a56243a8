"""What a benchmark run is asked to do: light enough for the CLI's parser to import."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Optional


def concurrency_levels(text: str) -> list[int]:
    """`--concurrency 1,10,50`: distinct positive numbers, in increasing order."""
    try:
        levels = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers")
    if not levels or levels[0] < 1:
        raise argparse.ArgumentTypeError("concurrency levels must be 1 or more")
    return levels


@dataclass(frozen=True)
class Settings:
    concurrency: list[int]
    think_seconds: float
    duration_seconds: Optional[float]
    conversations_per_customer: Optional[int]

    def describe_length(self) -> str:
        if self.conversations_per_customer is not None:
            return f"until each customer has finished {self.conversations_per_customer} conversations"
        return f"for {self.duration_seconds:.0f} s"


@dataclass(frozen=True)
class BenchmarkOptions:
    model: Path
    settings: Settings
    skip_baseline: bool
    skip_training: bool
