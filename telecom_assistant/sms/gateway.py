"""The SMS gateway as the assistant sees it: one interface; the demo's is a table
(sql.py), an operator's would be their SMSC's API."""

from __future__ import annotations

import abc
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# An SMS's body: longer texts go out as a concatenated SMS, as far as 10 parts.
SMS_MAX_LENGTH = 670


class Direction(str, enum.Enum):
    OUT = "out"  # to the customer's line
    IN = "in"  # from the customer's line to the service number


class Purpose(str, enum.Enum):
    CODE = "code"  # a one-time code
    REMINDER = "reminder"
    HALL = "hall"  # an answer of the SMS business hall
    REPLY = "reply"  # an agent's reply to a ticket filed by SMS
    CUSTOMER = "customer"  # a customer's own message (incoming)


@dataclass(frozen=True)
class Sms:
    id: int
    msisdn: str
    body: str
    at: datetime
    direction: Direction
    purpose: Purpose


class SmsGateway(abc.ABC):
    @abc.abstractmethod
    def send(self, msisdn: str, body: str, purpose: Purpose, reference: str | None = None) -> int:
        """Send `body` to the line; returns the message's id.

        A message with a `reference` the gateway already took is not sent again (the first
        one's id is returned): a sender that died before recording a send can send it again
        without the customer getting it twice, as an SMSC's client reference allows."""

    @abc.abstractmethod
    def receive(self, msisdn: str, body: str) -> int:
        """A customer's message to the service number arrives (the demo's `telecom sms`)."""

    @abc.abstractmethod
    def waiting(self, limit: int = 50) -> Sequence[Sms]:
        """Incoming messages not answered yet, oldest first."""

    @abc.abstractmethod
    def mark_handled(self, sms_id: int) -> bool:
        """True for the one caller that marks it first (two SMS halls never answer twice)."""

    @abc.abstractmethod
    def messages(self, msisdn: str, after_id: int = 0, limit: int = 100) -> Sequence[Sms]:
        """A line's messages both ways after `after_id`, oldest first."""
