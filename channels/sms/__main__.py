"""python -m channels.sms: the SMS business hall, answering the service number until
interrupted (its composition root).

Its settings (docs/configuration.md): DATABASE_URL (the SMS gateway, the accounts, the
reminders' opt-outs), RASA_URL, TELECOM_SMS_KEYWORDS, TELECOM_SMS_HALL_HEALTH_PORT (GET
/health; --health-port instead), TELECOM_CHANNEL_SECRET and TELECOM_CONVERSATION_KEY
(telecom_assistant/trust.py).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from channels.program_logs import configure_logging
from channels.rasa_client import RasaClient
from channels.sms.agent_replies import SmsReplySender
from channels.sms.desk import SmsDesk
from channels.sms.hall import SmsHall, hall_health
from channels.sms.keywords import Keywords, KeywordsError
from channels.sms.questions import SqlOpenQuestions
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.database import make_engine
from telecom_assistant.reminders.sql import SqlReminderStore
from telecom_assistant.schema import Area, migrate
from telecom_assistant.settings import Settings, SettingsError
from telecom_assistant.sms.sql import SqlSmsGateway
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from telecom_assistant.trust import CHANNEL_SECRET, CONVERSATION_KEY
from telecom_assistant.web import port_in_use

# The gateway and the accounts, and the reminders' opt-outs and languages.
AREAS = (Area.ACCOUNTS, Area.TICKETS, Area.REMINDERS, Area.SMS_HALL)


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    try:
        settings = Settings.from_environment()
        channel_secret = CHANNEL_SECRET.value(settings)
        conversation_key = CONVERSATION_KEY.value(settings)
        keywords = Keywords.load(Path(settings.sms_keywords))
    except (SettingsError, KeywordsError) as problem:
        print(f"sms hall: {problem}", file=sys.stderr)
        return 1
    parser = argparse.ArgumentParser(prog="python -m channels.sms", description=__doc__)
    parser.add_argument(
        "--health-port",
        type=int,
        default=settings.ports.sms_hall_health,
        help="GET /health on 127.0.0.1 (default: TELECOM_SMS_HALL_HEALTH_PORT or %(default)s)",
    )
    port = parser.parse_args(argv).health_port
    if port_in_use(port):
        print(
            f"sms hall: port {port} is taken: stop what runs there or set "
            "TELECOM_SMS_HALL_HEALTH_PORT to another port.",
            file=sys.stderr,
        )
        return 1
    asyncio.run(serve(settings, keywords, channel_secret, conversation_key, port))
    return 0


async def serve(
    settings: Settings,
    keywords: Keywords,
    channel_secret: str,
    conversation_key: str,
    health_port: int,
) -> None:
    engine = make_engine(settings.database_url)
    migrate(engine, AREAS)
    rasa = RasaClient(settings.rasa_url, channel_secret)
    desk = SmsDesk(
        SqlAccountService(engine), SqlReminderStore(engine), SqlOpenQuestions(engine), keywords
    )
    gateway = SqlSmsGateway(engine)
    replies = SmsReplySender(
        SqlReplyOutbox(engine), SqlTicketService(engine), gateway, conversation_key
    )
    hall = SmsHall(desk, gateway, rasa, keywords, conversation_key, replies=replies)
    health = hall_health(hall, rasa, health_port)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    await health.start()
    try:
        await hall.run(stopping)
    finally:
        await health.stop()
        await rasa.close()
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
