"""The benchmark's pure parts: percentiles, the load schedule, the simulated customers, /proc
parsing, the report; and the load generator against a fake REST channel. No model needed."""

from __future__ import annotations

import argparse
import asyncio
import json
import random

import pytest
from aiohttp import web

from demo.seed import DEMO_LINES
from ops.benchmark.conversations import (
    ONE_TIME_CODE,
    PHONE_NUMBER,
    conversation,
    customers,
)
from ops.benchmark.load import REST_WEBHOOK, LevelRun, LoadSchedule, Message, run_level
from ops.benchmark.machine import Machine
from ops.benchmark.options import (
    LoadSettings,
    concurrency_levels,
    line_count,
    rasa_server_count,
)
from ops.benchmark.procstat import (
    CLOCK_TICKS_PER_SECOND,
    OTHER_PROGRAMS,
    ProcessSample,
    Snapshot,
    busy_seconds_from_proc_stat,
    cpu_percent,
    cpu_seconds_from_stat,
    kilobytes_from_status,
)
from ops.benchmark.report import (
    KEPT_MARKER,
    LATENCY_PLOT,
    THROUGHPUT_PLOT,
    ratio,
    render_markdown,
    render_terminal,
    with_kept_section,
)
from ops.benchmark.results import (
    BenchmarkResults,
    BotFigures,
    LevelFigures,
    Training,
    last_training,
    step_medians,
)
from ops.benchmark.stats import LatencySummary, percentile
from ops.launcher import free_port


# --- percentiles --------------------------------------------------------------------------
def test_percentiles_interpolate_between_ranks_like_numpy():
    values = [15, 20, 35, 40, 50]
    assert percentile(values, 0) == 15
    assert percentile(values, 50) == 35
    assert percentile(values, 100) == 50
    assert percentile(values, 40) == pytest.approx(29.0)  # rank 1.6: 20 + 0.6 * 15
    assert percentile(values, 95) == pytest.approx(48.0)


def test_percentiles_do_not_care_about_order_and_take_one_value():
    assert percentile([3, 1, 2], 50) == 2
    assert percentile([7.5], 99) == 7.5


@pytest.mark.parametrize("values, q", [([], 50), ([1], -1), ([1], 101)])
def test_percentiles_refuse_nonsense(values, q):
    with pytest.raises(ValueError):
        percentile(values, q)


def test_latency_summary():
    summary = LatencySummary.of([float(ms) for ms in range(1, 101)])
    assert summary.messages == 100
    assert summary.p50_ms == pytest.approx(50.5)
    assert summary.p95_ms == pytest.approx(95.05)
    assert summary.p99_ms == pytest.approx(99.01)
    assert summary.mean_ms == pytest.approx(50.5)
    assert summary.max_ms == 100


# --- the load schedule --------------------------------------------------------------------
def test_a_schedule_has_a_duration_or_a_number_of_conversations():
    with pytest.raises(ValueError):
        LoadSchedule(10, think_seconds=1)
    with pytest.raises(ValueError):
        LoadSchedule(10, think_seconds=1, duration_seconds=60, conversations_per_customer=2)


def test_customers_join_spread_over_one_pause():
    schedule = LoadSchedule(4, think_seconds=2, duration_seconds=60)
    assert [schedule.start_delay(index) for index in range(4)] == [0, 0.5, 1.0, 1.5]


def test_pauses_stay_within_half_and_one_and_a_half_times_the_mean():
    schedule = LoadSchedule(1, think_seconds=2, duration_seconds=60)
    rng = random.Random(1)
    pauses = [schedule.pause(rng) for _ in range(1000)]
    assert min(pauses) >= 1 and max(pauses) <= 3
    assert sum(pauses) / len(pauses) == pytest.approx(2, abs=0.1)
    assert LoadSchedule(1, think_seconds=0, duration_seconds=60).pause(rng) == 0


def test_a_duration_stops_customers_and_a_count_lets_them_finish():
    timed = LoadSchedule(1, think_seconds=1, duration_seconds=60)
    assert timed.keeps_talking(59.9, conversations_finished=5)
    assert not timed.keeps_talking(60, conversations_finished=0)
    counted = LoadSchedule(1, think_seconds=1, conversations_per_customer=2)
    assert counted.keeps_talking(1e6, conversations_finished=1)
    assert not counted.keeps_talking(0, conversations_finished=2)


def test_concurrency_levels_from_the_command_line():
    assert concurrency_levels("50,1,10") == [1, 10, 50]
    assert concurrency_levels("10, 10,") == [10]
    for wrong in ("", "0,5", "one,two"):
        with pytest.raises(argparse.ArgumentTypeError):
            concurrency_levels(wrong)


