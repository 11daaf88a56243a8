"""GET /health on 127.0.0.1 for the programs that serve no web pages of their own (the Telegram
bridge, the SMS hall, the reminder scheduler), so that a process manager (`telecom run`) can tell
a working program from one stuck at start-up: "ok", and what the program says of itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aiohttp import web

from telecom_assistant.settings import LOOPBACK

Report = Callable[[], Awaitable[Mapping[str, Any]]]


class Reachable(Protocol):
    """What a health report asks of the Rasa client."""

    async def is_reachable(self) -> bool: ...


async def rasa_state(rasa: Reachable) -> str:
    """A program still says "ok" without Rasa: it waits for it, or works without it."""
    return "reachable" if await rasa.is_reachable() else "unreachable"


class HealthServer:
    def __init__(self, port: int, report: Report) -> None:
        self._port = port
        self._report = report
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, self._port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", **(await self._report())})
