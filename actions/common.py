"""What every action shares: the backend handle, the verification guard, request context, and
the names of backend values and data volumes in the customer's language (money and dates are
written by telecom_assistant.texts).

Actions are thin adapters: read slots and entities, call the account service, render a
response from ``domain.yml``. No sentence a customer reads is written here.
"""

from __future__ import annotations

import abc
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from telecom_assistant.accounts.msisdn import normalise_msisdn
from telecom_assistant.accounts.service import (
    AccountService,
    AddOn,
    BillLine,
    Coverage,
    Plan,
    PlanKind,
    Subscription,
)
from telecom_assistant.database import PROJECT_ROOT
from telecom_assistant.language import (
    ENGLISH,
    declines_change,
    opens_with_greeting,
    opens_with_no,
    opens_with_yes,
    response_text,
    says_no_somewhere,
    says_problem_gone,
    says_problem_persists,
)
from telecom_assistant.reminders.model import ReminderKind
from telecom_assistant.reminders.store import ReminderStore
from telecom_assistant.satisfaction.service import SatisfactionService
from telecom_assistant.settings import Verification
from telecom_assistant.texts import find_text, label_key, local_name, text
from telecom_assistant.tickets.live import LiveChats
from telecom_assistant.tickets.model import Category
from telecom_assistant.tickets.service import TicketService

logger = logging.getLogger(__name__)

# Slots that grant access to account data. Their mappings in domain.yml are `custom`, so only
# actions set them; nothing a customer types can. Read them through `verified_number`.
VERIFIED_MSISDN = "verified_msisdn"
# The verification form's questions; the code's is filled with the code as typed, then checked.
PHONE_NUMBER = "phone_number"
OTP_CODE = "otp_code"
VERIFIED_AT = "verified_at"  # when the code was accepted, in seconds since the epoch
# Rasa's channel of the SMS business hall, and the metadata key of the line a message came from.
SMS_CHANNEL = "sms"
SMS_LINE_METADATA = "msisdn"
PENDING_REQUEST = "pending_request"
PENDING_CONFIRMATION = "pending_confirmation"
LANGUAGE = "language"
VERIFICATION_FORM = "verification_form"
# Which action should run next. A featurized slot rather than FollowupAction, so that the
# rules (and `rasa test`) see the hand-over: one rule per (action, handoff) pair.
HANDOFF = "handoff"
START_VERIFICATION = "action_start_verification"
# The add-on the conversation is about ("cancel it"), and the add-ons the customer said they
# never ordered, at whatever point they said it (ANY_ADDON: they named none).
ADDON_TOPIC = "addon_topic"
DISPUTED_ADDONS = "disputed_addons"
ANY_ADDON = "*"
CONSENT_DISPUTED = "yes"
# The kind of the reminder that opened the conversation (actions/reminders.py), so that
# "which plan then?" or "stop these reminders" are read as replies to it.
REMINDER_TOPIC = "reminder_topic"
# Reminders that a cheaper plan answers: after one, "which plan then?" asks for the plan that
# fits the customer's use.
PLAN_REMINDERS = frozenset({ReminderKind.USAGE.value, ReminderKind.CONTRACT.value})
# Rasa records an external event (a reminder the scheduler opens the conversation with) as a
# user message "EXTERNAL: <intent>", marked so in its metadata.
EXTERNAL_EVENT = "is_external"

# What the actions use, installed by the action server's composition root
# (rasa_plugins/action_server.py) from the settings, or by a test.
_accounts: AccountService | None = None
_tickets: TicketService | None = None
_verification = Verification()


_live_chats: LiveChats | None = None
_satisfaction: SatisfactionService | None = None
_reminders: ReminderStore | None = None


class NotInstalled(RuntimeError):
    """An action needs a service nobody installed."""


