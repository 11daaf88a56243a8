"""The SQL implementation of the live desk (tickets/live.py), on the ticket desk's tables.

Small on purpose, like sql_replies.py: the channel programs and the console use it. Only the two
methods that keep the customer's words (Rasa's channels call them) mask them, which needs the
redaction pipeline (spaCy): it is imported there, in the process that already has spaCy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from telecom_assistant.database import SessionPerCall
from telecom_assistant.text import clean_message
from telecom_assistant.texts import text
from telecom_assistant.tickets.live import (
    EndReason,
    LiveChat,
    LiveDesk,
    LiveState,
    NoLiveChannel,
    NotLive,
    NotYours,
)
from telecom_assistant.tickets.model import (
    AGENT,
    ASSISTANT,
    CUSTOMER,
    TRANSITIONS,
    Delivery,
    Status,
    UnknownTicket,
)
from telecom_assistant.tickets.replies import (
    CHAT_CHANNELS,
    ReplyKind,
    check_reply,
)
from telecom_assistant.tickets.tables import (
    AgentReplyRow,
    LiveChatRow,
    TicketFollowUpRow,
    TicketRow,
    TicketStatusRow,
)

# Closing a live chat resolves its ticket (when the ticket may go there).
CLOSING_TO = Status.RESOLVED


class SqlLiveDesk(SessionPerCall, LiveDesk):
    # --- the assistant and the customer's side ---------------------------------------------

    def request_person(self, ticket_id: str) -> LiveChat:
        with self._session() as session:
            ticket = _ticket_row(session, ticket_id)
            if ticket.channel not in CHAT_CHANNELS:
                raise NoLiveChannel(f"nobody can chat over the {ticket.channel!r} channel")
            row = _open_row(session, ticket.conversation_id)
            if row is None:
                row = LiveChatRow(
                    ticket_id=ticket.id,
                    conversation_id=ticket.conversation_id,
                    channel=ticket.channel,
                    language=ticket.language,
                    state=LiveState.WAITING.value,
                    requested_at=self._now(),
                )
                session.add(row)
                session.flush()
            return _chat(row)

    def open_chat(self, conversation_id: str) -> LiveChat | None:
        with self._session() as session:
            row = _open_row(session, conversation_id)
            return None if row is None else _chat(row)

    def take_customer_message(self, conversation_id: str, text: str) -> bool:
        with self._session() as session:
            row = _open_row(session, conversation_id)
            if row is None or row.state != LiveState.LIVE.value:
                return False
            ticket = _ticket_row(session, row.ticket_id)
            self._follow_up(session, ticket, CUSTOMER, text)
            row.customer_typing_at = None
            return True

    def record_turn(
        self,
        conversation_id: str,
        customer: str,
        assistant: Sequence[str],
        turn_started_at: datetime,
    ) -> None:
        with self._session() as session:
            ticket = session.scalars(
                select(TicketRow)
                .where(TicketRow.conversation_id == conversation_id)
                .order_by(TicketRow.created_at.desc())
                .limit(1)
            ).first()
            if ticket is None or not Status(ticket.status).is_active:
                return
            # The turn that filed the ticket is in its transcript already.
            if ticket.created_at >= turn_started_at:
                return
            self._follow_up(session, ticket, CUSTOMER, customer)
            for said in assistant:
                self._follow_up(session, ticket, ASSISTANT, said)

    def customer_typing(self, conversation_id: str) -> None:
        self._touch_open(conversation_id, "customer_typing_at")

    def customer_here(self, conversation_id: str) -> None:
        self._touch_open(conversation_id, "customer_seen_at")

    def customer_left(self, conversation_id: str) -> None:
        with self._session() as session:
            row = _open_row(session, conversation_id)
            if row is not None:
                waited_only = row.state == LiveState.WAITING.value
                self._end(row, EndReason.CANCELLED if waited_only else EndReason.CUSTOMER_LEFT)

    # --- the console -----------------------------------------------------------------------

    def chat_of_ticket(self, ticket_id: str) -> LiveChat | None:
        with self._session() as session:
            row = session.scalars(
                select(LiveChatRow)
                .where(LiveChatRow.ticket_id == ticket_id)
                .order_by(LiveChatRow.id.desc())
                .limit(1)
            ).first()
            return None if row is None else _chat(row)

    def take(self, ticket_id: str, agent: str, agent_name: str) -> LiveChat:
        with self._session() as session:
            ticket = _ticket_row(session, ticket_id)
            if ticket.channel not in CHAT_CHANNELS:
                raise NoLiveChannel(f"nobody can chat over the {ticket.channel!r} channel")
            row = _open_row(session, ticket.conversation_id)
            if row is not None and row.state == LiveState.LIVE.value:
                if row.agent != agent:
                    raise NotYours(f"{row.agent} is talking with this customer")
                return _chat(row)
            now = self._now()
            if row is None:  # the agent starts the chat: the customer had not asked
                row = LiveChatRow(
                    conversation_id=ticket.conversation_id,
                    channel=ticket.channel,
                    language=ticket.language,
                    requested_at=now,
                )
                session.add(row)
            # The conversation's one chat goes with the ticket the agent works on: the customer
            # may have asked for a person with an earlier ticket of the conversation.
            row.ticket_id = ticket.id
            row.state = LiveState.LIVE.value
            row.agent, row.agent_name, row.taken_at = agent, agent_name, now
            ticket.assigned_to = agent
            self._notice(ticket, "live.joined", name=agent_name)
            session.flush()
            return _chat(row)

    def say(self, ticket_id: str, agent: str, text: str) -> None:
        with self._session() as session:
            ticket = _ticket_row(session, ticket_id)
            row = self._live_row_of(session, ticket, agent)
            message = check_reply(ticket.channel, clean_message(text))
            now = self._now()
            reply = AgentReplyRow(
                channel=ticket.channel,
                conversation_id=ticket.conversation_id,
                language=ticket.language,
                author=agent,
                author_name=row.agent_name,
                text=message,
                at=now,
                delivery=Delivery.PENDING.value,
                kind=ReplyKind.LIVE.value,
            )
            ticket.replies.append(reply)
            # Also a follow-up, so the conversation keeps the order the two sides spoke in.
            ticket.follow_ups.append(
                TicketFollowUpRow(speaker=AGENT, text=message, at=now, reply=reply)
            )
            ticket.responded_at = ticket.responded_at or now
            row.agent_typing_at = None

    def agent_typing(self, ticket_id: str, agent: str) -> None:
        with self._session() as session:
            ticket = _ticket_row(session, ticket_id)
            self._live_row_of(session, ticket, agent).agent_typing_at = self._now()

    def end(self, ticket_id: str, agent: str, reason: EndReason) -> LiveChat:
        with self._session() as session:
            ticket = _ticket_row(session, ticket_id)
            # Only a chat the agent is in can be handed back or closed: a page left open from
            # before (the chat waiting, or over) must not end a wait nobody answered.
            row = self._live_row_of(session, ticket, agent)
            key = "live.closed" if reason is EndReason.CLOSED else "live.handed_back"
            self._notice(ticket, key, name=row.agent_name or agent)
            self._end(row, reason)
            if reason is EndReason.CLOSED and CLOSING_TO in TRANSITIONS[Status(ticket.status)]:
                ticket.history.append(
                    TicketStatusRow(
                        from_status=ticket.status,
                        to_status=CLOSING_TO.value,
                        by=agent,
                        at=self._now(),
                    )
                )
                ticket.status = CLOSING_TO.value
            session.flush()
            return _chat(row)

    def agents_typing(self, channel: str) -> Sequence[str]:
        now = self._now()
        with self._session() as session:
            rows = session.scalars(
                select(LiveChatRow).where(
                    LiveChatRow.channel == channel,
                    LiveChatRow.state == LiveState.LIVE.value,
                    LiveChatRow.agent_typing_at.is_not(None),
                )
            )
            return [row.conversation_id for row in rows if _chat(row).agent_typing(now)]

    # --- helpers ---------------------------------------------------------------------------

    def _live_row_of(self, session: Session, ticket: TicketRow, agent: str) -> LiveChatRow:
        row = _open_row(session, ticket.conversation_id)
        if row is None or row.state != LiveState.LIVE.value:
            raise NotLive("take the conversation first")
        if row.agent != agent:
            raise NotYours(f"{row.agent} is talking with this customer")
        return row

    def _touch_open(self, conversation_id: str, column: str) -> None:
        with self._session() as session:
            row = _open_row(session, conversation_id)
            if row is not None:
                setattr(row, column, self._now())

    def _end(self, row: LiveChatRow, reason: EndReason) -> None:
        row.state = LiveState.ENDED.value
        row.ended_at = self._now()
        row.end_reason = reason.value
        row.customer_typing_at = row.agent_typing_at = None

    def _notice(self, ticket: TicketRow, key: str, **values: str) -> None:
        """The desk's notice to the ticket's customer, in their language."""
        ticket.replies.append(
            AgentReplyRow(
                channel=ticket.channel,
                conversation_id=ticket.conversation_id,
                language=ticket.language,
                author="desk",
                text=text(key, ticket.language, **values),
                at=self._now(),
                delivery=Delivery.PENDING.value,
                kind=ReplyKind.NOTICE.value,
            )
        )

    def _follow_up(self, session: Session, ticket: TicketRow, speaker: str, said: str) -> None:
        # Imported here: redaction loads spaCy, which only Rasa's process (the caller) has.
        from telecom_assistant.tickets.redaction import redact

        known_numbers = [number for number in (ticket.msisdn, ticket.contact_number) if number]
        ticket.follow_ups.append(
            TicketFollowUpRow(
                speaker=speaker,
                text=redact(clean_message(said), known_numbers=known_numbers),
                at=self._now(),
            )
        )


def _ticket_row(session: Session, ticket_id: str) -> TicketRow:
    row = session.get(TicketRow, ticket_id)
    if row is None:
        raise UnknownTicket(ticket_id)
    return row


def _open_row(session: Session, conversation_id: str) -> LiveChatRow | None:
    return session.scalars(
        select(LiveChatRow)
        .where(
            LiveChatRow.conversation_id == conversation_id,
            LiveChatRow.state != LiveState.ENDED.value,
        )
        .order_by(LiveChatRow.id.desc())
        .limit(1)
    ).first()


def _chat(row: LiveChatRow) -> LiveChat:
    return LiveChat(
        id=row.id,
        ticket_id=row.ticket_id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        language=row.language,
        state=LiveState(row.state),
        requested_at=row.requested_at,
        agent=row.agent,
        agent_name=row.agent_name,
        taken_at=row.taken_at,
        ended_at=row.ended_at,
        end_reason=EndReason(row.end_reason) if row.end_reason else None,
        customer_typing_at=row.customer_typing_at,
        agent_typing_at=row.agent_typing_at,
        customer_seen_at=row.customer_seen_at,
    )
