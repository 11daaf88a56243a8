"""The SQLite tracker store of endpoints.yml: what Rasa itself makes of that file, Rasa's
tables and events, one connection kept open, a write-ahead log."""
from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import yaml
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from connectors.tracker_store import SQLiteTrackerStore

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DOMAIN = Domain.from_dict({"slots": {"language": {"type": "text", "mappings": [{"type": "custom"}]}}})


def store_from_endpoints(tmp_path: Path) -> TrackerStore:
    """The store Rasa builds from endpoints.yml's tracker_store, on a file in tmp_path."""
    settings = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text())["tracker_store"]
    config = EndpointConfig.from_dict({**settings, "db": str(tmp_path / "tracker.db")})
    return TrackerStore.create(config, DOMAIN)


def conversation(sender: str, *events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, list(events), DOMAIN.slots)


def test_rasa_builds_our_store_from_endpoints_yml(tmp_path):
    # An import error would have given an in-memory store, and only a warning.
    assert isinstance(store_from_endpoints(tmp_path), SQLiteTrackerStore)


def test_conversations_are_stored_as_rasa_stores_them(tmp_path):
    async def scenario() -> None:
        ours = SQLiteTrackerStore(DOMAIN, db=str(tmp_path / "ours.db"))
        rasas = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa.db"))
        events = [ActionExecuted("action_session_start", timestamp=1), SessionStarted(timestamp=2),
                  UserUttered("hello", timestamp=3), SlotSet("language", "en", timestamp=4)]
        for store in (ours, rasas):
            tracker = conversation("someone", *events)
            await store.save(tracker)
            tracker.update(ActionExecuted("utter_greet", timestamp=5))
            await store.save(tracker)  # only the new event is added
        assert [e.as_dict() for e in (await ours.retrieve("someone")).events] == [
            e.as_dict() for e in (await rasas.retrieve("someone")).events]
        assert (await ours.retrieve("someone")).get_slot("language") == "en"
        assert await ours.retrieve("nobody") is None
        assert await ours.keys() == ["someone"]

    asyncio.run(scenario())
    rows = "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events"
    with sqlite3.connect(tmp_path / "ours.db") as ours, sqlite3.connect(tmp_path / "rasa.db") as rasas:
        stored = ours.execute(rows + " ORDER BY id").fetchall()
        assert stored and stored == rasas.execute(rows + " ORDER BY id").fetchall()


def test_only_the_latest_session_is_loaded(tmp_path):
    async def scenario() -> DialogueStateTracker:
        store = SQLiteTrackerStore(DOMAIN, db=str(tmp_path / "tracker.db"))
        tracker = conversation("someone", SessionStarted(timestamp=1), UserUttered("old", timestamp=2))
        await store.save(tracker)
        tracker.update(SessionStarted(timestamp=3))
        tracker.update(UserUttered("new", timestamp=4))
        await store.save(tracker)
        return await store.retrieve("someone")

    assert [e.text for e in asyncio.run(scenario()).events if isinstance(e, UserUttered)] == ["new"]


def test_one_connection_is_kept_and_the_journal_is_a_write_ahead_log(tmp_path):
    store = SQLiteTrackerStore(DOMAIN, db=str(tmp_path / "tracker.db"))
    asyncio.run(store.save(conversation("someone", UserUttered("hello"))))
    asyncio.run(store.retrieve("someone"))
    with store.engine.connect() as first, store.engine.connect() as second:
        assert first.connection.dbapi_connection is second.connection.dbapi_connection
    with sqlite3.connect(tmp_path / "tracker.db") as database:
        assert database.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert database.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL: synced
