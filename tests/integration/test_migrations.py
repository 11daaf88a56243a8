"""The schema migrations (migrations/, telecom_assistant/schema.py), on SQLite and PostgreSQL:
each area's revisions give exactly the tables its classes declare, run down and up again, do
nothing the second time, touch no other area, adopt a database made by `create_all` before
there were migrations, and keep several processes starting at once from migrating twice."""

from __future__ import annotations

import multiprocessing
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from multiprocessing.synchronize import Barrier as BarrierType
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, func, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from channels.sms import tables as sms_hall
from channels.telegram import tables as telegram
from demo.seed import reset_database
from telecom_assistant import schema
from telecom_assistant.accounts import tables as accounts
from telecom_assistant.agents import tables as agents
from telecom_assistant.database import PROJECT_ROOT, make_engine
from telecom_assistant.reminders import tables as reminders
from telecom_assistant.satisfaction import tables as satisfaction
from telecom_assistant.schema import ALL_AREAS, Area, drop_areas, migrate, new_revision
from telecom_assistant.tickets import tables as tickets
from tests.conftest import TODAY, postgres_database

NOW = datetime(2026, 11, 23, 10)

DECLARED = {
    Area.ACCOUNTS: accounts.Base.metadata,
    Area.TICKETS: tickets.Base.metadata,
    Area.AGENTS: agents.Base.metadata,
    Area.TELEGRAM: telegram.Base.metadata,
    Area.SATISFACTION: satisfaction.Base.metadata,
    Area.REMINDERS: reminders.Base.metadata,
    Area.SMS_HALL: sms_hall.Base.metadata,
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_engine(request, tmp_path) -> Iterator[Engine]:
    """An empty database of the test's own."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    with postgres_database() as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def declared(areas: Sequence[Area]) -> MetaData:
    """The tables the classes of `areas` declare, together."""
    together = MetaData()
    for area in areas:
        for table in DECLARED[area].tables.values():
            table.to_metadata(together)
    return together


def differences(engine: Engine, areas: Sequence[Area]) -> list:
    """What Alembic's autogenerate would change to make the database's tables (version tables
    aside) those that the classes of `areas` declare: columns, types, nullability, keys,
    unique constraints, indexes and foreign keys."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_name": lambda name, kind, _parent: (
                    not (kind == "table" and name.startswith("alembic_version_"))
                ),
            },
        )
        return compare_metadata(context, declared(areas))


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def revisions(engine: Engine) -> dict[Area, tuple[str, ...]]:
    with engine.connect() as connection:
        return {
            area: MigrationContext.configure(
                connection, opts={"version_table": area.version_table}
            ).get_current_heads()
            for area in ALL_AREAS
        }


def test_upgrading_gives_exactly_the_declared_tables(empty_engine):
    migrate(empty_engine)
    assert differences(empty_engine, ALL_AREAS) == []
    assert tables(empty_engine) == (
        set(declared(ALL_AREAS).tables) | {area.version_table for area in ALL_AREAS}
    )
    assert all(revisions(empty_engine).values())


def test_migrating_again_changes_nothing(empty_engine):
    migrate(empty_engine)
    with Session(empty_engine) as session, session.begin():
        session.add(
            agents.AgentRow(
                username="li.na", display_name="Li Na", password_hash="x", created_at=NOW
            )
        )
    before = revisions(empty_engine)
    migrate(empty_engine)
    assert revisions(empty_engine) == before
    assert differences(empty_engine, ALL_AREAS) == []
    with Session(empty_engine) as session:
        assert session.scalar(select(func.count()).select_from(agents.AgentRow)) == 1


def test_running_down_drops_the_tables_and_up_again_makes_them(empty_engine):
    migrate(empty_engine)
    drop_areas(empty_engine, ALL_AREAS)
    assert tables(empty_engine) == {area.version_table for area in ALL_AREAS}
    assert not any(revisions(empty_engine).values())
    migrate(empty_engine)
    assert differences(empty_engine, ALL_AREAS) == []


def test_an_operator_with_an_account_system_of_their_own_gets_no_demo_tables(empty_engine):
    migrate(empty_engine, [Area.TICKETS, Area.AGENTS])
    assert differences(empty_engine, [Area.TICKETS, Area.AGENTS]) == []
    not_migrated = [
        Area.ACCOUNTS,
        Area.TELEGRAM,
        Area.SATISFACTION,
        Area.REMINDERS,
        Area.SMS_HALL,
    ]
    assert not tables(empty_engine) & set(declared(not_migrated).tables)
    assert Area.ACCOUNTS.version_table not in tables(empty_engine)
    # The comparison does see missing tables: the accounts' are all missing.
    missing = {
        diff[1].name for diff in differences(empty_engine, ALL_AREAS) if diff[0] == "add_table"
    }
    assert missing == set(declared(not_migrated).tables)


