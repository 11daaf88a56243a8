"""The SQL implementation of :class:`TicketService`, on the same database as the accounts.

Every public method opens its own short session. Filing is safe under concurrency: the
idempotency key and the ticket id are unique in the database, so two servers filing the same
escalation at once end with one ticket, and two filing different ones get different ids.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from telecom_assistant.database import SessionPerCall
from telecom_assistant.text import clean_message
from telecom_assistant.tickets.live import LiveState
from telecom_assistant.tickets.model import (
    AGENT,
    ASSISTANT,
    HOTSPOT_DAYS,
    REPEAT_WINDOW,
    UNKNOWN_CHANNEL,
    Category,
    Delivery,
    Filing,
    HotspotReport,
    Kind,
    NetworkIssue,
    NewTicket,
    Note,
    Priority,
    QueueFilter,
    Status,
    StatusChange,
    Ticket,
    TicketUpdate,
    TranscriptTurn,
    UnknownTicket,
    UpdateKind,
    WeeklyComplaints,
    check_transition,
    decide_priority,
    format_ticket_id,
    hotspots,
    repair_due,
    response_due,
    sort_queue,
)
from telecom_assistant.tickets.replies import SMS, ReplyButton, ReplyKind, check_reply
from telecom_assistant.tickets.service import TicketService
from telecom_assistant.tickets.sql_replies import stored_buttons
from telecom_assistant.tickets.tables import (
    AgentReplyRow,
    LiveChatRow,
    TicketFollowUpRow,
    TicketNoteRow,
    TicketRow,
    TicketStatusRow,
    TicketTurnRow,
)

FILING_ATTEMPTS = 5
# A description or a turn longer than this is cut: redaction and the console both read it
# whole, and no customer types more in one message.
TEXT_MAX_LENGTH = 10_000
CUT_MARK = "…"
# Cutting may split a number in two; the part left at the end could escape redaction.
_TRAILING_NUMBER = re.compile(r"[\d\s.\-()]+$")
# Tables that only grow (turns, status changes, notes, replies, follow-ups): the activity
# mark reads their newest ids.
_APPENDED_TO = (TicketTurnRow, TicketStatusRow, TicketNoteRow, AgentReplyRow, TicketFollowUpRow)


class SqlTicketService(SessionPerCall, TicketService):
    # ---- filing

    def file(self, new: NewTicket) -> Filing:
        new = _storable(new)
        for _attempt in range(FILING_ATTEMPTS):
            existing = self._refresh_existing(new)
            if existing is not None:
                return Filing(existing, created=False)
            try:
                return Filing(self._insert(new), created=True)
            except IntegrityError:
                # Another process took this id or this key in the meantime: look again.
                continue
        raise RuntimeError(f"could not file ticket {new.idempotency_key!r}")

    def _refresh_existing(self, new: NewTicket) -> Ticket | None:
        with self._session() as session:
            row = session.scalars(
                select(TicketRow).where(TicketRow.idempotency_key == new.idempotency_key)
            ).one_or_none()
            if row is None:
                return None
            # The retry saw more of the conversation: keep the longer snapshot.
            if len(new.transcript) > len(row.turns):
                # Delete before inserting: positions are unique per ticket.
                row.turns.clear()
                session.flush()
                row.turns.extend(_turn_rows(new))
                session.flush()
            return _ticket(row)

    def _insert(self, new: NewTicket) -> Ticket:
        now = self._now()
        with self._session() as session:
            priority = decide_priority(
                new.category,
                fraud=new.fraud,
                outage=new.network_issue is not None and new.network_issue.is_outage,
                repeat=self._is_repeat(session, new, now),
            )
            row = TicketRow(
                id=self._next_id(session, now),
                idempotency_key=new.idempotency_key,
                kind=new.kind.value,
                category=new.category.value,
                priority=priority.value,
                status=Status.OPEN.value,
                description=_redact(new, new.description),
                contact_number=new.contact_number,
                msisdn=new.msisdn,
                channel=new.channel,
                conversation_id=new.conversation_id,
                language=new.language,
                network_issue=new.network_issue.value if new.network_issue else None,
                created_at=now,
                response_due=response_due(now, priority),
                repair_due=repair_due(now, new.network_issue) if new.network_issue else None,
                turns=_turn_rows(new),
                history=[TicketStatusRow(to_status=Status.OPEN.value, by=ASSISTANT, at=now)],
            )
            session.add(row)
            session.flush()
            return _ticket(row)

    @staticmethod
    def _next_id(session: Session, now: datetime) -> str:
        prefix = format_ticket_id(now.date(), 0)[:-4]
        taken = session.scalar(
            select(func.count()).select_from(TicketRow).where(TicketRow.id.like(f"{prefix}%"))
        )
        return format_ticket_id(now.date(), taken + 1)

    @staticmethod
    def _is_repeat(session: Session, new: NewTicket, now: datetime) -> bool:
        """The same customer complained in the last 30 days (by verified line or contact)."""
        same_customer = [TicketRow.contact_number == new.contact_number]
        if new.msisdn:
            same_customer.append(TicketRow.msisdn == new.msisdn)
        earlier = session.scalar(
            select(func.count())
            .select_from(TicketRow)
            .where(or_(*same_customer), TicketRow.created_at >= now - REPEAT_WINDOW)
        )
        return earlier > 0

    # ---- reading

    def get(self, ticket_id: str) -> Ticket:
        with self._session() as session:
            return _ticket(self._row(session, ticket_id))

    def tickets_for_line(self, msisdn: str, limit: int = 5) -> Sequence[Ticket]:
        with self._session() as session:
            rows = session.scalars(
                select(TicketRow)
                .where(or_(TicketRow.msisdn == msisdn, TicketRow.contact_number == msisdn))
                .order_by(TicketRow.created_at.desc(), TicketRow.id.desc())
                .limit(limit)
            ).all()
            return [_ticket(row) for row in rows]

    def queue(self, wanted: QueueFilter) -> Sequence[Ticket]:
        query = select(TicketRow)
        if wanted.statuses:
            query = query.where(TicketRow.status.in_([s.value for s in wanted.statuses]))
        if wanted.categories:
            query = query.where(TicketRow.category.in_([c.value for c in wanted.categories]))
        if wanted.priorities:
            query = query.where(TicketRow.priority.in_([p.value for p in wanted.priorities]))
        if wanted.channels:
            query = query.where(TicketRow.channel.in_(list(wanted.channels)))
        now = self._now()
        with self._session() as session:
            tickets = [_ticket(row) for row in session.scalars(query).all()]
        # Status, category, priority and channel are filtered in SQL; overdue depends on now.
        if wanted.overdue_only:
            tickets = [ticket for ticket in tickets if ticket.is_overdue(now)]
        return sort_queue(tickets, wanted.sort)

    def activity_mark(self) -> Hashable:
        # A newest id comes from an index, however long the tables grow. Tickets and live
        # chats also change in place: the few being worked on (owned, or in a chat) are read.
        newest = [
            select(func.max(TicketRow.id)).scalar_subquery(),
            select(func.max(TicketRow.created_at)).scalar_subquery(),
            *(select(func.max(table.id)).scalar_subquery() for table in _APPENDED_TO),
        ]
        with self._session() as session:
            added = tuple(session.execute(select(*newest)).one())
            owners = session.execute(
                select(TicketRow.id, TicketRow.assigned_to).where(
                    TicketRow.assigned_to.is_not(None),
                    TicketRow.status.in_([status.value for status in Status if status.is_active]),
                )
            ).all()
            live_chats = session.execute(
                select(LiveChatRow.id, LiveChatRow.state, LiveChatRow.agent).where(
                    LiveChatRow.state != LiveState.ENDED.value
                )
            ).all()
        return added, frozenset(map(tuple, owners)), frozenset(map(tuple, live_chats))

    def updates_since(self, since: datetime) -> Sequence[TicketUpdate]:
        with self._session() as session:
            replies = session.execute(
                select(
                    AgentReplyRow.ticket_id, TicketRow.msisdn, AgentReplyRow.id, AgentReplyRow.at
                )
                .join(TicketRow, TicketRow.id == AgentReplyRow.ticket_id)
                .where(
                    AgentReplyRow.at >= since,
                    AgentReplyRow.kind == ReplyKind.LETTER.value,
                    TicketRow.msisdn.is_not(None),
                    TicketRow.channel != SMS,
                )
            ).all()
            resolutions = session.execute(
                select(
                    TicketStatusRow.ticket_id,
                    TicketRow.msisdn,
                    TicketStatusRow.id,
                    TicketStatusRow.at,
                )
                .join(TicketRow, TicketRow.id == TicketStatusRow.ticket_id)
                .where(
                    TicketStatusRow.at >= since,
                    TicketStatusRow.to_status == Status.RESOLVED.value,
                    TicketRow.msisdn.is_not(None),
                )
            ).all()
        updates = [
            TicketUpdate(ticket_id, msisdn, UpdateKind.REPLY, key, at)
            for ticket_id, msisdn, key, at in replies
        ] + [
            TicketUpdate(ticket_id, msisdn, UpdateKind.RESOLVED, key, at)
            for ticket_id, msisdn, key, at in resolutions
        ]
        return sorted(updates, key=lambda update: update.at)

    def hotspots(self) -> HotspotReport:
        today = self._now().date()
        since = datetime.combine(today - timedelta(days=HOTSPOT_DAYS - 1), time.min)
        with self._session() as session:
            rows = session.execute(
                select(TicketRow.created_at, TicketRow.category).where(
                    TicketRow.created_at >= since
                )
            ).all()
        return hotspots(((at.date(), Category(category)) for at, category in rows), today)

    def weekly_complaints(self, since: datetime) -> Sequence[WeeklyComplaints]:
        with self._session() as session:
            rows = session.execute(
                select(TicketRow.created_at, TicketRow.category).where(
                    TicketRow.created_at >= since, TicketRow.kind == Kind.COMPLAINT.value
                )
            ).all()
        # The week's Monday in Python: SQLite and PostgreSQL name weeks differently.
        counts = Counter(
            (at.date() - timedelta(days=at.weekday()), Category(category)) for at, category in rows
        )
        return [
            WeeklyComplaints(week, category, count)
            for (week, category), count in sorted(counts.items())
        ]

    # ---- agents' work

    def change_status(self, ticket_id: str, status: Status, by: str) -> Ticket:
        with self._session() as session:
            row = self._row(session, ticket_id)
            check_transition(Status(row.status), status)
            now = self._now()
            row.history.append(
                TicketStatusRow(from_status=row.status, to_status=status.value, by=by, at=now)
            )
            row.status = status.value
            row.responded_at = row.responded_at or now
            session.flush()
            return _ticket(row)

    def assign(self, ticket_id: str, agent: str) -> Ticket:
        with self._session() as session:
            row = self._row(session, ticket_id)
            row.assigned_to = agent
            session.flush()
            return _ticket(row)

    def add_note(self, ticket_id: str, author: str, text: str) -> Ticket:
        with self._session() as session:
            row = self._row(session, ticket_id)
            now = self._now()
            row.notes.append(TicketNoteRow(author=author, text=_text(text), at=now))
            row.responded_at = row.responded_at or now
            session.flush()
            return _ticket(row)

    def reply(self, ticket_id: str, agent: str, text: str) -> Ticket:
        with self._session() as session:
            row = self._row(session, ticket_id)
            text = check_reply(row.channel, clean_message(text))
            now = self._now()
            row.replies.append(
                AgentReplyRow(
                    channel=row.channel,
                    conversation_id=row.conversation_id,
                    language=row.language,
                    author=agent,
                    text=text,
                    at=now,
                    delivery=Delivery.PENDING.value,
                )
            )
            row.responded_at = row.responded_at or now
            session.flush()
            return _ticket(row)

    def notify(self, ticket_id: str, text: str, buttons: Sequence[ReplyButton] = ()) -> None:
        with self._session() as session:
            row = self._row(session, ticket_id)
            row.replies.append(
                AgentReplyRow(
                    channel=row.channel,
                    conversation_id=row.conversation_id,
                    language=row.language,
                    author="desk",
                    text=check_reply(row.channel, clean_message(text)),
                    at=self._now(),
                    delivery=Delivery.PENDING.value,
                    kind=ReplyKind.NOTICE.value,
                    buttons=stored_buttons(buttons),
                )
            )

    def waiting_for_person(self) -> Sequence[Ticket]:
        with self._session() as session:
            rows = session.scalars(
                select(TicketRow)
                .join(LiveChatRow, LiveChatRow.ticket_id == TicketRow.id)
                .where(LiveChatRow.state == LiveState.WAITING.value)
                .order_by(LiveChatRow.requested_at)
            ).all()
            return [_ticket(row) for row in rows]

    @staticmethod
    def _row(session: Session, ticket_id: str) -> TicketRow:
        row = session.get(TicketRow, ticket_id)
        if row is None:
            raise UnknownTicket(ticket_id)
        return row


def _storable(new: NewTicket) -> NewTicket:
    """The escalation as the tables can hold it, whatever the channel sent: control characters
    (PostgreSQL refuses NUL) dropped everywhere, every field fitted to its column."""
    ticket = TicketRow
    return replace(
        new,
        description=_text(new.description),
        contact_number=_fitted(new.contact_number, ticket.contact_number),
        msisdn=_fitted(new.msisdn, ticket.msisdn) if new.msisdn is not None else None,
        channel=_channel(new.channel),
        conversation_id=_identifier(new.conversation_id, ticket.conversation_id),
        idempotency_key=_identifier(new.idempotency_key, ticket.idempotency_key),
        language=_fitted(new.language, ticket.language),
        transcript=tuple(
            replace(
                turn, speaker=_fitted(turn.speaker, TicketTurnRow.speaker), text=_text(turn.text)
            )
            for turn in new.transcript
        ),
    )


def _text(text: str) -> str:
    text = clean_message(text)
    if len(text) <= TEXT_MAX_LENGTH:
        return text
    return _TRAILING_NUMBER.sub("", text[: TEXT_MAX_LENGTH - len(CUT_MARK)]) + CUT_MARK


def _fitted(text: str, column: InstrumentedAttribute) -> str:
    return clean_message(text)[: column.type.length]


def _identifier(text: str, column: InstrumentedAttribute) -> str:
    """Fitted to the column and still telling different values apart: a value too long keeps
    its beginning and ends in a digest of the whole."""
    text = clean_message(text)
    limit = column.type.length
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return f"{text[: limit - len(digest) - 1]}#{digest}"


def _channel(channel: str) -> str:
    """A channel's name, or UNKNOWN_CHANNEL for one no channel has: a name longer than the
    column is made up, and cut it would show agents a channel that does not exist."""
    channel = clean_message(channel).strip()
    if not channel or len(channel) > TicketRow.channel.type.length:
        return UNKNOWN_CHANNEL
    return channel


def _redact(new: NewTicket, text: str) -> str:
    """The customer's numbers and codes are masked in whatever form they were typed."""
    # Imported here: redaction loads spaCy, which only the processes that file tickets (the
    # action server, `telecom seed`) need; the console and the channels read tickets only.
    from telecom_assistant.tickets.redaction import redact

    known_numbers = [number for number in (new.msisdn, new.contact_number) if number]
    return redact(text, known_codes=new.known_codes, known_numbers=known_numbers)


