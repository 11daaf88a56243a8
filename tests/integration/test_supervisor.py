"""The supervisor `telecom run` uses, on tiny HTTP servers standing in for the assistant's
parts: a part that dies is started again after a pause that doubles (and is forgiven once the
part has stayed up), while the other parts keep answering; a part that cannot start stops
everything with a message that says which and where to look; Ctrl-C and SIGTERM stop every
part; and the supervisor itself loads no Rasa, TensorFlow, spaCy or web framework."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ops.launcher import Part, answers, free_port, spawn, stop
from ops.supervisor import Backoff, CannotStart, Supervisor, supervise
from telecom_assistant.database import PROJECT_ROOT

# Answers GET /health with its pid; exits with code 3 at once when the file named by
# REFUSE_TO_START_IF exists; answers 503 for ever with SILENT=1.
STAND_IN = """
import json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

if os.path.exists(os.environ.get("REFUSE_TO_START_IF", "/nonexistent")):
    sys.exit(3)

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        status = 503 if os.environ.get("SILENT") else 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(json.dumps({"pid": os.getpid()}).encode())

    def log_message(self, *args):
        pass

try:
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
except KeyboardInterrupt:  # how the launcher asks a part to stop
    pass
"""
QUICK = Backoff(first_seconds=0.25, longest_seconds=4, forgiven_after_seconds=1)


def stand_in(name: str, log: Path | None = None, **environment: str) -> Part:
    port = free_port()
    return Part(
        name,
        (sys.executable, "-c", STAND_IN, str(port)),
        f"http://127.0.0.1:{port}",
        environment={**os.environ, **environment},
        log=log,
    )


def pid_of(part: Part) -> int:
    with urllib.request.urlopen(part.health_url, timeout=2) as answer:
        return json.loads(answer.read())["pid"]


@contextmanager
def watched(supervisor: Supervisor) -> Iterator[None]:
    """The supervisor looking after its parts in a thread, as `telecom run` does in its main
    one."""
    done = threading.Event()
    watcher = threading.Thread(target=supervisor.watch, args=(done,))
    supervisor.start()
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
        supervisor.stop()


def wait_until(
    condition: Callable[[], bool], timeout: float = 20, meanwhile: Callable[[], None] = lambda: None
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        meanwhile()
        time.sleep(0.05)


def comebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.getMessage().startswith("The fragile part is back")
    ]


def test_a_killed_part_is_restarted_with_backoff_while_the_other_keeps_answering(caplog):
    caplog.set_level(logging.INFO, logger="ops.supervisor")
    fragile, steady = stand_in("fragile part"), stand_in("steady part")
    supervisor = Supervisor([fragile, steady], backoff=QUICK, watch_seconds=0.05)

    def steady_answers() -> None:
        assert answers(steady), "the steady part stopped answering"

    with watched(supervisor):
        steady_pid = pid_of(steady)
        outages = []
        for restart, pause_before in enumerate((0, 0, QUICK.forgiven_after_seconds + 0.25), 1):
            time.sleep(pause_before)
            killed = supervisor.current(fragile.name).process
            killed.kill()
            killed_at = time.monotonic()
            # Until the supervisor has seen it healthy again.
            wait_until(
                lambda: len(comebacks(caplog)) == restart,  # noqa: B023
                meanwhile=steady_answers,
            )
            outages.append(time.monotonic() - killed_at)
            assert pid_of(fragile) != killed.pid
        assert pid_of(steady) == steady_pid
    restarts = [
        record.getMessage()
        for record in caplog.records
        if record.getMessage().startswith("The fragile part exited")
    ]
    assert restarts == [
        "The fragile part exited (code -9); restarting in 0.25 s (restart 1).",
        "The fragile part exited (code -9); restarting in 0.5 s (restart 2).",
        # It had stayed up longer than forgiven_after_seconds: the first pause again.
        "The fragile part exited (code -9); restarting in 0.25 s (restart 3).",
    ]
    assert outages[0] >= 0.25 and outages[1] >= 0.5 and outages[2] >= 0.25
    assert comebacks(caplog)[-1].startswith("The fragile part is back, ") and comebacks(caplog)[
        -1
    ].endswith(" (restart 3).")


def test_the_pause_doubles_up_to_the_longest():
    assert [Backoff().pause(failures) for failures in range(7)] == [1, 2, 4, 8, 16, 30, 30]


@pytest.mark.parametrize(
    "broken, complaint",
    [
        ({"REFUSE_TO_START_IF": __file__}, "exited (code 3) before it was healthy"),
        ({"SILENT": "1"}, "/health within 1 s"),
    ],
)
def test_a_part_that_never_starts_stops_everything_with_a_clear_message(
    tmp_path, capsys, broken, complaint
):
    steady = stand_in("steady part")
    log = tmp_path / "broken.log"
    assert supervise([steady, stand_in("broken part", log, **broken)], start_timeout=1) == 1
    message = capsys.readouterr().err
    assert "The broken part " in message and complaint in message
    assert f"see its log, {log}" in message
    assert not answers(steady)


def test_a_part_that_keeps_dying_on_start_stops_everything(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ops.supervisor")
    refuse = tmp_path / "refuse"
    fragile = stand_in("fragile part", REFUSE_TO_START_IF=str(refuse))
    steady = stand_in("steady part")
    supervisor = Supervisor(
        [fragile, steady],
        backoff=Backoff(first_seconds=0.1),
        failed_starts_allowed=2,
        watch_seconds=0.05,
    )
    try:
        supervisor.start()
        refuse.touch()
        supervisor.current(fragile.name).process.kill()
        with pytest.raises(CannotStart) as failure:
            supervisor.watch()
    finally:
        supervisor.stop()
    assert str(failure.value) == (
        "The fragile part exited (code 3) before it was healthy, 3 starts in a row: it cannot "
        "start; see its output above. Stopping everything."
    )
    assert [record.getMessage() for record in caplog.records][-2:] == [
        "The fragile part exited (code 3) before it was healthy; restarting in 0.2 s (restart 2).",
        "The fragile part exited (code 3) before it was healthy; restarting in 0.4 s (restart 3).",
    ]
    assert not answers(steady)


SUPERVISE = """
import sys
from ops.launcher import Part
from ops.supervisor import stop_on_signals, supervise

