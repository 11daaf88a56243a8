"""The SMS gateway as the assistant sees it: one interface; the demo's is a table
(sql.py), an operator's would be their SMSC's API."""

from __future__ import annotations

import abc
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# An SMS's body: longer texts go out as a concatenated SMS, as far as 10 parts.
SMS_MAX_LENGTH = 670
# A claimed message not answered in this time is waiting again: the hall that claimed it was
# killed. Far longer than any answer takes (the assistant's, asked twice, at most two minutes).
CLAIM_EXPIRES = timedelta(minutes=10)


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
        """Incoming messages nobody is answering, oldest first: not claimed, or claimed more
        than CLAIM_EXPIRES ago and not answered (the hall that claimed it died)."""

    @abc.abstractmethod
    def mark_handled(self, sms_id: int) -> bool:
        """Claim a waiting message: True for the one caller that claims it (two SMS halls
        never answer it both, unless the first one's claim expires unanswered)."""

    @abc.abstractmethod
    def mark_answered(self, sms_id: int) -> None:
        """The claimed message was answered (or given up): nobody takes it again."""

    @abc.abstractmethod
    def messages(self, msisdn: str, after_id: int = 0, limit: int = 100) -> Sequence[Sms]:
        """A line's messages both ways after `after_id`, oldest first."""
