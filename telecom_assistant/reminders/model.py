"""What a reminder is, apart from how it is found, stored or sent."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class ReminderKind(str, enum.Enum):
    """What a reminder is about; a customer turns reminders off one kind at a time."""

    USAGE = "usage"  # data, minutes or SMS use at 80 % and 100 % of the allowance
    BALANCE = "balance"  # a prepaid balance running low
    BILL = "bill"  # a bill issued, a bill overdue
    CONTRACT = "contract"  # a contract ending in 30 and in 7 days
    ROAMING = "roaming"  # the first use abroad in a cycle
    ADDON = "addon"  # a new paid add-on on the line (China Mobile's 扣费提醒)
    TICKET = "ticket"  # a complaint answered or resolved


@dataclass(frozen=True)
class Reminder:
    """One reminder due for one line.

    ``event`` names what happened, so that the same event is never reminded twice (for
    example ``usage:data:80:2026-12-01``: data at 80 % in the cycle from December 1st).
    ``topic`` is the message's key under ``reminder.`` in the texts (telecom_assistant/texts)
    and ``details`` its placeholders, already written out (amounts, dates, names in both
    languages where they differ: ``name`` and ``name_zh``). ``subject`` is what a reply such as
    "cancel it" is about: the add-on's id, the ticket's id; empty when nothing is.
    """

    msisdn: str
    kind: ReminderKind
    event: str
    topic: str
    urgent: bool = False
    subject: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChatAddress:
    """Where a customer last proved to own a line in a chat: a reminder goes there too."""

    msisdn: str
    channel: str  # "telegram" or "webchat": the channels that can carry a message later
    conversation_id: str
    language: str


@dataclass(frozen=True)
class SentReminder:
    """A reminder as stored: what was sent, when, and where."""

    id: int
    msisdn: str
    kind: ReminderKind
    event: str
    topic: str
    subject: str
    details: Mapping[str, Any]
    urgent: bool
    language: str
    created_at: datetime
    sms_at: datetime | None
    chat: ChatAddress | None  # None: no chat was known when it was sent
    chat_at: datetime | None

    @property
    def reminder(self) -> Reminder:
        """What was sent, to say it again (render.py) in any language."""
        return Reminder(
            msisdn=self.msisdn,
            kind=self.kind,
            event=self.event,
            topic=self.topic,
            urgent=self.urgent,
            subject=self.subject,
            details=self.details,
        )


@dataclass(frozen=True)
class WeeklyVolume:
    """Reminders sent in one ISO week (its Monday), by kind."""

    week: str
    kind: ReminderKind
    count: int
