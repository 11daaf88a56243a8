"""The bridge's durable queue: every message a customer sent for Rasa, from the moment the
bridge takes its update until Rasa has answered it.

Telegram forgets an update once the bridge confirms it (the next getUpdates, or a webhook's
200), so the message is written here first: a bridge stopped, restarted or killed with
messages waiting finds them here and sends them on, in each chat's order. Every update the
bridge handled stays recorded by its id for a while (its text gone once answered), so an
update Telegram sends again (the bridge died before confirming it) is recognised and not
handled twice. Telegram keeps unconfirmed updates for 24 hours; the record is kept for two
days, then forgotten (Telegram may start update ids afresh after a week without updates).

Each message also gets a key, sent to Rasa with it: a message sent again (after a timeout, or
a restart while Rasa was at it) is recognised by Rasa, which answers it without running the
turn a second time (rasa_plugins/channels.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from channels.telegram.tables import TelegramInboxRow
from telecom_assistant.database import SessionPerCall

REMEMBER_UPDATES_FOR = timedelta(days=2)


@dataclass(frozen=True)
class WaitingMessage:
    """A customer's message Rasa has not answered yet."""

    update_id: int
    chat_id: int
    text: str
    language: str
    key: str
    # Whether Rasa may have taken it already (then it is sent as a retry, see
    # rasa_plugins/answered_once.py).
    maybe_sent: bool = False


class Inbox(SessionPerCall):
    def take(self, update_id: int, chat_id: int, text: str, language: str) -> WaitingMessage | None:
        """Records a message for Rasa; None if this update was taken before."""
        message = WaitingMessage(update_id, chat_id, text, language, uuid.uuid4().hex)
        try:
            with self._session() as session:
                session.add(
                    TelegramInboxRow(
                        update_id=update_id,
                        chat_id=chat_id,
                        text=text,
                        language=language,
                        message_key=message.key,
                        received_at=self._now(),
                    )
                )
        except IntegrityError:
            return None
        return message

    def handled(self, update_id: int, chat_id: int, language: str) -> None:
        """Records an update the bridge answered itself (or relayed: then nothing changes)."""
        try:
            with self._session() as session:
                if session.get(TelegramInboxRow, update_id) is None:
                    now = self._now()
                    session.add(
                        TelegramInboxRow(
                            update_id=update_id,
                            chat_id=chat_id,
                            language=language,
                            message_key=uuid.uuid4().hex,
                            received_at=now,
                            answered_at=now,
                        )
                    )
        except IntegrityError:
            pass  # recorded meanwhile: it is handled either way

    def seen(self, update_id: int) -> bool:
        with self._session() as session:
            return session.get(TelegramInboxRow, update_id) is not None

    def answered(self, update_id: int) -> None:
        """Rasa answered the message: its text is no longer kept."""
        with self._session() as session:
            session.execute(
                update(TelegramInboxRow)
                .where(TelegramInboxRow.update_id == update_id)
                .values(text=None, answered_at=self._now())
            )

    def waiting(self) -> list[WaitingMessage]:
        """The messages Rasa has not answered, oldest first."""
        with self._session() as session:
            rows = session.scalars(
                select(TelegramInboxRow)
                .where(TelegramInboxRow.answered_at.is_(None))
                .order_by(TelegramInboxRow.update_id)
            )
            return [
                # Sent, perhaps, before the bridge stopped.
                WaitingMessage(
                    row.update_id,
                    row.chat_id,
                    row.text,
                    row.language,
                    row.message_key,
                    maybe_sent=True,
                )
                for row in rows
            ]

    def forget_old_updates(self) -> int:
        """Forgets the answered updates taken over two days ago; returns how many."""
        with self._session() as session:
            result = session.execute(
                delete(TelegramInboxRow).where(
                    TelegramInboxRow.answered_at.is_not(None),
                    TelegramInboxRow.received_at < self._now() - REMEMBER_UPDATES_FOR,
                )
            )
            return result.rowcount or 0
