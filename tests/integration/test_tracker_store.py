"""The SQLite tracker store of endpoints.yml: what Rasa itself makes of that file, Rasa's
tables and events, one connection kept open, a write-ahead log, and the conversation kept
in memory between messages only while nobody else changed it."""

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

from rasa_plugins import tracker_store
from rasa_plugins.tracker_store import SQLiteTrackerStore

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.from_dict(
    {"slots": {"language": {"type": "text", "mappings": [{"type": "custom"}]}}}
)


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
        events = [
            ActionExecuted("action_session_start", timestamp=1),
            SessionStarted(timestamp=2),
            UserUttered("hello", timestamp=3),
            SlotSet("language", "en", timestamp=4),
        ]
        for store in (ours, rasas):
            tracker = conversation("someone", *events)
            await store.save(tracker)
            tracker.update(ActionExecuted("utter_greet", timestamp=5))
            await store.save(tracker)  # only the new event is added
        assert [e.as_dict() for e in (await ours.retrieve("someone")).events] == [
            e.as_dict() for e in (await rasas.retrieve("someone")).events
        ]
        assert (await ours.retrieve("someone")).get_slot("language") == "en"
        assert await ours.retrieve("nobody") is None
        assert await ours.keys() == ["someone"]

    asyncio.run(scenario())
    rows = "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events"
    with (
        sqlite3.connect(tmp_path / "ours.db") as ours,
        sqlite3.connect(tmp_path / "rasa.db") as rasas,
    ):
        stored = ours.execute(rows + " ORDER BY id").fetchall()
        assert stored and stored == rasas.execute(rows + " ORDER BY id").fetchall()


def test_only_the_latest_session_is_loaded(tmp_path):
    async def scenario() -> DialogueStateTracker:
        store = SQLiteTrackerStore(DOMAIN, db=str(tmp_path / "tracker.db"))
        tracker = conversation(
            "someone", SessionStarted(timestamp=1), UserUttered("old", timestamp=2)
        )
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


# --- the conversation kept in memory between messages -------------------------------------


def as_dicts(tracker: DialogueStateTracker) -> list[dict]:
    return [event.as_dict() for event in tracker.events]


def test_every_message_gives_what_rasas_store_gives_and_stores(tmp_path):
    """Messages as Rasa's processor handles them (load, add events, save), a session that
    expires half-way included: the same conversation comes back and the same rows are stored."""

    async def scenario() -> None:
        ours = SQLiteTrackerStore(DOMAIN, db=str(tmp_path / "ours.db"))
        rasas = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa.db"))
        turns = [
            [
                ActionExecuted("action_session_start", timestamp=2),
                SessionStarted(timestamp=1),
                ActionExecuted("action_listen", timestamp=3),
                UserUttered("hi", timestamp=4),
            ],
            [SlotSet("language", "en", timestamp=5), ActionExecuted("utter_greet", timestamp=6)],
            [UserUttered("usage", timestamp=7), ActionExecuted("action_listen", timestamp=8)],
            # the session expired: Rasa starts a new one in the same tracker
            [
                ActionExecuted("action_session_start", timestamp=101),
                SessionStarted(timestamp=100),
                SlotSet("language", "en", timestamp=102),
                UserUttered("bill", timestamp=103),
            ],
            [ActionExecuted("action_listen", timestamp=104)],
            [UserUttered("thanks", timestamp=105)],
        ]
        for events in turns:
            for store in (ours, rasas):
                tracker = await store.get_or_create_tracker("someone", append_action_listen=False)
                for event in events:
                    tracker.update(event)
                await store.save(tracker)
            assert as_dicts(await ours.retrieve("someone")) == as_dicts(
                await rasas.retrieve("someone")
            )

    asyncio.run(scenario())
    rows = "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events"
    with (
        sqlite3.connect(tmp_path / "ours.db") as ours,
        sqlite3.connect(tmp_path / "rasa.db") as rasas,
    ):
        assert (
            ours.execute(rows + " ORDER BY id").fetchall()
            == rasas.execute(rows + " ORDER BY id").fetchall()
        )


def started_conversation() -> DialogueStateTracker:
    return conversation(
        "someone",
        ActionExecuted("action_session_start", timestamp=2),
        SessionStarted(timestamp=1),
        UserUttered("hello", timestamp=3),
    )


