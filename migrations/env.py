"""Alembic's environment for every storage area (telecom_assistant/schema.py runs it): the
area's own revisions (migrations/<area>/) recorded in the area's own version table, on the
connection, and in the transaction, of the caller."""

from __future__ import annotations

from importlib import import_module

from alembic import context

# Where each area's declarative tables are: what autogenerate compares a database with when
# a developer writes a new revision (`telecom migrate --new`, telecom_assistant/schema.py).
TABLES = {
    "accounts": "telecom_assistant.accounts.tables",
    "tickets": "telecom_assistant.tickets.tables",
    "agents": "telecom_assistant.agents.tables",
    "telegram": "channels.telegram.tables",
    "satisfaction": "telecom_assistant.satisfaction.tables",
    "reminders": "telecom_assistant.reminders.tables",
    "sms_hall": "channels.sms.tables",
}

area = context.config.attributes["area"]
connection = context.config.attributes["connection"]
# Running migrations needs none of the table classes (the bridge's would bring the Telegram
# library into whichever program migrates): only autogenerate loads them.
metadata = (
    import_module(TABLES[area.value]).Base.metadata
    if context.config.attributes.get("autogenerate")
    else None
)
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=area.version_table,
    # The other areas' tables share the database: they are theirs to change, not this area's.
    include_name=lambda name, kind, _parent: (
        kind != "table" or metadata is None or name in metadata.tables
    ),
    # SQLite alters a table by copying it: autogenerate writes such changes as batch operations.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
