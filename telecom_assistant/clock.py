"""The operator's wall clock. Billing cycles, due dates and code expiry follow China time
(UTC+8, no daylight saving); times are stored naive in that zone."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

CHINA_TIME = timezone(timedelta(hours=8))

Clock = Callable[[], datetime]


def operator_now() -> datetime:
    return datetime.now(CHINA_TIME).replace(tzinfo=None, microsecond=0)


def cycle_bounds(day: date) -> tuple[date, date]:
    """Billing cycles are calendar months: first and last day of the month holding ``day``."""
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))