def test_the_production_profile_needs_at_least_one_rasa_server():
    assert rasa_server_count("2") == 2
    for wrong in ("0", "-1", "two", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            rasa_server_count(wrong)


def test_the_reminder_benchmark_generates_one_line_or_more():
    assert [line_count(text) for text in ("1", "100000", "100_000", "1,000,000")] == [
        1,
        100_000,
        100_000,
        1_000_000,
    ]
    for wrong in ("0", "-5", "1e6", "many", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            line_count(wrong)


# --- the simulated customers --------------------------------------------------------------
def test_customers_have_their_own_line_until_the_lines_run_out():
    crowd = customers(50)
    assert len({customer.msisdn for customer in crowd[: len(DEMO_LINES)]}) == len(DEMO_LINES)
    assert crowd[len(DEMO_LINES)].msisdn == crowd[0].msisdn
    assert {customer.language for customer in crowd} == {"en", "zh"}


def test_every_conversation_verifies_once_then_asks_for_account_data():
    for customer in customers(len(DEMO_LINES)):
        turns = conversation(customer)
        texts = [turn.text for turn in turns]
        assert texts.count(PHONE_NUMBER) == 1
        assert texts.index(ONE_TIME_CODE) == texts.index(PHONE_NUMBER) + 1
        assert len(turns) == 9 and len({turn.step for turn in turns}) == 9


def test_lines_with_add_ons_cancel_one_and_lines_without_list_them():
    by_line = {customer.msisdn: customer for customer in customers(len(DEMO_LINES))}
    zhu_tao = by_line["13800000014"]  # five add-ons, the first a Music Pack
    assert "cancel an add-on" in [turn.step for turn in conversation(zhu_tao)]
    assert any("Music Pack" in turn.text or "音乐包" in turn.text for turn in conversation(zhu_tao))
    wang_fang = by_line["13800000002"]  # no add-ons
    assert "list add-ons" in [turn.step for turn in conversation(wang_fang)]


# --- /proc ---------------------------------------------------------------------------------
def test_cpu_time_is_read_after_the_command_name_even_with_spaces_and_parentheses():
    # pid (comm) state ppid ... utime=300 stime=100 cutime=50 cstime=50 (ticks)
    fields = ["S", "1"] + ["0"] * 9 + ["300", "100", "50", "50"] + ["20"] * 10
    stat = "4242 (rasa run (a) b) " + " ".join(fields)
    assert cpu_seconds_from_stat(stat) == pytest.approx(500 / CLOCK_TICKS_PER_SECOND)


def test_peak_memory_comes_from_the_status_file():
    status = "Name:\tpython\nVmPeak:\t 900000 kB\nVmHWM:\t  524288 kB\nVmRSS:\t 400000 kB\n"
    assert kilobytes_from_status(status, "VmHWM") == 524288
    with pytest.raises(KeyError):
        kilobytes_from_status(status, "VmSwap")


def test_the_machine_is_busy_with_all_but_idle_and_disk_waits():
    ticks = CLOCK_TICKS_PER_SECOND
    stat = f"cpu  {3 * ticks} 0 {ticks} {50 * ticks} {7 * ticks} 0 {ticks} 0 0 0\ncpu0 1 2 3\n"
    assert busy_seconds_from_proc_stat(stat) == pytest.approx(5)


def test_cpu_percent_is_per_core_and_the_rest_of_the_machine_is_other_programs():
    before = Snapshot(
        100.0,
        machine_busy_seconds=50,
        processes={"Rasa": ProcessSample(10, 900), "load generator": ProcessSample(1, 50)},
    )
    after = Snapshot(
        102.0,
        machine_busy_seconds=55,
        processes={"Rasa": ProcessSample(13, 950), "load generator": ProcessSample(1.5, 50)},
    )
    assert cpu_percent(before, after) == pytest.approx(
        {"Rasa": 150, "load generator": 25, OTHER_PROGRAMS: 75}
    )
    idle = Snapshot(102.0, machine_busy_seconds=53, processes=after.processes)
    assert cpu_percent(before, idle)[OTHER_PROGRAMS] == 0


# --- results and the report ---------------------------------------------------------------
def level(concurrency: int, p95: float, rate: float) -> LevelFigures:
    return LevelFigures(
        concurrency,
        messages=100,
        errors=0,
        p50_ms=p95 / 2,
        p95_ms=p95,
        p99_ms=p95 * 1.5,
        mean_ms=p95 / 2,
        max_ms=p95 * 2,
        messages_per_second=rate,
        cpu_percent={
            "Rasa": 40.0,
            "action server": 10.0,
            "load generator": 5.0,
            OTHER_PROGRAMS: 2.0,
        },
    )


def results(with_baseline: bool = True) -> BenchmarkResults:
    machine = Machine(
        "AMD EPYC", 2, 23.5, "Debian GNU/Linux 12", "3.10.13", "3.6.21", "2026-11-23 19:00 UTC"
    )
    ours = BotFigures(
        "telecom assistant",
        {"action server": 6.0, "Rasa": 40.0},
        first_reply_ms=900,
        training=Training(340, "2026-11-20"),
        levels=[level(1, 80, 0.9), level(10, 120, 8.5)],
        peak_rss_mb={"action server": 500, "Rasa": 1200},
        step_median_ms={"greeting": 40, "phone number": 70},
    )
    theirs = BotFigures(
        "rasa init bot",
        {"Rasa": 20.0},
        first_reply_ms=600,
        training=Training(100, "2026-11-23"),
        levels=[level(1, 40, 0.9), level(10, 60, 9.0)],
        peak_rss_mb={"Rasa": 800},
        step_median_ms={"greeting": 20, "phone number": 25},
    )
    settings = LoadSettings(
        [1, 10], think_seconds=1.0, duration_seconds=60, conversations_per_customer=None
    )
    return BenchmarkResults(machine, settings, ours, theirs if with_baseline else None)


def test_ratios_say_how_many_times_the_baseline():
    assert ratio(120, 60) == "2.00×"
    assert ratio(None, 60) == ratio(120, None) == ratio(1, 0) == "–"


def test_the_report_has_the_machine_every_level_with_ratios_and_the_plots():
    page = render_markdown(results())
    assert "| CPU | AMD EPYC |" in page and "| cores available | 2 |" in page
    assert "| telecom assistant | 10 | 100 | 0 | 60 | 120 | 180 | 60 | 240 | 8.5 |" in page
    assert "| rasa init bot | 10 | 100 | 0 | 30 | 60 | 90 | 30 | 120 | 9.0 |" in page
    assert "| ratio | 10 |  |  | 2.00× | 2.00× | 2.00× | 2.00× | 2.00× | 0.94× |" in page
    assert "p95 is 120 ms: it meets the target of 150 ms" in page
    assert f"]({LATENCY_PLOT})" in page and f"]({THROUGHPUT_PLOT})" in page
    assert "| telecom assistant | action server | 10 % | 10 % | 500 |" in page
    assert "| telecom assistant | load generator | 5 % | 5 % | – |" in page
    assert "| rasa init bot | other programs | 2 % | 2 % | – |" in page
    assert "| Rasa start-up (spawn until it answers) | 40.0 s | 20.0 s | 2.00× |" in page
    assert "| action server start-up (spawn until it answers) | 6.0 s | – | – |" in page
    assert "| training from scratch | 340 s (measured 2026-11-20) | 100 s | 3.40× |" in page
    assert "| phone number | 70 | 25 |" in page
    assert page.endswith(KEPT_MARKER + "\n")


def test_the_report_without_a_baseline_has_no_ratios():
    page = render_markdown(results(with_baseline=False))
    assert "\n| ratio |" not in page
    assert "baseline (not run)" in page
    assert "rasa init bot" not in page
    assert "telecom assistant  " in render_terminal(results(with_baseline=False))


def test_regenerating_keeps_the_hand_written_section():
    written_by_hand = "## What made messages slow, and what changed\n\nThe tracker store.\n"
    first = with_kept_section(render_markdown(results()), None) + written_by_hand
    again = with_kept_section(render_markdown(results(with_baseline=False)), first)
    assert again.endswith(KEPT_MARKER + "\n\n" + written_by_hand)
    assert again.count(KEPT_MARKER) == 1 and "\n| ratio |" not in again


def test_results_keep_the_training_time_for_the_next_run(tmp_path):
    path = tmp_path / "results.json"
    assert last_training(path) is None
    results().save(path)
    assert last_training(path) == Training(340, "2026-11-20")
    assert json.loads(path.read_text())["assistant"]["levels"][1]["p95_ms"] == 120


def test_step_medians_keep_the_conversation_order_and_ignore_failures():
    run = LevelRun(
        1,
        wall_seconds=10,
        messages=[
            Message(0, "greeting", 10, True),
            Message(0, "bill", 50, True),
            Message(0, "greeting", 30, True),
            Message(0, "bill", 5000, False),
        ],
    )
    assert step_medians(run) == {"greeting": 20, "bill": 50}
    assert run.errors == 1 and run.messages_per_second == pytest.approx(0.3)


# --- the load generator against a fake REST channel ----------------------------------------
def test_customers_talk_verify_with_the_code_and_every_message_is_timed():
    heard: list[tuple[str, str]] = []

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        heard.append((body["sender"], body["message"]))
        await asyncio.sleep(0.01)
        return web.json_response([{"recipient_id": body["sender"], "text": "ok"}])

    async def scenario() -> LevelRun:
        app = web.Application()
        app.router.add_post(REST_WEBHOOK, webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        codes_read: list[str] = []

        async def read_code(msisdn: str) -> str:
            codes_read.append(msisdn)
            return "123456"

        try:
            schedule = LoadSchedule(3, think_seconds=0, conversations_per_customer=2)
            run = await run_level(f"http://127.0.0.1:{port}", schedule, read_code, "test")
        finally:
            await runner.cleanup()
        assert sorted(codes_read) == sorted([c.msisdn for c in customers(3)] * 2)
        return run

    run = asyncio.run(scenario())
    assert len(run.messages) == 3 * 2 * 9 and run.errors == 0
    assert all(message.latency_ms >= 10 for message in run.messages)
    senders = {sender for sender, _ in heard}
    assert len(senders) == 6  # a new sender id for every conversation
    first = [text for sender, text in heard if sender == "test-0-0"]
    assert first[2:4] == [customers(1)[0].msisdn, "123456"]