def test_the_saved_conversation_is_handed_back_once_without_reading_it(tmp_path):
    async def scenario() -> None:
        store = SQLiteTrackerStore(DOMAIN, db=str(tmp_path / "tracker.db"))
        tracker = started_conversation()
        await store.save(tracker)
        assert await store.retrieve("someone") is tracker
        again = await store.retrieve("someone")  # whoever took it may be changing it
        assert again is not tracker and as_dicts(again) == as_dicts(tracker)

    asyncio.run(scenario())


def test_a_conversation_changed_by_another_process_is_read_again(tmp_path):
    async def scenario() -> None:
        store = SQLiteTrackerStore(DOMAIN, db=str(tmp_path / "tracker.db"))
        other_process = SQLiteTrackerStore(DOMAIN, db=str(tmp_path / "tracker.db"))
        await store.save(started_conversation())
        theirs = await other_process.retrieve("someone")
        theirs.update(UserUttered("written elsewhere", timestamp=4))
        await other_process.save(theirs)
        assert as_dicts(await store.retrieve("someone")) == as_dicts(theirs)

    asyncio.run(scenario())


def test_events_added_after_saving_are_not_handed_out_as_stored(tmp_path):
    async def scenario() -> None:
        store = SQLiteTrackerStore(DOMAIN, db=str(tmp_path / "tracker.db"))
        tracker = started_conversation()
        await store.save(tracker)
        tracker.update(UserUttered("never saved", timestamp=4))  # e.g. a failed turn
        assert [
            e.text for e in (await store.retrieve("someone")).events if isinstance(e, UserUttered)
        ] == ["hello"]

    asyncio.run(scenario())


def test_a_new_model_s_domain_makes_conversations_be_read_again(tmp_path):
    async def scenario() -> None:
        store = SQLiteTrackerStore(DOMAIN, db=str(tmp_path / "tracker.db"))
        tracker = started_conversation()
        await store.save(tracker)
        store.domain = Domain.from_dict(
            {"slots": {"plan": {"type": "text", "mappings": [{"type": "custom"}]}}}
        )
        assert "plan" in (await store.retrieve("someone")).slots

    asyncio.run(scenario())


def test_only_so_many_conversations_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(tracker_store, "CACHED_CONVERSATIONS", 2)

    async def scenario() -> None:
        store = SQLiteTrackerStore(DOMAIN, db=str(tmp_path / "tracker.db"))
        saved = {}
        for sender in ("first", "second", "third"):
            saved[sender] = conversation(
                sender, SessionStarted(timestamp=1), UserUttered("hi", timestamp=2)
            )
            await store.save(saved[sender])
        assert await store.retrieve("first") is not saved["first"]  # dropped: read again
        assert await store.retrieve("third") is saved["third"]

    asyncio.run(scenario())


def test_codes_and_card_numbers_are_masked_before_they_are_stored(tmp_path):
    """Both profiles' stores write the customer's words redacted; the conversation in memory
    keeps them for the turn that needs them."""
    typed = "ok 482 913, id 11010519491231002X"
    message = UserUttered(
        typed,
        {"name": "inform", "confidence": 1.0},
        [{"entity": "otp", "value": "482913", "start": 3, "end": 10}],
    )
    production = yaml.safe_load((PROJECT_ROOT / "endpoints.production.yml").read_text())[
        "tracker_store"
    ]
    production_store = TrackerStore.create(
        EndpointConfig.from_dict({**production, "url": f"sqlite:///{tmp_path / 'production.db'}"}),
        DOMAIN,
    )
    assert isinstance(production_store, tracker_store.RedactingSQLTrackerStore)
    for store in (store_from_endpoints(tmp_path), production_store):
        tracker = DialogueStateTracker.from_events(
            "customer", [message, SlotSet("otp_code", "482913")], DOMAIN.slots
        )
        asyncio.run(store.save(tracker))
        with store.engine.connect() as connection:
            stored = "\n".join(connection.exec_driver_sql("SELECT data FROM events").scalars())
        assert "482" not in stored and "913" not in stored and "19491231" not in stored
        assert '"ok ***' in stored and "inform" in stored
        assert tracker.events[0].text == typed
        assert tracker.events[0].entities[0]["value"] == "482913"
