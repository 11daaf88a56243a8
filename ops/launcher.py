"""The one way the assistant's programs are started and stopped, by `telecom run` (through
the supervisor), by the benchmark and by the tests.

A Part describes a program: its command, environment, where it answers and its health check,
the ports it takes, where its output goes. `start` spawns it and waits until its health check
answers, noticing at once when the process dies instead and saying where its log is; `stop`
asks a set of running parts to finish, all at once, and kills what outlasts one shared grace
period. Light on purpose: the process that supervises the others imports this.
"""

from __future__ import annotations

import http.client
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from telecom_assistant.database import PROJECT_ROOT
from telecom_assistant.settings import LOOPBACK

# Often enough that start-up times are measured to a tenth of a second.
POLL_SECONDS = 0.1
# A health check that takes longer than this counts as not answering.
HEALTH_CHECK_TIMEOUT_SECONDS = 2.0
START_TIMEOUT_SECONDS = 300.0
STOP_GRACE_SECONDS = 20.0

# A dependency's warning as Python prints it: "<site-packages path>:<line>: XWarning: text",
# the text sometimes on more lines, then the offending source line, indented. Rasa, TensorFlow,
# sanic and friends print dozens at start-up, and sanic resets the warning filters when it is
# imported, so PYTHONWARNINGS cannot silence them: the terminal copy of a part's output
# leaves them out. Warnings of our own code, outside site-packages, still show.
DEPENDENCY_WARNING = re.compile(r"^\S*[/\\]site-packages[/\\]\S+:\d+: \w*Warning: ")
# A log record (a timestamp, or "[timestamp]") ends a warning that showed no source line.
LOG_RECORD = re.compile(r"^\[?\d{4}-\d\d-\d\d")
WARNING_CONTINUATION_LINES = 3


@dataclass(frozen=True)
class Part:
    """One program of the assistant, as the launcher starts it."""

    name: str
    command: tuple[str, ...]
    # Where it answers, e.g. http://127.0.0.1:5055.
    url: str
    health_path: str = "/health"
    # Ports it listens on besides its URL's (nginx: the action servers' door too).
    other_ports: tuple[int, ...] = ()
    # Its whole environment; None: this process's.
    environment: Mapping[str, str] | None = None
    # Where its output goes, appended to (a restarted part's last words stay readable);
    # None: this process's own output.
    log: Path | None = None
    cwd: Path = PROJECT_ROOT

    @property
    def health_url(self) -> str:
        return self.url + self.health_path

    @property
    def port(self) -> int:
        port = urlsplit(self.url).port
        if port is None:
            raise ValueError(f"{self.url} names no port")
        return port

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port, *self.other_ports)

    def where_to_look(self) -> str:
        return f"see its log, {self.log}" if self.log else "see its output above"


class StartFailed(RuntimeError):
    """A part exited, or never answered its health check; the message says where to look."""


@dataclass
class Spawned:
    """A part's process, from the moment it was spawned."""

    part: Part
    process: subprocess.Popen
    # time.monotonic() when it was spawned.
    spawned_at: float

    @property
    def name(self) -> str:
        return self.part.name

    @property
    def url(self) -> str:
        return self.part.url

    @property
    def port(self) -> int:
        return self.part.port

    def stop(self) -> None:
        stop([self])


@dataclass
class Running(Spawned):
    """A part whose health check has answered."""

    # From spawning the process until its health check answered: what a restart costs.
    startup_seconds: float


def free_port() -> int:
    """A port nobody listens on now (the kernel's choice, never one of the product's own)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def relay_without_dependency_warnings(output: IO[str], terminal: IO[str]) -> None:
    """Copies a part's output to the terminal, line by line, but for its dependencies'
    warnings."""
    dropping = 0
    for line in output:
        if DEPENDENCY_WARNING.match(line):
            dropping = WARNING_CONTINUATION_LINES
            continue
        if dropping and not LOG_RECORD.match(line):
            # The source line, indented, is a warning's last; a longer text ends sooner.
            dropping = 0 if line[:1].isspace() else dropping - 1
            continue
        dropping = 0
        terminal.write(line)
        terminal.flush()


def spawn(part: Part) -> Spawned:
    process: subprocess.Popen
    if part.log is None:
        process = subprocess.Popen(
            list(part.command),
            cwd=part.cwd,
            env=part.environment,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        assert process.stderr is not None
        threading.Thread(
            target=relay_without_dependency_warnings,
            args=(process.stderr, sys.stderr),
            name=f"{part.name} output",
            daemon=True,
        ).start()
    else:
        part.log.parent.mkdir(parents=True, exist_ok=True)
        with part.log.open("a") as output:
            process = subprocess.Popen(
                list(part.command),
                cwd=part.cwd,
                env=part.environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
    return Spawned(part, process, time.monotonic())


def answers(part: Part, timeout: float = HEALTH_CHECK_TIMEOUT_SECONDS) -> bool:
    """Whether the part's health check answers now, with a success."""
    try:
        with urllib.request.urlopen(part.health_url, timeout=timeout):
            return True
    except (OSError, http.client.HTTPException):  # refused, reset, timed out, HTTP error
        return False


def wait_until_healthy(spawned: Spawned, timeout: float = START_TIMEOUT_SECONDS) -> Running:
    """Poll the part's health check until it answers; StartFailed, without waiting out the
    timeout, when the process exits first."""
    part, process = spawned.part, spawned.process
    deadline = spawned.spawned_at + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            raise StartFailed(
                f"The {part.name} exited (code {code}) before it "
                f"was healthy; {part.where_to_look()}."
            )
        if answers(part):
            return Running(part, process, spawned.spawned_at, time.monotonic() - spawned.spawned_at)
        time.sleep(POLL_SECONDS)
    raise StartFailed(
        f"The {part.name} did not answer {part.health_url} within "
        f"{timeout:.0f} s; {part.where_to_look()}."
    )


def start(part: Part, timeout: float = START_TIMEOUT_SECONDS) -> Running:
    """Spawn the part and wait until it is healthy; on failure its process is gone too."""
    spawned = spawn(part)
    try:
        return wait_until_healthy(spawned, timeout)
    except BaseException:
        kill(spawned)
        raise


def start_in_order(parts: Sequence[Part], timeout: float = START_TIMEOUT_SECONDS) -> list[Running]:
    """Each part started once the one before is healthy; if one fails, those already running
    are stopped."""
    running: list[Running] = []
    try:
        for part in parts:
            running.append(start(part, timeout))
    except BaseException:
        stop(running)
        raise
    return running


@contextmanager
def started(
    parts: Sequence[Part], timeout: float = START_TIMEOUT_SECONDS
) -> Iterator[list[Running]]:
    """The parts started in order, and stopped when the block ends."""
    running = start_in_order(parts, timeout)
    try:
        yield running
    finally:
        stop(running)


def kill(spawned: Spawned) -> None:
    if spawned.process.poll() is None:
        spawned.process.kill()
    spawned.process.wait()


def stop(parts: Sequence[Spawned], grace_seconds: float = STOP_GRACE_SECONDS) -> None:
    """Ctrl-C (SIGINT) to every part at once, the last started first, then one shared grace
    period: a part that has not stopped by then is killed (and named), so stopping never takes
    much longer than that."""
    alive = [spawned for spawned in parts if spawned.process.poll() is None]
    for spawned in reversed(alive):
        spawned.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace_seconds
    for spawned in alive:
        try:
            spawned.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(
                f"The {spawned.name} did not stop within {grace_seconds:.0f} s; killed.",
                file=sys.stderr,
                flush=True,
            )
            kill(spawned)
