"""Keeping the conversation on track: bare answers, and messages the model did not understand."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    HANDLE_CONFIRMATION,
    PENDING_REQUEST,
    ROUTE_INFORM,
    Request,
    answers_open_question,
    customer_messages,
    hand_over,
    handoff_taken,
    is_external,
    language,
    parked_request,
    typed_button_action,
)
from actions.escalation import Trigger, begin_escalation
from telecom_assistant.language import response_text

# A bare answer ("Haidian", "5G Plus 129") goes to the capability its entity belongs to.
INFORM_ROUTES = [
    ("phone_number", "action_start_verification"),
    ("otp_code", "action_start_verification"),
    ("city", "action_ask_5g"),
    ("district", "action_ask_5g"),
    ("plan", "action_explain_tariff"),
    ("addon", "action_unsubscribe"),
    ("amount", "action_explain_charge"),
    ("charge_type", "action_explain_charge"),
    ("ticket_id", "action_check_ticket_status"),
    ("network_issue", "action_troubleshoot_network"),
]
# Intents worth offering as a button when the model is unsure; the rest are not requests.
CLARIFIABLE_INTENTS = {
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
    "verify_identity",
    "ask_capabilities",
    "file_complaint",
    "request_human",
    "check_ticket_status",
    "report_network_issue",
    "report_spam",
}
CLARIFY_OPTIONS = 3


class ActionRouteInform(Action):
    def name(self) -> str:
        return "action_route_inform"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if answers_open_question(tracker):
            return [hand_over(HANDLE_CONFIRMATION)]
        pressed = typed_button_action(tracker)
        if pressed:
            return [hand_over(pressed)]
        request = Request.from_message(tracker.latest_message)
        parked = parked_request(tracker)
        for entity, action in INFORM_ROUTES:
            if request.first(entity):
                # "what about Chongming?" after 5G in Pudong: the new place, not the parked one.
                superseded = parked and parked.get("action") == action
                return [
                    *([SlotSet(PENDING_REQUEST, None)] if superseded else []),
                    hand_over(action),
                ]
        return [hand_over("action_clarify")]


# A follow-up that names only a place or a plan ("what about Chongming?", "那密云呢") reads as
# off-topic on its own; right after the request it follows up, it is that request again.
FOLLOW_UPS = {"city": "ask_5g", "district": "ask_5g", "plan": "ask_tariff"}


class ActionCapabilities(Action):
    """What the assistant can do; but a message that answers its open question ("可以，帮我看看"
    after "shall I check with your number?", heard as a question about what it can do) is the
    answer, as every request action treats it."""

    def name(self) -> str:
        return "action_capabilities"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if answers_open_question(tracker):
            return [hand_over(HANDLE_CONFIRMATION)]
        dispatcher.utter_message(response="utter_capabilities")
        return []


class ActionOutOfScope(Action):
    def name(self) -> str:
        return "action_out_of_scope"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        request = Request.from_message(tracker.latest_message)
        previous = _previous_intent(tracker)
        if any(
            request.first(entity) and previous == intent for entity, intent in FOLLOW_UPS.items()
        ):
            return [hand_over(ROUTE_INFORM)]
        dispatcher.utter_message(response="utter_out_of_scope")
        return []


def _previous_intent(tracker: Tracker) -> str | None:
    """The intent of the customer's message before the latest one."""
    messages = customer_messages(tracker)
    if len(messages) < 2:
        return None
    return ((messages[-2].get("parse_data") or {}).get("intent") or {}).get("name")


class ActionClarify(Action):
    """First miss: offer the likeliest requests as buttons. Second miss in a row: escalate to
    a person with a ticket."""

    def name(self) -> str:
        return "action_clarify"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if answers_open_question(tracker):
            # Not understood as a request, but it answers the assistant's question.
            return [hand_over(HANDLE_CONFIRMATION)]
        if self._previous_turn_was_a_miss(tracker):
            # Two misses in a row: a person takes over, with the messages not understood.
            return [
                *handoff_taken(tracker),
                *begin_escalation(
                    dispatcher, tracker, Trigger.FALLBACK, description=self._missed(tracker)
                ),
            ]
        buttons = []
        for ranked in tracker.latest_message.get("intent_ranking", []):
            title = response_text(domain, f"utter_label_{ranked.get('name')}", language(tracker))
            if ranked.get("name") in CLARIFIABLE_INTENTS and title:
                buttons.append({"title": title, "payload": f"/{ranked['name']}"})
            if len(buttons) == CLARIFY_OPTIONS:
                break
        dispatcher.utter_message(response="utter_clarify", buttons=buttons)
        return handoff_taken(tracker)

    @staticmethod
    def _missed(tracker: Tracker) -> str:
        """The last two customer messages: the ones the assistant did not understand."""
        texts = [e.get("text") or "" for e in customer_messages(tracker)]
        return " / ".join(texts[-2:])

    @staticmethod
    def _previous_turn_was_a_miss(tracker: Tracker) -> bool:
        """Did the assistant already answer the previous user message with a clarification?"""
        user_turns_seen = 0
        for event in reversed(tracker.events):
            if event.get("event") == "user" and not is_external(event):
                user_turns_seen += 1
                if user_turns_seen == 2:
                    return False
            elif (
                user_turns_seen == 1
                and event.get("event") == "action"
                and event.get("name") == "action_clarify"
            ):
                return True
        return False