def install(
    accounts: AccountService,
    tickets: TicketService,
    verification: Verification,
    live_chats: LiveChats | None = None,
    satisfaction: SatisfactionService | None = None,
    reminders: ReminderStore | None = None,
) -> None:
    """What every action of this process uses: the backend (one engine and pool; a session per
    call), how long a verification lasts, live chat with agents (without: nobody chats), where
    ratings are kept (without: nobody is asked to rate), and where reminders, their opt-outs
    and the customers' chats are kept (without: no reminder reaches a chat)."""
    use_account_service(accounts)
    use_ticket_service(tickets)
    use_verification(verification)
    use_live_chats(live_chats)
    use_satisfaction_service(satisfaction)
    use_reminder_store(reminders)


def use_live_chats(live_chats: LiveChats | None) -> None:
    global _live_chats
    _live_chats = live_chats


def live_chats() -> LiveChats | None:
    """Live chat with agents, if this process offers it."""
    return _live_chats


def use_satisfaction_service(service: SatisfactionService | None) -> None:
    global _satisfaction
    _satisfaction = service


def satisfaction_service() -> SatisfactionService | None:
    """Where ratings are kept, if this process asks customers for them (actions/satisfaction.py)."""
    return _satisfaction


def use_reminder_store(store: ReminderStore | None) -> None:
    global _reminders
    _reminders = store


def reminder_store() -> ReminderStore | None:
    """Reminders, opt-outs and chat addresses, if this process has them (actions/reminders.py)."""
    return _reminders


def account_service() -> AccountService:
    if _accounts is None:
        raise NotInstalled("No account service: the action server installs one at start.")
    return _accounts


def ticket_service() -> TicketService:
    if _tickets is None:
        raise NotInstalled("No ticket service: the action server installs one at start.")
    return _tickets


def use_account_service(service: AccountService | None) -> None:
    """Point every action at this backend (tests, or an operator's own implementation)."""
    global _accounts
    _accounts = service


def use_ticket_service(service: TicketService | None) -> None:
    global _tickets
    _tickets = service


def use_verification(verification: Verification) -> None:
    global _verification
    _verification = verification


@dataclass(frozen=True)
class Request:
    """What the customer asked for: the entities and text of the message that made the
    request, which may be several turns back when verification came in between."""

    text: str
    entities: dict[str, list[str]] = field(default_factory=dict)

    def first(self, entity: str) -> str | None:
        values = self.entities.get(entity)
        return values[0] if values else None

    def all(self, entity: str) -> list[str]:
        return self.entities.get(entity, [])

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "entities": self.entities}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Request:
        entities: dict[str, list[str]] = {}
        for entity in message.get("entities", []):
            value = entity.get("value")
            if value is not None and str(value) not in entities.get(entity["entity"], []):
                entities.setdefault(entity["entity"], []).append(str(value))
        return cls(text=message.get("text") or "", entities=entities)


def parked_request(tracker: Tracker) -> dict[str, Any] | None:
    """The request parked for verification: its action, text and entities."""
    return json.loads(tracker.get_slot(PENDING_REQUEST) or "null")


def current_request(tracker: Tracker, action_name: str) -> Request:
    """The request this action is answering: the parked one if verification interrupted it,
    else the latest message."""
    pending = parked_request(tracker)
    if (
        pending
        and pending.get("action") == action_name
        and tracker.get_slot(HANDOFF) == action_name
    ):
        return Request(text=pending["text"], entities=pending["entities"])
    return Request.from_message(tracker.latest_message)


def hand_over(action: str) -> SlotSet:
    return SlotSet(HANDOFF, action)


def handoff_taken(tracker: Tracker) -> list[EventType]:
    """The action handed over to clears the hand-over, so it cannot fire twice."""
    return [SlotSet(HANDOFF, None)] if tracker.get_slot(HANDOFF) else []


