"""A Telegram chat's conversation id, and which chat each id belongs to.

The id is Rasa's sender id for the chat, and so also the id the tickets filed from the chat
record. Chat ids are not secret (anyone in a group sees its members' ids), so the id is an HMAC
of the chat id under the conversation key: who knows a chat id still cannot name its
conversation to Rasa. The HMAC cannot be turned back into a chat id either, so the bridge
records each chat's id the first time the chat talks (the telegram_conversations table): that
is how an agent's reply to a ticket finds its way back to the chat, after a restart too.

The table is the bridge's own (tables.py).
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from channels.telegram.tables import TelegramConversationRow
from telecom_assistant import trust
from telecom_assistant.database import SessionPerCall

CONVERSATION_PREFIX = "telegram-"


def rasa_sender_id(chat_id: int, conversation_key: str) -> str:
    return trust.conversation_id(CONVERSATION_PREFIX, str(chat_id), conversation_key)


class ChatDirectory(SessionPerCall):
    """Conversation id -> Telegram chat id, in the backend's database."""

    def remember(self, conversation_id: str, chat_id: int) -> None:
        """Records the chat of the conversation; recording it again changes nothing."""
        try:
            with self._session() as session:
                if session.get(TelegramConversationRow, conversation_id) is None:
                    session.add(
                        TelegramConversationRow(conversation_id=conversation_id, chat_id=chat_id)
                    )
        except IntegrityError:
            # Recorded meanwhile by another bridge process: the same pair, since the id is a
            # function of the chat.
            pass

    def chat_of(self, conversation_id: str) -> int | None:
        with self._session() as session:
            row = session.get(TelegramConversationRow, conversation_id)
            return None if row is None else row.chat_id
