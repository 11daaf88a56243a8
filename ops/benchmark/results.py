"""A benchmark run's figures, as the report shows them and as docs/benchmarks/results.json
keeps them (the next run reads the training time back when it skips training)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ops.benchmark.load import LevelRun
from ops.benchmark.machine import Machine
from ops.benchmark.options import LoadSettings
from ops.benchmark.procstat import Snapshot, cpu_percent
from ops.benchmark.stats import percentile

LOAD_GENERATOR = "load generator"


@dataclass(frozen=True)
class LevelFigures:
    concurrency: int
    messages: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    messages_per_second: float
    # By process, the load generator and all other programs on the machine included.
    cpu_percent: dict[str, float]

    @classmethod
    def of(cls, run: LevelRun, before: Snapshot, after: Snapshot) -> LevelFigures:
        summary = run.summary()
        return cls(
            concurrency=run.concurrency,
            messages=summary.messages,
            errors=run.errors,
            p50_ms=summary.p50_ms,
            p95_ms=summary.p95_ms,
            p99_ms=summary.p99_ms,
            mean_ms=summary.mean_ms,
            max_ms=summary.max_ms,
            messages_per_second=run.messages_per_second,
            cpu_percent=cpu_percent(before, after),
        )


@dataclass(frozen=True)
class Training:
    seconds: float
    measured_on: str  # the date of the run that measured it


@dataclass(frozen=True)
class BotFigures:
    name: str
    startup_seconds: dict[str, float]  # by server process, spawn until its health answered
    first_reply_ms: float  # the first message after start-up (models warm up on it)
    training: Training | None
    levels: list[LevelFigures]
    peak_rss_mb: dict[str, float]  # by server process, over the whole run
    step_median_ms: dict[str, float] = field(default_factory=dict)  # at the lowest level

    def level(self, concurrency: int) -> LevelFigures | None:
        return next((level for level in self.levels if level.concurrency == concurrency), None)


def step_medians(run: LevelRun) -> dict[str, float]:
    """The median round trip of each step of the conversation, in conversation order."""
    by_step: dict[str, list[float]] = {}
    for message in run.messages:
        if message.ok:
            by_step.setdefault(message.step, []).append(message.latency_ms)
    return {step: percentile(latencies, 50) for step, latencies in by_step.items()}


@dataclass(frozen=True)
class BenchmarkResults:
    machine: Machine
    settings: LoadSettings
    assistant: BotFigures
    baseline: BotFigures | None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )


def last_training(path: Path) -> Training | None:
    """The assistant's training time from the last run that measured it, if any."""
    if not path.exists():
        return None
    training = json.loads(path.read_text(encoding="utf-8"))["assistant"].get("training")
    return Training(**training) if training else None