class ServiceAction(Action, abc.ABC):
    """An action that calls the account service; a dead backend gets a clear message."""

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if _greeted_in_this_turn(tracker):
            dispatcher.utter_message(response="utter_greet_back")
        if self.heard_as_an_answer(tracker):
            # The model heard a request, but the customer is answering the assistant's question.
            return [hand_over(HANDLE_CONFIRMATION)]
        # Reached by the customer's message itself, not handed over from another action.
        answering_message = not tracker.get_slot(HANDOFF)
        pressed = typed_button_action(tracker) if answering_message else None
        if pressed and pressed != self.name():
            # A button's title, typed: action_route_inform sends it where the press would have.
            return [hand_over(ROUTE_INFORM)]
        # A new request: what an earlier one left parked for verification is no longer wanted.
        superseded = (
            [SlotSet(PENDING_REQUEST, None)]
            if answering_message and tracker.get_slot(PENDING_REQUEST)
            else []
        )
        superseded += remember_dispute(tracker)
        try:
            events = self.handle(dispatcher, tracker, current_request(tracker, self.name()))
        except SQLAlchemyError:
            logger.exception("account backend unavailable in %s", self.name())
            dispatcher.utter_message(response="utter_backend_unavailable")
            events = []
        return [*handoff_taken(tracker), *superseded, *events]

    def heard_as_an_answer(self, tracker: Tracker) -> bool:
        """Does the message answer the assistant's open question rather than make this
        request? (An action whose requests say no in their own words reads it its way.)"""
        return answers_open_question(tracker)

    @abc.abstractmethod
    def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request
    ) -> list[EventType]: ...


def verified_number(tracker: Tracker) -> str | None:
    """The customer's verified line, or None: account data needs a verification younger than
    its maximum age, and a customer who has not been silent longer than the idle limit since
    their previous message (or since verifying, if later): the installed Verification
    settings. The only reader of the slots that grant access.

    By SMS the line is its own verification: a message that reached the SMS business hall came
    from that line, as a one-time code by SMS would. See `_sms_line`."""
    if tracker.get_latest_input_channel() == SMS_CHANNEL:
        return _sms_line(tracker)
    msisdn = tracker.get_slot(VERIFIED_MSISDN)
    verified_at = tracker.get_slot(VERIFIED_AT)
    if not msisdn or not isinstance(verified_at, (int, float)):
        return None
    now = time.time()
    last_heard = max(verified_at, _previous_message_at(tracker) or 0.0)
    if (
        now - verified_at > _verification.max_minutes * 60
        or now - last_heard > _verification.idle_minutes * 60
    ):
        return None
    return msisdn


def _sms_line(tracker: Tracker) -> str | None:
    """The line an SMS came from: the number in the metadata of the customer's latest message,
    when that message came through Rasa's "sms" channel.

    Only the SMS hall (channels/sms/) writes that metadata, and only through the "sms" channel,
    which refuses a message without the channel secret (rasa_plugins/channels.py). The channel
    of a message is fixed by the door it came through, never by the request, so metadata sent
    through the web chat, Telegram or the REST API names no line. Both are read from the same
    event, the latest message: a number sent once by SMS grants nothing to a later message from
    elsewhere, and the slots (a code typed earlier for another number) play no part here."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata")
            line = metadata.get(SMS_LINE_METADATA) if isinstance(metadata, dict) else None
            return normalise_msisdn(line) if isinstance(line, str) else None
    return None


def _previous_message_at(tracker: Tracker) -> float | None:
    """When the customer sent the message before the one being answered (None when this
    session holds none). A reminder is no message of the customer's: it keeps no verification
    alive."""
    messages = customer_messages(tracker)
    return messages[-2].get("timestamp") if len(messages) >= 2 else None


def is_external(message: dict[str, Any]) -> bool:
    """A user event, or the latest message, that is an external event: a reminder the
    scheduler opened the conversation with, not something the customer wrote."""
    return bool((message.get("metadata") or {}).get(EXTERNAL_EVENT))


def customer_messages(tracker: Tracker) -> list[dict[str, Any]]:
    """The messages the customer sent, oldest first: the user events but the external ones.
    What counts the customer's turns or looks for their previous message reads these."""
    return [
        event for event in tracker.events if event.get("event") == "user" and not is_external(event)
    ]


def verification_ended() -> list[EventType]:
    """Forget the verification, any change waiting for the customer's yes and any request
    waiting for a verification."""
    return [
        *_verification_forgotten(),
        SlotSet(PENDING_CONFIRMATION, None),
        SlotSet(PENDING_REQUEST, None),
    ]


