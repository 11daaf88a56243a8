"""`telecom benchmark --reminders` on a few generated lines: it runs in seconds, prints the
scan's cost per line and the estimate for a million lines, and writes the figures it printed.
(The figures themselves are the benchmark's business, not a test's.)"""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest

from demo.seed import DEMO_LINES
from ops.benchmark.reminders import measure_reminders
from telecom_assistant.settings import Settings
from tests.conftest import POSTGRES_ADMIN_URL, postgres_available, service_missing

GENERATED = 200


@pytest.fixture(scope="module")
def benchmark_run(tmp_path_factory) -> tuple[str, list[dict]]:
    """What one run printed, and the figures it wrote: SQLite, and PostgreSQL when it answers."""
    results = tmp_path_factory.mktemp("benchmark") / "reminders.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert measure_reminders(Settings(), GENERATED, False, POSTGRES_ADMIN_URL, results) == 0
    return printed.getvalue(), json.loads(results.read_text(encoding="utf-8"))["scans"]


def printed_row(printed: str, database: str, base: str) -> list[str]:
    row = re.search(rf"^\| {database} \| {base} \|.*\|$", printed, re.MULTILINE)
    assert row is not None, printed
    return [cell.strip() for cell in row.group().strip("|").split("|")]


def check_scans(printed: str, scans: list[dict], database: str) -> None:
    demo, generated = (scan for scan in scans if scan["database"] == database)
    assert demo["lines"] == len(DEMO_LINES)
    assert generated["lines"] == len(DEMO_LINES) + GENERATED
    # The generated lines are due reminders, a minority of them, as on an ordinary day.
    assert 0.03 < (generated["due"] - demo["due"]) / GENERATED < 0.3
    for scan in (demo, generated):
        # Inside the sending hours, with nobody opted out, the first scan sends all that is
        # due, and the steady state nothing at all.
        assert scan["sent"] == scan["due"] and scan["sent_again"] == 0
        assert scan["steady_statements"] < scan["first_statements"]
    row = printed_row(printed, database, "generated")
    first_us = generated["first_seconds"] / generated["lines"] * 1e6
    steady_us = generated["steady_seconds"] / generated["lines"] * 1e6
    assert row[2] == f"{generated['lines']:,}"
    assert (row[5], row[7]) == (f"{first_us:.0f}", f"{steady_us:.0f}")
    estimate = re.search(
        rf"{database}, estimated from {generated['lines']:,} lines: "
        r"first scan ([\d,]+) s, steady scan ([\d,]+) s",
        printed,
    )
    assert estimate is not None, printed
    # A microsecond a line is a second for a million lines.
    assert float(estimate.group(2).replace(",", "")) == pytest.approx(steady_us, abs=0.5)


def test_the_benchmark_prints_the_cost_per_line_and_the_estimate_for_a_million(benchmark_run):
    printed, scans = benchmark_run
    assert "1,000,000 lines" in printed
    check_scans(printed, scans, "SQLite")


@pytest.mark.postgres
def test_the_benchmark_measures_postgresql_too(benchmark_run):
    if not postgres_available():
        service_missing(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}", "the PostgreSQL tests"
        )
    check_scans(*benchmark_run, "PostgreSQL")
