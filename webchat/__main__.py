"""``python -m webchat``: serve the customer web chat, relaying to Rasa's "webchat" channel
(RASA_URL) and showing agents' replies from the assistant's database (DATABASE_URL)."""
from __future__ import annotations

import argparse
import os
from typing import Optional, Sequence

from telecom_assistant.backend.database import create_schema, make_engine
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from telecom_assistant.web import exit_if_port_taken

from .app import DEFAULT_RASA_URL, create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5003


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m webchat", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--rasa-url", default=os.environ.get("RASA_URL") or DEFAULT_RASA_URL,
        help="where the Rasa server runs (default: $RASA_URL or %(default)s)",
    )
    args = parser.parse_args(argv)
    exit_if_port_taken(parser, args.host, args.port)
    engine = make_engine()
    create_schema(engine)
    app = create_app(args.rasa_url, SqlReplyOutbox(engine))
    app.run(host=args.host, port=args.port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
