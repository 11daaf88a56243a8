"""Yes and no: confirm or drop what the assistant just proposed (a change, or a ticket)."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from .common import PENDING_CONFIRMATION, hand_over, pending_confirmation


class ActionHandleConfirmation(Action):
    def name(self) -> str:
        return "action_handle_confirmation"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        pending = pending_confirmation(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if pending is None:
            dispatcher.utter_message(response="utter_how_can_i_help")
            return [SlotSet(PENDING_CONFIRMATION, None)]
        if intent == "affirm":
            # The confirming action reads the details and clears the question itself.
            return [hand_over(pending["action"])]
        dispatcher.utter_message(response=pending.get("declined", "utter_nothing_changed"))
        return [SlotSet(PENDING_CONFIRMATION, None)]