def _verification_forgotten() -> list[EventType]:
    """The verified number and the form's answers: the next verification asks for the number
    again rather than sending a code to the one given before."""
    return [
        SlotSet(VERIFIED_MSISDN, None),
        SlotSet(VERIFIED_AT, None),
        SlotSet(PHONE_NUMBER, None),
        SlotSet(OTP_CODE, None),
    ]


def forget_expired_verification(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> list[EventType]:
    """A verification too old to grant account data: the customer is told they must verify
    again, and it is forgotten."""
    if not tracker.get_slot(VERIFIED_MSISDN) or verified_number(tracker):
        return []
    dispatcher.utter_message(response="utter_verification_expired")
    return _verification_forgotten()


def ask_for_verification(
    dispatcher: CollectingDispatcher, tracker: Tracker, action: str, request: Request
) -> list[EventType]:
    """Park the request and start the verification form; the request runs again once the
    customer is verified (see `validate_verification_form`)."""
    expired = forget_expired_verification(dispatcher, tracker)
    if not expired:
        dispatcher.utter_message(response="utter_need_verification")
    parked = {"action": action, **request.to_json()}
    return [*expired, SlotSet(PENDING_REQUEST, json.dumps(parked)), hand_over(VERIFICATION_FORM)]


class VerifiedAction(ServiceAction, abc.ABC):
    """An action that shows or changes account data: it runs only for a verified line, and
    asks for verification first otherwise."""

    def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request
    ) -> list[EventType]:
        msisdn = verified_number(tracker)
        if not msisdn:
            return ask_for_verification(dispatcher, tracker, self.name(), request)
        events = self.handle_verified(dispatcher, tracker, request, msisdn)
        return [SlotSet(PENDING_REQUEST, None), *events]

    @abc.abstractmethod
    def handle_verified(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        request: Request,
        msisdn: str,
    ) -> list[EventType]: ...


def disputed_addons(tracker: Tracker) -> list[str]:
    return list(tracker.get_slot(DISPUTED_ADDONS) or [])


def remember_dispute(tracker: Tracker) -> list[EventType]:
    """ "I never ordered that" stays attached to the add-on until it is cancelled."""
    request = Request.from_message(tracker.latest_message)
    if CONSENT_DISPUTED not in request.all("consent_dispute"):
        return []
    named = request.all("addon") or [tracker.get_slot(ADDON_TOPIC) or ANY_ADDON]
    return [SlotSet(DISPUTED_ADDONS, sorted({*disputed_addons(tracker), *named}))]


def offer_verification(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    action: str,
    request: Request,
    response: str,
) -> list[EventType]:
    """After a general answer: offer to check with the customer's own data. The request is
    parked, so a yes (or a number typed straight away) verifies and then answers it again."""
    if (tracker.active_loop or {}).get("name") == VERIFICATION_FORM:
        # Asked in the middle of verifying for something else: that request stays parked.
        return []
    expired = forget_expired_verification(dispatcher, tracker)
    dispatcher.utter_message(response=response)
    parked = {"action": action, **request.to_json()}
    return [
        *expired,
        SlotSet(PENDING_REQUEST, json.dumps(parked)),
        confirmation_request(tracker, START_VERIFICATION),
    ]


def events_since_message(tracker: Tracker) -> list[dict[str, Any]] | None:
    """What happened after the latest message that began a turn: the customer's, or a
    reminder's external event (None before the first one)."""
    for index in range(len(tracker.events) - 1, -1, -1):
        if tracker.events[index].get("event") == "user":
            return tracker.events[index + 1 :]
    return None


def _greeted_in_this_turn(tracker: Tracker) -> bool:
    """The customer's message opened with a greeting before its request, and nothing has
    answered it yet (an action handed over to later in the same turn greets no more)."""
    if not opens_with_greeting(tracker.latest_message.get("text") or ""):
        return False
    since = events_since_message(tracker) or []
    return not any(event.get("event") == "bot" for event in since)


