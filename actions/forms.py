"""What every form does with a message that is not an answer to its question.

Customers do not answer forms the way forms ask. Before a form stores anything, the message is
read for what it is:

- a stop ("cancel", "never mind", "算了", "不用了"): the form ends, nothing changes;
- a request for a person or a complaint: it wins, the form ends and the escalation starts
  (inside the complaint form, which is already the way to a person, the customer is told so);
- another question ("what 5G plans do you have?"), or a reminder the scheduler sends into
  the conversation: the form steps aside (Rasa's loop rejection), the question's own rule
  answers it, and the form asks its question again;
- an answer that fits the question: the form's validators take it;
- anything else is unusable: the first time the question is explained again, the second time
  in a row the customer is offered a way out (try again, a person, stop) with buttons.

A button's title typed instead of pressed counts as the press.
"""

from __future__ import annotations

import abc
import enum

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import events_since_message, is_external, language, typed_button_payload
from telecom_assistant.language import asks_to_stop, opens_with_no, response_text

REQUESTED_SLOT = "requested_slot"
# Unusable answers in a row to the current question.
FORM_MISSES = "form_misses"
MISSES_BEFORE_WAY_OUT = 2
# How sure the model must be that a message is another request before the form steps aside.
CONFIDENT = 0.5
ESCALATION_INTENTS = {"request_human", "file_complaint", "report_spam"}
# Requests whose answer needs a verified customer (they start verification).
ACCOUNT_INTENTS = {
    "recommend_plan",
    "change_plan",
    "check_usage",
    "check_bill",
    "explain_charge",
    "list_subscriptions",
    "unsubscribe",
    "check_ticket_status",
}
# Requests that have an answer of their own and can be answered in the middle of a form.
QUESTION_INTENTS = {
    "ask_tariff",
    "recommend_plan",
    "change_plan",
    "check_usage",
    "check_bill",
    "explain_charge",
    "list_subscriptions",
    "unsubscribe",
    "ask_5g",
    "ask_number_portability",
    "ask_capabilities",
    "check_ticket_status",
    "report_network_issue",
}
WAY_OUT_RETRY = "/affirm"
WAY_OUT_PERSON = "/request_human"
WAY_OUT_STOP = "/deny"


class Reading(enum.Enum):
    ANSWER = "answer"
    STOP = "stop"
    ESCALATE = "escalate"
    QUESTION = "question"
    RETRY = "retry"
    UNUSABLE = "unusable"


def way_out_buttons(domain: DomainDict, tracker: Tracker) -> list[dict[str, str]]:
    language_code = language(tracker)
    return [
        {"title": response_text(domain, label, language_code) or "", "payload": payload}
        for label, payload in (
            ("utter_label_try_again", WAY_OUT_RETRY),
            ("utter_label_request_human", WAY_OUT_PERSON),
            ("utter_label_stop", WAY_OUT_STOP),
        )
    ]


def answering_a_question(tracker: Tracker) -> bool:
    """The form asked something and this turn is the customer's reply: nothing but Rasa's
    slot extraction and the form itself has run since the message (after an interruption the
    form runs again only to ask its question once more)."""
    since = events_since_message(tracker)
    if not tracker.get_slot(REQUESTED_SLOT) or since is None:
        return False
    quiet = ("action_extract_slots", "action_listen", tracker.active_loop.get("name"))
    return not any(
        event.get("event") == "bot"
        or (event.get("event") == "action" and event.get("name") not in quiet)
        for event in since
    )


