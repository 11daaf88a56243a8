"""``python -m console``: serve the agent console on the assistant's database (DATABASE_URL)."""
from __future__ import annotations

import argparse
import os
from typing import Mapping, Optional, Sequence

from console.app import create_app
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.agents.accounts import AgentAccounts
from telecom_assistant.database import make_engine
from telecom_assistant.schema import create_schema
from telecom_assistant.settings import PRODUCTION, selected_profile
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.web import exit_if_port_taken

# Agents reach the console on this machine, or through a proxy on it that terminates TLS.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5002


def argument_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m console", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--secure-cookies", action="store_true",
        default=selected_profile(environ) == PRODUCTION,
        help="mark cookies Secure on every request, also over plain http (on in the "
             "production profile, TELECOM_PROFILE=production); without it only requests that "
             "came over HTTPS, directly or through a proxy on this machine, get Secure cookies",
    )
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argument_parser(os.environ)
    args = parser.parse_args(argv)
    exit_if_port_taken(parser, args.host, args.port)
    engine = make_engine()
    create_schema(engine)
    app = create_app(SqlTicketService(engine), SqlAccountService(engine), AgentAccounts(engine),
                     always_secure_cookies=args.secure_cookies)
    # One worker: the sign-in lock-out is counted in this process's memory.
    app.run(host=args.host, port=args.port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
