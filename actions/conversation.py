"""Keeping the conversation on track: bare answers, and messages the model did not understand."""
from __future__ import annotations

from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from .common import LANGUAGE, Request, hand_over, handoff_taken, language

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
]
# Intents worth offering as a button when the model is unsure; the rest are not requests.
CLARIFIABLE_INTENTS = {
    "ask_tariff", "recommend_plan", "change_plan", "check_usage", "check_bill",
    "explain_charge", "list_subscriptions", "unsubscribe", "ask_5g", "ask_number_portability",
    "verify_identity", "ask_capabilities",
}
CLARIFY_OPTIONS = 3


class ActionRouteInform(Action):
    def name(self) -> str:
        return "action_route_inform"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        request = Request.from_message(tracker.latest_message)
        for entity, action in INFORM_ROUTES:
            if request.first(entity):
                return [hand_over(action)]
        return [hand_over("action_clarify")]


def response_text(domain: dict[str, Any], name: str, language_code: str) -> Optional[str]:
    """A response's text in a language, chosen the way Rasa chooses: the variant whose
    condition is that language, else the unconditional one."""
    variants = domain.get("responses", {}).get(name) or []
    for variant in variants:
        conditions = variant.get("condition") or []
        if any(c.get("name") == LANGUAGE and c.get("value") == language_code for c in conditions):
            return variant.get("text")
    return next((v.get("text") for v in variants if not v.get("condition")), None)


class ActionClarify(Action):
    """First miss: offer the likeliest requests as buttons. Second miss in a row: hand back
    politely with what the assistant can do."""

    def name(self) -> str:
        return "action_clarify"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if self._previous_turn_was_a_miss(tracker):
            dispatcher.utter_message(response="utter_handback")
            return handoff_taken(tracker)
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
    def _previous_turn_was_a_miss(tracker: Tracker) -> bool:
        """Did the assistant already answer the previous user message with a clarification?"""
        user_turns_seen = 0
        for event in reversed(tracker.events):
            if event.get("event") == "user":
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
