"""Tables of the satisfaction area: rating requests with their answers, and the conversations
the assistant closed. Their own metadata and migrations (migrations/satisfaction/): an operator
with a ticket desk of their own keeps them beside it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import declarative_base

# SQLAlchemy 1.4 ships no type information: to mypy the base is Any, as is every column.
Base: Any = declarative_base()


class SurveyRow(Base):
    """A rating request, and the customer's rating once given."""

    __tablename__ = "csat_surveys"
    # Asked once: a second request for the same conversation or ticket cannot be stored.
    __table_args__ = (
        UniqueConstraint("subject", "subject_id"),
        Index("ix_csat_surveys_answered_at", "answered_at"),
    )

    id = Column(Integer, primary_key=True)
    subject = Column(String(20), nullable=False)
    subject_id = Column(String(200), nullable=False)
    conversation_id = Column(String(200), nullable=False)
    channel = Column(String(20), nullable=False)
    language = Column(String(5), nullable=False)
    category = Column(String(30))  # a ticket's category
    asked_at = Column(DateTime, nullable=False)
    score = Column(Integer)  # NULL until the customer answers
    comment = Column(Text)
    answered_at = Column(DateTime)


class ConversationEndRow(Base):
    """A conversation the assistant closed (model.ConversationEnd)."""

    __tablename__ = "conversation_ends"

    key = Column(String(200), primary_key=True)
    conversation_id = Column(String(200), nullable=False)
    started_at = Column(DateTime, nullable=False)
    ended_at = Column(DateTime, nullable=False, index=True)
    channel = Column(String(20), nullable=False)
    language = Column(String(5), nullable=False)
    filed_ticket = Column(Boolean, nullable=False)
