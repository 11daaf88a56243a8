"""When agents answer live chats (TELECOM_SERVICE_HOURS; telecom_assistant/tickets/live.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class ServiceHours:
    """When agents answer chats, every day, in the operator's time (China time)."""

    opens: time
    closes: time

    @classmethod
    def parse(cls, value: str) -> ServiceHours:
        """ "08:00-22:00"; raises ValueError for anything else (or an empty day)."""
        match = _HOURS.match(value)
        if match is None:
            raise ValueError(f"{value!r}: give the hours as HH:MM-HH:MM, e.g. 08:00-22:00")
        open_hour, open_minute, close_hour, close_minute = (int(part) for part in match.groups())
        closes_in_day = close_hour < 24 or (close_hour, close_minute) == (24, 0)
        if not (open_hour < 24 and open_minute < 60 and close_minute < 60 and closes_in_day):
            raise ValueError(f"{value!r}: hours run 00:00 to 24:00")
        opens = time(open_hour, open_minute)
        # "24:00": until the end of the day.
        closes = (
            time.max if (close_hour, close_minute) == (24, 0) else time(close_hour, close_minute)
        )
        if closes <= opens:
            raise ValueError(f"{value!r}: the desk must close after it opens, the same day")
        return cls(opens, closes)

    def are_open(self, now: datetime) -> bool:
        return self.opens <= now.time() < self.closes

    def next_opening(self, now: datetime) -> datetime:
        """When the desk next opens (today, or tomorrow once today's opening has passed)."""
        today = datetime.combine(now.date(), self.opens)
        return today if now < today else today + timedelta(days=1)

    def __str__(self) -> str:
        closes = "24:00" if self.closes == time.max else f"{self.closes:%H:%M}"
        return f"{self.opens:%H:%M}-{closes}"
