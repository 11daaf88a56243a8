"""Rasa's SQL tracker store on a SQLite file (endpoints.yml), without its two costs per
message on SQLite.

Rasa 3.6 opens a new SQLite connection for every read and every write of a conversation
(SQLAlchemy 1.4 pools no connections to a SQLite file), and SQLite's default rollback journal
creates, syncs and deletes a journal file on every commit: loading and saving a conversation
took 13-17 ms, 10 ms here, on Rasa's only event loop (docs/benchmarks.md). Here one connection is kept per
thread (Rasa uses the store from its event loop's thread only) and the journal is a
write-ahead log: commits are still synced to disk (synchronous stays FULL), so a
conversation survives a crash as before. Tables, queries and stored events are Rasa's.
"""
from __future__ import annotations

from typing import Any, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from sqlalchemy import create_engine, event
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import SingletonThreadPool


def _write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class SQLiteTrackerStore(SQLTrackerStore):
    def __init__(self, domain: Optional[Domain] = None, db: str = "rasa.db",
                 event_broker: Optional[EventBroker] = None, **kwargs: Any) -> None:
        super().__init__(domain, dialect="sqlite", db=db, event_broker=event_broker, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = create_engine(url, poolclass=SingletonThreadPool)
        event.listen(self.engine, "connect", _write_ahead_log)
        self.sessionmaker = sessionmaker(bind=self.engine)