def _normalised_title(text: str) -> str:
    return re.sub(r"[\W_]+", "", text or "").lower()


def typed_button_payload(tracker: Tracker) -> str | None:
    """The payload of the button whose title the customer typed instead of pressing it
    (among the buttons of the assistant's latest turn), else None."""
    typed = _normalised_title(tracker.latest_message.get("text") or "")
    if not typed:
        return None
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif event.get("event") == "bot" and seen_user:
            for button in (event.get("data") or {}).get("buttons") or []:
                if _normalised_title(button.get("title") or "") == typed:
                    return button.get("payload")
    return None


# A button's title typed instead of pressed makes the request the button would have made.
EXPLAIN_TARIFF = "action_explain_tariff"
BUTTON_ACTIONS = {
    "ask_tariff": EXPLAIN_TARIFF,
    "recommend_plan": "action_recommend_plan",
    "change_plan": "action_change_plan",
    "unsubscribe": "action_unsubscribe",
    "manage_reminders": "action_manage_reminders",
}
ROUTE_INFORM = "action_route_inform"


def typed_button_action(tracker: Tracker) -> str | None:
    """The action the button whose title the customer typed would have reached."""
    match = re.match(r"/(\w+)", typed_button_payload(tracker) or "")
    return BUTTON_ACTIONS.get(match.group(1)) if match else None


def _user_turns(tracker: Tracker) -> int:
    return len(customer_messages(tracker))


def confirmation_request(tracker: Tracker, action: str, **details: Any) -> SlotSet:
    """Ask the customer to confirm before `action` runs; `details` travel with the question."""
    return SlotSet(
        PENDING_CONFIRMATION,
        json.dumps({"action": action, "asked_at_turn": _user_turns(tracker), **details}),
    )


def pending_confirmation(tracker: Tracker) -> dict[str, Any] | None:
    """The question the customer is answering now; a question the customer walked away
    from (by asking something else) is no longer open, so a later "yes" cannot trigger it."""
    pending = json.loads(tracker.get_slot(PENDING_CONFIRMATION) or "null")
    if pending and pending.get("asked_at_turn") == _user_turns(tracker) - 1:
        return pending
    return None


HANDLE_CONFIRMATION = "action_handle_confirmation"
# The request a customer repeats when they mean "yes, that": the question's own subject.
SUBJECT_INTENTS = {
    "action_confirm_unsubscribe": ("unsubscribe", "addon"),
    "action_confirm_plan_change": ("change_plan", "plan"),
    START_VERIFICATION: ("verify_identity", None),
}
FAULT_INTENTS = {"report_network_issue", "deny", "affirm", "nlu_fallback", "inform"}


def _without_disputes(message: dict[str, Any]) -> str:
    """The text without its consent-dispute phrases: "I never ordered it" says no to the
    add-on, not to cancelling it."""
    text = message.get("text") or ""
    spans = sorted(
        (e["start"], e["end"])
        for e in message.get("entities", [])
        if e.get("entity") == "consent_dispute" and "start" in e and "end" in e
    )
    for start, end in reversed(spans):
        text = text[:start] + " " + text[end:]
    return text