def test_a_database_made_before_migrations_is_adopted_with_its_data(empty_engine):
    # As `create_all` made it then: the tables of each area's first revision, and no record of
    # any revision.
    with empty_engine.begin() as connection:
        for area in ALL_AREAS:
            command.upgrade(schema.alembic_config(area, connection), f"{area.value}_0001")
            connection.execute(text(f"DROP TABLE {area.version_table}"))
    with Session(empty_engine) as session, session.begin():
        session.add(
            agents.AgentRow(
                username="li.na", display_name="Li Na", password_hash="x", created_at=NOW
            )
        )
    migrate(empty_engine)
    assert all(revisions(empty_engine).values())
    assert differences(empty_engine, ALL_AREAS) == []
    with Session(empty_engine) as session:
        assert session.get(agents.AgentRow, "li.na") is not None


def test_the_demo_reset_starts_the_demo_afresh_and_keeps_the_agents(empty_engine):
    reset_database(empty_engine, TODAY)
    with Session(empty_engine) as session, session.begin():
        session.add(
            agents.AgentRow(
                username="li.na", display_name="Li Na", password_hash="x", created_at=NOW
            )
        )
        session.get(accounts.LineRow, "13800000001").demo_story = "changed"
    reset_database(empty_engine, TODAY)
    with Session(empty_engine) as session:
        assert session.get(agents.AgentRow, "li.na") is not None
        assert session.get(accounts.LineRow, "13800000001").demo_story != "changed"
    reset = [Area.ACCOUNTS, Area.TICKETS, Area.AGENTS, Area.REMINDERS, Area.SMS_HALL]
    assert differences(empty_engine, reset) == []


def _start_and_migrate(url: str, ready: BarrierType) -> None:
    engine = make_engine(url)
    ready.wait()
    migrate(engine)
    engine.dispose()


def test_processes_starting_at_once_migrate_once(empty_engine):
    """Programs starting together on a new database: one migrates, the others wait for it and
    then find every area at its newest revision (without the lock they fail: a table already
    exists, or a deadlock). Forked, so that each starts at once rather than after its imports."""
    processes = multiprocessing.get_context("fork")
    ready = processes.Barrier(4)
    url = empty_engine.url.render_as_string(hide_password=False)
    starters = [processes.Process(target=_start_and_migrate, args=(url, ready)) for _ in range(4)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join(timeout=60)
        if starter.is_alive():
            starter.kill()
    assert [starter.exitcode for starter in starters] == [0, 0, 0, 0]
    assert differences(empty_engine, ALL_AREAS) == []


@pytest.mark.parametrize("area", ALL_AREAS, ids=lambda area: area.value)
def test_the_declared_tables_need_no_new_revision(empty_engine, area, tmp_path, monkeypatch):
    """What `telecom migrate --new` writes for an area whose classes match its migrations: a
    revision that does nothing (this also checks migrations/env.py's map of the areas)."""
    copy = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS, copy)
    monkeypatch.setattr(schema, "MIGRATIONS", copy)
    next_number = len(list((copy / area.value).glob(f"{area.value}_*.py"))) + 1
    [written] = new_revision(empty_engine, area, "nothing to do")
    assert Path(written).parent == copy / area.value
    assert Path(written).name == f"{area.value}_{next_number:04d}_nothing_to_do.py"
    assert re.search(r"\bop\.", Path(written).read_text()) is None


def test_migrating_loads_no_program_s_libraries(tmp_path):
    """`telecom run` migrates every area in the process that then stays up supervising: the
    migrations must not bring in the table classes' programs (the Telegram bridge's library)."""
    heavy = {"rasa", "rasa_sdk", "tensorflow", "spacy", "sanic", "telegram", "channels"}
    program = (
        "import sys; from telecom_assistant.database import make_engine; "
        "from telecom_assistant.schema import migrate; "
        f"migrate(make_engine('sqlite:///{tmp_path / 'telecom.db'}')); "
        "print(' '.join({name.split('.')[0] for name in sys.modules}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", program],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not heavy & set(loaded)
    assert "telegram_conversations" in tables(make_engine(f"sqlite:///{tmp_path / 'telecom.db'}"))
