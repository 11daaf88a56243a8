"""``python -m console``: serve the agent console on the assistant's database (DATABASE_URL)."""
from __future__ import annotations

import argparse
from typing import Optional, Sequence

from telecom_assistant.backend.database import create_schema, make_engine
from telecom_assistant.backend.sql import SqlAccountService
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.web import exit_if_port_taken

from .accounts import AgentAccounts
from .app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5002


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m console", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--secure-cookies", action="store_true",
        help="mark cookies Secure: use it when the console is reached over HTTPS",
    )
    args = parser.parse_args(argv)
    exit_if_port_taken(parser, args.host, args.port)
    engine = make_engine()
    create_schema(engine)
    app = create_app(SqlTicketService(engine), SqlAccountService(engine), AgentAccounts(engine))
    app.config.SECURE_COOKIES = args.secure_cookies
    # One worker: the sign-in lock-out is counted in this process's memory.
    app.run(host=args.host, port=args.port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
