"""`telecom benchmark`: train (timed), start each bot, warm it up, run every concurrency level
against it while sampling its processes, then write the report, the plots and the JSON. With
`--production N` the assistant is the production profile with N Rasa servers instead, and its
figures go to docs/benchmarks/production.json and the terminal only: the report describes the
assistant as `telecom run` starts it."""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from ops.benchmark.bots import (
    RunningBot,
    assistant,
    baseline,
    production_assistant,
    train_assistant,
    train_baseline,
)
from ops.benchmark.load import LevelRun, LoadSchedule, run_level
from ops.benchmark.machine import describe_machine
from ops.benchmark.options import BenchmarkOptions, LoadSettings
from ops.benchmark.plots import plot_latency_distribution, plot_throughput
from ops.benchmark.procstat import Snapshot, sample
from ops.benchmark.report import (
    LATENCY_PLOT,
    THROUGHPUT_PLOT,
    render_markdown,
    render_terminal,
    with_kept_section,
)
from ops.benchmark.results import (
    LOAD_GENERATOR,
    BenchmarkResults,
    BotFigures,
    LevelFigures,
    Training,
    last_training,
    step_medians,
)
from telecom_assistant.database import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"
REPORT = DOCS / "benchmarks.md"
RESULTS_JSON = DOCS / "benchmarks" / "results.json"
PRODUCTION_RESULTS_JSON = DOCS / "benchmarks" / "production.json"
# Lets the servers finish what the last level left (tracker writes, logging) before the next.
SETTLE_SECONDS = 3


def schedule(settings: LoadSettings, concurrency: int) -> LoadSchedule:
    return LoadSchedule(
        concurrency,
        settings.think_seconds,
        settings.duration_seconds,
        settings.conversations_per_customer,
    )


def snapshot(bot: RunningBot) -> Snapshot:
    return Snapshot.take(
        {**{server.name: server.process.pid for server in bot.servers}, LOAD_GENERATOR: os.getpid()}
    )


async def measure(
    bot: RunningBot, settings: LoadSettings, training: Training | None
) -> tuple[BotFigures, list[LevelRun]]:
    """One warm-up conversation, then each level in turn."""
    run_name = f"bench-{datetime.now(timezone.utc):%H%M%S}"
    warm_up = await run_level(
        bot.url,
        LoadSchedule(1, think_seconds=0, conversations_per_customer=1),
        bot.read_code,
        f"{run_name}-warm-up",
    )
    runs, levels = [], []
    for concurrency in settings.concurrency:
        print(f"  {bot.name}: {concurrency} at once…", flush=True)
        await asyncio.sleep(SETTLE_SECONDS)
        before = snapshot(bot)
        run = await run_level(
            bot.url, schedule(settings, concurrency), bot.read_code, f"{run_name}-{concurrency}"
        )
        levels.append(LevelFigures.of(run, before, snapshot(bot)))
        runs.append(run)
    figures = BotFigures(
        name=bot.name,
        startup_seconds={server.name: server.startup_seconds for server in bot.servers},
        first_reply_ms=warm_up.messages[0].latency_ms,
        training=training,
        levels=levels,
        peak_rss_mb={server.name: sample(server.process.pid).peak_rss_mb for server in bot.servers},
        step_median_ms=step_medians(runs[0]),
    )
    return figures, runs


def today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


def run_benchmark(options: BenchmarkOptions) -> int:
    settings, machine = options.settings, describe_machine()
    with tempfile.TemporaryDirectory(prefix="telecom-benchmark-") as temporary:
        workdir = Path(temporary)
        for name in ("training", "assistant", "baseline"):
            (workdir / name).mkdir()
        if options.skip_training:
            training = last_training(RESULTS_JSON)
        else:
            print("Training the assistant from scratch (rasa train --force)…", flush=True)
            training = Training(train_assistant(workdir / "training"), today())
        print(f"Starting the assistant ({options.model.name})…", flush=True)
        starting = (
            production_assistant(
                options.model, workdir / "assistant", options.postgres_admin_url, options.production
            )
            if options.production
            else assistant(options.model, workdir / "assistant")
        )
        with starting as bot:
            ours, our_runs = asyncio.run(measure(bot, settings, training))
        runs = {ours.name: our_runs}
        theirs = None
        if not options.skip_baseline:
            print("Creating and training the baseline (rasa init)…", flush=True)
            model, seconds = train_baseline(workdir / "baseline")
            with baseline(model, workdir / "baseline") as bot:
                theirs, their_runs = asyncio.run(measure(bot, settings, Training(seconds, today())))
            runs[theirs.name] = their_runs
    results = BenchmarkResults(machine, settings, ours, theirs)
    if options.production:
        results.save(PRODUCTION_RESULTS_JSON)
        print("\n" + render_terminal(results))
        print(f"\nWrote {PRODUCTION_RESULTS_JSON.relative_to(PROJECT_ROOT)}.")
        return 0
    results.save(RESULTS_JSON)
    plot_latency_distribution(DOCS / LATENCY_PLOT, runs)
    plot_throughput(DOCS / THROUGHPUT_PLOT, results)
    existing = REPORT.read_text(encoding="utf-8") if REPORT.exists() else None
    REPORT.write_text(with_kept_section(render_markdown(results), existing), encoding="utf-8")
    print("\n" + render_terminal(results))
    print(
        f"\nWrote {REPORT.relative_to(PROJECT_ROOT)} and its plots in "
        f"{(DOCS / 'benchmarks').relative_to(PROJECT_ROOT)}/."
    )
    return 0
