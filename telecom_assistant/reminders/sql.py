"""The SQL implementation of :class:`ReminderStore`.

"Once" holds across schedulers: a reminder is claimed by inserting its row under the unique
(line, event) key, and only the scheduler whose insert succeeded sends it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from telecom_assistant.database import SessionPerCall
from telecom_assistant.reminders.model import (
    ChatAddress,
    Reminder,
    ReminderKind,
    SentReminder,
    WeeklyVolume,
)
from telecom_assistant.reminders.store import ReminderStore
from telecom_assistant.reminders.tables import (
    CustomerLanguageRow,
    LeaseRow,
    OptOutRow,
    ReminderChatRow,
    ReminderRow,
)

REMINDERS_LEASE = "reminders"


class SqlReminderStore(SessionPerCall, ReminderStore):
    def claim(self, reminder: Reminder, language: str, chat: ChatAddress | None) -> int | None:
        row = ReminderRow(
            msisdn=reminder.msisdn,
            kind=reminder.kind.value,
            event=reminder.event,
            topic=reminder.topic,
            subject=reminder.subject,
            details=json.dumps(dict(reminder.details), ensure_ascii=False),
            urgent=reminder.urgent,
            language=language or None,
            created_at=self._now(),
            chat_channel=chat.channel if chat else None,
            chat_conversation_id=chat.conversation_id if chat else None,
        )
        try:
            with self._session() as session:
                session.add(row)
                session.flush()
                return int(row.id)
        except IntegrityError:
            return None

    def sent_among(self, msisdns: Collection[str], since: datetime) -> set[tuple[str, str]]:
        with self._session() as session:
            rows = session.execute(
                select(ReminderRow.msisdn, ReminderRow.event).where(
                    ReminderRow.msisdn.in_(list(msisdns)), ReminderRow.created_at >= since
                )
            )
            return {(msisdn, event) for msisdn, event in rows}

    def mark_sms_sent(self, reminder_id: int) -> None:
        self._set(reminder_id, sms_at=self._now())

    def mark_chat_delivered(self, reminder_id: int) -> None:
        self._set(reminder_id, chat_at=self._now(), chat_failure=None)

    def mark_chat_failed(self, reminder_id: int, reason: str) -> None:
        self._set(reminder_id, chat_failure=reason[:500])

    def _set(self, reminder_id: int, **values: object) -> None:
        with self._session() as session:
            session.execute(
                update(ReminderRow).where(ReminderRow.id == reminder_id).values(**values)
            )

    def sms_pending(self, since: datetime, limit: int = 100) -> Sequence[SentReminder]:
        return self._pending(since, limit, ReminderRow.sms_at.is_(None))

    def chat_pending(self, since: datetime, limit: int = 100) -> Sequence[SentReminder]:
        return self._pending(
            since, limit, ReminderRow.chat_at.is_(None), ReminderRow.chat_channel.is_not(None)
        )

    def _pending(
        self, since: datetime, limit: int, *conditions: ColumnElement[bool]
    ) -> Sequence[SentReminder]:
        with self._session() as session:
            rows = session.scalars(
                select(ReminderRow)
                .where(ReminderRow.created_at >= since, *conditions)
                .order_by(ReminderRow.id)
                .limit(limit)
            ).all()
            return [_sent(row) for row in rows]

    def get(self, reminder_id: int) -> SentReminder | None:
        with self._session() as session:
            row = session.get(ReminderRow, reminder_id)
            return _sent(row) if row is not None else None

    def opt_outs(self, msisdn: str) -> dict[ReminderKind, datetime]:
        with self._session() as session:
            rows = session.execute(
                select(OptOutRow.kind, OptOutRow.since).where(OptOutRow.msisdn == msisdn)
            )
            return {ReminderKind(kind): since for kind, since in rows}

    def opted_out_among(self, msisdns: Collection[str]) -> dict[str, frozenset[ReminderKind]]:
        kinds: dict[str, set[ReminderKind]] = {}
        with self._session() as session:
            for msisdn, kind in session.execute(
                select(OptOutRow.msisdn, OptOutRow.kind).where(OptOutRow.msisdn.in_(list(msisdns)))
            ):
                kinds.setdefault(msisdn, set()).add(ReminderKind(kind))
        return {msisdn: frozenset(chosen) for msisdn, chosen in kinds.items()}

    def set_opt_out(self, msisdn: str, kinds: Collection[ReminderKind], out: bool) -> None:
        values = [kind.value for kind in kinds]
        with self._session() as session:
            existing = set(
                session.scalars(
                    select(OptOutRow.kind).where(
                        OptOutRow.msisdn == msisdn, OptOutRow.kind.in_(values)
                    )
                )
            )
            if out:
                now = self._now()
                session.add_all(
                    OptOutRow(msisdn=msisdn, kind=kind, since=now)
                    for kind in values
                    if kind not in existing
                )
            else:
                session.execute(
                    delete(OptOutRow).where(OptOutRow.msisdn == msisdn, OptOutRow.kind.in_(values))
                )

    def remember_chat(self, address: ChatAddress) -> None:
        with self._session() as session:
            row = session.get(ReminderChatRow, (address.msisdn, address.channel))
            if row is None:
                row = ReminderChatRow(msisdn=address.msisdn, channel=address.channel)
                session.add(row)
            row.conversation_id = address.conversation_id
            row.language = address.language
            row.verified_at = self._now()
            _remember_language(session, address.msisdn, address.language, self._now())

    def forget_chat(self, msisdn: str, conversation_id: str) -> None:
        with self._session() as session:
            session.execute(
                delete(ReminderChatRow).where(
                    ReminderChatRow.msisdn == msisdn,
                    ReminderChatRow.conversation_id == conversation_id,
                )
            )

    def chats_among(self, msisdns: Collection[str]) -> dict[str, ChatAddress]:
        chats: dict[str, ChatAddress] = {}
        with self._session() as session:
            rows = session.scalars(
                select(ReminderChatRow)
                .where(ReminderChatRow.msisdn.in_(list(msisdns)))
                .order_by(ReminderChatRow.verified_at)
            )
            for row in rows:  # the latest wins
                chats[row.msisdn] = ChatAddress(
                    row.msisdn, row.channel, row.conversation_id, row.language
                )
        return chats

    def language_of(self, msisdn: str) -> str | None:
        with self._session() as session:
            return session.scalar(
                select(CustomerLanguageRow.language).where(CustomerLanguageRow.msisdn == msisdn)
            )

    def languages_among(self, msisdns: Collection[str]) -> dict[str, str]:
        with self._session() as session:
            return dict(
                session.execute(
                    select(CustomerLanguageRow.msisdn, CustomerLanguageRow.language).where(
                        CustomerLanguageRow.msisdn.in_(list(msisdns))
                    )
                ).all()
            )

    def remember_language(self, msisdn: str, language: str) -> None:
        with self._session() as session:
            _remember_language(session, msisdn, language, self._now())

    def sent_to(self, msisdn: str, limit: int = 50) -> Sequence[SentReminder]:
        with self._session() as session:
            rows = session.scalars(
                select(ReminderRow)
                .where(ReminderRow.msisdn == msisdn)
                .order_by(ReminderRow.id.desc())
                .limit(limit)
            ).all()
            return [_sent(row) for row in rows]

    def weekly_volumes(self, since: datetime) -> Sequence[WeeklyVolume]:
        # Counted per day by the database (a million lines send many thousands a day); the
        # days folded into ISO weeks here, as SQLite and PostgreSQL name weeks differently.
        day = func.date(ReminderRow.created_at)
        with self._session() as session:
            rows = session.execute(
                select(day, ReminderRow.kind, func.count())
                .where(ReminderRow.created_at >= since)
                .group_by(day, ReminderRow.kind)
            ).all()
        counts: dict[tuple[str, str], int] = {}
        for sent_on, kind, count in rows:
            # SQLite answers date() with text, PostgreSQL with a date.
            sent_on = sent_on if isinstance(sent_on, date) else date.fromisoformat(sent_on)
            monday = (sent_on - timedelta(days=sent_on.weekday())).isoformat()
            counts[(monday, kind)] = counts.get((monday, kind), 0) + count
        return [
            WeeklyVolume(week, ReminderKind(kind), count)
            for (week, kind), count in sorted(counts.items())
        ]

    def hold_lease(self, holder: str, now: datetime, seconds: float) -> bool:
        expires = now + timedelta(seconds=seconds)
        with self._session() as session:
            taken = session.execute(
                update(LeaseRow)
                .where(
                    LeaseRow.name == REMINDERS_LEASE,
                    or_(LeaseRow.holder == holder, LeaseRow.expires_at < now),
                )
                .values(holder=holder, expires_at=expires)
            ).rowcount
            if taken:
                return True
            if session.scalar(select(func.count()).where(LeaseRow.name == REMINDERS_LEASE)):
                return False
        # No lease yet: the first insert wins, a second one fails on the key.
        try:
            with self._session() as session:
                session.add(LeaseRow(name=REMINDERS_LEASE, holder=holder, expires_at=expires))
        except IntegrityError:
            return False
        return True


def _remember_language(session: Session, msisdn: str, language: str, now: datetime) -> None:
    row = session.get(CustomerLanguageRow, msisdn)
    if row is None:
        session.add(CustomerLanguageRow(msisdn=msisdn, language=language, at=now))
    else:
        row.language, row.at = language, now


def _sent(row: ReminderRow) -> SentReminder:
    chat = (
        ChatAddress(row.msisdn, row.chat_channel, row.chat_conversation_id, row.language or "")
        if row.chat_channel
        else None
    )
    return SentReminder(
        id=row.id,
        msisdn=row.msisdn,
        kind=ReminderKind(row.kind),
        event=row.event,
        topic=row.topic,
        subject=row.subject,
        details=json.loads(row.details),
        urgent=row.urgent,
        language=row.language or "",
        created_at=row.created_at,
        sms_at=row.sms_at,
        chat=chat,
        chat_at=row.chat_at,
    )
