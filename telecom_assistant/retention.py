"""How long what customers typed is kept: conversations (Rasa's stored events) whose last
message is older than the retention period are deleted, and so are the demo SMS gateway's
sent messages (they hold one-time codes), and the reminders sent (what they said of a line's
use and bills), never before the scan could find their event due again. Verification state (codes, lock-outs, throttle
counters) goes once it can no longer matter: a day after its code expired and its lock or
window ended.

Tickets keep their own (redacted) transcript: they are the operator's record of a complaint
and follow the complaint-handling rules, not this one.

`telecom retention` runs it once; `telecom run` runs it at start-up and once a day.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from telecom_assistant.accounts.tables import (
    SmsOutboxRow,
    VerificationCodeRow,
    VerificationCounterRow,
)
from telecom_assistant.clock import operator_now
from telecom_assistant.database import PROJECT_ROOT
from telecom_assistant.reminders.tables import ReminderRow
from telecom_assistant.settings import PRODUCTION, Settings

# Rasa's SQL tracker store's table, as both profiles' stores write it.
EVENTS = sa.table("events", sa.column("sender_id"), sa.column("timestamp"))
EMBEDDED_TRACKER_DATABASE = f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}"


def tracker_database_url(settings: Settings) -> str:
    """Where the profile's Rasa keeps conversations: endpoints.yml's SQLite file, or the
    assistant's own database (endpoints.production.yml)."""
    return settings.database_url if settings.profile == PRODUCTION else EMBEDDED_TRACKER_DATABASE


# Longer than every verification limit's window (the longest is a day).
SPENT_VERIFICATION_AGE = timedelta(days=2)
# Longer than any reminder's event can stay due (a contract's last 30 days, a bill overdue for
# up to three cycles): a reminder forgotten sooner would be sent again.
REMINDERS_KEPT_AT_LEAST = timedelta(days=100)


@dataclass(frozen=True)
class Forgotten:
    conversations: int
    sms: int
    verifications: int
    reminders: int


def forget_old_conversations(tracker_engine: Engine, days: int, now: float | None = None) -> int:
    """Deletes every conversation whose newest event is older than `days`; how many.
    A conversation still going on is kept whole, however old its first message."""
    cutoff = (time.time() if now is None else now) - days * 86400
    if not sa.inspect(tracker_engine).has_table("events"):
        return 0
    stale = (
        sa.select(EVENTS.c.sender_id)
        .group_by(EVENTS.c.sender_id)
        .having(sa.func.max(EVENTS.c.timestamp) < cutoff)
    )
    with tracker_engine.begin() as connection:
        senders = connection.execute(stale).scalars().all()
        for chunk in _chunks(senders, 500):
            connection.execute(sa.delete(EVENTS).where(EVENTS.c.sender_id.in_(chunk)))
    return len(senders)


def forget_old_sms(engine: Engine, days: int) -> int:
    cutoff = operator_now() - timedelta(days=days)
    with engine.begin() as connection:
        return connection.execute(
            sa.delete(SmsOutboxRow).where(SmsOutboxRow.sent_at < cutoff)
        ).rowcount


def forget_old_reminders(engine: Engine, days: int) -> int:
    cutoff = operator_now() - max(timedelta(days=days), REMINDERS_KEPT_AT_LEAST)
    if not sa.inspect(engine).has_table(ReminderRow.__tablename__):
        return 0
    with engine.begin() as connection:
        return connection.execute(
            sa.delete(ReminderRow).where(ReminderRow.created_at < cutoff)
        ).rowcount


def forget_spent_verifications(engine: Engine) -> int:
    cutoff = operator_now() - SPENT_VERIFICATION_AGE
    codes, counters = VerificationCodeRow, VerificationCounterRow
    with engine.begin() as connection:
        spent_codes = connection.execute(
            sa.delete(codes).where(
                sa.or_(codes.expires_at.is_(None), codes.expires_at < cutoff),
                sa.or_(codes.locked_until.is_(None), codes.locked_until < cutoff),
            )
        ).rowcount
        spent_counters = connection.execute(
            sa.delete(counters).where(counters.window_start < cutoff)
        ).rowcount
    return spent_codes + spent_counters


def apply_retention(account_engine: Engine, tracker_engine: Engine, days: int) -> Forgotten:
    return Forgotten(
        forget_old_conversations(tracker_engine, days),
        forget_old_sms(account_engine, days),
        forget_spent_verifications(account_engine),
        forget_old_reminders(account_engine, days),
    )


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