def _turn_rows(new: NewTicket) -> list[TicketTurnRow]:
    return [
        TicketTurnRow(
            position=position, speaker=turn.speaker, text=_redact(new, turn.text), at=turn.at
        )
        for position, turn in enumerate(new.transcript)
    ]


def _transcript(row: TicketRow) -> tuple[TranscriptTurn, ...]:
    """The conversation up to the filing, then what was said since, in time order: the agents'
    letters, and the follow-ups (the customer's, the assistant's and the agent's live
    messages, in the order they were said: several in one second keep it). The desk's notices
    (an agent joined, a rating asked for) are not part of the conversation."""
    turns = [TranscriptTurn(turn.speaker, turn.text, turn.at) for turn in row.turns]
    letters = [_agents_turn(reply) for reply in row.replies if reply.kind == ReplyKind.LETTER.value]
    follow_ups = [
        _agents_turn(turn.reply, turn.at)
        if turn.reply is not None
        else TranscriptTurn(turn.speaker, turn.text, turn.at)
        for turn in row.follow_ups
    ]
    # Merges, not sorts: each part keeps its own order, whatever its clocks say.
    since = heapq.merge(letters, follow_ups, key=lambda turn: turn.at)
    return tuple(heapq.merge(turns, since, key=lambda turn: turn.at))


def _agents_turn(reply: AgentReplyRow, at: datetime | None = None) -> TranscriptTurn:
    return TranscriptTurn(
        AGENT,
        reply.text,
        at or reply.at,
        author=reply.author,
        delivery=Delivery(reply.delivery),
    )


def _ticket(row: TicketRow) -> Ticket:
    return Ticket(
        id=row.id,
        kind=Kind(row.kind),
        category=Category(row.category),
        priority=Priority(row.priority),
        status=Status(row.status),
        description=row.description,
        contact_number=row.contact_number,
        channel=row.channel,
        conversation_id=row.conversation_id,
        language=row.language,
        created_at=row.created_at,
        response_due=row.response_due,
        msisdn=row.msisdn,
        network_issue=NetworkIssue(row.network_issue) if row.network_issue else None,
        repair_due=row.repair_due,
        responded_at=row.responded_at,
        assigned_to=row.assigned_to,
        transcript=_transcript(row),
        history=tuple(
            StatusChange(
                Status(h.from_status) if h.from_status else None, Status(h.to_status), h.by, h.at
            )
            for h in row.history
        ),
        notes=tuple(Note(n.author, n.text, n.at) for n in row.notes),
    )
