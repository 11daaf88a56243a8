"""Tables of the console's agents and their signed-in sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    String,
)
from sqlalchemy.orm import declarative_base

# Each area has its own metadata: its own tables, its own migrations (migrations/).
# SQLAlchemy 1.4 ships no type information: to mypy the base is Any, as is every column.
Base: Any = declarative_base()


class AgentRow(Base):
    """An agent of the console. Created by `telecom agent add`; no account ships by default."""

    __tablename__ = "agents"

    username = Column(String(40), primary_key=True)
    display_name = Column(String(80), nullable=False)
    password_hash = Column(String(200), nullable=False)
    created_at = Column(DateTime, nullable=False)


class ConsoleSessionRow(Base):
    """A logged-in console session; only a hash of its cookie token is stored."""

    __tablename__ = "console_sessions"

    token_hash = Column(String(64), primary_key=True)
    username = Column(ForeignKey("agents.username"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)
