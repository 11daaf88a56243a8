"""The bridge's GET /health (channels/health.py), served once Telegram has accepted the bot's
token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from channels.health import HealthServer, Reachable, rasa_state


class Relay(Protocol):
    """What the health check reads of the bridge."""

    @property
    def queued_messages(self) -> int: ...


def bridge_health(bridge: Relay, rasa: Reachable, port: int) -> HealthServer:
    async def report() -> Mapping[str, Any]:
        return {
            # Started only after PTB's getMe succeeded.
            "telegram": "connected",
            # Still "ok" without Rasa: the bridge queues the customers' messages meanwhile.
            "rasa": await rasa_state(rasa),
            "queued_messages": bridge.queued_messages,
        }

    return HealthServer(port, report)
