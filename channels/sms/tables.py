"""The SMS business hall's own table, in the backend's database: its own metadata, its own
migrations (migrations/sms_hall/), run as the hall starts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, String, Text
from sqlalchemy.orm import declarative_base

# SQLAlchemy 1.4 ships no type information: to mypy the base is Any, as is every column.
Base: Any = declarative_base()


class OpenQuestionRow(Base):
    """The cancellation a line was asked to confirm ("reply Y within 10 minutes"): one per
    line, the latest (questions.py)."""

    __tablename__ = "sms_hall_questions"

    msisdn = Column(String(11), primary_key=True)
    subscription_ids = Column(Text, nullable=False)  # JSON list
    names = Column(Text, nullable=False)  # JSON: the add-ons' names, per language
    asked_at = Column(DateTime, nullable=False)
