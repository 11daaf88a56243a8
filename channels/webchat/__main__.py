"""``python -m channels.webchat``: serve the customer web chat, relaying to Rasa's "webchat" channel
(RASA_URL) and showing agents' replies from the assistant's database (DATABASE_URL).

It needs the channel secret and the conversation key (TELECOM_CHANNEL_SECRET,
TELECOM_CONVERSATION_KEY; generated into var/secrets/ in the embedded profile). In the
production profile its session cookies are always Secure: the page is served over HTTPS."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from channels.rasa_client import RasaClient
from channels.webchat.app import create_app
from telecom_assistant.database import make_engine
from telecom_assistant.schema import Area, migrate
from telecom_assistant.settings import LOOPBACK, PRODUCTION, Settings, SettingsError
from telecom_assistant.tickets.sql_live import SqlLiveDesk
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from telecom_assistant.trust import CHANNEL_SECRET, CONVERSATION_KEY
from telecom_assistant.web import exit_if_port_taken


def main(argv: Sequence[str] | None = None) -> None:
    try:
        settings = Settings.from_environment()
        channel_secret = CHANNEL_SECRET.value(settings)
        conversation_key = CONVERSATION_KEY.value(settings)
    except SettingsError as problem:
        sys.exit(f"web chat: {problem}")
    parser = argparse.ArgumentParser(
        prog="python -m channels.webchat",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument(
        "--port",
        type=int,
        default=settings.ports.webchat,
        help="default: TELECOM_WEBCHAT_PORT or %(default)s",
    )
    parser.add_argument(
        "--rasa-url",
        default=settings.rasa_url,
        help="where the Rasa server runs (default: RASA_URL or %(default)s)",
    )
    args = parser.parse_args(argv)
    exit_if_port_taken(parser, args.host, args.port)
    engine = make_engine(settings.database_url)
    migrate(engine, [Area.TICKETS])
    app = create_app(
        RasaClient(args.rasa_url, channel_secret),
        SqlReplyOutbox(engine),
        conversation_key,
        live_desk=SqlLiveDesk(engine),
        always_secure_cookies=settings.profile == PRODUCTION,
    )
    # No banner: `telecom run` prints one summary for every part.
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
