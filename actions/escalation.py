"""Escalation: what the assistant cannot resolve becomes a ticket carrying the conversation.

Every trigger (a complaint, a request for a person, two misunderstandings in a row, a disputed
charge, an add-on the customer never ordered, a fault troubleshooting did not fix, a spam
report) calls `begin_escalation`, which fills what the conversation already tells and hands
over to `complaint_form`; the form asks for the rest, `action_file_ticket` files it.
"""

from __future__ import annotations

import enum
import json
import re
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import (
    HANDLE_CONFIRMATION,
    HANDOFF,
    PENDING_CONFIRMATION,
    Names,
    answers_open_question,
    codes_typed,
    hand_over,
    handoff_taken,
    is_external,
    language,
    live_chats,
    logger,
    pending_confirmation,
    ticket_service,
    typed_button_payload,
    verified_number,
)
from actions.forms import (
    ACCOUNT_INTENTS,
    REQUESTED_SLOT,
    ListeningFormValidation,
    answering_a_question,
)
from telecom_assistant.accounts.msisdn import find_msisdns, mask_msisdn
from telecom_assistant.clock import CHINA_TIME
from telecom_assistant.language import (
    LANGUAGES,
    looks_like_question,
    opens_with_no,
    opens_with_yes,
    response_text,
)
from telecom_assistant.texts import catalogue, format_datetime, label_key
from telecom_assistant.tickets import intake
from telecom_assistant.tickets.model import (
    Category,
    Kind,
    NetworkIssue,
    NewTicket,
    Ticket,
    TranscriptTurn,
    is_fraud,
)
from telecom_assistant.tickets.replies import CHAT_CHANNELS

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
    ESCALATION,
    COMPLAINT_CATEGORY,
    COMPLAINT_DESCRIPTION,
    COMPLAINT_CONTACT,
    SPAM_SENDER,
    SPAM_CONTENT,
)


def _escalation(tracker: Tracker) -> dict[str, Any]:
    return json.loads(tracker.get_slot(ESCALATION) or "{}")


def proposed_category(tracker: Tracker) -> Category | None:
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
    category: Category | None = None,
    description: str | None = None,
    network_issue: NetworkIssue | None = None,
    said: str = "",
) -> list[EventType]:
    """Fill what is already known and hand over to the complaint form.

    ``category`` is certain (the customer named it, or the trigger implies it); otherwise the
    conversation's context is proposed and the form asks the customer to confirm it.
    ``said`` is the customer's message that asked for this: what it describes, a spam sender
    and text, a number to call back are taken from it rather than asked for again."""
    dispatcher.utter_message(response=f"utter_escalation_intro_{trigger.value}")
    sender = content = None
    if trigger is Trigger.SPAM:
        category = Category.SPAM_FRAUD
        sender, content = intake.spam_sender(said), intake.spam_content(said)
    elif description is None and intake.describes_something(said):
        description = said
    context = {
        "trigger": trigger.value,
        "proposed": None if category else _value(proposed_category(tracker)),
        "network_issue": _value(network_issue),
    }
    # A number the customer asked to be called on; else the verified line; else asked for.
    contact = (
        intake.callback_number(said)
        or intake.callback_number(description)
        or verified_number(tracker)
    )
    return [
        SlotSet(ESCALATION, json.dumps(context)),
        SlotSet(COMPLAINT_CATEGORY, _value(category)),
        SlotSet(COMPLAINT_DESCRIPTION, description),
        SlotSet(COMPLAINT_CONTACT, contact),
        SlotSet(SPAM_SENDER, sender),
        SlotSet(SPAM_CONTENT, content),
        SlotSet(PENDING_CONFIRMATION, None),
        hand_over(COMPLAINT_FORM),
    ]


def _value(member: enum.Enum | None) -> str | None:
    return member.value if member is not None else None


class ActionStartEscalation(Action):
    """A complaint, a request for a person, a spam report, or a "yes" to an offered ticket."""

    def name(self) -> str:
        return "action_start_escalation"  # START_ESCALATION

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if answers_open_question(tracker):
            # "还要交500违约金啊 那不换了" sounds like a complaint but answers the open question.
            return [hand_over(HANDLE_CONFIRMATION)]
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
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
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
            said=tracker.latest_message.get("text") or "",
        )