class ListeningFormValidation(FormValidationAction, abc.ABC):
    """The reading above, shared by every form; each form says what fits its questions and
    how it stops or escalates."""

    @abc.abstractmethod
    def fits(self, slot: str, tracker: Tracker) -> bool:
        """Does the latest message answer the question for `slot`?"""

    @abc.abstractmethod
    def stop(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """The customer asked to stop: say so and clear the form's slots."""

    @abc.abstractmethod
    def escalate(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """The customer asked for a person or complained in the middle of the form."""

    def explain(self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """The first unusable answer: what the question wants (default: nothing more than
        asking it again)."""

    def may_step_aside(self, intent: str, tracker: Tracker) -> bool:
        """May the form let another request be answered in its middle? (default: yes)"""
        return True

    def fits_loosely(self, slot: str, tracker: Tracker) -> bool:
        """An answer that fits only when the message is not another request (default: none)."""
        return False

    def read(self, slot: str, tracker: Tracker) -> Reading:
        message = tracker.latest_message
        text = message.get("text") or ""
        intent = message.get("intent") or {}
        name, confidence = intent.get("name"), intent.get("confidence") or 0.0
        pressed = typed_button_payload(tracker) or (text if text.startswith("/") else None)
        offered_way_out = (tracker.get_slot(FORM_MISSES) or 0) >= MISSES_BEFORE_WAY_OUT
        if pressed == WAY_OUT_RETRY and offered_way_out:
            return Reading.RETRY
        if pressed == WAY_OUT_PERSON:
            return Reading.ESCALATE
        if asks_to_stop(text) or pressed == WAY_OUT_STOP:
            return Reading.STOP
        if offered_way_out and name == "deny":
            return Reading.STOP
        if offered_way_out and name == "affirm":
            return Reading.RETRY
        if self.fits(slot, tracker):
            return Reading.ANSWER
        # A goodbye, or a "no" that answers nothing: the customer changed their mind.
        if name == "goodbye" or (name == "deny" and opens_with_no(text)):
            return Reading.STOP
        if name in ESCALATION_INTENTS and confidence >= CONFIDENT:
            return Reading.ESCALATE
        if (
            name in QUESTION_INTENTS
            and confidence >= CONFIDENT
            and self.may_step_aside(name, tracker)
        ):
            return Reading.QUESTION
        if self.fits_loosely(slot, tracker):
            return Reading.ANSWER
        return Reading.UNUSABLE

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        slot: str | None = tracker.get_slot(REQUESTED_SLOT)
        if slot and is_external(tracker.latest_message) and answering_a_question(tracker):
            # A reminder arrived while the form waits (a form left open stays active): it is no
            # answer. The form steps aside, the reminder's rule says it, the form asks again.
            return [SlotSet(slot, None), ActionExecutionRejected(self.form_name())]
        if not slot or not answering_a_question(tracker):
            return await super().run(dispatcher, tracker, domain)
        reading = self.read(slot, tracker)
        if reading is Reading.ANSWER:
            return [*await super().run(dispatcher, tracker, domain), SlotSet(FORM_MISSES, None)]
        if reading is Reading.STOP:
            return [
                *self.stop(dispatcher, tracker),
                SlotSet(FORM_MISSES, None),
                SlotSet(REQUESTED_SLOT, None),
            ]
        if reading is Reading.ESCALATE:
            return [*self.escalate(dispatcher, tracker), SlotSet(FORM_MISSES, None)]
        # Otherwise the same question is asked again (named, or Rasa would pick the next empty
        # slot in the domain's order, which a form may skip).
        again = SlotSet(REQUESTED_SLOT, slot)
        if reading is Reading.QUESTION:
            # Rasa rejects the form for this turn: the question's own rule answers it, then
            # the form comes back and asks again.
            return [SlotSet(slot, None), ActionExecutionRejected(self.form_name())]
        if reading is Reading.RETRY:
            return [SlotSet(slot, None), SlotSet(FORM_MISSES, None), again]
        misses = int(tracker.get_slot(FORM_MISSES) or 0) + 1
        if misses >= MISSES_BEFORE_WAY_OUT:
            dispatcher.utter_message(
                response="utter_offer_way_out", buttons=way_out_buttons(domain, tracker)
            )
        else:
            self.explain(slot, dispatcher, tracker)
        return [SlotSet(slot, None), SlotSet(FORM_MISSES, float(misses)), again]

    def form_name(self) -> str:
        return self.name().removeprefix("validate_")


class AskFormQuestion(Action, abc.ABC):
    """A form's question. Right after a way out was offered it stays unasked: the buttons are
    the question then (try again asks it once more)."""

    response: str

    @abc.abstractmethod
    def name(self) -> str: ...

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if (tracker.get_slot(FORM_MISSES) or 0) < MISSES_BEFORE_WAY_OUT:
            dispatcher.utter_message(response=self.response)
        return []


class ActionAskPhoneNumber(AskFormQuestion):
    response = "utter_ask_phone_number"

    def name(self) -> str:
        return "action_ask_phone_number"


class ActionAskOtpCode(AskFormQuestion):
    response = "utter_ask_otp_code"

    def name(self) -> str:
        return "action_ask_otp_code"


class ActionAskComplaintDescription(AskFormQuestion):
    response = "utter_ask_complaint_description"

    def name(self) -> str:
        return "action_ask_complaint_description"


class ActionAskComplaintContact(AskFormQuestion):
    response = "utter_ask_complaint_contact"

    def name(self) -> str:
        return "action_ask_complaint_contact"


class ActionAskSpamSender(AskFormQuestion):
    response = "utter_ask_spam_sender"

    def name(self) -> str:
        return "action_ask_spam_sender"


class ActionAskSpamContent(AskFormQuestion):
    response = "utter_ask_spam_content"

    def name(self) -> str:
        return "action_ask_spam_content"
