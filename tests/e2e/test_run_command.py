"""`telecom run`, the README's one command: it brings everything up on localhost (with the
Telegram bridge, here against a fake Bot API), waits for each health check, prints the URLs,
and stops everything on Ctrl-C; a port already taken gets a clear message."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.actions_support import text_of
from tests.fake_telegram import TOKEN, FakeBotApi
from tests.stack import BIN, PROJECT_ROOT, LoopThread, free_port

pytestmark = pytest.mark.model

PORTS = {
    "web chat": 5003,
    "agent console": 5002,
    "action server": 5055,
    "Rasa": 5005,
    "reminder scheduler": 5006,
    "SMS hall": 5007,
}
HEALTH_URLS = [
    "http://127.0.0.1:5003/health",
    "http://127.0.0.1:5002/health",
    "http://127.0.0.1:5055/health",
    "http://127.0.0.1:5005/",
    "http://127.0.0.1:5006/health",
    "http://127.0.0.1:5007/health",
]
START_SECONDS = 420


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def start_run(tmp_path: Path, **env: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / "run.log"
    process = subprocess.Popen(
        [str(BIN / "telecom"), "run", "--skip-train"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'telecom.db'}", **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        # Its own process group, as a terminal would give it: Ctrl-C reaches the command only.
        start_new_session=True,
    )
    return process, log


def wait_for_line(process: subprocess.Popen, log: Path, line: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if line in log.read_text():
            return
        if process.poll() is not None:
            break
        time.sleep(1)
    raise AssertionError(f"{line!r} never printed; the command said:\n{log.read_text()[-3000:]}")


def reminder_sms(tmp_path: Path, msisdn: str) -> list[str]:
    with sqlite3.connect(tmp_path / "telecom.db") as database:
        rows = database.execute(
            "SELECT body FROM sms_outbox WHERE msisdn = ? AND purpose = 'reminder'", (msisdn,)
        ).fetchall()
    return [body for (body,) in rows]


@pytest.fixture
def telegram():
    loop = LoopThread()
    fake = FakeBotApi()
    url = loop.run(fake.start())
    yield loop, fake, url
    loop.run(fake.stop())
    loop.close()


def test_one_command_starts_everything_and_ctrl_c_stops_it(model, tmp_path, telegram):
    assert all(port_free(port) for port in PORTS.values()), "a port of `telecom run` is in use"
    loop, bot_api, api_url = telegram
    bridge_port = free_port()
    process, log = start_run(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api_url,
        TELEGRAM_BRIDGE_HEALTH_PORT=str(bridge_port),
    )
    try:
        wait_for_line(process, log, "The assistant is up", START_SECONDS)
        printed = log.read_text()
        assert "http://localhost:5003/" in printed and "http://localhost:5002/" in printed
        for url in HEALTH_URLS:
            with urllib.request.urlopen(url, timeout=5) as response:
                assert response.status == 200, url
        with urllib.request.urlopen(f"http://127.0.0.1:{bridge_port}/health", timeout=5) as answer:
            health = json.loads(answer.read())
        assert (health["telegram"], health["rasa"]) == ("connected", "reachable")

        # A Telegram customer reaches the assistant through the bridge `telecom run` started.
        bot_api.write(7001, "hello")
        deadline = time.monotonic() + 60
        while not bot_api.texts_to(7001) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert bot_api.texts_to(7001) == [text_of("utter_greet")]

        # The scheduler `telecom run` started reminded the demo's prepaid line with ¥3.50 left
        # (urgent: whatever the hour) by SMS.
        deadline = time.monotonic() + 30
        while not reminder_sms(tmp_path, "13800000008") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert any("¥3.50" in body for body in reminder_sms(tmp_path, "13800000008"))

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert "Stopping" in log.read_text()
        assert all(port_free(port) for port in [*PORTS.values(), bridge_port])
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def test_a_port_already_taken_is_named(model, tmp_path):
    with socket.socket() as squatter:
        # A previous test's connections may linger in TIME_WAIT on this port.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", PORTS["web chat"]))
        squatter.listen()
        process, log = start_run(tmp_path)
        assert process.wait(timeout=120) == 1
    assert "Port 5003 is already in use, so the web chat cannot start" in log.read_text()
