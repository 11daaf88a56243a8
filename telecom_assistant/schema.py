"""The database schema, one storage area at a time: each area (the demo accounts, the tickets,
the agents, the Telegram bridge's chats) has tables of its own and migrations of its own
(migrations/<area>/, run by Alembic), recorded in a version table of its own. A program
migrates the areas it uses when it starts, so an operator who plugs in their own account
system never gets the demo's accounts tables.

The areas are known here by name and folder only: the domain imports no channel, and the
migrations need no table classes (migrations/env.py finds those for Alembic's autogenerate).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import Enum

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from telecom_assistant.database import PROJECT_ROOT

# Alembic tells at INFO what it sets up, as it is imported and on every connection, at every
# start of every program: what was migrated is logged here instead, once.
logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command  # noqa: E402 - quieted first
from alembic.config import Config  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402

MIGRATIONS = PROJECT_ROOT / "migrations"
# Any number, as long as nothing else in the database takes the same advisory lock.
POSTGRES_MIGRATION_LOCK = 0x7E1EC0_5C4E3A

log = logging.getLogger(__name__)


class Area(Enum):
    ACCOUNTS = "accounts"  # the demo billing/CRM system, its SMS outbox, verification codes
    TICKETS = "tickets"  # tickets, transcripts, status history, notes, agents' replies
    AGENTS = "agents"  # the console's agents and their sessions
    TELEGRAM = "telegram"  # the Telegram bridge's chat directory (channels/telegram/)
    SATISFACTION = "satisfaction"  # ratings and the conversations the assistant closed
    REMINDERS = "reminders"  # reminders sent, opt-outs, the chats they reach, the scheduler's lease
    SMS_HALL = "sms_hall"  # the SMS business hall's open questions (channels/sms/)

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.value}"


ALL_AREAS: tuple[Area, ...] = tuple(Area)


def alembic_config(area: Area, connection: Connection) -> Config:
    """Alembic's configuration for one area, on a connection the caller holds: no alembic.ini,
    the same environment (migrations/env.py) for every area, each area's own revisions."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # One location per area, so no list to split: the separator only silences Alembic's warning.
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(MIGRATIONS / area.value))
    # New revisions are named after their id (see ops/cli.py `telecom migrate --new`).
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["area"] = area
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, areas: Sequence[Area] = ALL_AREAS) -> None:
    """Bring the tables of `areas` to their newest revision; an area already there is left
    alone, so every process may call this as it starts, several at once too."""
    with _one_migration_at_a_time(engine) as connection:
        for area in areas:
            config = alembic_config(area, connection)
            # Checked here rather than left to Alembic: an area at its newest revision then
            # costs one query.
            current, newest = _current(area, connection), _heads(config)
            if current != newest:
                command.upgrade(config, "head")
                log.info(
                    "Migrated the %s tables from revision %s to %s.",
                    area.value,
                    ", ".join(sorted(current)) or "none",
                    ", ".join(sorted(newest)),
                )


def drop_areas(engine: Engine, areas: Sequence[Area]) -> None:
    """Drop the tables of `areas` and their data by running their migrations down (their
    version tables stay, empty): the demo's reset (demo/seed.py) does it before seeding
    afresh."""
    with _one_migration_at_a_time(engine) as connection:
        for area in reversed(areas):
            config = alembic_config(area, connection)
            if not _current(area, connection):
                # Tables made before the migrations existed (by create_all) carry no version:
                # the first revision adopts them (it creates only what is missing), so that
                # running down drops them.
                command.upgrade(config, "head")
            command.downgrade(config, "base")


def new_revision(engine: Engine, area: Area, message: str) -> list[str]:
    """Write the area's next revision, `<area>_<number>_<message>.py`, with the operations
    that bring a database migrated to the area's newest revision to its tables as declared
    now (Alembic's autogenerate: read and complete it before committing it). Returns the
    paths written."""
    migrate(engine, [area])
    with engine.connect() as connection:
        config = alembic_config(area, connection)
        config.attributes["autogenerate"] = True  # migrations/env.py loads the area's tables
        number = sum(1 for _ in ScriptDirectory.from_config(config).walk_revisions()) + 1
        scripts = command.revision(
            config, message, autogenerate=True, rev_id=f"{area.value}_{number:04d}"
        )
    written = scripts if isinstance(scripts, list) else [scripts]
    return [script.path for script in written if script is not None]


def _current(area: Area, connection: Connection) -> set[str]:
    context = MigrationContext.configure(connection, opts={"version_table": area.version_table})
    return set(context.get_current_heads())


def _heads(config: Config) -> set[str]:
    return set(ScriptDirectory.from_config(config).get_heads())


@contextmanager
def _one_migration_at_a_time(engine: Engine) -> Iterator[Connection]:
    """A connection whose transaction holds the database's migration lock until it commits,
    so that of several processes starting at once one migrates and the others, waiting, then
    find the revisions at their newest. Both databases roll DDL back with the transaction."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_MIGRATION_LOCK}
            )
        elif connection.dialect.name == "sqlite":
            # Takes the write lock now rather than at the first write: another process waits
            # for it (make_engine's busy timeout) instead of reading a version about to change.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield connection
        connection.commit()
