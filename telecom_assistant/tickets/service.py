"""The ticket desk as the assistant and the agent console see it: one interface.

The SQL implementation (:mod:`telecom_assistant.tickets.sql`) is one implementation; an
operator with its own CRM writes another against this class.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from telecom_assistant.tickets.model import (
    Filing,
    HotspotReport,
    NewTicket,
    QueueFilter,
    Status,
    Ticket,
)


class TicketService(abc.ABC):
    @abc.abstractmethod
    def file(self, new: NewTicket) -> Filing:
        """Open a ticket, or return the one this idempotency key already opened (its
        transcript brought up to date). Personal data in the description and transcript is
        masked before anything is stored."""

    @abc.abstractmethod
    def get(self, ticket_id: str) -> Ticket:
        """Raises UnknownTicket."""

    @abc.abstractmethod
    def tickets_for_line(self, msisdn: str, limit: int = 5) -> Sequence[Ticket]:
        """The line's tickets, newest first (for the verified line's status question)."""

    @abc.abstractmethod
    def queue(self, wanted: QueueFilter) -> Sequence[Ticket]: ...

    @abc.abstractmethod
    def change_status(self, ticket_id: str, status: Status, by: str) -> Ticket:
        """Raises IllegalTransition for a move the lifecycle does not allow."""

    @abc.abstractmethod
    def assign(self, ticket_id: str, agent: str) -> Ticket: ...

    @abc.abstractmethod
    def add_note(self, ticket_id: str, author: str, text: str) -> Ticket: ...

    @abc.abstractmethod
    def reply(self, ticket_id: str, agent: str, text: str) -> Ticket:
        """Queue a message to the ticket's customer on their channel (see replies.py); it
        joins the transcript at once. Raises ReplyRefused."""

    @abc.abstractmethod
    def hotspots(self) -> HotspotReport:
        """Tickets per category per day for the last 14 days, and the rising category."""
