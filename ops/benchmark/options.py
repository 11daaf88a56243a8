"""What a benchmark run is asked to do: light enough for the CLI's parser to import."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path


def concurrency_levels(text: str) -> list[int]:
    """`--concurrency 1,10,50`: distinct positive numbers, in increasing order."""
    try:
        levels = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers"
        ) from None
    if not levels or levels[0] < 1:
        raise argparse.ArgumentTypeError("concurrency levels must be 1 or more")
    return levels


def rasa_server_count(text: str) -> int:
    """`--production 2`: how many Rasa servers, 1 or more."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of Rasa servers, 1 or more")
    return int(text)


def line_count(text: str) -> int:
    """`--lines 100000` (or 100_000, 100,000): how many lines to generate, 1 or more."""
    count = text.replace("_", "").replace(",", "")
    if not count.isdigit() or int(count) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of lines, 1 or more")
    return int(count)


# The lines `telecom benchmark --reminders` generates beside the demo's.
DEFAULT_REMINDER_LINES = 100_000

# The machines' PostgreSQL, whose `postgres` user may create databases.
DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class LoadSettings:
    """How hard and how long the simulated customers talk."""

    concurrency: list[int]
    think_seconds: float
    duration_seconds: float | None
    conversations_per_customer: int | None

    def describe_length(self) -> str:
        if self.conversations_per_customer is not None:
            return (
                f"until each customer has finished {self.conversations_per_customer} conversations"
            )
        return f"for {self.duration_seconds:.0f} s"


@dataclass(frozen=True)
class BenchmarkOptions:
    model: Path
    settings: LoadSettings
    skip_baseline: bool
    skip_training: bool
    # The production profile with this many Rasa servers instead of the embedded one; None:
    # the embedded profile. Its database is made through postgres_admin_url.
    production: int | None = None
    postgres_admin_url: str = DEFAULT_POSTGRES_ADMIN_URL
