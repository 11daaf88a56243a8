"""The SQL implementation of :class:`ReplyOutbox`: the agent_replies table, polled by channels.

Deliberately free of the rest of the ticket desk (no spaCy, no filing), so a channel process
stays small.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from sqlalchemy import select, update

from telecom_assistant.database import SessionPerCall
from telecom_assistant.tickets.model import Delivery
from telecom_assistant.tickets.replies import AgentReply, ReplyButton, ReplyKind, ReplyOutbox
from telecom_assistant.tickets.tables import AgentReplyRow


class SqlReplyOutbox(SessionPerCall, ReplyOutbox):
    def pending(
        self, channel: str, conversation_id: str | None = None, limit: int = 50
    ) -> Sequence[AgentReply]:
        query = select(AgentReplyRow).where(
            AgentReplyRow.channel == channel,
            AgentReplyRow.delivery == Delivery.PENDING.value,
        )
        if conversation_id is not None:
            query = query.where(AgentReplyRow.conversation_id == conversation_id)
        with self._session() as session:
            rows = session.scalars(query.order_by(AgentReplyRow.id).limit(limit)).all()
            return [_reply(row) for row in rows]

    def mark_delivered(self, reply_ids: Iterable[int], conversation_id: str) -> int:
        ids = list(reply_ids)
        if not ids:
            return 0
        with self._session() as session:
            result = session.execute(
                update(AgentReplyRow)
                .where(
                    AgentReplyRow.id.in_(ids),
                    AgentReplyRow.conversation_id == conversation_id,
                    AgentReplyRow.delivery == Delivery.PENDING.value,
                )
                .values(delivery=Delivery.DELIVERED.value, delivered_at=self._now())
            )
            return result.rowcount

    def mark_failed(self, reply_id: int, reason: str) -> None:
        with self._session() as session:
            session.execute(
                update(AgentReplyRow)
                .where(
                    AgentReplyRow.id == reply_id,
                    AgentReplyRow.delivery == Delivery.PENDING.value,
                )
                .values(delivery=Delivery.FAILED.value, failure=reason[:500])
            )

    def post_reminder(
        self,
        channel: str,
        conversation_id: str,
        language: str,
        texts: Sequence[tuple[str, Sequence[ReplyButton]]],
    ) -> Sequence[int]:
        with self._session() as session:
            rows = [
                AgentReplyRow(
                    channel=channel,
                    conversation_id=conversation_id,
                    language=language,
                    author="assistant",
                    text=message,
                    at=self._now(),
                    delivery=Delivery.PENDING.value,
                    kind=ReplyKind.REMINDER.value,
                    buttons=stored_buttons(buttons),
                )
                for message, buttons in texts
            ]
            session.add_all(rows)
            session.flush()
            return [row.id for row in rows]


def _reply(row: AgentReplyRow) -> AgentReply:
    return AgentReply(
        id=row.id,
        ticket_id=row.ticket_id,
        channel=row.channel,
        conversation_id=row.conversation_id,
        language=row.language,
        author=row.author,
        text=row.text,
        at=row.at,
        delivery=Delivery(row.delivery),
        delivered_at=row.delivered_at,
        kind=ReplyKind(row.kind),
        author_name=row.author_name,
        buttons=tuple(ReplyButton(**button) for button in json.loads(row.buttons or "[]")),
    )


def stored_buttons(buttons: Sequence[ReplyButton]) -> str | None:
    """The buttons as the outbox keeps them."""
    if not buttons:
        return None
    return json.dumps([{"title": button.title, "payload": button.payload} for button in buttons])
