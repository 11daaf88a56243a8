"""python -m scheduler: scans for reminders until interrupted (the composition root).

Its settings (docs/configuration.md): DATABASE_URL, RASA_URL, TELECOM_CHANNEL_SECRET
(telecom_assistant/trust.py), TELECOM_REMINDER_*, TELECOM_SMS_KEYWORDS and TELECOM_SCHEDULER_HEALTH_PORT.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from channels.program_logs import configure_logging
from channels.rasa_client import RasaClient
from channels.sms.keywords import Keywords, KeywordsError
from scheduler.delivery import RasaChatDelivery
from scheduler.program import SchedulerProgram
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.database import make_engine
from telecom_assistant.reminders.scan import ReminderPolicy, ReminderScan
from telecom_assistant.reminders.sql import SqlReminderStore
from telecom_assistant.schema import Area, migrate
from telecom_assistant.settings import Settings, SettingsError
from telecom_assistant.sms.sql import SqlSmsGateway
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from telecom_assistant.trust import CHANNEL_SECRET
from telecom_assistant.web import port_in_use

# The areas the scheduler reads and writes.
AREAS = (Area.ACCOUNTS, Area.TICKETS, Area.REMINDERS)


def policy_of(settings: Settings) -> ReminderPolicy:
    """What the settings say of reminders, with the SMS hall's keywords (TELECOM_SMS_KEYWORDS)
    for what a reminder SMS tells the customer to reply."""
    reminders = settings.reminders
    return ReminderPolicy(
        sending_hours=reminders.sending_hours,
        low_balance=reminders.low_balance_yuan * 100,
        booster_addon=reminders.booster_addon or None,
        sms_hints=Keywords.load(Path(settings.sms_keywords)).reminder_hints(),
    )


async def serve(settings: Settings, channel_secret: str, policy: ReminderPolicy) -> None:
    engine = make_engine(settings.database_url)
    migrate(engine, AREAS)
    store = SqlReminderStore(engine)
    rasa = RasaClient(settings.rasa_url, channel_secret)
    loop = asyncio.get_running_loop()

    def scan() -> ReminderScan:
        return ReminderScan(
            accounts=SqlAccountService(engine),
            store=store,
            sms=SqlSmsGateway(engine),
            policy=policy,
            chat=RasaChatDelivery(rasa, SqlReplyOutbox(engine), loop),
            tickets=SqlTicketService(engine),
        )

    program = SchedulerProgram(
        scan, store, settings.reminders.scan_seconds, settings.ports.scheduler_health
    )
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, program.stop)
    try:
        await program.run()
    finally:
        await rasa.close()
        engine.dispose()


def main() -> int:
    configure_logging()
    try:
        settings = Settings.from_environment()
        channel_secret = CHANNEL_SECRET.value(settings)
        policy = policy_of(settings)
    except (SettingsError, KeywordsError) as problem:
        print(f"scheduler: {problem}", file=sys.stderr)
        return 1
    if port_in_use(settings.ports.scheduler_health):
        print(
            f"scheduler: port {settings.ports.scheduler_health} is taken "
            "(TELECOM_SCHEDULER_HEALTH_PORT).",
            file=sys.stderr,
        )
        return 1
    asyncio.run(serve(settings, channel_secret, policy))
    return 0


if __name__ == "__main__":
    sys.exit(main())
