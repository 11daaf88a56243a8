"""Reminders in the conversation: the reminder the scheduler opens a conversation with (Rasa's
external event EXTERNAL_reminder, rasa_plugins/channels.py), the chat a customer's reminders go
to, and turning a kind of reminder off or back on ("stop these reminders", "恢复账单提醒").

A reminder is said only in the conversation it was sent to, and only when the scheduler sent
it: a customer who types ``/EXTERNAL_reminder{"reminder":"5"}`` learns nothing. What the
reminder says comes from telecom_assistant.reminders.render, in the conversation's language; it
leaves the slots that let the customer answer it: the add-on ("cancel it", "I never ordered
that": actions/subscriptions.py) and the reminder's kind ("which plan then?",
"stop these reminders").
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.common import (
    ADDON_TOPIC,
    CONSENT_DISPUTED,
    LANGUAGE,
    PENDING_CONFIRMATION,
    PLAN_REMINDERS,
    REMINDER_TOPIC,
    VERIFIED_MSISDN,
    Names,
    Request,
    VerifiedAction,
    hand_over,
    is_external,
    language,
    reminder_store,
)
from telecom_assistant.language import ENGLISH, looks_like_question, response_text
from telecom_assistant.reminders.model import ChatAddress, ReminderKind, SentReminder
from telecom_assistant.reminders.render import kind_name, render
from telecom_assistant.texts import text
from telecom_assistant.tickets.replies import CHAT_CHANNELS

REMINDER_ENTITY = "reminder"  # the reminder's id, in the external event
REMINDER_KIND_ENTITY = "reminder_kind"  # a ReminderKind's value, or ALL_KINDS
ALL_KINDS = "all"
# Telegram refuses a button whose payload (its callback data) is longer.
BUTTON_PAYLOAD_BYTES = 64
UNSUBSCRIBE = "action_unsubscribe"
MANAGE_REMINDERS = "action_manage_reminders"
REMIND = "action_remind"

# "Turn them back on", "恢复账单提醒": the last of these phrases in the message decides. A
# negation takes the rest of its clause with it ("don't turn them back on", "别再发了"), so an
# "on" inside it is no "on"; an "off" is tried before an "on" where both could start.
_SWITCH = re.compile(
    r"(?P<off>\b(?:don'?t|dont|do not|never)\s+(?:turn|switch|want|need|send|keep|resume)\b"
    r"[^.!?,;]*"
    r"|(?:不要|别|不用|不想|不必|不再)[^，。！？；,.!?;]*"
    r"|\b(?:stop|no more|(?:turn|switch) (?:\w+ ){0,3}?off|opt out|unsubscribe|cancel|mute"
    r"|enough)\b"
    r"|停|关闭|关掉|关了|取消|退订|屏蔽)"
    r"|(?P<on>\b(?:back on|(?:turn|switch) (?:\w+ ){0,3}?on|resume|re-?enable|enable|restore"
    r"|undo|start (?:sending|reminding)|(?:want|need) (?:\w+ ){0,3}?back"
    r"|keep (?:sending|reminding|them|it)|remind me again|send (?:them|these|those) again)\b"
    r"|恢复|重新|开启|打开|开通|继续|还是(?:要|提醒|发|开)|提醒我吧)",
    re.IGNORECASE,
)

# A message that says one of these is about reminders, whatever question is open.
SPEAKS_OF_REMINDERS = re.compile(r"remind|alert|notification|提醒|通知", re.IGNORECASE)

logger = logging.getLogger(__name__)


def asked_switch(message: str, names_a_kind: bool) -> bool | None:
    """True when the message asks to have reminders again, False when it asks to stop them,
    None when it asks neither ("which reminders do I get?"). A kind named with no word either
    way ("/manage_reminders{"reminder_kind":"bill"}", the reminder's own button) is a stop."""
    phrases = list(_SWITCH.finditer(message))
    if phrases:
        return phrases[-1].group("on") is not None
    if names_a_kind and not looks_like_question(message):
        return False
    return None


def button_payload(intent: str, entities: Mapping[str, str], *, topic: str | None = None) -> str:
    """A button's payload, ``/intent{"entity":"value"}``, short enough for Telegram. When it
    would not be, the `topic` entity is left out: the slot the reminder set names it too."""
    payload = f"/{intent}{json.dumps(dict(entities), separators=(',', ':'), ensure_ascii=False)}"
    if len(payload.encode("utf-8")) <= BUTTON_PAYLOAD_BYTES or topic is None:
        return payload
    return button_payload(intent, {key: value for key, value in entities.items() if key != topic})


def reminder_buttons(
    sent: SentReminder, language_code: str, domain: dict[str, Any]
) -> list[dict[str, str]]:
    """What the customer may want to do next: cancel or dispute a new add-on, find a plan that
    fits after a usage or contract reminder, and stop reminders of this kind."""
    buttons: list[tuple[str, str]] = []
    if sent.kind is ReminderKind.ADDON and sent.subject:
        addon = {"addon": sent.subject}
        buttons += [
            ("utter_label_cancel_addon", button_payload("unsubscribe", addon, topic="addon")),
            (
                "utter_label_never_ordered",
                button_payload(
                    "unsubscribe", {**addon, "consent_dispute": CONSENT_DISPUTED}, topic="addon"
                ),
            ),
        ]
    if sent.kind.value in PLAN_REMINDERS:
        buttons.append(("utter_label_plan_fits", "/recommend_plan"))
    stop = {REMINDER_KIND_ENTITY: sent.kind.value}
    buttons.append(("utter_label_stop_reminders", button_payload("manage_reminders", stop)))
    return [
        {"title": response_text(domain, label, language_code) or "", "payload": payload}
        for label, payload in buttons
    ]


class ActionRemind(Action):
    """The scheduler opened the conversation with a reminder: say it, with its buttons, and
    leave the slots its answers need. Anything else that reaches here (a typed
    ``/EXTERNAL_reminder``, a reminder of another conversation) is not understood."""

    def name(self) -> str:
        return "action_remind"  # REMIND

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            sent = self._reminder_of_this_conversation(tracker)
        except SQLAlchemyError:
            # No event: Rasa's door for reminders tells the scheduler the turn failed, as when
            # this server is down, and the chat gets the reminder at a later scan (the SMS went
            # out anyway).
            logger.exception("Reminder store unavailable in conversation %s", tracker.sender_id)
            return []
        # Every turn that ran sets a slot, if only to what it was: that is how Rasa's door for
        # reminders tells a turn that chose silence from a failed one
        # (rasa_plugins/channels.py, `reminder_turn_ran`).
        ran = SlotSet(REMINDER_TOPIC, tracker.get_slot(REMINDER_TOPIC))
        if sent is None:
            dispatcher.utter_message(response="utter_not_understood")
            return [ran]
        verified_here = lines_verified_here(tracker)
        if verified_here and verified_here[-1] != sent.msisdn:
            # Another line was verified in this chat since the reminder was addressed to it:
            # whoever is here now is not its customer. Nothing is said.
            return [ran]
        language_code = tracker.get_slot(LANGUAGE) or sent.language or ENGLISH
        hint = text(
            "reminder.stop_in_chat", language_code, kind_name=kind_name(sent.kind, language_code)
        )
        dispatcher.utter_message(
            response="utter_reminder",
            reminder=render(sent.reminder, language_code),
            stop_hint=hint,
            buttons=reminder_buttons(sent, language_code, domain),
        )
        events: list[EventType] = [
            SlotSet(REMINDER_TOPIC, sent.kind.value),
            # The conversation moved on: a "yes" now answers no question asked before.
            SlotSet(PENDING_CONFIRMATION, None),
        ]
        if not tracker.get_slot(LANGUAGE):
            # A new session knows no language yet: the answers follow the reminder's.
            events.append(SlotSet(LANGUAGE, language_code))
        if sent.kind is ReminderKind.ADDON and sent.subject:
            events.append(SlotSet(ADDON_TOPIC, sent.subject))
        return events

    @staticmethod
    def _reminder_of_this_conversation(tracker: Tracker) -> SentReminder | None:
        message = tracker.latest_message
        reminder_id = Request.from_message(message).first(REMINDER_ENTITY) or ""
        store = reminder_store()
        if not is_external(message) or store is None or not reminder_id.isdecimal():
            return None
        sent = store.get(int(reminder_id))
        if sent is None or sent.chat is None or sent.chat.conversation_id != tracker.sender_id:
            return None
        return sent


def wanted_kinds(request: Request, tracker: Tracker) -> list[ReminderKind]:
    """The kinds the customer named ("bill reminders", "all reminders"), else the kind of the
    reminder the conversation is about ("stop these reminders")."""
    named = request.all(REMINDER_KIND_ENTITY) or [tracker.get_slot(REMINDER_TOPIC) or ""]
    if ALL_KINDS in named:
        return list(ReminderKind)
    known = {kind.value: kind for kind in ReminderKind}
    return [known[value] for value in dict.fromkeys(named) if value in known]


class ActionManageReminders(VerifiedAction):
    """ "Stop sending me data usage reminders", "恢复账单提醒": a kind of reminder off or back
    on for the verified line (whose reminders they are is what verification proves)."""

    def name(self) -> str:
        return "action_manage_reminders"  # MANAGE_REMINDERS

    def heard_as_an_answer(self, tracker: Tracker) -> bool:
        # "Don't send me bill reminders", "不要再给我发流量提醒了" open with a no, and answer no
        # question: a message that speaks of reminders is this request.
        text = tracker.latest_message.get("text") or ""
        return not SPEAKS_OF_REMINDERS.search(text) and super().heard_as_an_answer(tracker)

    def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request
    ) -> list[EventType]:
        addon = request.first("addon")
        if not request.all(REMINDER_KIND_ENTITY) and addon and addon != ALL_KINDS:
            # "关闭来电提醒": the Missed Call Alert is an add-on to cancel, not a reminder of ours.
            return [hand_over(UNSUBSCRIBE)]
        return super().handle(dispatcher, tracker, request)

    def handle_verified(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request, msisdn: str
    ) -> list[EventType]:
        kinds = wanted_kinds(request, tracker)
        store = reminder_store()
        if store is None:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        names = Names.of(tracker)
        back_on = asked_switch(request.text, bool(request.all(REMINDER_KIND_ENTITY)))
        if not kinds or back_on is None:
            off = store.opted_out(msisdn)
            dispatcher.utter_message(
                response="utter_reminders_which",
                kinds_on=self._names([kind for kind in ReminderKind if kind not in off], names),
                kinds_off=self._names([kind for kind in ReminderKind if kind in off], names),
            )
            return []
        store.set_opt_out(msisdn, kinds, out=not back_on)
        dispatcher.utter_message(
            response="utter_reminders_on" if back_on else "utter_reminders_off",
            kinds=self._names(kinds, names),
        )
        # "Turn them back on" next is about these.
        if len(kinds) == len(ReminderKind):
            return [SlotSet(REMINDER_TOPIC, ALL_KINDS)]
        return [SlotSet(REMINDER_TOPIC, kinds[0].value)] if len(kinds) == 1 else []

    @staticmethod
    def _names(kinds: list[ReminderKind], names: Names) -> str:
        return names.join([kind_name(kind, names.language) for kind in kinds]) or "—"


