"""Identity verification rules: what the form accepts, and who may set the slots that grant
access to account data."""
from __future__ import annotations

import json
import re

import pytest

from actions import common
from actions.verification import (
    ActionFinishVerification,
    ActionStartVerification,
    ValidateVerificationForm,
)
from telecom_assistant.backend.msisdn import mask_msisdn, normalise_msisdn

from .actions_support import (
    DOMAIN,
    handoffs,
    make_tracker,
    parked,
    responses,
    run_action,
    slot_events,
)

GRANTING_SLOTS = ["verified_msisdn", "pending_request", "pending_confirmation", "verification_halted",
                  "handoff"]


def validate(slot: str, value: str, **slots):
    form = ValidateVerificationForm()
    dispatcher = common.CollectingDispatcher()
    tracker = make_tracker(value, "inform", slots=slots)
    result = getattr(form, f"validate_{slot}")(value, dispatcher, tracker, DOMAIN)
    return dispatcher.messages, result


def code_sent_to(service, msisdn: str) -> str:
    return re.search(r"\b\d{6}\b", service.latest_sms(msisdn)).group()


@pytest.mark.parametrize("text, msisdn", [
    ("13812345678", "13812345678"), ("138 1234 5678", "13812345678"),
    ("+86 138-1234-5678", "13812345678"), ("8613812345678", "13812345678"),
    ("0086 13812345678", "13812345678"), ("my number is 138 1234 5678", "13812345678"),
    ("1381234567", None), ("12812345678", None), ("138123456789", None), ("", None),
    ("😀📱", None), ("call me maybe", None),
])
def test_phone_number_formats(text, msisdn):
    assert normalise_msisdn(text) == msisdn


def test_masking_keeps_only_prefix_and_last_four():
    assert mask_msisdn("13812345678") == "138****5678"


class TestForm:
    def test_valid_number_gets_a_code_by_sms_only(self, actions_service):
        messages, slots = validate("phone_number", "+86 138 0000 0002")
        assert responses(messages) == ["utter_code_sent"]
        assert slots == {"phone_number": "13800000002", "otp_code": None}
        code = code_sent_to(actions_service, "13800000002")
        assert code not in json.dumps(messages)

    @pytest.mark.parametrize("text", ["12345", "not a number", "😀", "x" * 5000])
    def test_bad_number_is_explained(self, actions_service, text):
        messages, slots = validate("phone_number", text)
        assert responses(messages) == ["utter_invalid_phone_number"]
        assert slots == {"phone_number": None}

    def test_unknown_number(self, actions_service):
        messages, slots = validate("phone_number", "13999999999")
        assert responses(messages) == ["utter_unknown_line"]
        assert messages[0]["masked"] == "139****9999"

    def test_right_code_grants_access(self, actions_service):
        validate("phone_number", "13800000002")
        code = code_sent_to(actions_service, "13800000002")
        messages, slots = validate("otp_code", f" {code} ", phone_number="13800000002")
        assert responses(messages) == ["utter_verified"]
        assert slots["verified_msisdn"] == "13800000002"
        assert slots["otp_code"] != code  # the code itself is not kept in the conversation
        assert "handoff" not in slots  # nothing was parked: the form's end asks what next

    def test_right_code_hands_over_to_the_parked_request(self, actions_service):
        validate("phone_number", "13800000002")
        code = code_sent_to(actions_service, "13800000002")
        messages, slots = validate("otp_code", code, phone_number="13800000002",
                                   pending_request=parked("action_check_usage", "my data", {}))
        assert responses(messages) == ["utter_verified"]
        assert slots["handoff"] == "action_check_usage"

    def test_wrong_code_does_not_hand_over(self, actions_service):
        validate("phone_number", "13800000002")
        code = code_sent_to(actions_service, "13800000002")
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        _, slots = validate("otp_code", wrong, phone_number="13800000002",
                            pending_request=parked("action_check_usage", "my data", {}))
        assert "handoff" not in slots and "verified_msisdn" not in slots

    def test_wrong_codes_then_lock(self, actions_service):
        validate("phone_number", "13800000002")
        code = code_sent_to(actions_service, "13800000002")
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        results = [validate("otp_code", wrong, phone_number="13800000002") for _ in range(3)]
        assert [responses(m) for m, _ in results] == [
            ["utter_wrong_code"], ["utter_wrong_code"], ["utter_verification_locked"]]
        assert results[0][0][0]["attempts_left"] == 2
        assert results[2][1]["verification_halted"] is True
        assert all("verified_msisdn" not in slots for _, slots in results)

    def test_locked_number_cannot_restart(self, actions_service):
        validate("phone_number", "13800000002")
        code = code_sent_to(actions_service, "13800000002")
        for _ in range(3):
            validate("otp_code", f"{(int(code) + 1) % 1_000_000:06d}", phone_number="13800000002")
        messages, slots = validate("phone_number", "13800000002")
        assert responses(messages) == ["utter_verification_locked"]
        assert slots["verification_halted"] is True

    def test_expired_code_sends_a_new_one(self, actions_service, clock):
        validate("phone_number", "13800000002")
        old = code_sent_to(actions_service, "13800000002")
        clock.advance(minutes=6)
        messages, slots = validate("otp_code", old, phone_number="13800000002")
        assert responses(messages) == ["utter_code_expired"]
        assert slots == {"otp_code": None}
        new = code_sent_to(actions_service, "13800000002")
        messages, slots = validate("otp_code", new, phone_number="13800000002")
        assert slots["verified_msisdn"] == "13800000002"

    def test_code_must_have_six_digits(self, actions_service):
        messages, slots = validate("otp_code", "12345", phone_number="13800000002")
        assert responses(messages) == ["utter_invalid_code"]

    def test_halted_form_asks_nothing_more(self, actions_service):
        form = ValidateVerificationForm()
        tracker = make_tracker(slots={"verification_halted": True})
        import asyncio
        remaining = asyncio.run(form.required_slots(["phone_number", "otp_code"], None, tracker, DOMAIN))
        assert remaining == []


class TestAroundTheForm:
    def test_verified_without_a_parked_request_is_asked_what_next(self):
        messages, events = run_action(ActionFinishVerification(),
                                      make_tracker(slots={"verified_msisdn": "13800000002"}))
        assert responses(messages) == ["utter_how_can_i_help"]
        assert handoffs(events) == []

    def test_failed_verification_forgets_the_request(self):
        tracker = make_tracker(slots={"pending_request": parked("action_check_bill", "my bill", {}),
                                      "verification_halted": True})
        _, events = run_action(ActionFinishVerification(), tracker)
        assert handoffs(events) == []
        assert slot_events(events)["pending_request"] is None

    def test_already_verified(self):
        messages, events = run_action(ActionStartVerification(),
                                      make_tracker(slots={"verified_msisdn": "13800000002"}))
        assert responses(messages) == ["utter_already_verified"]
        assert handoffs(events) == []


@pytest.mark.parametrize("slot", GRANTING_SLOTS)
def test_slots_that_grant_access_are_set_only_by_actions(slot):
    """`custom` mappings are never filled from a message, entity or `/intent{...}` payload."""
    assert DOMAIN["slots"][slot]["mappings"] == [{"type": "custom"}]
    assert slot not in DOMAIN["entities"]
