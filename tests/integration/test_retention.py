"""Retention (telecom_assistant/retention.py): conversations whose last message is older than
the retention period are deleted from Rasa's own events table, whole, in both profiles'
databases; a conversation still going on is kept whole; so are tickets."""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore

from telecom_assistant.accounts.tables import (
    SmsOutboxRow,
    VerificationCodeRow,
    VerificationCounterRow,
)
from telecom_assistant.clock import operator_now
from telecom_assistant.database import make_engine
from telecom_assistant.reminders.model import Reminder, ReminderKind
from telecom_assistant.reminders.sql import SqlReminderStore
from telecom_assistant.reminders.tables import ReminderRow
from telecom_assistant.retention import (
    EMBEDDED_TRACKER_DATABASE,
    apply_retention,
    forget_old_conversations,
    forget_spent_verifications,
    tracker_database_url,
)
from telecom_assistant.schema import Area, migrate
from telecom_assistant.settings import Settings
from tests.conftest import postgres_database

DAY = 86400.0
NOW = 1_800_000_000.0


def rasa_events_table(url: str) -> sa.engine.Engine:
    """Rasa's own `events` table, created by Rasa's SQL tracker store on `url`."""
    store = SQLTrackerStore(host=url)
    store.engine.dispose()
    return make_engine(url)


def add_events(engine: sa.engine.Engine, sender: str, *ages_in_days: float) -> None:
    table = sa.Table("events", sa.MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        connection.execute(
            table.insert(),
            [
                {
                    "sender_id": sender,
                    "type_name": "user",
                    "timestamp": NOW - age * DAY,
                    "data": "{}",
                }
                for age in ages_in_days
            ],
        )


def senders(engine: sa.engine.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT sender_id, count(*) FROM events GROUP BY sender_id")
        ).all()
    return dict(rows)


def check_forgets_only_finished_old_conversations(engine: sa.engine.Engine) -> None:
    add_events(engine, "old", 200, 120, 91)
    add_events(engine, "long-running", 300, 100, 2)
    add_events(engine, "recent", 10, 1)
    assert forget_old_conversations(engine, 90, now=NOW) == 1
    assert senders(engine) == {"long-running": 3, "recent": 2}
    assert forget_old_conversations(engine, 90, now=NOW) == 0


def test_old_conversations_are_forgotten_on_sqlite(tmp_path):
    check_forgets_only_finished_old_conversations(
        rasa_events_table(f"sqlite:///{tmp_path / 'tracker.db'}")
    )


def test_old_conversations_are_forgotten_on_postgresql():
    with postgres_database() as url:
        engine = rasa_events_table(url)
        try:
            check_forgets_only_finished_old_conversations(engine)
        finally:
            engine.dispose()


def test_a_database_without_conversations_yet_is_fine(tmp_path):
    assert forget_old_conversations(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"), 90) == 0


def test_old_demo_sms_with_their_codes_go_too(sqlite_engine, tmp_path):
    now = operator_now()
    with sqlite_engine.begin() as connection:
        connection.execute(
            sa.insert(SmsOutboxRow),
            [
                {
                    "msisdn": "13800000001",
                    "body": "code 111111",
                    "sent_at": now - timedelta(days=91),
                },
                {
                    "msisdn": "13800000001",
                    "body": "code 222222",
                    "sent_at": now - timedelta(hours=1),
                },
            ],
        )
    tracker = rasa_events_table(f"sqlite:///{tmp_path / 'tracker.db'}")
    add_events(tracker, "today", 0)
    forgotten = apply_retention(sqlite_engine, tracker, 90)
    assert (forgotten.conversations, forgotten.sms, forgotten.verifications) == (0, 1, 0)
    assert forgotten.reminders == 0
    with sqlite_engine.connect() as connection:
        bodies = connection.execute(sa.select(SmsOutboxRow.body)).scalars().all()
    assert bodies == ["code 222222"]


def test_conversations_are_where_the_profiles_rasa_keeps_them():
    assert tracker_database_url(Settings()) == EMBEDDED_TRACKER_DATABASE
    production = Settings(profile="production", database_url="postgresql://db/telecom")
    assert tracker_database_url(production) == "postgresql://db/telecom"


def test_now_defaults_to_the_clock(tmp_path):
    engine = rasa_events_table(f"sqlite:///{tmp_path / 'tracker.db'}")
    table = sa.Table("events", sa.MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        connection.execute(
            table.insert(),
            [
                {
                    "sender_id": "this-morning",
                    "type_name": "user",
                    "timestamp": time.time() - DAY / 2,
                    "data": "{}",
                }
            ],
        )
    assert forget_old_conversations(engine, 1) == 0
    assert forget_old_conversations(engine, 1, now=time.time() + DAY) == 1


def test_verification_state_goes_once_it_can_no_longer_matter(sqlite_engine):
    now = operator_now()
    codes, counters = VerificationCodeRow, VerificationCounterRow
    with sqlite_engine.begin() as connection:
        connection.execute(
            sa.insert(codes),
            [
                {
                    "msisdn": "13800000001",
                    "conversation_key": "spent",
                    "wrong_attempts": 0,
                    "expires_at": now - timedelta(days=3),
                    "locked_until": None,
                },
                {
                    "msisdn": "13800000001",
                    "conversation_key": "live",
                    "wrong_attempts": 0,
                    "expires_at": now + timedelta(minutes=5),
                    "locked_until": None,
                },
                {
                    "msisdn": "13800000001",
                    "conversation_key": "still-locked",
                    "wrong_attempts": 0,
                    "expires_at": now - timedelta(days=3),
                    "locked_until": now - timedelta(hours=1),
                },
            ],
        )
        connection.execute(
            sa.insert(counters),
            [
                {
                    "scope": "codes per number, day",
                    "subject": "13800000001",
                    "window_start": now - timedelta(hours=20),
                    "count": 4,
                },
                {
                    "scope": "codes per number, day",
                    "subject": "13800000002",
                    "window_start": now - timedelta(days=3),
                    "count": 4,
                },
            ],
        )
    assert forget_spent_verifications(sqlite_engine) == 2
    with sqlite_engine.connect() as connection:
        kept_codes = connection.execute(sa.select(codes.conversation_key)).scalars().all()
        kept_counters = connection.execute(sa.select(counters.subject)).scalars().all()
    assert sorted(kept_codes) == ["live", "still-locked"]
    assert kept_counters == ["13800000001"]


def test_reminders_go_after_the_retention_period_but_never_while_their_event_can_be_due(
    sqlite_engine, tmp_path
):
    migrate(sqlite_engine, [Area.REMINDERS])
    store = SqlReminderStore(sqlite_engine)
    ages = {"usage:data:80:old": 120, "bill:overdue:recent": 60, "usage:data:80:today": 0}
    for event, days in ages.items():
        reminder = Reminder("13800000001", ReminderKind.USAGE, event, "usage_80")
        reminder_id = store.claim(reminder, "en", None)
        with sqlite_engine.begin() as connection:
            connection.execute(
                sa.update(ReminderRow)
                .where(ReminderRow.id == reminder_id)
                .values(created_at=operator_now() - timedelta(days=days))
            )
    tracker = rasa_events_table(f"sqlite:///{tmp_path / 'tracker.db'}")
    # A retention of 30 days still keeps the reminder of 60 days ago: its event may be due.
    assert apply_retention(sqlite_engine, tracker, 30).reminders == 1
    assert [sent.event for sent in store.sent_to("13800000001")] == [
        "usage:data:80:today",
        "bill:overdue:recent",
    ]
