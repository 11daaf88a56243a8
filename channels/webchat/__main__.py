"""``python -m channels.webchat``: serve the customer web chat, relaying to Rasa's "webchat" channel
(RASA_URL) and showing agents' replies from the assistant's database (DATABASE_URL).

It needs the channel secret and the conversation key (TELECOM_CHANNEL_SECRET,
TELECOM_CONVERSATION_KEY; generated into var/secrets/ in the embedded profile). In the
production profile its session cookies are always Secure: the page is served over HTTPS."""
from __future__ import annotations

import argparse
import os
from typing import Optional, Sequence

from channels.webchat.app import DEFAULT_RASA_URL, create_app
from telecom_assistant.database import make_engine
from telecom_assistant.schema import create_schema
from telecom_assistant.settings import PRODUCTION, selected_profile
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from telecom_assistant.trust import CHANNEL_SECRET, CONVERSATION_KEY, SecretMissing
from telecom_assistant.web import exit_if_port_taken

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5003


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m channels.webchat", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--rasa-url", default=os.environ.get("RASA_URL") or DEFAULT_RASA_URL,
        help="where the Rasa server runs (default: $RASA_URL or %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        channel_secret, conversation_key = CHANNEL_SECRET.value(), CONVERSATION_KEY.value()
    except SecretMissing as missing:
        parser.exit(1, f"{missing}\n")
    exit_if_port_taken(parser, args.host, args.port)
    engine = make_engine()
    create_schema(engine)
    app = create_app(args.rasa_url, SqlReplyOutbox(engine), channel_secret, conversation_key,
                     always_secure_cookies=selected_profile() == PRODUCTION)
    app.run(host=args.host, port=args.port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