def kind_just_reminded(tracker: Tracker) -> ReminderKind | None:
    """The kind of the reminder the customer's message answers: the assistant's last words
    before it were that reminder. None when something else was said since."""
    events = tracker.events
    latest_message = max(
        (index for index, event in enumerate(events) if event.get("event") == "user"), default=0
    )
    for event in reversed(events[:latest_message]):
        if event.get("event") != "action" or event.get("name") == "action_listen":
            continue
        if event.get("name") != REMIND:
            return None
        topic = tracker.get_slot(REMINDER_TOPIC)
        return ReminderKind(topic) if topic in {kind.value for kind in ReminderKind} else None
    return None


def lines_verified_here(tracker: Tracker) -> list[str]:
    """The lines verified in this conversation, as far back as its events go, in the order
    they were verified (the latest last)."""
    return [
        event["value"]
        for event in tracker.events
        if event.get("event") == "slot"
        and event.get("name") == VERIFIED_MSISDN
        and isinstance(event.get("value"), str)
    ]


def remember_chat(tracker: Tracker, msisdn: str) -> None:
    """The customer just proved to own `msisdn` in this chat: the line's reminders come here
    from now on, in the customer's language, and no other line's reminders do (the last line
    verified in a chat is whose it is). Only chats that can carry a message later count. A
    database failure costs the chat its reminders, never the customer their verification."""
    store = reminder_store()
    channel = tracker.get_latest_input_channel()
    if store is None or channel not in CHAT_CHANNELS:
        return
    address = ChatAddress(msisdn, channel, tracker.sender_id, language(tracker))
    try:
        for other in set(lines_verified_here(tracker)) - {msisdn}:
            store.forget_chat(other, tracker.sender_id)
        store.remember_chat(address)
    except SQLAlchemyError:
        logger.exception("Could not remember conversation %s for reminders", tracker.sender_id)


def forget_chat(tracker: Tracker) -> None:
    """ "Sign me out": no reminder comes to this chat any more, for any line verified in it
    (the verification may have lapsed already). A database failure is logged, the sign-out
    goes on."""
    store = reminder_store()
    if store is None:
        return
    try:
        for msisdn in set(lines_verified_here(tracker)):
            store.forget_chat(msisdn, tracker.sender_id)
    except SQLAlchemyError:
        logger.exception("Could not forget conversation %s for reminders", tracker.sender_id)
