"""`telecom demo order|use`: what happens on a demo line, for the reminders to notice."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ops.cli import main
from telecom_assistant.accounts.tables import SubscriptionRow, UsageRow
from telecom_assistant.clock import cycle_bounds, operator_now


def test_an_add_on_ordered_by_hand_starts_today_without_consent(sqlite_engine, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", str(sqlite_engine.url))
    assert main(["demo", "order", "138 0000 0004", "game_pack"]) == 0
    assert "game_pack started on 13800000004 today" in capsys.readouterr().out
    with Session(sqlite_engine) as session:
        row = session.scalars(
            select(SubscriptionRow).order_by(SubscriptionRow.id.desc()).limit(1)
        ).one()
    assert (row.msisdn, row.addon_id, row.started_on, row.consent_record) == (
        "13800000004",
        "game_pack",
        operator_now().date(),
        None,
    )


def test_data_use_set_by_hand_makes_this_cycles_record(sqlite_engine, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", str(sqlite_engine.url))
    assert main(["demo", "use", "13800000004", "85", "--abroad-mb", "30"]) == 0
    start = cycle_bounds(operator_now().date())[0]
    with Session(sqlite_engine) as session:
        usage = session.scalars(
            select(UsageRow).where(UsageRow.msisdn == "13800000004", UsageRow.cycle_start == start)
        ).one()
    # Basic 4G 39: 10 GB.
    assert (usage.data_used_mb, usage.roaming_data_mb) == (round(10 * 1024 * 0.85), 30)


def test_a_wrong_line_or_add_on_is_refused_with_the_reason(sqlite_engine, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", str(sqlite_engine.url))
    assert main(["demo", "order", "13800000099", "game_pack"]) == 1
    assert "13800000099 is not a demo line" in capsys.readouterr().err
    assert main(["demo", "order", "13800000004", "free_lunch"]) == 1
    assert "no add-on 'free_lunch'" in capsys.readouterr().err
