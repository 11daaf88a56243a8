"""Escalation: what the assistant cannot resolve becomes a ticket carrying the conversation.

Every trigger (a complaint, a request for a person, two misunderstandings in a row, a disputed
charge, an add-on the customer never ordered, a fault troubleshooting did not fix, a spam
report) calls `begin_escalation`, which fills what the conversation already tells and hands
over to `complaint_form`; the form asks for the rest, `action_file_ticket` files it.
"""
from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from telecom_assistant.backend.clock import CHINA_TIME
from telecom_assistant.backend.msisdn import mask_msisdn, normalise_msisdn
from telecom_assistant.language import response_text
from telecom_assistant.tickets.model import (
    Category,
    Kind,
    NetworkIssue,
    NewTicket,
    Ticket,
    TranscriptTurn,
    is_fraud,
)

from .common import (
    HANDOFF,
    PENDING_CONFIRMATION,
    VERIFIED_MSISDN,
    Names,
    day,
    hand_over,
    handoff_taken,
    language,
    logger,
    pending_confirmation,
    ticket_service,
)

ESCALATION = "escalation"
COMPLAINT_FORM = "complaint_form"
COMPLAINT_CATEGORY = "complaint_category"
COMPLAINT_DESCRIPTION = "complaint_description"
COMPLAINT_CONTACT = "complaint_contact"
SPAM_SENDER = "spam_sender"
SPAM_CONTENT = "spam_content"
START_ESCALATION = "action_start_escalation"


class Trigger(str, enum.Enum):
    COMPLAINT = "complaint"
    HUMAN = "human"
    FALLBACK = "fallback"
    DISPUTED_CHARGE = "disputed_charge"
    CONSENT_DISPUTE = "consent_dispute"
    NETWORK_FAULT = "network_fault"
    SPAM = "spam"

    @property
    def kind(self) -> Kind:
        if self is Trigger.NETWORK_FAULT:
            return Kind.FAULT
        return Kind.SPAM_REPORT if self is Trigger.SPAM else Kind.COMPLAINT


INTENT_TRIGGERS = {
    "file_complaint": Trigger.COMPLAINT,
    "request_human": Trigger.HUMAN,
    "report_spam": Trigger.SPAM,
}
# What the customer was doing before escalating suggests the category; they confirm it.
CONTEXT_CATEGORIES = {
    "explain_charge": Category.BILLING,
    "check_bill": Category.BILLING,
    "check_usage": Category.BILLING,
    "unsubscribe": Category.UNAUTHORISED_ADDON,
    "list_subscriptions": Category.UNAUTHORISED_ADDON,
    "ask_5g": Category.FIVE_G,
    "report_network_issue": Category.NETWORK,
    "ask_tariff": Category.TARIFF_MARKETING,
    "recommend_plan": Category.TARIFF_MARKETING,
    "change_plan": Category.TARIFF_MARKETING,
    "report_spam": Category.SPAM_FRAUD,
}
ESCALATION_SLOTS = (
    ESCALATION, COMPLAINT_CATEGORY, COMPLAINT_DESCRIPTION, COMPLAINT_CONTACT, SPAM_SENDER,
    SPAM_CONTENT,
)


def _escalation(tracker: Tracker) -> dict[str, Any]:
    return json.loads(tracker.get_slot(ESCALATION) or "{}")


def proposed_category(tracker: Tracker) -> Optional[Category]:
    """The category of the latest request the conversation was about (this session)."""
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            break
        if event.get("event") == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent in CONTEXT_CATEGORIES:
                return CONTEXT_CATEGORIES[intent]
    return None


def begin_escalation(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    trigger: Trigger,
    *,
    category: Optional[Category] = None,
    description: Optional[str] = None,
    network_issue: Optional[NetworkIssue] = None,
) -> list[EventType]:
    """Fill what is already known and hand over to the complaint form.

    ``category`` is certain (the customer named it, or the trigger implies it); otherwise the
    conversation's context is proposed and the form asks the customer to confirm it."""
    dispatcher.utter_message(response=f"utter_escalation_intro_{trigger.value}")
    if trigger is Trigger.SPAM:
        category = Category.SPAM_FRAUD
    context = {
        "trigger": trigger.value,
        "proposed": None if category else _value(proposed_category(tracker)),
        "network_issue": _value(network_issue),
    }
    return [
        SlotSet(ESCALATION, json.dumps(context)),
        SlotSet(COMPLAINT_CATEGORY, _value(category)),
        SlotSet(COMPLAINT_DESCRIPTION, description),
        # The verified line is the contact; anyone else is asked for a number.
        SlotSet(COMPLAINT_CONTACT, tracker.get_slot(VERIFIED_MSISDN)),
        SlotSet(SPAM_SENDER, None),
        SlotSet(SPAM_CONTENT, None),
        SlotSet(PENDING_CONFIRMATION, None),
        hand_over(COMPLAINT_FORM),
    ]


