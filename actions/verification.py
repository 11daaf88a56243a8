"""Identity verification: phone number, one-time code by SMS, then the parked request.

Only `validate_verification_form` sets `verified_msisdn`, and only after the backend has
accepted the code sent to that number. In the same answer it hands over to the request that
was parked for verification, which runs as soon as the form ends: the customer's message with
the code is answered after two calls to this server instead of three (docs/benchmarks.md).
"""
from __future__ import annotations

import re
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from telecom_assistant.backend.interface import (
    OTP_LENGTH,
    UnknownLine,
    VerificationOutcome,
    VerificationResult,
)
from telecom_assistant.backend.msisdn import find_msisdns, mask_msisdn, normalise_msisdn

from .common import (
    HANDOFF,
    PENDING_CONFIRMATION,
    PENDING_REQUEST,
    VERIFICATION_FORM,
    VERIFIED_MSISDN,
    account_service,
    day,
    hand_over,
    handoff_taken,
    parked_request,
)
from .escalation import START_ESCALATION
from .forms import REQUESTED_SLOT, ListeningFormValidation

VERIFICATION_HALTED = "verification_halted"
PHONE_NUMBER = "phone_number"
OTP_CODE = "otp_code"


def normalise_code(text: Optional[str]) -> Optional[str]:
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
            response="utter_invalid_phone_number" if slot == PHONE_NUMBER else "utter_invalid_code")

    def stop(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        dispatcher.utter_message(response="utter_verification_cancelled")
        # Named, so that no rule for the message's own intent runs after the form.
        return [*_RESET_FORM, SlotSet(PENDING_REQUEST, None), hand_over(FINISH_VERIFICATION)]

    def escalate(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """A person or a complaint needs no verification: the form ends and the escalation
        starts (action_start_escalation reads what the customer asked for)."""
        return [*_RESET_FORM, SlotSet(PENDING_REQUEST, None), SlotSet(REQUESTED_SLOT, None),
                hand_over(START_ESCALATION)]

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # A locked number or a dead backend ends the form: asking again would not help.
        return [] if tracker.get_slot(VERIFICATION_HALTED) else domain_slots

    def validate_phone_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # "my number is 138 0000 0001" as well as the bare number.
        msisdn = next(iter(find_msisdns(str(value))), None) or normalise_msisdn(str(value))
        if msisdn is None:
            dispatcher.utter_message(response="utter_invalid_phone_number")
            return {PHONE_NUMBER: None}
        try:
            result = account_service().send_verification_code(msisdn)
        except UnknownLine:
            dispatcher.utter_message(response="utter_unknown_line", masked=mask_msisdn(msisdn))
            return {PHONE_NUMBER: None}
        except SQLAlchemyError:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {PHONE_NUMBER: None, VERIFICATION_HALTED: True}
        if result.outcome == VerificationOutcome.LOCKED:
            return _locked(dispatcher, msisdn, result)
        dispatcher.utter_message(response="utter_code_sent", masked=mask_msisdn(msisdn))
        return {PHONE_NUMBER: msisdn, OTP_CODE: None}

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
            result = service.check_verification_code(msisdn, code)
            if result.outcome == VerificationOutcome.VERIFIED:
                line = service.get_line(msisdn)
            elif result.outcome in (VerificationOutcome.EXPIRED, VerificationOutcome.NO_CODE):
                resent = service.send_verification_code(msisdn)
        except SQLAlchemyError:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {OTP_CODE: None, VERIFICATION_HALTED: True}

        if result.outcome == VerificationOutcome.VERIFIED:
            dispatcher.utter_message(response="utter_verified", name=line.customer_name)
            verified = {OTP_CODE: "verified", VERIFIED_MSISDN: msisdn}
            parked = parked_request(tracker)
            return {**verified, HANDOFF: parked["action"]} if parked else verified
        if result.outcome == VerificationOutcome.WRONG_CODE:
            dispatcher.utter_message(response="utter_wrong_code", attempts_left=result.attempts_left)
            return {OTP_CODE: None}
        if result.outcome == VerificationOutcome.LOCKED:
            return _locked(dispatcher, msisdn, result)
        if resent.outcome == VerificationOutcome.LOCKED:
            return _locked(dispatcher, msisdn, resent)
        dispatcher.utter_message(response="utter_code_expired", masked=mask_msisdn(msisdn))
        return {OTP_CODE: None}


def _locked(
    dispatcher: CollectingDispatcher, msisdn: str, result: VerificationResult
) -> dict[str, Any]:
    dispatcher.utter_message(
        response="utter_verification_locked",
        masked=mask_msisdn(msisdn),
        until=day(result.locked_until),
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
        msisdn = tracker.get_slot(VERIFIED_MSISDN)
        if msisdn:
            dispatcher.utter_message(response="utter_already_verified", masked=mask_msisdn(msisdn))
            return handoff_taken(tracker)
        # A yes to an offer to verify has been taken: the question is answered.
        return [SlotSet(PENDING_CONFIRMATION, None), hand_over(VERIFICATION_FORM)]


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
        if not tracker.get_slot(VERIFIED_MSISDN):
            return [*_RESET_FORM, SlotSet(PENDING_REQUEST, None)]
        dispatcher.utter_message(response="utter_how_can_i_help")
        return _RESET_FORM
