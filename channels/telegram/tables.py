"""The Telegram bridge's own tables, in the backend's database: its own metadata, its own
migrations (migrations/telegram/), run as the bridge starts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, String, Text
from sqlalchemy.orm import declarative_base

# SQLAlchemy 1.4 ships no type information: to mypy the base is Any, as is every column.
Base: Any = declarative_base()


class TelegramConversationRow(Base):
    """Which chat a conversation id belongs to (conversations.py)."""

    __tablename__ = "telegram_conversations"

    conversation_id = Column(String(64), primary_key=True)
    # Telegram's ids take up to 52 bits.
    chat_id = Column(BigInteger, nullable=False)


class TelegramInboxRow(Base):
    """An update the bridge took from Telegram (inbox.py); with the text it owes Rasa until
    Rasa has answered it."""

    __tablename__ = "telegram_inbox"

    update_id = Column(BigInteger, primary_key=True, autoincrement=False)
    chat_id = Column(BigInteger, nullable=False)
    # For Rasa; None once Rasa answered it, or when the bridge answered the update itself.
    text = Column(Text, nullable=True)
    # The language of the bridge's own notices to the chat, as when the message came.
    language = Column(String(8), nullable=False)
    # Rasa's idempotency key for the message: a retry with it never runs the turn again.
    message_key = Column(String(32), nullable=False)
    received_at = Column(DateTime, nullable=False)
    answered_at = Column(DateTime, nullable=True)

    __table_args__ = (Index("ix_telegram_inbox_waiting", "answered_at", "update_id"),)
