"""What happens on a demo line between two scans of the reminder scheduler, made by hand: an
add-on ordered (as an outbound sales call would, without a record of consent), use of an
allowance this cycle, use abroad. `telecom demo ...` and the tests use them to show and check
the reminders (docs/reminders.md)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from telecom_assistant.accounts.service import UnknownLine
from telecom_assistant.accounts.tables import AddOnRow, LineRow, SubscriptionRow, UsageRow
from telecom_assistant.clock import cycle_bounds

SALES_CALL = "outbound sales call"


class UnknownAddOn(LookupError):
    """The catalogue has no add-on with this id."""


def order_addon(
    engine: Engine, msisdn: str, addon_id: str, on: date, channel: str = SALES_CALL
) -> int:
    """The add-on starts on the line on `on`, with no record of consent; its subscription id."""
    with Session(engine, future=True) as session, session.begin():
        _line(session, msisdn)
        if session.get(AddOnRow, addon_id) is None:
            raise UnknownAddOn(addon_id)
        row = SubscriptionRow(
            msisdn=msisdn, addon_id=addon_id, started_on=on, ordering_channel=channel
        )
        session.add(row)
        session.flush()
        return int(row.id)


def use_allowance(
    engine: Engine, msisdn: str, on: date, data_share: float, roaming_mb: int = 0
) -> None:
    """The line's data use in the cycle holding `on` becomes `data_share` of its plan's
    allowance (and `roaming_mb` of it abroad); the cycle's record is made if missing."""
    start, end = cycle_bounds(on)
    with Session(engine, future=True) as session, session.begin():
        allowance = _line(session, msisdn).plan.data_mb
        usage = session.scalar(
            select(UsageRow).where(UsageRow.msisdn == msisdn, UsageRow.cycle_start == start)
        )
        if usage is None:
            usage = UsageRow(
                msisdn=msisdn, cycle_start=start, cycle_end=end, minutes_used=0, sms_used=0
            )
            session.add(usage)
        usage.data_used_mb = round(allowance * data_share)
        usage.roaming_data_mb = roaming_mb


def _line(session: Session, msisdn: str) -> LineRow:
    line = session.get(LineRow, msisdn)
    if line is None:
        raise UnknownLine(msisdn)
    return line
