"""``python -m console``: serve the agent console on the assistant's database (DATABASE_URL)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from console.app import create_app
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.agents.accounts import AgentAccounts
from telecom_assistant.database import make_engine
from telecom_assistant.reminders.sql import SqlReminderStore
from telecom_assistant.satisfaction.sql import SqlSatisfactionService
from telecom_assistant.schema import Area, migrate
from telecom_assistant.settings import LOOPBACK, PRODUCTION, Settings, SettingsError
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.tickets.sql_live import SqlLiveDesk
from telecom_assistant.web import exit_if_port_taken


def argument_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m console", description=__doc__)
    # Agents reach the console on this machine, or through a proxy on it that terminates TLS.
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument(
        "--port",
        type=int,
        default=settings.ports.console,
        help="default: TELECOM_CONSOLE_PORT or %(default)s",
    )
    parser.add_argument(
        "--secure-cookies",
        action="store_true",
        default=settings.profile == PRODUCTION,
        help="mark cookies Secure on every request, also over plain http (on in the "
        "production profile, TELECOM_PROFILE=production); without it only requests that "
        "came over HTTPS, directly or through a proxy on this machine, get Secure cookies",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    try:
        settings = Settings.from_environment()
    except SettingsError as problem:
        sys.exit(f"agent console: {problem}")
    parser = argument_parser(settings)
    args = parser.parse_args(argv)
    exit_if_port_taken(parser, args.host, args.port)
    engine = make_engine(settings.database_url)
    migrate(engine, [Area.ACCOUNTS, Area.TICKETS, Area.AGENTS, Area.SATISFACTION, Area.REMINDERS])
    app = create_app(
        SqlTicketService(engine),
        SqlAccountService(engine),
        AgentAccounts(engine),
        always_secure_cookies=args.secure_cookies,
        live_desk=SqlLiveDesk(engine),
        satisfaction=SqlSatisfactionService(engine),
        reminders=SqlReminderStore(engine),
    )
    # One worker: the sign-in lock-out is counted in this process's memory.
    # No banner: `telecom run` prints one summary for every part.
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
