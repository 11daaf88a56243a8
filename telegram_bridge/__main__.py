"""python -m telegram_bridge: runs the bridge until interrupted.

Environment: TELEGRAM_BOT_TOKEN (required), RASA_URL (default http://127.0.0.1:5005),
TELEGRAM_API_URL (another Bot API server, e.g. a local one), DATABASE_URL (the assistant's
database, where agents' replies wait to be sent; default the project's var/telecom.db),
TELEGRAM_BRIDGE_HEALTH_PORT (default 5004: GET http://127.0.0.1:5004/health), and for webhook
mode instead of long polling TELEGRAM_WEBHOOK_URL (the public https URL Telegram posts to),
TELEGRAM_WEBHOOK_PORT (default 8443) and optionally TELEGRAM_WEBHOOK_SECRET.
"""
from __future__ import annotations

import logging
import os
import sys
from urllib.parse import urlsplit

from telecom_assistant.backend.database import create_schema, make_engine
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from telecom_assistant.web import port_in_use
from telegram_bridge.bridge import build_application
from telegram_bridge.health import HEALTH_HOST

DEFAULT_RASA_URL = "http://127.0.0.1:5005"
DEFAULT_WEBHOOK_PORT = 8443
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
    create_schema(engine)  # as the console does: whichever process starts first makes the tables
    application = build_application(
        token,
        os.environ.get("RASA_URL", DEFAULT_RASA_URL),
        os.environ.get("TELEGRAM_API_URL") or None,
        outbox=SqlReplyOutbox(engine),
        health_port=health_port,
    )
    webhook_url = os.environ.get("TELEGRAM_WEBHOOK_URL", "").strip()
    if webhook_url:
        application.run_webhook(
            listen="0.0.0.0",
            port=int(os.environ.get("TELEGRAM_WEBHOOK_PORT", DEFAULT_WEBHOOK_PORT)),
            url_path=urlsplit(webhook_url).path.lstrip("/"),
            webhook_url=webhook_url,
            secret_token=os.environ.get("TELEGRAM_WEBHOOK_SECRET") or None,
        )
    else:
        application.run_polling()
    return 0


if __name__ == "__main__":
    sys.exit(main())
