"""Rasa's SQL tracker store on a SQLite file (endpoints.yml), without its costs per message.

Rasa 3.6 does all its per-message work on one event loop, so every millisecond spent here
is a millisecond every other customer's message waits (docs/benchmarks.md). What its SQL
tracker store spends, and what this one does instead:

- A new SQLite connection for every read and write (SQLAlchemy 1.4 pools none for a SQLite
  file) and a rollback journal created, synced and deleted on every commit: here one
  connection is kept per thread (Rasa uses the store from its event loop's thread only) and
  the journal is a write-ahead log. Commits are still synced to disk (synchronous stays
  FULL), so a conversation survives a crash as before.
- ORM objects for every event read and written: here SQLAlchemy Core reads the `data`
  column and inserts the new rows in one statement. Tables, queries and rows are Rasa's.
- Rebuilding the conversation from its stored events on every message, which costs more
  than all the SQL (each event is parsed and replayed): here the conversation just saved
  is kept in memory and handed back at the next message, after one indexed query shows
  that nothing was stored for it since. A conversation changed by anyone else (another
  process on the same file, say) is therefore read from the database as before.

Both profiles' stores (this one and RedactingSQLTrackerStore, PostgreSQL) write what the
customer typed with one-time codes, ID-card and bank-card numbers masked (`stored_event`):
the conversation in memory keeps them for the turn that needs them, the database never sees
them (SECURITY.md).
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.pool import SingletonThreadPool

from telecom_assistant.settings import Settings
from telecom_assistant.tickets.redaction import redact_secrets

# Conversations kept in memory, the least recently saved dropped first: a conversation of
# a whole session is about 100 events, some 0.3 MB as Python objects.
CACHED_CONVERSATIONS = 500


# The slot the verification form fills with the code as typed, before checking it.
OTP_CODE_SLOT = "otp_code"


def codes_typed(events: Iterable[Any]) -> tuple[str, ...]:
    """The one-time codes the customer typed in `events`, as the verification form read them:
    masked wherever they appear, whatever the customer wrote around them."""
    return tuple(
        str(event.value)
        for event in events
        if getattr(event, "key", None) == OTP_CODE_SLOT
        and isinstance(event.value, str)
        and event.value.isdigit()
    )


def stored_event(event: Any, known_codes: Sequence[str] = ()) -> dict[str, Any]:
    """`event` as a stored row's data, with one-time codes, ID-card and bank-card numbers
    masked where the customer's words are: a message's text and entities, a slot's value.
    (Not in ids and names, where a long run of hex digits could pass for a card.)"""
    data = event.as_dict()
    kind = data.get("event")
    if kind == "user":
        # New dicts all the way down: as_dict() hands out the event's own parse data.
        data["text"] = _redacted(data.get("text"), known_codes)
        parse_data = data.get("parse_data")
        if parse_data:
            data["parse_data"] = {
                **parse_data,
                "text": _redacted(parse_data.get("text"), known_codes),
                "entities": [
                    {**entity, "value": _redacted(entity.get("value"), known_codes)}
                    for entity in parse_data.get("entities") or []
                ],
            }
    elif kind == "slot":
        data["value"] = _redacted(data.get("value"), known_codes)
    return data


@lru_cache(maxsize=4096)
def _redacted_text(text: str, known_codes: tuple[str, ...]) -> str:
    # A message's text comes twice in its event, and slots hold the same values turn after
    # turn: each is looked at once (what the conversation in memory holds anyway).
    return redact_secrets(text, known_codes=known_codes)


def _redacted(value: Any, known_codes: Sequence[str]) -> Any:
    if isinstance(value, str):
        return _redacted_text(value, tuple(known_codes))
    if isinstance(value, list):
        return [_redacted(item, known_codes) for item in value]
    return value


def _write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@dataclass
class _Saved:
    """A conversation as this store last saved it."""

    tracker: DialogueStateTracker
    event_count: int  # its length then: a tracker changed since is not handed out
    last_row_id: int  # the conversation's newest row then


class _Statements:
    """The store's statements, built once: SQLAlchemy builds a cache key for a statement
    each time one is executed, which for a new statement costs more than SQLite's work."""

    def __init__(self, events: sa.Table) -> None:
        sender_id = sa.bindparam("sender_id")
        self.all_sessions = (
            sa.select(events.c.data).where(events.c.sender_id == sender_id).order_by(events.c.id)
        )
        # Rasa's query (SQLTrackerStore._event_query): the events stamped at or after the
        # latest session's start.
        session_start = (
            sa.select(sa.func.max(events.c.timestamp))
            .where(events.c.sender_id == sender_id, events.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        self.latest_session = self.all_sessions.where(
            sa.or_(events.c.timestamp >= session_start, session_start.is_(None))
        )
        self.latest_session_count = sa.select(sa.func.count()).select_from(
            self.latest_session.subquery()
        )
        self.last_row_id = sa.select(sa.func.max(events.c.id)).where(
            events.c.sender_id == sender_id
        )
        self.insert = events.insert()


class SQLiteTrackerStore(SQLTrackerStore):
    engine: sa.engine.Engine

    def __init__(
        self,
        domain: Domain | None = None,
        db: str = "rasa.db",
        event_broker: EventBroker | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, dialect="sqlite", db=db, event_broker=event_broker, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, poolclass=SingletonThreadPool)
        sa.event.listen(self.engine, "connect", _write_ahead_log)
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)
        self._statements = _Statements(self.SQLEvent.__table__)
        self._saved: OrderedDict[str, _Saved] = OrderedDict()

    @property
    def domain(self) -> Domain:
        return self._domain

    @domain.setter
    def domain(self, domain: Domain | None) -> None:
        # A tracker holds the slots of the domain it was built with: a new model's domain
        # makes every kept conversation be read again.
        self._domain = domain or Domain.empty()
        self._saved.clear()

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        with self.engine.connect() as connection:
            if not fetch_events_from_all_sessions:
                saved = self._unchanged_since_saved(connection, sender_id)
                if saved is not None:
                    return saved
            query = (
                self._statements.all_sessions
                if fetch_events_from_all_sessions
                else self._statements.latest_session
            )
            rows = connection.execute(query, {"sender_id": sender_id}).scalars().all()
        if not rows or not self.domain:
            return None
        return DialogueStateTracker.from_dict(
            sender_id, [json.loads(row) for row in rows], self.domain.slots
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        sender_id = tracker.sender_id
        self._saved.pop(sender_id, None)
        with self.engine.begin() as connection:
            # As Rasa's store: the tracker holds the latest session's stored events, then
            # the new ones.
            stored = connection.execute(
                self._statements.latest_session_count, {"sender_id": sender_id}
            ).scalar_one()
            new_events = list(itertools.islice(tracker.events, stored, None))
            codes = codes_typed(new_events)
            rows = [self._row(sender_id, event, codes) for event in new_events]
            if rows:
                connection.execute(self._statements.insert, rows)
            last_row_id = connection.execute(
                self._statements.last_row_id, {"sender_id": sender_id}
            ).scalar_one()
        if self._holds_only_latest_session(tracker):
            self._saved[sender_id] = _Saved(tracker, len(tracker.events), last_row_id)
            while len(self._saved) > CACHED_CONVERSATIONS:
                self._saved.popitem(last=False)

    def _unchanged_since_saved(
        self, connection: Connection, sender_id: str
    ) -> DialogueStateTracker | None:
        """The tracker this store saved last for `sender_id`, if the database and the
        tracker are both as they were then. Handed out once: whoever takes it owns it."""
        saved = self._saved.pop(sender_id, None)
        if saved is None or len(saved.tracker.events) != saved.event_count:
            return None
        last_row_id = connection.execute(
            self._statements.last_row_id, {"sender_id": sender_id}
        ).scalar_one()
        if last_row_id != saved.last_row_id:
            return None
        return saved.tracker

    def _holds_only_latest_session(self, tracker: DialogueStateTracker) -> bool:
        """Whether `tracker` is exactly what reading the conversation back gives: the
        events stamped at or after the latest session's start (as in Rasa's query)."""
        if self.max_event_history:
            return False
        latest_start = max(
            (event.timestamp for event in tracker.events if isinstance(event, SessionStarted)),
            default=None,
        )
        return latest_start is None or all(
            event.timestamp >= latest_start for event in tracker.events
        )

    @staticmethod
    def _row(sender_id: str, event: Any, known_codes: Sequence[str]) -> dict[str, Any]:
        """The row Rasa's store writes for `event`, redacted."""
        data = stored_event(event, known_codes)
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }


class _Redacted:
    """An event as Rasa's SQLTrackerStore.save reads it (type_name, as_dict), redacted."""

    def __init__(self, event: Any, known_codes: Sequence[str]) -> None:
        self.type_name = event.type_name
        self._event = event
        self._known_codes = known_codes

    def as_dict(self) -> dict[str, Any]:
        return stored_event(self._event, self._known_codes)


class RedactingSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store (the production profile's, on PostgreSQL), writing redacted
    events like SQLiteTrackerStore: Rasa's save() stores whatever _additional_events yields.
    Its database is the assistant's (the settings' DATABASE_URL, read when Rasa builds it),
    unless the endpoints file gives a `url`."""

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        event_broker: EventBroker | None = None,
        settings: Settings | None = None,
        **kwargs: Any,
    ) -> None:
        # Rasa passes the endpoints file's `url` as `host`: a whole SQLAlchemy URL, as it is.
        database_url = host or (settings or Settings.from_environment()).database_url
        super().__init__(domain, host=database_url, event_broker=event_broker, **kwargs)

    def _additional_events(self, session: Session, tracker: DialogueStateTracker) -> Iterator:
        new_events = list(super()._additional_events(session, tracker))
        codes = codes_typed(new_events)
        return iter([_Redacted(event, codes) for event in new_events])
