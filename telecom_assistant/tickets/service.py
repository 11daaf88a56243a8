"""The ticket desk as the assistant and the agent console see it: one interface.

The SQL implementation (:mod:`telecom_assistant.tickets.sql`) is one implementation; an
operator with its own CRM writes another against this class.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable, Sequence
from datetime import datetime

from telecom_assistant.tickets.model import (
    Filing,
    HotspotReport,
    NewTicket,
    QueueFilter,
    Status,
    Ticket,
    TicketUpdate,
    WeeklyComplaints,
)
from telecom_assistant.tickets.replies import ReplyButton


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
    def activity_mark(self) -> Hashable:
        """A cheap summary of the desk, equal between two calls only if nothing the queue
        shows changed in between: a ticket filed, its status, owner or conversation (a turn, a
        reply, a note), a customer starting or ending a wait for a person. The console polls
        it to know when to refresh the pages agents have open."""

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
    def notify(self, ticket_id: str, text: str, buttons: Sequence[ReplyButton] = ()) -> None:
        """The desk's own message to the ticket's customer (a request for a rating, say), with
        buttons, through the reply outbox; not part of the transcript."""

    @abc.abstractmethod
    def waiting_for_person(self) -> Sequence[Ticket]:
        """The tickets whose customer waits in the chat for an agent, longest waiting first."""

    @abc.abstractmethod
    def updates_since(self, since: datetime) -> Sequence[TicketUpdate]:
        """Letters and resolutions since `since` on tickets with a verified line, oldest
        first. A letter on a ticket filed by SMS is not news: it went to the line by SMS."""

    @abc.abstractmethod
    def hotspots(self) -> HotspotReport:
        """Tickets per category per day for the last 14 days, and the rising category."""

    @abc.abstractmethod
    def weekly_complaints(self, since: datetime) -> Sequence[WeeklyComplaints]:
        """Complaints filed since `since`, counted per ISO week and category, oldest week
        first (beside the reminders sent those weeks). Faults and spam reports are not
        complaints: they are left out."""
