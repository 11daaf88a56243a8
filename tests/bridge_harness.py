"""The Telegram bridge program run in a test's event loop, against the fake Bot API
(tests/fake_telegram.py) and a Rasa (a fake, or the product's)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from channels.rasa_client import RasaClient
from channels.telegram import BridgeProgram, build_bridge
from channels.telegram.inbox import Inbox
from telecom_assistant.database import make_engine
from telecom_assistant.schema import Area, migrate
from tests.fake_telegram import TOKEN


def new_inbox(directory: str) -> Inbox:
    engine = make_engine(f"sqlite:///{directory}/bridge.db")
    migrate(engine, [Area.TELEGRAM])
    return Inbox(engine)


@contextlib.asynccontextmanager
async def bridge_running(
    rasa: RasaClient, telegram_url: str, **options: Any
) -> AsyncIterator[BridgeProgram]:
    """The real bridge program, polling the fake Bot API at telegram_url (options go to
    build_bridge); stopped, on leaving, as SIGTERM stops it."""
    program = build_bridge(TOKEN, rasa, telegram_url, long_poll_seconds=1, **options)
    stopping = asyncio.Event()
    running = asyncio.create_task(program.run(stopping))
    started = asyncio.create_task(program.started.wait())
    await asyncio.wait({running, started}, return_when=asyncio.FIRST_COMPLETED)
    if running.done():
        started.cancel()
        running.result()  # it failed: say why
    try:
        yield program
    finally:
        stopping.set()
        await running
