"""The report's plots: latency distribution per concurrency level, and throughput and p95
against concurrency, the assistant beside the baseline."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server or in CI

import matplotlib.pyplot as plt
from matplotlib import ticker

from ops.benchmark.load import LevelRun
from ops.benchmark.report import TARGET_P95_MS
from ops.benchmark.results import BenchmarkResults

COLOURS = ("tab:blue", "tab:orange")


def milliseconds_axis(axis: matplotlib.axis.Axis) -> None:
    """Log scale labelled in plain numbers (20, 50, 100…) rather than powers of ten; only
    decades when the data spans more than about one and a half of them. Call after plotting."""
    low, high = axis.get_view_interval()
    subs = (1, 2, 5) if math.log10(high / low) <= 1.6 else (1,)
    axis.set_major_locator(ticker.LogLocator(subs=subs))
    axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def plot_latency_distribution(path: Path, runs: Mapping[str, Sequence[LevelRun]]) -> None:
    """One panel per concurrency level: the share of messages answered within x ms (an
    empirical distribution function), so p50 and p95 can be read off at 0.5 and 0.95."""
    levels = [run.concurrency for run in next(iter(runs.values()))]
    figure, axes = plt.subplots(
        1, len(levels), figsize=(4.2 * len(levels), 3.8), sharey=True, squeeze=False
    )
    for axis, concurrency in zip(axes[0], levels):
        for colour, (bot, bot_runs) in zip(COLOURS, runs.items()):
            run = next(run for run in bot_runs if run.concurrency == concurrency)
            latencies = sorted(run.latencies_ms)
            shares = [(rank + 1) / len(latencies) for rank in range(len(latencies))]
            axis.step(latencies, shares, where="post", color=colour, label=bot)
        axis.axvline(TARGET_P95_MS, color="grey", linestyle=":", label=f"{TARGET_P95_MS} ms")
        axis.axhline(0.95, color="grey", linestyle="--", linewidth=0.7)
        axis.set_xscale("log")
        milliseconds_axis(axis.xaxis)
        axis.set_title(f"{concurrency} customer{'s' if concurrency > 1 else ''} at once")
        axis.set_xlabel("round trip (ms, log scale)")
        axis.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("share of messages answered within")
    axes[0][0].legend(loc="lower right", fontsize="small")
    _save(figure, path)


def plot_throughput(path: Path, results: BenchmarkResults) -> None:
    bots = [results.assistant, *([results.baseline] if results.baseline else [])]
    figure, (throughput, p95) = plt.subplots(1, 2, figsize=(10, 3.8))
    for colour, bot in zip(COLOURS, bots):
        concurrency = [level.concurrency for level in bot.levels]
        throughput.plot(
            concurrency,
            [level.messages_per_second for level in bot.levels],
            marker="o",
            color=colour,
            label=bot.name,
        )
        p95.plot(
            concurrency,
            [level.p95_ms for level in bot.levels],
            marker="o",
            color=colour,
            label=bot.name,
        )
    throughput.set_ylabel("messages answered per second")
    p95.axhline(TARGET_P95_MS, color="grey", linestyle=":", label=f"target {TARGET_P95_MS} ms")
    p95.set_ylabel("p95 round trip (ms, log scale)")
    p95.set_yscale("log")
    milliseconds_axis(p95.yaxis)
    for axis in (throughput, p95):
        axis.set_xlabel("customers at once")
        axis.set_xscale("log")
        axis.set_xticks(results.settings.concurrency)
        axis.set_xticklabels([str(c) for c in results.settings.concurrency])
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small")
    _save(figure, path)


def _save(figure: plt.Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
