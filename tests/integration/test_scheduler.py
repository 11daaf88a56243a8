"""The scheduler program (`python -m scheduler`, as `telecom run` starts it) against Rasa's
real channels with a scripted turn: a reminder goes out by SMS, opens the customer's chat as
an external event, and waits in the outbox for the channel; two schedulers on one PostgreSQL
database send each reminder once, one of them scanning."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sanic import Sanic
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from demo.events import order_addon
from demo.seed import reset_database
from ops import launcher, parts
from telecom_assistant.accounts.tables import SmsOutboxRow
from telecom_assistant.clock import operator_now
from telecom_assistant.database import make_engine
from telecom_assistant.reminders.model import ChatAddress
from telecom_assistant.reminders.sql import SqlReminderStore
from telecom_assistant.reminders.tables import ReminderRow
from telecom_assistant.schema import Area, migrate
from telecom_assistant.tickets.replies import ReplyKind
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from tests.fake_telegram import free_port, wait_until
from tests.integration.test_reminder_scan import LINE
from tests.scripted_rasa import ScriptedRasa

CHANNEL_SECRET = "the-scheduler-tests-channel-secret-0123456789abcdef"
CONVERSATION = "telegram-0123456789abcdef"


@pytest.fixture(autouse=True)
def sanic_keeps_its_handlers(monkeypatch):
    monkeypatch.setattr(Sanic, "test_mode", True)


@pytest.fixture
def todays_demo(tmp_path) -> Iterator[Engine]:
    """The demo database seeded for today: the program runs on the wall clock."""
    engine = make_engine(f"sqlite:///{tmp_path / 'telecom.db'}")
    reset_database(engine, operator_now().date())
    migrate(engine, [Area.REMINDERS])
    yield engine
    engine.dispose()


def scheduler(database_url: str, rasa_url: str, health_port: int) -> launcher.Part:
    environment = {
        **os.environ,
        **parts.QUIET_DEPENDENCIES,
        "DATABASE_URL": database_url,
        "RASA_URL": rasa_url,
        "TELECOM_CHANNEL_SECRET": CHANNEL_SECRET,
        "TELECOM_SCHEDULER_HEALTH_PORT": str(health_port),
        "TELECOM_REMINDER_SCAN_SECONDS": "0.3",
        # The test runs whenever: no quiet hours.
        "TELECOM_REMINDER_HOURS": "00:00-24:00",
    }
    return parts.scheduler(health_port, environment=environment)


def test_a_new_add_on_reaches_the_sms_outbox_and_opens_the_customers_chat(todays_demo):
    store = SqlReminderStore(todays_demo)
    store.remember_chat(ChatAddress(LINE, "telegram", CONVERSATION, "en"))
    order_addon(todays_demo, LINE, "ringback_tone", operator_now().date())
    outbox = SqlReplyOutbox(todays_demo)

    async def scenario() -> None:
        rasa = ScriptedRasa(CHANNEL_SECRET)
        rasa_url = await rasa.start()
        port = free_port()
        running = await asyncio.to_thread(
            launcher.start, scheduler(str(todays_demo.url), rasa_url, port)
        )
        try:
            queued = await wait_until(
                lambda: outbox.pending("telegram", CONVERSATION),
                lambda: "the reminder never reached the outbox",
            )
            health = await wait_until(
                lambda: _scanned(port), lambda: "the health check never told of a scan"
            )
        finally:
            launcher.stop([running])
            await rasa.stop()
        (reminder,) = [sent for sent in store.sent_to(LINE) if sent.kind.value == "addon"]
        assert rasa.external_events == [
            (CONVERSATION, "EXTERNAL_reminder", {"reminder": str(reminder.id)})
        ]
        (message,) = queued
        assert message.kind is ReplyKind.REMINDER and message.ticket_id is None
        assert (
            message.text.startswith("EXTERNAL_reminder") and message.buttons[0].title == "Cancel it"
        )
        assert reminder.sms_at is not None and reminder.chat_at is not None
        assert health["scanning"] is True and health["last_scan_lines"] == 22

    asyncio.run(scenario())


def test_rasa_out_of_reach_leaves_the_reminder_for_a_later_scan(todays_demo):
    store = SqlReminderStore(todays_demo)
    store.remember_chat(ChatAddress(LINE, "webchat", CONVERSATION, "zh"))
    order_addon(todays_demo, LINE, "ringback_tone", operator_now().date())
    port = free_port()
    running = launcher.start(
        scheduler(str(todays_demo.url), f"http://127.0.0.1:{free_port()}", port)
    )
    try:
        asyncio.run(
            wait_until(
                lambda: any(sent.sms_at for sent in store.sent_to(LINE)),
                lambda: "no reminder SMS",
            )
        )
    finally:
        launcher.stop([running])
    (sent,) = [sent for sent in store.sent_to(LINE) if sent.kind.value == "addon"]
    assert sent.chat_at is None
    assert store.chat_pending(since=operator_now() - timedelta(hours=1))


@pytest.mark.postgres
def test_two_schedulers_one_database_one_sending(postgres_engine):
    migrate(postgres_engine, [Area.REMINDERS])
    order_addon(postgres_engine, LINE, "ringback_tone", operator_now().date())
    url = postgres_engine.url.render_as_string(hide_password=False)
    ports = [free_port(), free_port()]
    nowhere = f"http://127.0.0.1:{free_port()}"
    running = [launcher.start(scheduler(url, nowhere, port)) for port in ports]
    try:
        asyncio.run(
            wait_until(
                lambda: (
                    all(
                        httpx.get(f"http://127.0.0.1:{port}/health").json()["last_scan"] or True
                        for port in ports
                    )
                    and _count(postgres_engine, ReminderRow) > 0
                ),
                lambda: "no reminders sent",
            )
        )
        asyncio.run(asyncio.sleep(1.0))  # several scan intervals
        scanning = [
            httpx.get(f"http://127.0.0.1:{port}/health").json()["scanning"] for port in ports
        ]
    finally:
        launcher.stop(running)
    assert sorted(scanning) == [False, True]
    with Session(postgres_engine) as session:
        sms = session.execute(
            select(SmsOutboxRow.msisdn, SmsOutboxRow.body).where(SmsOutboxRow.purpose == "reminder")
        ).all()
    assert len(sms) == len(set(sms)) == _count(postgres_engine, ReminderRow)


def _scanned(port: int) -> dict | None:
    """The scheduler's health once it has scanned, else None."""
    health = httpx.get(f"http://127.0.0.1:{port}/health").json()
    return health if health["last_scan"] else None


def _count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table)))
