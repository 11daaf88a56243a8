"""python -m channels.telegram: runs the bridge until interrupted.

Its settings (docs/configuration.md): TELEGRAM_BOT_TOKEN (required), RASA_URL,
TELEGRAM_API_URL, DATABASE_URL (where agents' replies wait to be sent),
TELEGRAM_BRIDGE_HEALTH_PORT (GET /health), TELECOM_CHANNEL_SECRET and TELECOM_CONVERSATION_KEY
(telecom_assistant/trust.py), and for webhook mode instead of long polling
TELEGRAM_WEBHOOK_URL, TELEGRAM_WEBHOOK_SECRET and TELEGRAM_WEBHOOK_PORT (see webhook.py).
"""

from __future__ import annotations

import asyncio
import signal
import sys

from telegram.error import InvalidToken

from channels.program_logs import configure_logging
from channels.rasa_client import RasaClient
from channels.telegram.conversations import ChatDirectory
from channels.telegram.inbox import Inbox
from channels.telegram.program import BridgeProgram, build_bridge
from channels.telegram.webhook import webhook_settings
from telecom_assistant.database import make_engine
from telecom_assistant.schema import Area, migrate
from telecom_assistant.settings import Settings, SettingsError
from telecom_assistant.tickets.sql_live import SqlLiveDesk
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from telecom_assistant.trust import CHANNEL_SECRET, CONVERSATION_KEY
from telecom_assistant.web import port_in_use


def main() -> int:
    configure_logging()
    try:
        settings = Settings.from_environment()
    except SettingsError as problem:
        print(f"telegram_bridge: {problem}", file=sys.stderr)
        return 1
    token = settings.telegram.bot_token
    if not token:
        print(
            "telegram_bridge: set TELEGRAM_BOT_TOKEN to the bot's token (from @BotFather).",
            file=sys.stderr,
        )
        return 2
    try:
        channel_secret = CHANNEL_SECRET.value(settings)
        conversation_key = CONVERSATION_KEY.value(settings)
    except SettingsError as missing:
        print(f"telegram_bridge: {missing}", file=sys.stderr)
        return 1
    health_port = settings.ports.telegram_bridge_health
    # Checked now: the health server only starts once Telegram has answered, too late to fail
    # clearly.
    if port_in_use(health_port):
        print(
            f"telegram_bridge: port {health_port} is taken: stop what runs there or set "
            "TELEGRAM_BRIDGE_HEALTH_PORT to another port.",
            file=sys.stderr,
        )
        return 1
    engine = make_engine(settings.database_url)
    # The replies it delivers, and its own tables (the chat directory, the inbox).
    migrate(engine, [Area.TICKETS, Area.TELEGRAM])
    program = build_bridge(
        token,
        RasaClient(settings.rasa_url, channel_secret),
        settings.telegram.api_url,
        conversation_key=conversation_key,
        inbox=Inbox(engine),
        chats=ChatDirectory(engine),
        outbox=SqlReplyOutbox(engine),
        live_desk=SqlLiveDesk(engine),
        health_port=health_port,
        webhook=webhook_settings(settings.telegram),
    )
    try:
        asyncio.run(run_until_signalled(program))
    except InvalidToken:
        print("telegram_bridge: Telegram refused TELEGRAM_BOT_TOKEN.", file=sys.stderr)
        return 1
    return 0


async def run_until_signalled(program: BridgeProgram) -> None:
    """Runs the bridge until SIGINT or SIGTERM."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    await program.run(stopping)


if __name__ == "__main__":
    sys.exit(main())