def answer_in_context(tracker: Tracker) -> bool | None:
    """True or False when the latest message answers the assistant's open yes/no question;
    None when it is something else (a new request, or there is no question)."""
    pending = pending_confirmation(tracker)
    if pending is None:
        return None
    message = tracker.latest_message
    text = message.get("text") or ""
    intent = (message.get("intent") or {}).get("name")
    if pending.get("trigger") == "network_fault":
        # Whatever the model heard in "试过了 没用 还是掉", it answers "shall I report a fault?".
        if intent in FAULT_INTENTS or says_problem_persists(text, strongly=True):
            if says_problem_gone(text) or (opens_with_no(text) and not says_problem_persists(text)):
                return False
            if says_problem_persists(text) or intent == "report_network_issue":
                return True
    if pending.get("subjects") and declines_change(text):
        return False  # "还要交500违约金啊 那不换了", "hmm, keep it"
    if pending["action"] == START_VERIFICATION and opens_with_yes(text):
        return True  # "行 帮我查一下": checking with the customer's own data changes nothing
    if intent == "affirm" and not opens_with_no(text):
        return True
    if intent == "deny" or opens_with_no(text):
        # "hmm actually no, keep it" is a no, whatever else the model heard in it.
        return False
    subject = SUBJECT_INTENTS.get(pending["action"])
    if subject and intent == subject[0]:
        named = Request.from_message(message).all(subject[1]) if subject[1] else []
        # "cancel it", "嗯，退了吧", "yes switch me": the same subject, or none named.
        if all(value in pending.get("subjects", []) for value in named):
            return not says_no_somewhere(_without_disputes(message))
    if intent in ("nlu_fallback", "inform") and (opens_with_yes(text) or opens_with_no(text)):
        return opens_with_yes(text)
    return None


def answers_open_question(tracker: Tracker) -> bool:
    """An action reached by the customer's message (not handed over to) whose message answers
    the assistant's open question: every such action hands over to action_handle_confirmation."""
    return not tracker.get_slot(HANDOFF) and answer_in_context(tracker) is not None


def about_a_plan_reminder(tracker: Tracker) -> bool:
    """The conversation is about a usage or contract reminder: a question for a plan that
    names none ("which plan then?", "那换什么套餐？") asks for the one that fits."""
    return tracker.get_slot(REMINDER_TOPIC) in PLAN_REMINDERS


def language(tracker: Tracker) -> str:
    """The customer's language: responses pick their variant from the same slot."""
    return tracker.get_slot(LANGUAGE) or ENGLISH


PLAN_KIND_LABELS = {
    PlanKind.PREPAID: "utter_label_prepaid",
    PlanKind.POSTPAID: "utter_label_postpaid",
}


@lru_cache(maxsize=1)
def _domain() -> dict[str, Any]:
    """The domain's responses, read once per process: names a backend value (a plan's kind)
    in the customer's language where it sits inside another response."""
    return yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Names:
    """The backend's names for things, in the customer's language."""

    language: str

    @classmethod
    def of(cls, tracker: Tracker) -> Names:
        return cls(language(tracker))

    def plan(self, plan: Plan) -> str:
        return local_name(self.language, plan.name, plan.name_zh)

    def plan_kind(self, plan: Plan) -> str:
        return response_text(_domain(), PLAN_KIND_LABELS[plan.kind], self.language) or ""

    def conditions(self, plan: Plan) -> str:
        return local_name(self.language, plan.conditions, plan.conditions_zh)

    def addon(self, addon: AddOn) -> str:
        return local_name(self.language, addon.name, addon.name_zh)

    def channel(self, subscription: Subscription) -> str:
        return local_name(
            self.language, subscription.ordering_channel, subscription.ordering_channel_zh
        )

    def city(self, coverage: Coverage) -> str:
        return self._place(coverage.city, coverage.city_zh)

    def district(self, coverage: Coverage) -> str:
        return self._place(coverage.district, coverage.district_zh)

    def _place(self, stored: str, chinese: str) -> str:
        """The catalogue's name of a place (place.*), as stored where it has none."""
        named = find_text(f"place.{stored}", self.language)
        return named or local_name(self.language, stored.title(), chinese)

    def country(self, line: BillLine) -> str:
        return local_name(self.language, line.roaming_country or "", line.roaming_country_zh)

    def category(self, category: Category) -> str:
        return text(label_key(category), self.language)

    def join(self, names: Sequence[str]) -> str:
        return text("list.separator", self.language).join(names)


def codes_typed(tracker: Tracker) -> tuple[str, ...]:
    """The one-time codes the customer typed in this conversation, as the verification form
    read them: masked wherever they appear in a ticket's transcript, however they were written."""
    return tuple(
        event["value"]
        for event in tracker.events
        if event.get("event") == "slot"
        and event.get("name") == OTP_CODE
        and isinstance(event.get("value"), str)
        and event["value"].isdigit()
    )
