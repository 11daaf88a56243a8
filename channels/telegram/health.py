"""GET /health on 127.0.0.1: served once Telegram has accepted the bot's token, so that a
process manager can tell a working bridge from one stuck at start-up."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from telecom_assistant.settings import LOOPBACK


class Relay(Protocol):
    """What the health check reads of the bridge."""

    @property
    def queued_messages(self) -> int: ...


class Reachable(Protocol):
    """What the health check asks of the Rasa client."""

    async def is_reachable(self) -> bool: ...


class HealthServer:
    def __init__(self, bridge: Relay, rasa: Reachable, port: int) -> None:
        self._bridge = bridge
        self._rasa = rasa
        self._port = port
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
        rasa_reachable = await self._rasa.is_reachable()
        return web.json_response(
            {
                "status": "ok",
                # Started only after PTB's getMe succeeded.
                "telegram": "connected",
                # Still "ok" without Rasa: the bridge queues the customers' messages meanwhile.
                "rasa": "reachable" if rasa_reachable else "unreachable",
                "queued_messages": self._bridge.queued_messages,
            }
        )
