"""Yes and no: confirm or drop what the assistant just proposed (a change, a ticket, checking
with the customer's own data).

An answer is read in the context of the question: after "Shall I report a fault?", "did all
that, no luck" is a yes; after "Cancel the Music Pack?", "嗯，退了吧" is a yes even though the
model hears another unsubscribe request. Any action reached by such a message hands over here
(`ServiceAction.run`); the reading itself is `common.answer_in_context`.

A reminder asks no question: "stop it" right after one (heard as a no) is about the reminder.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    PENDING_CONFIRMATION,
    answer_in_context,
    hand_over,
    handoff_taken,
    pending_confirmation,
    remember_dispute,
)
from actions.reminders import MANAGE_REMINDERS, UNSUBSCRIBE, asked_switch, kind_just_reminded
from telecom_assistant.reminders.model import ReminderKind


class ActionHandleConfirmation(Action):
    def name(self) -> str:
        return "action_handle_confirmation"  # HANDLE_CONFIRMATION

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        pending = pending_confirmation(tracker)
        answer = answer_in_context(tracker)
        dispute = remember_dispute(tracker)
        reminded = kind_just_reminded(tracker)
        if pending is None and reminded is not None and asks_to_stop(tracker):
            # The reminded add-on is cancelled after a confirmation; any other reminder has
            # nothing to stop but itself.
            stop = UNSUBSCRIBE if reminded is ReminderKind.ADDON else MANAGE_REMINDERS
            return [*dispute, hand_over(stop)]
        if pending is None or answer is None:
            dispatcher.utter_message(response="utter_how_can_i_help")
            return [*handoff_taken(tracker), *dispute, SlotSet(PENDING_CONFIRMATION, None)]
        if answer:
            # The confirming action reads the details and clears the question itself.
            return [*dispute, hand_over(pending["action"])]
        dispatcher.utter_message(response=pending.get("declined", "utter_nothing_changed"))
        return [*handoff_taken(tracker), *dispute, SlotSet(PENDING_CONFIRMATION, None)]


def asks_to_stop(tracker: Tracker) -> bool:
    """ "Stop it", "别发了", "enough of this": a stop, not a bare "no"."""
    return asked_switch(tracker.latest_message.get("text") or "", names_a_kind=False) is False
