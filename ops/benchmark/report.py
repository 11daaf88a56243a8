"""docs/benchmarks.md and the table printed to the terminal, from a run's figures."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ops.benchmark.procstat import OTHER_PROGRAMS
from ops.benchmark.results import LOAD_GENERATOR, BenchmarkResults, BotFigures, LevelFigures

COMMAND = ".venv/bin/telecom benchmark"
LATENCY_PLOT = "benchmarks/latency.png"
THROUGHPUT_PLOT = "benchmarks/throughput.png"
TARGET_P95_MS = 150
TARGET_CONCURRENCY = 10
# Everything after this line in docs/benchmarks.md is written by hand (what made messages slow
# and what changed) and survives regeneration.
KEPT_MARKER = (
    "<!-- Written by hand: `telecom benchmark` regenerates everything above this "
    "line and keeps everything below it. -->"
)


def milliseconds(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def rate(value: float) -> str:
    return f"{value:.1f}"


# The columns of the latency table: header, figure, format.
LATENCY_FIGURES: list[tuple[str, Callable[[LevelFigures], float], Callable[[float], str]]] = [
    ("p50 ms", lambda level: level.p50_ms, milliseconds),
    ("p95 ms", lambda level: level.p95_ms, milliseconds),
    ("p99 ms", lambda level: level.p99_ms, milliseconds),
    ("mean ms", lambda level: level.mean_ms, milliseconds),
    ("max ms", lambda level: level.max_ms, milliseconds),
    ("messages/s", lambda level: level.messages_per_second, rate),
]


def ratio(ours: float | None, theirs: float | None) -> str:
    """How many times the baseline's figure ours is: 2.0× is twice as much."""
    if ours is None or not theirs:
        return "–"
    return f"{ours / theirs:.2f}×"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    return "\n".join(
        "  ".join(
            cell.rjust(width) if index else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths))
        )
        for row in [header, *rows]
    )


def bots(results: BenchmarkResults) -> list[BotFigures]:
    return [results.assistant, *([results.baseline] if results.baseline else [])]


def latency_rows(results: BenchmarkResults) -> list[list[str]]:
    rows = []
    for concurrency in results.settings.concurrency:
        for bot in bots(results):
            level = bot.level(concurrency)
            if level is None:  # a run stopped before this level
                continue
            rows.append(
                [
                    bot.name,
                    str(concurrency),
                    str(level.messages),
                    str(level.errors),
                    *(shown(figure(level)) for _, figure, shown in LATENCY_FIGURES),
                ]
            )
        ours = results.assistant.level(concurrency)
        theirs = results.baseline.level(concurrency) if results.baseline else None
        if ours is not None and theirs is not None:
            rows.append(
                [
                    "ratio",
                    str(concurrency),
                    "",
                    "",
                    *(ratio(figure(ours), figure(theirs)) for _, figure, _ in LATENCY_FIGURES),
                ]
            )
    return rows


def latency_header() -> list[str]:
    return [
        "bot",
        "customers at once",
        "messages",
        "errors",
        *(name for name, _, _ in LATENCY_FIGURES),
    ]


def resource_rows(results: BenchmarkResults) -> list[list[str]]:
    rows = []
    for bot in bots(results):
        processes = [*bot.peak_rss_mb, LOAD_GENERATOR, OTHER_PROGRAMS]
        for process in processes:
            peak = bot.peak_rss_mb.get(process)
            rows.append(
                [
                    bot.name,
                    process,
                    *(
                        f"{level.cpu_percent[process]:.0f} %" if level else "–"
                        for level in map(bot.level, results.settings.concurrency)
                    ),
                    f"{peak:.0f}" if peak is not None else "–",
                ]
            )
    return rows


def resource_header(results: BenchmarkResults) -> list[str]:
    return [
        "bot",
        "process",
        *(f"CPU at {c}" for c in results.settings.concurrency),
        "peak memory MB",
    ]


def startup_rows(results: BenchmarkResults) -> list[list[str]]:
    ours, theirs = results.assistant, results.baseline
    rows = []
    for process, seconds in ours.startup_seconds.items():
        baseline_seconds = theirs.startup_seconds.get(process) if theirs else None
        rows.append(
            [
                f"{process} start-up (spawn until it answers)",
                f"{seconds:.1f} s",
                f"{baseline_seconds:.1f} s" if baseline_seconds is not None else "–",
                ratio(seconds, baseline_seconds),
            ]
        )
    rows.append(
        [
            "first reply after start-up",
            f"{ours.first_reply_ms:.0f} ms",
            f"{theirs.first_reply_ms:.0f} ms" if theirs else "–",
            ratio(ours.first_reply_ms, theirs.first_reply_ms if theirs else None),
        ]
    )
    ours_training = ours.training.seconds if ours.training else None
    theirs_training = theirs.training.seconds if theirs and theirs.training else None
    rows.append(
        [
            "training from scratch",
            f"{ours_training:.0f} s (measured {ours.training.measured_on})"
            if ours.training
            else "not measured yet",
            f"{theirs_training:.0f} s" if theirs_training is not None else "–",
            ratio(ours_training, theirs_training),
        ]
    )
    return rows


def startup_header(results: BenchmarkResults) -> list[str]:
    return [
        "",
        results.assistant.name,
        results.baseline.name if results.baseline else "baseline (not run)",
        "ratio",
    ]


def step_rows(results: BenchmarkResults) -> list[list[str]]:
    ours, theirs = results.assistant, results.baseline
    return [
        [
            step,
            milliseconds(median),
            milliseconds(theirs.step_median_ms[step])
            if theirs and step in theirs.step_median_ms
            else "–",
        ]
        for step, median in ours.step_median_ms.items()
    ]


