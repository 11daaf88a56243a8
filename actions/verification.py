"""Identity verification: phone number, one-time code by SMS, then the parked request; and
its end, on goodbye or "sign me out".

Only `validate_verification_form` sets `verified_msisdn` (with `verified_at`), and only after
the backend has accepted the code sent to that number for this conversation. In the same
answer it hands over to the request that was parked for verification, which runs as soon as
the form ends: the customer's message with the code is answered after two calls to this
server instead of three (docs/benchmarks.md). How long a verification lasts is decided by
`common.verified_number`. A chat verified so receives the line's reminders from then on
(actions/reminders.py), until "sign me out".
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import (
    HANDOFF,
    OTP_CODE,
    PENDING_CONFIRMATION,
    PENDING_REQUEST,
    PHONE_NUMBER,
    VERIFICATION_FORM,
    VERIFIED_AT,
    VERIFIED_MSISDN,
    account_service,
    forget_expired_verification,
    hand_over,
    handoff_taken,
    parked_request,
    verification_ended,
    verified_number,
)
from actions.escalation import START_ESCALATION
from actions.forms import (
    CONFIDENT,
    FORM_MISSES,
    REQUESTED_SLOT,
    ListeningFormValidation,
    Reading,
    answering_a_question,
)
from actions.reminders import forget_chat, remember_chat
from actions.satisfaction import offer_rating
from telecom_assistant.accounts.msisdn import find_msisdns, mask_msisdn, normalise_msisdn
from telecom_assistant.accounts.service import OTP_LENGTH, VerificationOutcome
from telecom_assistant.texts import format_datetime

VERIFICATION_HALTED = "verification_halted"
SIGN_OUT_INTENT = "sign_out"
# "I didn't get the code, send it again" is heard as a request to be verified.
RESEND_INTENT = "verify_identity"


def normalise_code(text: str | None) -> str | None:
    digits = re.sub(r"\D", "", text or "")
    return digits if len(digits) == OTP_LENGTH else None


def _digits(text: str) -> int:
    return len(re.sub(r"\D", "", text))


class ValidateVerificationForm(ListeningFormValidation):
    def name(self) -> str:
        return "validate_verification_form"

    def fits(self, slot: str, tracker: Tracker) -> bool:
        """A number (or an attempt at one: seven digits or more) for the phone question; a
        group of digits that is not a mobile number for the code question."""
        text = tracker.latest_message.get("text") or ""
        if slot == PHONE_NUMBER:
            return bool(find_msisdns(text)) or _digits(text) >= 7
        return not find_msisdns(text) and bool(re.search(r"\d{3,}", text))

    def explain(self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        dispatcher.utter_message(
            response="utter_invalid_phone_number" if slot == PHONE_NUMBER else "utter_invalid_code"
        )

    def read(self, slot: str, tracker: Tracker) -> Reading:
        intent = tracker.latest_message.get("intent") or {}
        if intent.get("name") == SIGN_OUT_INTENT and (intent.get("confidence") or 0.0) >= CONFIDENT:
            return Reading.STOP  # "forget my number" while giving it
        return super().read(slot, tracker)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        msisdn = self._number_for_a_new_code(tracker)
        if msisdn is None:
            return await super().run(dispatcher, tracker, domain)
        events = [
            SlotSet(slot, value) for slot, value in _send_code(dispatcher, tracker, msisdn).items()
        ]
        tracker.add_slots(events)
        next_slot = await self.next_requested_slot(dispatcher, tracker, domain)
        return [*events, SlotSet(FORM_MISSES, None), *([next_slot] if next_slot else [])]

    def _number_for_a_new_code(self, tracker: Tracker) -> str | None:
        """At the code question, a message that is no code but asks for a new one ("didn't
        get it, send it again") or gives a number (the same again, or corrected): the number
        to send it to. None for anything else."""
        if tracker.get_slot(REQUESTED_SLOT) != OTP_CODE or not answering_a_question(tracker):
            return None
        if self.read(OTP_CODE, tracker) is not Reading.UNUSABLE:
            return None
        typed = find_msisdns(tracker.latest_message.get("text") or "")
        if typed:
            return typed[0]
        # Heard at all is enough: a code too many costs an SMS, within the throttles.
        if (tracker.latest_message.get("intent") or {}).get("name") == RESEND_INTENT:
            return tracker.get_slot(PHONE_NUMBER)
        return None

    def stop(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        dispatcher.utter_message(response="utter_verification_cancelled")
        # Named, so that no rule for the message's own intent runs after the form.
        return [*_RESET_FORM, SlotSet(PENDING_REQUEST, None), hand_over(FINISH_VERIFICATION)]

    def escalate(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """A person or a complaint needs no verification: the form ends and the escalation
        starts (action_start_escalation reads what the customer asked for)."""
        return [
            *_RESET_FORM,
            SlotSet(PENDING_REQUEST, None),
            SlotSet(REQUESTED_SLOT, None),
            hand_over(START_ESCALATION),
        ]

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # Locked out, too many codes or a dead backend end the form (see _send_code).
        return [] if tracker.get_slot(VERIFICATION_HALTED) else domain_slots

    def validate_phone_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "my number is 138 0000 0001" as well as the bare number.
        msisdn = next(iter(find_msisdns(str(value))), None) or normalise_msisdn(str(value))
        if msisdn is None:
            dispatcher.utter_message(response="utter_invalid_phone_number")
            return {PHONE_NUMBER: None}
        return _send_code(dispatcher, tracker, msisdn)

    def validate_otp_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        msisdn = tracker.get_slot(PHONE_NUMBER)
        code = normalise_code(str(value))
        if not msisdn:
            return {OTP_CODE: None}
        if code is None:
            dispatcher.utter_message(response="utter_invalid_code")
            return {OTP_CODE: None}
        service = account_service()
        try:
            result = service.check_verification_code(msisdn, code, tracker.sender_id)
            if result.outcome == VerificationOutcome.VERIFIED:
                line = service.get_line(msisdn)
        except SQLAlchemyError:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {OTP_CODE: None, VERIFICATION_HALTED: True}

        if result.outcome == VerificationOutcome.VERIFIED:
            dispatcher.utter_message(response="utter_verified", name=line.customer_name)
            remember_chat(tracker, msisdn)
            verified = {OTP_CODE: "verified", VERIFIED_MSISDN: msisdn, VERIFIED_AT: time.time()}
            parked = parked_request(tracker)
            return {**verified, HANDOFF: parked["action"]} if parked else verified
        if result.outcome == VerificationOutcome.WRONG_CODE:
            dispatcher.utter_message(
                response="utter_wrong_code", attempts_left=result.attempts_left
            )
            return {OTP_CODE: None}
        if result.outcome == VerificationOutcome.LOCKED:
            return _refused(dispatcher, msisdn, "utter_verification_locked", result.retry_at)
        # Expired, or no code for this conversation: a new one.
        return _send_code(dispatcher, tracker, msisdn, sent="utter_code_expired")


def _send_code(
    dispatcher: CollectingDispatcher, tracker: Tracker, msisdn: str, sent: str = "utter_code_sent"
) -> dict[str, Any]:
    """Send a code for this conversation and say so with `sent`. A number that is not a
    customer's is answered the same. Locked out, too many codes or a dead backend end the
    form: asking again would not help."""
    try:
        result = account_service().send_verification_code(msisdn, tracker.sender_id)
    except SQLAlchemyError:
        dispatcher.utter_message(response="utter_backend_unavailable")
        return {PHONE_NUMBER: None, OTP_CODE: None, VERIFICATION_HALTED: True}
    if result.outcome == VerificationOutcome.CODE_SENT:
        dispatcher.utter_message(response=sent, masked=mask_msisdn(msisdn))
        return {PHONE_NUMBER: msisdn, OTP_CODE: None}
    refusal = (
        "utter_code_throttled"
        if result.outcome == VerificationOutcome.THROTTLED
        else "utter_verification_locked"
    )
    return _refused(dispatcher, msisdn, refusal, result.retry_at)


def _refused(
    dispatcher: CollectingDispatcher, msisdn: str, response: str, retry_at: datetime | None
) -> dict[str, Any]:
    dispatcher.utter_message(
        response=response,
        masked=mask_msisdn(msisdn),
        until=format_datetime(retry_at) if retry_at else "",
    )
    return {PHONE_NUMBER: None, OTP_CODE: None, VERIFICATION_HALTED: True}


_RESET_FORM = [
    SlotSet(PHONE_NUMBER, None),
    SlotSet(OTP_CODE, None),
    SlotSet(VERIFICATION_HALTED, None),
    SlotSet(HANDOFF, None),
]


class ActionStartVerification(Action):
    """The customer asks to be verified (often giving the number in the same message)."""

    def name(self) -> str:
        return "action_start_verification"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        msisdn = verified_number(tracker)
        if msisdn:
            dispatcher.utter_message(response="utter_already_verified", masked=mask_msisdn(msisdn))
            return handoff_taken(tracker)
        # A yes to an offer to verify has been taken: the question is answered.
        return [
            *forget_expired_verification(dispatcher, tracker),
            SlotSet(PENDING_CONFIRMATION, None),
            hand_over(VERIFICATION_FORM),
        ]


FINISH_VERIFICATION = "action_finish_verification"


class ActionFinishVerification(Action):
    """After the verification form, unless a parked request took over: a verified customer
    who asked only to be verified is asked what they need; a request whose customer could
    not be verified is forgotten."""

    def name(self) -> str:
        return "action_finish_verification"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not verified_number(tracker):
            return [*_RESET_FORM, SlotSet(PENDING_REQUEST, None)]
        dispatcher.utter_message(response="utter_how_can_i_help")
        return _RESET_FORM


class ActionSignOut(Action):
    """ "Sign me out", "forget my number": the verification ends now; account data needs a
    new code, and reminders no longer come to this chat."""

    def name(self) -> str:
        return "action_sign_out"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        signed_in = verified_number(tracker) is not None
        dispatcher.utter_message(
            response="utter_signed_out" if signed_in else "utter_not_signed_in"
        )
        forget_chat(tracker)
        return verification_ended()


class ActionGoodbye(Action):
    """A goodbye ends the verification too: whoever picks up the device next is a stranger.
    It ends the conversation: one the assistant handled alone is offered a rating."""

    def name(self) -> str:
        return "action_goodbye"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_goodbye")
        return [*verification_ended(), *offer_rating(tracker, closing=True)]
