"""The database schema of the domain's areas: accounts, tickets and agents, each with tables of
its own."""
from __future__ import annotations

from typing import Collection

from sqlalchemy import MetaData, Table
from sqlalchemy.engine import Engine

from telecom_assistant.accounts import tables as accounts
from telecom_assistant.agents import tables as agents
from telecom_assistant.tickets import tables as tickets


def area_metadata() -> list[MetaData]:
    """The tables of each area of the domain, in the order they may be created."""
    return [accounts.Base.metadata, tickets.Base.metadata, agents.Base.metadata]


def create_schema(engine: Engine) -> None:
    for metadata in area_metadata():
        metadata.create_all(engine)


def drop_schema(engine: Engine, keep: Collection[Table] = ()) -> None:
    for metadata in reversed(area_metadata()):
        metadata.drop_all(
            engine, tables=[table for table in metadata.sorted_tables if table not in keep]
        )