def _value(member: Optional[enum.Enum]) -> Optional[str]:
    return member.value if member is not None else None


class ActionStartEscalation(Action):
    """A complaint, a request for a person, a spam report, or a "yes" to an offered ticket."""

    def name(self) -> str:
        return "action_start_escalation"  # START_ESCALATION

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        offered = pending_confirmation(tracker)
        if offered and offered.get("action") == START_ESCALATION:
            issue = offered.get("network_issue")
            return begin_escalation(
                dispatcher,
                tracker,
                Trigger(offered["trigger"]),
                category=Category(offered["category"]),
                description=offered.get("description"),
                network_issue=NetworkIssue(issue) if issue else None,
            )
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        named = next(
            (
                entity.get("value")
                for entity in tracker.latest_message.get("entities", [])
                if entity.get("entity") == COMPLAINT_CATEGORY
            ),
            None,
        )
        return begin_escalation(
            dispatcher,
            tracker,
            INTENT_TRIGGERS.get(intent, Trigger.COMPLAINT),
            category=Category(named) if named in Category._value2member_map_ else None,
        )


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        spam = _escalation(tracker).get("trigger") == Trigger.SPAM.value
        not_asked = (COMPLAINT_CATEGORY, COMPLAINT_DESCRIPTION) if spam else (SPAM_SENDER, SPAM_CONTENT)
        return [slot for slot in domain_slots if slot not in not_asked]

    async def extract_complaint_category(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A category button or a named category; "yes" takes the proposal; "no" drops it
        and the customer picks from the list. Nothing else counts, so a second "no" falls
        through to the rule that cancels the form."""
        if tracker.get_slot("requested_slot") != COMPLAINT_CATEGORY:
            return {}
        message = tracker.latest_message
        named = [e.get("value") for e in message.get("entities", [])
                 if e.get("entity") == COMPLAINT_CATEGORY]
        if named:
            return {COMPLAINT_CATEGORY: named[0]}
        context = _escalation(tracker)
        intent = (message.get("intent") or {}).get("name")
        if context.get("proposed") and intent == "affirm":
            return {COMPLAINT_CATEGORY: context["proposed"]}
        if context.get("proposed") and intent == "deny":
            context["proposed"] = None
            return {COMPLAINT_CATEGORY: None, ESCALATION: json.dumps(context)}
        return {}

    def validate_complaint_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {COMPLAINT_CATEGORY: value if value in Category._value2member_map_ else None}

    def validate_complaint_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {COMPLAINT_DESCRIPTION: _said_something(value, dispatcher)}

    def validate_spam_content(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {SPAM_CONTENT: _said_something(value, dispatcher)}

    def validate_spam_sender(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # Spam comes from short codes and foreign numbers too: keep what the customer typed.
        return {SPAM_SENDER: _said_something(value, dispatcher)}

    def validate_complaint_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        msisdn = normalise_msisdn(str(value or ""))
        if msisdn is None:
            dispatcher.utter_message(response="utter_invalid_phone_number")
        return {COMPLAINT_CONTACT: msisdn}


def _said_something(value: Any, dispatcher: CollectingDispatcher) -> Optional[str]:
    text = str(value or "").strip()
    if not text:
        dispatcher.utter_message(response="utter_empty_answer")
        return None
    return text


class ActionAskComplaintCategory(Action):
    """The category question: the proposal with a yes button, or the whole list."""

    def name(self) -> str:
        return "action_ask_complaint_category"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        names = Names.of(tracker)
        proposed = _escalation(tracker).get("proposed")
        buttons = [
            {
                "title": names.category(category),
                "payload": f'/inform{{"{COMPLAINT_CATEGORY}":"{category.value}"}}',
            }
            for category in Category
            if category.value != proposed
        ]
        if proposed:
            yes = response_text(domain, "utter_label_yes", language(tracker))
            dispatcher.utter_message(
                response="utter_ask_complaint_category_proposed",
                category=names.category(Category(proposed)),
                buttons=[{"title": yes, "payload": "/affirm"}, *buttons],
            )
        else:
            dispatcher.utter_message(response="utter_ask_complaint_category", buttons=buttons)
        return []


def transcript(tracker: Tracker) -> list[TranscriptTurn]:
    """Every customer and assistant turn of this session, in order, with its time. A button
    press reads as the button's title in brackets ("[5G]"), not as its payload."""
    turns: list[TranscriptTurn] = []
    buttons: dict[str, str] = {}
    for event in tracker.events:
        kind = event.get("event")
        if kind == "session_started":
            turns, buttons = [], {}
        elif kind in ("user", "bot") and (event.get("text") or "").strip():
            at = datetime.fromtimestamp(event.get("timestamp") or 0, CHINA_TIME).replace(tzinfo=None)
            if kind == "bot":
                turns.append(TranscriptTurn("assistant", event["text"], at))
                buttons.update(
                    (button.get("payload"), button.get("title"))
                    for button in (event.get("data") or {}).get("buttons") or []
                )
            else:
                pressed = buttons.get(event["text"])
                turns.append(TranscriptTurn("customer", f"[{pressed}]" if pressed else event["text"], at))
                buttons = {}  # only the buttons of the assistant's latest turn can be pressed
    return turns


def _session_started_at(tracker: Tracker) -> float:
    starts = [e.get("timestamp") or 0 for e in tracker.events if e.get("event") == "session_started"]
    return starts[-1] if starts else 0


class ActionFileTicket(Action):
    """The form is complete: file the ticket (once per conversation and category) and tell
    the customer its number and when they will hear back."""

    def name(self) -> str:
        return "action_file_ticket"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        context = _escalation(tracker)
        trigger = Trigger(context.get("trigger", Trigger.COMPLAINT.value))
        category = Category(tracker.get_slot(COMPLAINT_CATEGORY) or Category.OTHER.value)
        issue = context.get("network_issue")
        description = self._description(tracker, trigger)
        new = NewTicket(
            kind=trigger.kind,
            category=category,
            description=description,
            contact_number=tracker.get_slot(COMPLAINT_CONTACT) or "",
            channel=tracker.get_latest_input_channel() or "unknown",
            conversation_id=tracker.sender_id,
            language=language(tracker),
            transcript=transcript(tracker),
            idempotency_key=(
                f"{tracker.sender_id}:{_session_started_at(tracker)}:"
                f"{trigger.kind.value}:{category.value}"
            ),
            msisdn=tracker.get_slot(VERIFIED_MSISDN),
            network_issue=NetworkIssue(issue) if issue else None,
            fraud=trigger is Trigger.SPAM and is_fraud(description),
        )
        try:
            filing = ticket_service().file(new)
        except SQLAlchemyError:
            logger.exception("ticket desk unavailable")
            dispatcher.utter_message(response="utter_ticket_not_filed")
            return [*handoff_taken(tracker), *_cleared()]
        utter_filing(dispatcher, tracker, filing.ticket, filing.created)
        if trigger is Trigger.SPAM:
            dispatcher.utter_message(
                response="utter_fraud_advice" if new.fraud else "utter_spam_advice"
            )
        return [*handoff_taken(tracker), *_cleared()]

    @staticmethod
    def _description(tracker: Tracker, trigger: Trigger) -> str:
        if trigger is Trigger.SPAM:
            return f"{tracker.get_slot(SPAM_SENDER)}: {tracker.get_slot(SPAM_CONTENT)}"
        return tracker.get_slot(COMPLAINT_DESCRIPTION) or ""


def utter_filing(
    dispatcher: CollectingDispatcher, tracker: Tracker, ticket: Ticket, created: bool
) -> None:
    variables = {
        "ticket_id": ticket.id,
        "category": Names.of(tracker).category(ticket.category),
        "contact": mask_msisdn(ticket.contact_number),
        "due": day(ticket.response_due),
        "repair_due": day(ticket.repair_due) if ticket.repair_due else "",
    }
    if not created:
        dispatcher.utter_message(response="utter_ticket_already_filed", **variables)
    elif ticket.kind is Kind.FAULT:
        dispatcher.utter_message(response="utter_fault_ticket_filed", **variables)
    else:
        dispatcher.utter_message(response="utter_ticket_filed", **variables)


def _cleared() -> list[EventType]:
    return [SlotSet(slot, None) for slot in ESCALATION_SLOTS]


class ActionCancelEscalation(Action):
    """The customer changed their mind: nothing is filed."""

    def name(self) -> str:
        return "action_cancel_escalation"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_escalation_cancelled")
        return [*_cleared(), SlotSet(HANDOFF, None)]
