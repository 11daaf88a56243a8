"""Asking the customer of a resolved ticket how it was handled.

The ticket desk knows nothing of ratings: whoever moves a ticket (the agent console) tells
:class:`TicketSurveys` what it did, and a ticket that became resolved sends its customer a
notice with five buttons on the channel they used, through the desk's reply outbox. Once per
ticket: reopened and resolved again, it is not asked twice.
"""

from __future__ import annotations

from telecom_assistant.language import ENGLISH, LANGUAGES
from telecom_assistant.satisfaction.model import RatingRequest, Subject, rating_buttons
from telecom_assistant.satisfaction.service import SatisfactionService
from telecom_assistant.texts import text
from telecom_assistant.tickets.model import Status, Ticket
from telecom_assistant.tickets.replies import CHAT_CHANNELS, ReplyButton
from telecom_assistant.tickets.service import TicketService


class TicketSurveys:
    def __init__(self, tickets: TicketService, satisfaction: SatisfactionService) -> None:
        self._tickets = tickets
        self._satisfaction = satisfaction

    def status_changed(self, ticket: Ticket) -> bool:
        """The ticket's status has just changed: a resolved ticket's customer is asked to rate
        it, in the ticket's language, if their channel is a chat (the question has buttons)
        and they were not asked before. True when the question went out."""
        if ticket.status is not Status.RESOLVED or ticket.channel not in CHAT_CHANNELS:
            return False
        asked = self._satisfaction.ask(
            RatingRequest(
                subject=Subject.TICKET,
                subject_id=ticket.id,
                conversation_id=ticket.conversation_id,
                channel=ticket.channel,
                language=ticket.language,
                category=ticket.category,
            )
        )
        if not asked:
            return False
        language = ticket.language if ticket.language in LANGUAGES else ENGLISH
        self._tickets.notify(
            ticket.id,
            text("satisfaction.ask_ticket", language, ticket_id=ticket.id),
            [ReplyButton(title, payload) for title, payload in rating_buttons(ticket.id)],
        )
        return True
