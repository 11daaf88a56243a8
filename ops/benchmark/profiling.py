"""`telecom benchmark --profile`: where one message's work goes, counted exactly.

The assistant runs with both servers under cProfile while one customer holds a few whole
conversations with no pauses. Then, per message: how many requests reached the action server,
how many SQL statements and SQLite connections each process made (the action server's are the
account database, Rasa's the tracker store), how big a conversation's tracker grew, and what
the functions that handle a message spent their time on. cProfile slows Python down, so its
times are for comparing functions with each other; the counts are exact, start-up included.
"""

from __future__ import annotations

import asyncio
import io
import pstats
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ops.benchmark.bots import PROFILES, assistant
from ops.benchmark.load import LoadSchedule, run_level
from ops.benchmark.servers import ACTION_SERVER, RASA

# (file name ending, function name) of what is counted, as cProfile names them.
ACTION_REQUEST = ("rasa_sdk/endpoint.py", "webhook")
SQL_STATEMENT = ("~", "<method 'execute' of 'sqlite3.Cursor' objects>")
SQLITE_CONNECTION = ("~", "<built-in method _sqlite3.connect>")
# Where each server starts on a message; what they call is what a message costs. (A coroutine
# is timed only while it runs, not while it awaits the action server or the database.)
MESSAGE_HANDLERS = {
    ACTION_SERVER: r"rasa_sdk/executor.py:\d+\(run\)",
    RASA: r"rasa/core/processor.py:\d+\((log_message|_run_prediction_loop|save_tracker)\)",
}
CONVERSATIONS = 5


def calls(stats: pstats.Stats, where: tuple[str, str]) -> int:
    """How many times a function was called (ncalls counts recursive calls too)."""
    file_suffix, function = where
    return sum(
        total_calls
        for (file, _, name), (_, total_calls, _, _, _) in stats.stats.items()  # type: ignore[attr-defined]
        if name == function and file.endswith(file_suffix)
    )


@dataclass(frozen=True)
class TrackerSize:
    events_per_conversation: float
    kilobytes_per_conversation: float


def tracker_size(tracker_db: Path) -> TrackerSize:
    with sqlite3.connect(tracker_db) as connection:
        conversations, events, size = connection.execute(
            "SELECT COUNT(DISTINCT sender_id), COUNT(*), SUM(LENGTH(data)) FROM events"
        ).fetchone()
    return TrackerSize(events / conversations, size / 1024 / conversations)


def message_costs(stats: pstats.Stats, handlers: str) -> str:
    """What the message handlers called, with cProfile's cumulative seconds for each."""
    output = io.StringIO()
    stats.stream = output  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_callees(handlers)
    return output.getvalue()


def profile_assistant(model: Path, conversations: int | None = None) -> int:
    conversations = conversations or CONVERSATIONS
    with tempfile.TemporaryDirectory(prefix="telecom-profile-") as temporary:
        workdir = Path(temporary)
        with assistant(model, workdir, profile_dir=workdir) as bot:
            schedule = LoadSchedule(1, think_seconds=0, conversations_per_customer=conversations)
            run = asyncio.run(run_level(bot.url, schedule, bot.read_code, "profile"))
        # The servers have stopped: cProfile wrote their profiles as they exited.
        messages = len(run.messages)
        stats = {name: pstats.Stats(str(workdir / file)) for name, file in PROFILES.items()}
        size = tracker_size(workdir / "tracker.db")
        print(
            f"{messages} messages in {conversations} conversations "
            f"({run.errors} failed), per message:"
        )
        print(
            f"  requests to the action server     "
            f"{calls(stats[ACTION_SERVER], ACTION_REQUEST) / messages:6.2f}"
        )
        for name, process_stats in stats.items():
            print(
                f"  {name + ':':<15} SQL statements   "
                f"{calls(process_stats, SQL_STATEMENT) / messages:6.2f}, "
                f"SQLite connections opened {calls(process_stats, SQLITE_CONNECTION) / messages:.2f}"
            )
        print(
            f"Tracker per conversation: {size.events_per_conversation:.0f} events, "
            f"{size.kilobytes_per_conversation:.0f} kB"
        )
        for name, process_stats in stats.items():
            print(f"\n{name}: what handling the messages called\n")
            print(message_costs(process_stats, MESSAGE_HANDLERS[name]))
    return 0
