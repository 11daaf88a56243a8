"""How to reach the assistant's database (where it is: Settings.database_url)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from telecom_assistant.clock import Clock, operator_now

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def make_engine(url: str) -> Engine:
    """An engine on `url` (a program's Settings.database_url, a test's database)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        # Several processes (action server, CLI) share the file: wait for a lock rather
        # than fail, and enforce foreign keys like PostgreSQL does.
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - driver hook
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    return engine


class SessionPerCall:
    """Base of the SQL implementations: the engine (and its pool) is shared by the process,
    each public method opens its own short session and transaction, never one shared
    session."""

    def __init__(self, engine: Engine, clock: Clock = operator_now) -> None:
        self._sessions = sessionmaker(engine, future=True, expire_on_commit=False)
        self._now = clock

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session


@contextmanager
def scratch_postgres_database(
    admin_url: str, name_prefix: str, template: str | None = None
) -> Iterator[str]:
    """The URL of a new PostgreSQL database named `name_prefix` and a random suffix, created
    through `admin_url` (a database the caller may create databases from) and dropped
    afterwards, connections and all. Empty, or a copy of the database named `template` (which
    nobody may be connected to meanwhile)."""
    name = f"{name_prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        copy_of = f' TEMPLATE "{template}"' if template else ""
        connection.execute(text(f'CREATE DATABASE "{name}"{copy_of}'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
