"""python -m channels.telegram: runs the bridge until interrupted.

Environment: TELEGRAM_BOT_TOKEN (required), RASA_URL (default http://127.0.0.1:5005),
TELEGRAM_API_URL (another Bot API server, e.g. a local one), DATABASE_URL (the assistant's
database, where agents' replies wait to be sent; default the project's var/telecom.db),
TELEGRAM_BRIDGE_HEALTH_PORT (default 5004: GET http://127.0.0.1:5004/health),
TELECOM_CHANNEL_SECRET and TELECOM_CONVERSATION_KEY (telecom_assistant/trust.py), and for
webhook mode instead of long polling TELEGRAM_WEBHOOK_URL (the public https URL Telegram posts
to), TELEGRAM_WEBHOOK_SECRET (required with it) and TELEGRAM_WEBHOOK_PORT (default 8443, on
127.0.0.1: see webhook.py).
"""
from __future__ import annotations

import logging
import os
import sys

from channels.telegram.bridge import build_application
from channels.telegram.conversations import Base, ChatDirectory
from channels.telegram.health import HEALTH_HOST
from channels.telegram.webhook import WebhookMisconfigured, webhook_settings
from telecom_assistant.database import make_engine
from telecom_assistant.schema import create_schema
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from telecom_assistant.trust import CHANNEL_SECRET, CONVERSATION_KEY, SecretMissing
from telecom_assistant.web import port_in_use

DEFAULT_RASA_URL = "http://127.0.0.1:5005"
DEFAULT_HEALTH_PORT = 5004


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every Bot API request (token included in the URL) at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        print(
            "telegram_bridge: set TELEGRAM_BOT_TOKEN to the bot's token (from @BotFather).",
            file=sys.stderr,
        )
        return 2
    try:
        webhook = webhook_settings(os.environ)
        channel_secret = CHANNEL_SECRET.value()
        conversation_key = CONVERSATION_KEY.value()
    except (WebhookMisconfigured, SecretMissing) as problem:
        print(f"telegram_bridge: {problem}", file=sys.stderr)
        return 1
    health_port = int(os.environ.get("TELEGRAM_BRIDGE_HEALTH_PORT") or DEFAULT_HEALTH_PORT)
    # Checked now: the health server only starts once Telegram has answered, too late to fail
    # clearly.
    if port_in_use(health_port, HEALTH_HOST):
        print(
            f"telegram_bridge: port {health_port} is taken: stop what runs there or set "
            "TELEGRAM_BRIDGE_HEALTH_PORT to another port.",
            file=sys.stderr,
        )
        return 1
    engine = make_engine()
    # As the console does: whichever process starts first makes the tables (the bridge's
    # and its own telegram_conversations).
    create_schema(engine)
    Base.metadata.create_all(engine)
    application = build_application(
        token,
        os.environ.get("RASA_URL", DEFAULT_RASA_URL),
        os.environ.get("TELEGRAM_API_URL") or None,
        channel_secret=channel_secret,
        conversation_key=conversation_key,
        chats=ChatDirectory(engine),
        outbox=SqlReplyOutbox(engine),
        health_port=health_port,
    )
    if webhook is not None:
        application.run_webhook(**webhook.arguments())
    else:
        application.run_polling()
    return 0


if __name__ == "__main__":
    sys.exit(main())