class ValidateComplaintForm(ListeningFormValidation):
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
        not_asked = (
            (COMPLAINT_CATEGORY, COMPLAINT_DESCRIPTION) if spam else (SPAM_SENDER, SPAM_CONTENT)
        )
        return [slot for slot in domain_slots if slot not in not_asked]

    def fits(self, slot: str, tracker: Tracker) -> bool:
        message = tracker.latest_message
        text = (message.get("text") or "").strip()
        if slot == COMPLAINT_CATEGORY:
            return bool(self.extract_category(tracker))
        if slot == COMPLAINT_CONTACT:
            return bool(find_msisdns(text))
        # A bare yes or no, or only a phone number, is not a description, a sender or a text.
        if opens_with_yes(text) and not intake.describes_something(text):
            return False
        if opens_with_no(text) and not intake.describes_something(text):
            return False
        if slot == SPAM_SENDER:
            return bool(intake.spam_sender(text)) or 0 < len(text) <= 60
        # Words, not only a number: a phone number is not what a message or a problem said.
        return bool(re.sub(r"[\d\W_]+", "", text))

    def fits_loosely(self, slot: str, tracker: Tracker) -> bool:
        """ "Which kind of complaint?" answered with what happened: that is the description."""
        text = tracker.latest_message.get("text") or ""
        return slot == COMPLAINT_CATEGORY and intake.describes_something(text)

    def may_step_aside(self, intent: str, tracker: Tracker) -> bool:
        """Only for a question, and not for one that would start verification (the complaint
        would be lost): "you charged me twice" here is what happened, not a request."""
        if not looks_like_question(tracker.latest_message.get("text") or ""):
            return False
        return intent not in ACCOUNT_INTENTS or bool(verified_number(tracker))

    def explain(self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        if slot == COMPLAINT_CONTACT:
            dispatcher.utter_message(response="utter_invalid_phone_number")

    def stop(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        dispatcher.utter_message(response="utter_escalation_cancelled")
        return [*_cleared(), SlotSet(HANDOFF, None)]

    def escalate(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """This form is already the way to a person: say so, and ask the question again."""
        dispatcher.utter_message(response="utter_escalation_intro_human")
        return [SlotSet(tracker.get_slot(REQUESTED_SLOT), None)]

    @staticmethod
    def extract_category(tracker: Tracker) -> dict[str, Any]:
        """A category button, pressed or its title typed, or a named category; "yes" takes
        the proposal; "no" drops it and the customer picks from the list."""
        message = tracker.latest_message
        named = [
            e.get("value")
            for e in message.get("entities", [])
            if e.get("entity") == COMPLAINT_CATEGORY
        ]
        pressed = typed_button_payload(tracker) or ""
        chosen = re.search(r'"complaint_category"\s*:\s*"(\w+)"', pressed)
        typed = category_named(message.get("text") or "")
        if chosen or named or typed:
            return {COMPLAINT_CATEGORY: chosen.group(1) if chosen else (typed or named[0])}
        context = _escalation(tracker)
        intent = (message.get("intent") or {}).get("name")
        text = message.get("text") or ""
        if context.get("proposed") and (
            intent == "affirm" or pressed == "/affirm" or opens_with_yes(text)
        ):
            return {COMPLAINT_CATEGORY: context["proposed"]}
        if context.get("proposed") and (intent == "deny" or opens_with_no(text)):
            context.update(proposed=None, declined=True)
            return {COMPLAINT_CATEGORY: None, ESCALATION: json.dumps(context)}
        return {}

    async def extract_complaint_category(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # Only from the customer's reply, not when the form asks again after a question.
        if tracker.get_slot(REQUESTED_SLOT) != COMPLAINT_CATEGORY or not answering_a_question(
            tracker
        ):
            return {}
        chosen = self.extract_category(tracker)
        text = tracker.latest_message.get("text") or ""
        if (
            not chosen
            and intake.describes_something(text)
            and not tracker.get_slot(COMPLAINT_DESCRIPTION)
        ):
            # The customer answered "which kind?" with what happened: that is the description,
            # and the category is proposed from it next.
            return {COMPLAINT_DESCRIPTION: text}
        return chosen

    def validate_complaint_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {COMPLAINT_CATEGORY: value if value in Category._value2member_map_ else None}

    def validate_complaint_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = _said_something(value, dispatcher)
        filled: dict[str, Any] = {COMPLAINT_DESCRIPTION: text}
        # "…, call my wife on 139…" in the description: that is the number to call back.
        callback = intake.callback_number(text)
        if callback:
            filled[COMPLAINT_CONTACT] = callback
        named = self.extract_category(tracker).get(COMPLAINT_CATEGORY)
        if named and not tracker.get_slot(COMPLAINT_CATEGORY):
            filled[COMPLAINT_CATEGORY] = named
        return filled

    def validate_spam_content(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {SPAM_CONTENT: _said_something(value, dispatcher)}

    def validate_spam_sender(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # Spam comes from short codes and foreign numbers too: keep what the customer typed,
        # and what it said when they said it in the same breath.
        text = _said_something(value, dispatcher)
        content = intake.spam_content(text)
        return {
            SPAM_SENDER: intake.spam_sender(text) or text,
            **({SPAM_CONTENT: content} if content else {}),
        }

    def validate_complaint_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        numbers = find_msisdns(str(value or ""))
        if not numbers:
            dispatcher.utter_message(response="utter_invalid_phone_number")
        return {COMPLAINT_CONTACT: numbers[0] if numbers else None}


def category_named(text: str) -> str | None:
    """A category's own name typed in either language ("billing", "个人信息与隐私"), as on the
    buttons, including the proposed one, which has a yes button instead."""
    typed = re.sub(r"[\W_]+", "", text).lower()
    for category in Category:
        names = (catalogue(language)[label_key(category)] for language in LANGUAGES)
        if typed and typed in {re.sub(r"[\W_]+", "", name).lower() for name in names}:
            return category.value
    return None


def _said_something(value: Any, dispatcher: CollectingDispatcher) -> str | None:
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
        context = _escalation(tracker)
        if not context.get("proposed") and not context.get("declined"):
            # What the customer described (or was doing before) suggests the category.
            context["proposed"] = _value(proposed_category(tracker))
        proposed = context.get("proposed")
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
        return [SlotSet(ESCALATION, json.dumps(context))]


def transcript(tracker: Tracker) -> list[TranscriptTurn]:
    """Every customer and assistant turn of this session, in order, with its time. A button
    press reads as the button's title in brackets ("[5G]"), not as its payload."""
    turns: list[TranscriptTurn] = []
    buttons: dict[str, str] = {}
    for event in tracker.events:
        kind = event.get("event")
        if kind == "session_started":
            turns, buttons = [], {}
        elif kind == "user" and is_external(event):
            # A reminder's turn: the customer said nothing; the reminder's own words follow.
            buttons = {}
        elif kind in ("user", "bot") and (event.get("text") or "").strip():
            at = datetime.fromtimestamp(event.get("timestamp") or 0, CHINA_TIME).replace(
                tzinfo=None
            )
            if kind == "bot":
                turns.append(TranscriptTurn("assistant", event["text"], at))
                buttons.update(
                    (button.get("payload"), button.get("title"))
                    for button in (event.get("data") or {}).get("buttons") or []
                )
            else:
                pressed = buttons.get(event["text"])
                turns.append(
                    TranscriptTurn("customer", f"[{pressed}]" if pressed else event["text"], at)
                )
                buttons = {}  # only the buttons of the assistant's latest turn can be pressed
    return turns


def _session_started_at(tracker: Tracker) -> float:
    starts = [
        e.get("timestamp") or 0 for e in tracker.events if e.get("event") == "session_started"
    ]
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
        if not context:
            # The customer stopped the form: there is nothing to file.
            return handoff_taken(tracker)
        trigger = Trigger(context["trigger"])
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
            msisdn=verified_number(tracker),
            known_codes=codes_typed(tracker),
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
        else:
            offer_a_person(dispatcher, filing.ticket)
        return [*handoff_taken(tracker), *_cleared()]

    @staticmethod
    def _description(tracker: Tracker, trigger: Trigger) -> str:
        if trigger is Trigger.SPAM:
            return f"{tracker.get_slot(SPAM_SENDER)}: {tracker.get_slot(SPAM_CONTENT)}"
        return tracker.get_slot(COMPLAINT_DESCRIPTION) or ""


def offer_a_person(dispatcher: CollectingDispatcher, ticket: Ticket) -> None:
    """During service hours, puts the customer in line for an agent in this chat; outside them,
    says when the desk opens. Nothing where nobody can chat (the bare REST API, or a process
    without live chat)."""
    live = live_chats()
    if live is None or ticket.channel not in CHAT_CHANNELS:
        return
    now = live.clock()
    if not live.hours.are_open(now):
        dispatcher.utter_message(
            response="utter_agents_away",
            hours=str(live.hours),
            opens=format_datetime(live.hours.next_opening(now)),
        )
        return
    try:
        live.desk.request_person(ticket.id)
    except SQLAlchemyError:
        # The ticket is filed and will be answered; the chat simply goes on with the assistant.
        logger.exception("live desk unavailable")
        return
    dispatcher.utter_message(response="utter_agent_requested")


def utter_filing(
    dispatcher: CollectingDispatcher, tracker: Tracker, ticket: Ticket, created: bool
) -> None:
    variables = {
        "ticket_id": ticket.id,
        "category": Names.of(tracker).category(ticket.category),
        "contact": mask_msisdn(ticket.contact_number),
        "due": format_datetime(ticket.response_due),
        "repair_due": format_datetime(ticket.repair_due) if ticket.repair_due else "",
    }
    if not created:
        dispatcher.utter_message(response="utter_ticket_already_filed", **variables)
    elif ticket.kind is Kind.FAULT:
        dispatcher.utter_message(response="utter_fault_ticket_filed", **variables)
    else:
        dispatcher.utter_message(response="utter_ticket_filed", **variables)


def _cleared() -> list[EventType]:
    return [SlotSet(slot, None) for slot in ESCALATION_SLOTS]