stop_on_signals()
parts = [Part(f"part {port}", (sys.executable, "-c", sys.argv[1], port),
              f"http://127.0.0.1:{port}") for port in sys.argv[2:]]
sys.exit(supervise(parts, when_up=lambda: print("up", flush=True)))
"""


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_every_part(stop_signal):
    parts = [stand_in("one"), stand_in("two")]
    supervising = subprocess.Popen(
        [sys.executable, "-c", SUPERVISE, STAND_IN, *(str(part.port) for part in parts)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        while supervising.stdout.readline().strip() != "up":
            assert supervising.poll() is None, "the supervisor ended before all was up"
        pids = [pid_of(part) for part in parts]
        supervising.send_signal(stop_signal)
        assert supervising.wait(timeout=30) == 0
        assert "Stopping" in supervising.stdout.read()
    finally:
        if supervising.poll() is None:
            os.killpg(supervising.pid, signal.SIGKILL)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_the_supervisor_loads_no_rasa_tensorflow_spacy_or_web_framework():
    """It stays up as long as the assistant: what it loads counts against the memory target."""
    heavy = ["rasa", "rasa_sdk", "tensorflow", "spacy", "sanic", "jieba"]
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, ops.cli, ops.supervisor; "
            "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not set(heavy) & set(loaded)


def test_stopping_shares_one_grace_period_and_kills_what_hangs(tmp_path, capsys):
    """Ctrl-C must not wait a full grace period per stuck part, one after the other."""
    ignores_ctrl_c = (
        sys.executable,
        "-c",
        "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)",
    )
    stuck = [
        spawn(
            Part(
                f"stuck part {number}",
                ignores_ctrl_c,
                "http://127.0.0.1:9",
                log=tmp_path / f"stuck-{number}.log",
            )
        )
        for number in range(3)
    ]
    for spawned in stuck:  # SIGINT is ignored once it says so
        assert spawned.part.log is not None
        wait_until(lambda: "ready" in spawned.part.log.read_text())  # noqa: B023
    started = time.monotonic()
    stop(stuck, grace_seconds=1.0)
    assert time.monotonic() - started < 5
    assert all(spawned.process.returncode is not None for spawned in stuck)
    assert capsys.readouterr().err.count("did not stop within 1 s; killed.") == 3
