""" "Where is my complaint?": by ticket number for anyone, or every ticket of the verified line.

A ticket number alone shows only the ticket's status and deadline, nothing of the account:
whoever holds the number was given it when the ticket was filed.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import Names, Request, VerifiedAction, ticket_service
from telecom_assistant.texts import format_datetime
from telecom_assistant.tickets.model import Ticket, UnknownTicket, normalise_ticket_id


class ActionCheckTicketStatus(VerifiedAction):
    def name(self) -> str:
        return "action_check_ticket_status"

    def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request
    ) -> list[EventType]:
        named = request.first("ticket_id")
        if named is None:
            return super().handle(dispatcher, tracker, request)
        ticket_id = normalise_ticket_id(named)
        try:
            ticket = ticket_service().get(ticket_id or named)
        except UnknownTicket:
            dispatcher.utter_message(response="utter_unknown_ticket", ticket_id=named)
            return []
        utter_status(dispatcher, tracker, ticket)
        return []

    def handle_verified(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request, msisdn: str
    ) -> list[EventType]:
        tickets = ticket_service().tickets_for_line(msisdn)
        if not tickets:
            dispatcher.utter_message(response="utter_no_tickets")
        for ticket in tickets:
            utter_status(dispatcher, tracker, ticket)
        return []


def utter_status(dispatcher: CollectingDispatcher, tracker: Tracker, ticket: Ticket) -> None:
    last_change = ticket.history[-1].at if ticket.history else ticket.created_at
    dispatcher.utter_message(
        response=f"utter_ticket_status_{ticket.status.value}",
        ticket_id=ticket.id,
        category=Names.of(tracker).category(ticket.category),
        created=format_datetime(ticket.created_at),
        due=format_datetime(ticket.due),
        changed=format_datetime(last_change),
    )
