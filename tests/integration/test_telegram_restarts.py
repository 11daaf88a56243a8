"""The bridge program itself (python -m channels.telegram), killed and restarted: what the
customers wrote is all answered, and no turn runs twice. Telegram and Rasa are the fake Bot API
and Rasa's real channels with a scripted turn (tests/scripted_rasa.py), on an event loop of the
test's own."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.fake_telegram import TOKEN, FakeBotApi, free_port
from tests.scripted_rasa import ScriptedRasa
from tests.stack import LoopThread

CHANNEL_SECRET = "the-tests-channel-secret-0123456789abcdef"
CONVERSATION_KEY = "the-tests-conversation-key-0123456789abcdef"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 20
CHATS = 10
RESTARTS = 100


class Fakes:
    """Telegram and Rasa, served from a loop in a thread while the test drives the bridge."""

    def __init__(self) -> None:
        self.loop = LoopThread()
        self.telegram = FakeBotApi()
        self.rasa = ScriptedRasa(CHANNEL_SECRET)
        self.telegram_url = self.loop.run(self.telegram.start())
        self.rasa_url = self.loop.run(self.rasa.start())

    def close(self) -> None:
        self.loop.run(self.telegram.stop())
        self.loop.run(self.rasa.stop())
        self.loop.close()

    def in_loop(self, action) -> None:  # type: ignore[no-untyped-def]
        """Runs action() in the fakes' loop (their state belongs to it)."""

        async def act() -> None:
            action()

        self.loop.run(act())

    def telegram_idle(self) -> bool:
        async def idle() -> bool:
            return self.telegram.idle()

        return self.loop.run(idle())


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    fakes = Fakes()
    yield fakes
    fakes.close()


class BridgeProcess:
    def __init__(self, fakes: Fakes, directory: Path) -> None:
        self.health_port = free_port()
        self.log = directory / "bridge.log"
        self.environment = {
            **{
                name: value
                for name, value in os.environ.items()
                if not name.startswith(("TELEGRAM_", "TELECOM_", "DATABASE_URL", "RASA_URL"))
            },
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": fakes.telegram_url,
            "RASA_URL": fakes.rasa_url,
            "DATABASE_URL": f"sqlite:///{directory / 'bridge.db'}",
            "TELEGRAM_BRIDGE_HEALTH_PORT": str(self.health_port),
            "TELECOM_CHANNEL_SECRET": CHANNEL_SECRET,
            "TELECOM_CONVERSATION_KEY": CONVERSATION_KEY,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "channels.telegram"],
                cwd=PROJECT_ROOT,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the bridge exited:\n{self.log_tail()}"
            try:
                if httpx.get(f"http://127.0.0.1:{self.health_port}/health").is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the bridge did not start:\n{self.log_tail()}")

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        assert self.process is not None
        self.process.send_signal(how)
        self.process.wait(timeout=30)

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


@contextmanager
def bridge_process(fakes: Fakes, directory: Path) -> Iterator[BridgeProcess]:
    bridge = BridgeProcess(fakes, directory)
    try:
        yield bridge
    finally:
        if bridge.process is not None and bridge.process.poll() is None:
            bridge.process.kill()
            bridge.process.wait()


def wait_for(found, what: str, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not found():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_bridge_killed_while_rasa_takes_a_message_answers_it_once_when_it_starts_again(
    fakes, tmp_path
):
    fakes.rasa.slow["13800000018"] = 1.5  # the turn sends a code by SMS: it must not run twice
    with bridge_process(fakes, tmp_path) as bridge:
        bridge.start()
        fakes.in_loop(lambda: fakes.telegram.write(42, "13800000018"))
        wait_for(lambda: fakes.rasa.turns, "the turn never began")
        bridge.stop(signal.SIGKILL)

        bridge.start()
        wait_for(
            lambda: "echo: 13800000018" in fakes.telegram.texts_to(42),
            f"never answered:\n{bridge.log_tail()}",
        )
        time.sleep(0.5)
        bridge.stop()
    assert fakes.rasa.turns_of("13800000018") == 1
    assert fakes.telegram.texts_to(42) == ["echo: 13800000018"]


@pytest.mark.slow
def test_across_a_hundred_restarts_under_a_steady_stream_nothing_is_lost_or_run_twice(
    fakes, tmp_path
):
    """10 chats each write about once in 1.5 s (within the bridge's rate limit) while the bridge
    is killed (SIGKILL) or stopped (SIGTERM), one after the other, at random moments, 100 times;
    each turn takes 20 to 50 ms, so some kills come while Rasa is at a message."""
    random.seed(17)
    fakes.rasa.turn_seconds = 0.03
    written: list[tuple[int, str]] = []

    async def stream(stopping: asyncio.Event) -> None:
        number = 0
        while not stopping.is_set():
            chat = 100 + number % CHATS
            message = f"chat {chat} message {number}"
            fakes.telegram.write(chat, message)
            written.append((chat, message))
            number += 1
            await asyncio.sleep(1.5 / CHATS)

    stopping = asyncio.Event()
    streaming = asyncio.run_coroutine_threadsafe(stream(stopping), fakes.loop._loop)
    # How each stop stopped the bridge, and how many messages Telegram had taken by then.
    stops: list[tuple[signal.Signals, int]] = []
    with bridge_process(fakes, tmp_path) as bridge:
        for restart in range(RESTARTS):
            bridge.start()
            time.sleep(random.uniform(0.1, 0.8))
            how = signal.SIGKILL if restart % 2 == 0 else signal.SIGTERM
            bridge.stop(how)
            # A message the bridge wrote just before it died may still wait in the fake's
            # socket: counted only once the fake has read it, it falls on the right side.
            wait_for(fakes.telegram_idle, "Telegram never saw the bridge's connections close")
            stops.append((how, len(fakes.telegram.sent)))
        fakes.loop._loop.call_soon_threadsafe(stopping.set)
        streaming.result(timeout=10)
        bridge.start()

        def unanswered() -> list[str]:
            return [
                message
                for chat, message in written
                if f"echo: {message}" not in fakes.telegram.texts_to(chat)
            ]

        wait_for(lambda: not unanswered(), f"never answered: {unanswered()[:5]}", seconds=60)
        bridge.stop()

    turns = Counter(turn_text for _, turn_text, _ in fakes.rasa.turns)
    run_twice = [message for _, message in written if turns[message] != 1]
    sent = [message["text"] for message in fakes.telegram.sent]
    sent_twice = {
        answer: [position for position, text in enumerate(sent) if text == answer]
        for answer in set(sent)
        if sent.count(answer) > 1
    }
    # The stop that came between an answer's first and second sending, for each answer sent
    # twice.
    stops_between = [
        how
        for positions in sent_twice.values()
        for how, taken in stops
        if positions[0] < taken <= positions[1]
    ]
    print(
        f"{len(written)} messages from {CHATS} chats over {RESTARTS} restarts "
        f"({sum(how == signal.SIGKILL for how, _ in stops)} SIGKILL): "
        f"{len(unanswered())} lost, {len(run_twice)} turns run twice, "
        f"{len(sent_twice)} answers sent twice"
    )
    assert unanswered() == []
    assert run_twice == []
    assert all(text.startswith("echo: ") for text in sent)  # never told to slow down
    # Telegram has no way to send a message exactly once: a bridge killed between Telegram
    # taking an answer and recording that it did sends the answer again once restarted. A
    # bridge that is stopped finishes sending first.
    assert len(stops_between) == len(sent_twice)
    assert signal.SIGTERM not in stops_between
