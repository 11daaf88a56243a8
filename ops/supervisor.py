"""`telecom run` keeps the assistant's parts running: a part that exits unexpectedly is started
again after a pause that doubles each time it fails in a row (1 s, 2 s, 4 s ... at most 30 s,
from 1 s again once it has stayed up a minute), with a log line each time, while the other
parts keep serving. Everything stops on Ctrl-C or SIGTERM, or when a part cannot start at all:
it never became healthy at the first start, or it keeps dying on start.

This process stays up as long as the assistant does, so it imports no Rasa, TensorFlow,
spaCy or web framework (tests/integration/test_supervisor.py checks it).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

from ops.launcher import (
    START_TIMEOUT_SECONDS,
    Part,
    Spawned,
    StartFailed,
    answers,
    kill,
    spawn,
    stop,
    wait_until_healthy,
)

logger = logging.getLogger(__name__)

# How often the parts are looked at: a dead part is noticed within this.
WATCH_SECONDS = 0.5
# A part that dies on start this many times in a row cannot start.
FAILED_STARTS_ALLOWED = 5


class CannotStart(RuntimeError):
    """A part cannot start; the message says which and where to look."""


@dataclass(frozen=True)
class Backoff:
    """The pause before a part is started again: doubled each time it fails in a row."""

    first_seconds: float = 1.0
    longest_seconds: float = 30.0
    # A part that stayed healthy this long before it died is paused `first_seconds` again.
    forgiven_after_seconds: float = 60.0

    def pause(self, failures_in_a_row: int) -> float:
        return min(self.first_seconds * 2**failures_in_a_row, self.longest_seconds)


@dataclass
class Supervised:
    """A part and what became of it: running (healthy since), starting again, or waiting to
    (its last process dead)."""

    part: Part
    spawned: Spawned
    healthy_since: float | None = None
    # When it is to be started again; None while its process runs.
    restart_at: float | None = None
    # Every start after the first, shown in the log lines.
    restarts: int = 0
    # Exits since it last stayed up `forgiven_after_seconds`: how long the next pause is.
    failures_in_a_row: int = 0
    # Exits (or silences) before its health check answered, since it last did.
    failed_starts_in_a_row: int = 0


class Supervisor:
    def __init__(
        self,
        parts: Sequence[Part],
        *,
        start_timeout: float = START_TIMEOUT_SECONDS,
        backoff: Backoff = Backoff(),
        failed_starts_allowed: int = FAILED_STARTS_ALLOWED,
        watch_seconds: float = WATCH_SECONDS,
    ) -> None:
        self.parts = list(parts)
        self.supervised: list[Supervised] = []
        self.start_timeout = start_timeout
        self.backoff = backoff
        self.failed_starts_allowed = failed_starts_allowed
        self.watch_seconds = watch_seconds

    def start(self) -> None:
        """Every part in order, each once the one before is healthy; CannotStart when one
        does not become healthy (stop() then stops those already running)."""
        for part in self.parts:
            print(f"Starting the {part.name}…", flush=True)
            supervised = Supervised(part, spawn(part))
            self.supervised.append(supervised)
            try:
                wait_until_healthy(supervised.spawned, self.start_timeout)
            except StartFailed as failure:
                raise CannotStart(str(failure)) from None
            supervised.healthy_since = time.monotonic()

    def watch(
        self, until: threading.Event | None = None, every_round: Callable[[], None] = lambda: None
    ) -> None:
        """Look after the parts until `until` is set (or forever); `every_round` runs at each
        look. CannotStart when a part keeps dying on start."""
        while until is None or not until.is_set():
            for supervised in self.supervised:
                self._look_after(supervised, time.monotonic())
            every_round()
            if until is None:
                time.sleep(self.watch_seconds)
            else:
                until.wait(self.watch_seconds)

    def stop(self) -> None:
        stop([supervised.spawned for supervised in self.supervised])

    def current(self, name: str) -> Spawned:
        """The latest process of the part called `name`."""
        for supervised in self.supervised:
            if supervised.part.name == name:
                return supervised.spawned
        raise KeyError(f"no part called {name!r}")

    def _look_after(self, supervised: Supervised, now: float) -> None:
        if supervised.restart_at is not None:
            if now >= supervised.restart_at:
                supervised.restart_at = None
                supervised.spawned = spawn(supervised.part)
        elif supervised.healthy_since is not None:
            self._look_after_running(supervised, supervised.healthy_since, now)
        else:
            self._look_after_starting(supervised, now)

    def _look_after_running(self, supervised: Supervised, healthy_since: float, now: float) -> None:
        code = supervised.spawned.process.poll()
        if code is None:
            return
        if now - healthy_since >= self.backoff.forgiven_after_seconds:
            supervised.failures_in_a_row = 0
        supervised.healthy_since = None
        self._restart_later(supervised, now, f"exited (code {code})")

    def _look_after_starting(self, supervised: Supervised, now: float) -> None:
        spawned, part = supervised.spawned, supervised.part
        code = spawned.process.poll()
        if code is not None:
            self._failed_start(supervised, now, f"exited (code {code}) before it was healthy")
        elif answers(part, timeout=self.watch_seconds):
            supervised.healthy_since = time.monotonic()
            supervised.failed_starts_in_a_row = 0
            logger.info(
                "The %s is back, %.1f s after it was started again (restart %d).",
                part.name,
                supervised.healthy_since - spawned.spawned_at,
                supervised.restarts,
            )
        elif now - spawned.spawned_at > self.start_timeout:
            kill(spawned)
            self._failed_start(
                supervised,
                now,
                f"did not answer {part.health_url} within {self.start_timeout:.0f} s",
            )

    def _failed_start(self, supervised: Supervised, now: float, what: str) -> None:
        supervised.failed_starts_in_a_row += 1
        if supervised.failed_starts_in_a_row > self.failed_starts_allowed:
            part = supervised.part
            raise CannotStart(
                f"The {part.name} {what}, {supervised.failed_starts_in_a_row} starts in a "
                f"row: it cannot start; {part.where_to_look()}. Stopping everything."
            )
        self._restart_later(supervised, now, what)

    def _restart_later(self, supervised: Supervised, now: float, what: str) -> None:
        pause = self.backoff.pause(supervised.failures_in_a_row)
        supervised.failures_in_a_row += 1
        supervised.restarts += 1
        supervised.restart_at = now + pause
        logger.warning(
            "The %s %s; restarting in %g s (restart %d).",
            supervised.part.name,
            what,
            pause,
            supervised.restarts,
        )


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both mean: stop everything (KeyboardInterrupt).

    A shell that starts a command in the background (`make run &`, a CI script's `&`) leaves
    SIGINT ignored, and every part would inherit that: Ctrl-C, and the SIGINT with which the
    launcher asks each part to finish, would then do nothing. Ctrl-C means stop, whoever
    started us; the parts get the default back, since a handler does not survive exec."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(_signal_number: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt


def supervise(
    parts: Sequence[Part],
    *,
    start_timeout: float = START_TIMEOUT_SECONDS,
    when_up: Callable[[], None] = lambda: None,
    every_round: Callable[[], None] = lambda: None,
    backoff: Backoff = Backoff(),
) -> int:
    """Start the parts, then look after them until Ctrl-C or SIGTERM (0), or until one cannot
    start (1, having said why); everything is stopped either way. Call stop_on_signals()
    first."""
    supervisor = Supervisor(parts, start_timeout=start_timeout, backoff=backoff)
    try:
        supervisor.start()
        when_up()
        supervisor.watch(every_round=every_round)  # until Ctrl-C or SIGTERM
    except CannotStart as failure:
        print(failure, file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
    finally:
        supervisor.stop()
    return 0