def target_sentence(results: BenchmarkResults) -> str:
    level = results.assistant.level(TARGET_CONCURRENCY)
    if level is None:
        return ""
    verdict = "meets" if level.p95_ms < TARGET_P95_MS else "misses"
    return (
        f"At {TARGET_CONCURRENCY} customers at once the assistant's p95 is "
        f"{milliseconds(level.p95_ms)} ms: it {verdict} the target of {TARGET_P95_MS} ms.\n\n"
    )


def render_markdown(results: BenchmarkResults) -> str:
    settings, machine = results.settings, results.machine
    baseline_name = results.baseline.name if results.baseline else "the baseline"
    lowest = min(settings.concurrency)
    sections = [
        "# Benchmarks\n",
        "How fast the assistant answers over Rasa's REST channel, and what that costs in CPU "
        "and memory, beside Rasa's own starter bot (`rasa init`: the mood bot with Rasa's "
        "default config) under the same load on the same machine in the same run. Every "
        "figure here, and both plots, come from one command:\n",
        f"```sh\n{COMMAND}    # --help for the options\n```\n",
        "It writes this page (all but the hand-written section at the end), the plots in "
        "`docs/benchmarks/` and the figures as JSON in `docs/benchmarks/results.json`, and "
        "prints the tables. Benchmarks are a script that prints numbers, not timed tests.\n",
        "## Machine\n",
        markdown_table(["", ""], machine.rows()) + "\n",
        "## How it is measured\n",
        "- **The assistant** runs as `telecom run` starts it: `rasa run actions` and `rasa run` "
        "with the project's `endpoints.yml` (conversations in a SQLite tracker store) and "
        "`credentials.yml`, on free ports, over a freshly seeded SQLite account database; the "
        "newest model in `models/`.\n"
        f"- **The baseline**, {baseline_name}, is made by `rasa init --no-prompt` in a temporary "
        "directory (which trains it: that is its training time) and run with `rasa run` as "
        "`rasa init` leaves it (in-memory tracker store, no custom actions).\n"
        "- **Customers**: at each concurrency level that many simulated customers talk at "
        "once, each with its own sender id and demo line (lines are shared round-robin beyond "
        "22, and customers who share a line take turns at verification), half in English, "
        "half in Chinese. A conversation is nine messages: a greeting, a usage question "
        "that needs verification, the phone number, the one-time code read from the SMS "
        "outbox (which also answers the usage question), the bill, the price of a plan, "
        'cancelling an add-on (or listing them, on lines without), "no" at the '
        "confirmation, and thanks. A finished conversation is followed by a new one under a "
        "new sender id. The baseline gets exactly the same texts (its answers do not matter).\n"
        f"- **Pacing**: after each answer a customer pauses {settings.think_seconds:.1f} s on "
        f"average (evenly between {0.5 * settings.think_seconds:.1f} and "
        f"{1.5 * settings.think_seconds:.1f} s) before the next message, faster than people "
        f"type; customers join spread over the first pause. Each level runs "
        f"{settings.describe_length()}, after one warm-up conversation.\n"
        "- **Latency** is one message's round trip, from sending the POST to "
        "`/webhooks/rest/webhook` until the whole answer arrived, measured by the load "
        "generator (asyncio and httpx), which shares the machine's cores with the servers. "
        "**Messages/s** counts answered messages over the level's wall time. **CPU** is each "
        "process's user and system time over the level's wall time (from `/proc`; 100 % is one "
        "core busy). **Peak memory** is each server's largest resident set (VmHWM). "
        "**Ratio** is the assistant's figure divided by the baseline's.\n",
        "## Latency and throughput\n",
        target_sentence(results) + markdown_table(latency_header(), latency_rows(results)) + "\n",
        f"![Latency distribution per concurrency, assistant and baseline]({LATENCY_PLOT})\n",
        f"![Messages per second and p95 latency against concurrency]({THROUGHPUT_PLOT})\n",
        "## Where a conversation's time goes\n",
        f"Median round trip of each message of the conversation at {lowest} customer"
        f"{'s' if lowest > 1 else ''} at once.\n\n"
        + markdown_table(
            ["message", f"{results.assistant.name} ms", f"{baseline_name} ms"], step_rows(results)
        )
        + "\n",
        "## CPU and memory per process\n",
        "CPU at each concurrency level (customers at once); peak memory over the whole run. "
        "The load generator's CPU is the price of measuring on the same machine; \"other "
        'programs" is what everything else on the machine took from the same cores meanwhile '
        "(near 0 % on an otherwise idle machine).\n\n"
        + markdown_table(resource_header(results), resource_rows(results))
        + "\n",
        "## Start-up and training\n",
        "Start-up is from spawning the process until its health check answers (Rasa's "
        "answers once the model is loaded). The assistant's training is `rasa train --force` "
        "of the project into a temporary directory (skipped with `--skip-training`: the last "
        "measured figure is shown with its date); the baseline's is `rasa init`.\n\n"
        + markdown_table(startup_header(results), startup_rows(results))
        + "\n",
    ]
    return "\n".join(sections) + "\n" + KEPT_MARKER + "\n"


def with_kept_section(generated: str, existing: str | None) -> str:
    """The generated page, followed by the hand-written part of the existing one."""
    if existing and KEPT_MARKER in existing:
        return generated + "\n" + existing.split(KEPT_MARKER, 1)[1].lstrip("\n")
    return generated


def render_terminal(results: BenchmarkResults) -> str:
    return "\n\n".join(
        [
            text_table(latency_header(), latency_rows(results)),
            text_table(resource_header(results), resource_rows(results)),
            text_table(startup_header(results), startup_rows(results)),
        ]
    )
