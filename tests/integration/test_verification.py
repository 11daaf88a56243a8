"""Identity verification rules: what the form accepts, who may set the slots that grant access
to account data, how long a verification lasts and how it ends."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from actions import common
from actions.common import verified_number
from actions.network import ActionNumberPortability
from actions.usage import ActionCheckBill
from actions.verification import (
    ActionFinishVerification,
    ActionGoodbye,
    ActionSignOut,
    ActionStartVerification,
    ValidateVerificationForm,
)
from telecom_assistant.accounts.msisdn import mask_msisdn, normalise_msisdn
from telecom_assistant.accounts.tables import SmsOutboxRow
from telecom_assistant.settings import Verification
from tests.actions_support import (
    DOMAIN,
    handoffs,
    make_tracker,
    parked,
    responses,
    run_action,
    slot_events,
)

GRANTING_SLOTS = [
    "verified_msisdn",
    "verified_at",
    "pending_request",
    "pending_confirmation",
    "verification_halted",
    "handoff",
]
CUSTOMER = "test-conversation"
MINUTE = 60


def validate(slot: str, value: str, conversation: str = CUSTOMER, **slots):
    form = ValidateVerificationForm()
    dispatcher = common.CollectingDispatcher()
    tracker = make_tracker(value, "inform", slots=slots, sender_id=conversation)
    result = getattr(form, f"validate_{slot}")(value, dispatcher, tracker, DOMAIN)
    return dispatcher.messages, result


def code_sent_to(service, msisdn: str) -> str:
    return re.search(r"\b\d{6}\b", service.latest_sms(msisdn)).group()


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def sms_count(engine, msisdn: str) -> int:
    with Session(engine) as session:
        return session.scalar(
            select(func.count()).select_from(SmsOutboxRow).where(SmsOutboxRow.msisdn == msisdn)
        )


@pytest.mark.parametrize(
    "text, msisdn",
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("my number is 138 1234 5678", "13812345678"),
        ("1381234567", None),
        ("12812345678", None),
        ("138123456789", None),
        ("", None),
        ("😀📱", None),
        ("call me maybe", None),
    ],
)
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

    def test_an_unknown_number_is_answered_like_a_customers(self, actions_service):
        """Nobody learns from the answer whether a number is ours."""
        unknown = validate("phone_number", "13999999999")
        known = validate("phone_number", "13800000002", conversation="another-conversation")
        assert responses(unknown[0]) == responses(known[0]) == ["utter_code_sent"]
        assert unknown[0][0]["masked"] == "139****9999"
        assert unknown[1] == {"phone_number": "13999999999", "otp_code": None}
        assert actions_service.latest_sms("13999999999") is None
        # Whatever code is typed, it is a wrong one, counted like any other.
        answers = [
            validate("otp_code", code, phone_number="13999999999")
            for code in ("000000", "123456", "999999")
        ]
        assert [responses(m) for m, _ in answers] == [
            ["utter_wrong_code"],
            ["utter_wrong_code"],
            ["utter_verification_locked"],
        ]

    def test_right_code_grants_access_from_now(self, actions_service):
        validate("phone_number", "13800000002")
        code = code_sent_to(actions_service, "13800000002")
        before = time.time()
        messages, slots = validate("otp_code", f" {code} ", phone_number="13800000002")
        assert responses(messages) == ["utter_verified"]
        assert slots["verified_msisdn"] == "13800000002"
        assert before <= slots["verified_at"] <= time.time()
        assert slots["otp_code"] != code  # the code itself is not kept in the conversation
        assert "handoff" not in slots  # nothing was parked: the form's end asks what next

    def test_a_code_works_only_in_the_conversation_that_asked_for_it(self, actions_service):
        validate("phone_number", "13800000002", conversation="customer")
        code = code_sent_to(actions_service, "13800000002")
        messages, slots = validate(
            "otp_code", code, conversation="stranger", phone_number="13800000002"
        )
        assert "verified_msisdn" not in slots
        # The stranger has no code of their own: one is sent, to the customer's phone.
        assert responses(messages) == ["utter_code_expired"]
        _, slots = validate("otp_code", code, conversation="customer", phone_number="13800000002")
        assert slots["verified_msisdn"] == "13800000002"

    def test_right_code_hands_over_to_the_parked_request(self, actions_service):
        validate("phone_number", "13800000002")
        code = code_sent_to(actions_service, "13800000002")
        messages, slots = validate(
            "otp_code",
            code,
            phone_number="13800000002",
            pending_request=parked("action_check_usage", "my data", {}),
        )
        assert responses(messages) == ["utter_verified"]
        assert slots["handoff"] == "action_check_usage"

    def test_wrong_code_does_not_hand_over(self, actions_service):
        validate("phone_number", "13800000002")
        code = code_sent_to(actions_service, "13800000002")
        _, slots = validate(
            "otp_code",
            wrong(code),
            phone_number="13800000002",
            pending_request=parked("action_check_usage", "my data", {}),
        )
        assert "handoff" not in slots and "verified_msisdn" not in slots

    def test_wrong_codes_then_lock(self, actions_service):
        validate("phone_number", "13800000002")
        code = code_sent_to(actions_service, "13800000002")
        results = [validate("otp_code", wrong(code), phone_number="13800000002") for _ in range(3)]
        assert [responses(m) for m, _ in results] == [
            ["utter_wrong_code"],
            ["utter_wrong_code"],
            ["utter_verification_locked"],
        ]
        assert results[0][0][0]["attempts_left"] == 2
        assert results[2][0][0]["until"] == "2026-11-23 10:15"
        assert results[2][1]["verification_halted"] is True
        assert all("verified_msisdn" not in slots for _, slots in results)

    def test_a_locked_conversation_cannot_restart_but_another_can(self, actions_service):
        validate("phone_number", "13800000002", conversation="stranger")
        code = code_sent_to(actions_service, "13800000002")
        for _ in range(3):
            validate("otp_code", wrong(code), conversation="stranger", phone_number="13800000002")
        messages, slots = validate("phone_number", "13800000002", conversation="stranger")
        assert responses(messages) == ["utter_verification_locked"]
        assert slots["verification_halted"] is True
        messages, _ = validate("phone_number", "13800000002", conversation="customer")
        assert responses(messages) == ["utter_code_sent"]

    def test_expired_code_sends_a_new_one(self, actions_service, clock):
        validate("phone_number", "13800000002")
        old = code_sent_to(actions_service, "13800000002")
        clock.advance(minutes=6)
        messages, slots = validate("otp_code", old, phone_number="13800000002")
        assert responses(messages) == ["utter_code_expired"]
        assert slots == {"phone_number": "13800000002", "otp_code": None}
        new = code_sent_to(actions_service, "13800000002")
        messages, slots = validate("otp_code", new, phone_number="13800000002")
        assert slots["verified_msisdn"] == "13800000002"

    def test_too_many_codes_are_refused_with_a_time_to_come_back(self, actions_service, clock):
        for number in ("13800000002", "13800000003", "13800000004"):
            validate("phone_number", number)
        messages, slots = validate("phone_number", "13800000005")
        assert responses(messages) == ["utter_code_throttled"]
        assert messages[0]["until"] == "2026-11-23 10:10"
        assert slots["verification_halted"] is True and slots["phone_number"] is None
        assert actions_service.latest_sms("13800000005") is None

    def test_a_new_code_after_an_expired_one_counts_too(
        self, actions_service, sqlite_engine, clock
    ):
        validate("phone_number", "13800000002")
        old = code_sent_to(actions_service, "13800000002")
        for conversation in ("second", "third"):
            validate("phone_number", "13800000002", conversation=conversation)
        clock.advance(minutes=6)
        messages, slots = validate("otp_code", old, phone_number="13800000002")
        assert responses(messages) == ["utter_code_throttled"]
        assert slots["verification_halted"] is True
        assert sms_count(sqlite_engine, "13800000002") == 3

    def test_code_must_have_six_digits(self, actions_service):
        messages, slots = validate("otp_code", "12345", phone_number="13800000002")
        assert responses(messages) == ["utter_invalid_code"]

    def test_halted_form_asks_nothing_more(self, actions_service):
        form = ValidateVerificationForm()
        tracker = make_tracker(slots={"verification_halted": True})
        remaining = asyncio.run(
            form.required_slots(["phone_number", "otp_code"], None, tracker, DOMAIN)
        )
        assert remaining == []


def at_the_code_question(text: str, intent: str = "inform", number: str = "13800000002"):
    return make_tracker(text, intent, slots={"requested_slot": "otp_code", "phone_number": number})


class TestNewCodeAtTheCodeQuestion:
    def test_didnt_get_it_sends_another(self, actions_service, sqlite_engine):
        validate("phone_number", "13800000002")
        messages, events = run_action(
            ValidateVerificationForm(),
            at_the_code_question("never got any sms, send it again", "verify_identity"),
        )
        assert responses(messages) == ["utter_code_sent"]
        assert slot_events(events)["phone_number"] == "13800000002"
        assert sms_count(sqlite_engine, "13800000002") == 2

    def test_a_number_typed_instead_gets_the_code(self, actions_service):
        validate("phone_number", "13800000002")
        messages, events = run_action(
            ValidateVerificationForm(), at_the_code_question("sorry it's 138 0000 0003")
        )
        assert responses(messages) == ["utter_code_sent"]
        assert messages[0]["masked"] == "138****0003"
        assert slot_events(events)["phone_number"] == "13800000003"
        assert actions_service.latest_sms("13800000003")

    def test_a_fourth_code_is_refused_and_verification_ends(self, actions_service, sqlite_engine):
        validate("phone_number", "13800000002")
        for _ in range(2):
            run_action(
                ValidateVerificationForm(),
                at_the_code_question("didn't come, resend", "verify_identity"),
            )
        messages, events = run_action(
            ValidateVerificationForm(),
            at_the_code_question("still nothing, resend", "verify_identity"),
        )
        assert responses(messages) == ["utter_code_throttled"]
        slots = slot_events(events)
        assert slots["verification_halted"] is True and slots["requested_slot"] is None
        assert sms_count(sqlite_engine, "13800000002") == 3

    def test_a_code_is_not_a_request_for_another(self, actions_service, sqlite_engine):
        validate("phone_number", "13800000002")
        code = code_sent_to(actions_service, "13800000002")
        messages, _ = run_action(
            ValidateVerificationForm(),
            at_the_code_question(f"ok verify me: {code}", "verify_identity"),
        )
        assert "utter_code_sent" not in responses(messages)
        assert sms_count(sqlite_engine, "13800000002") == 1


class TestAroundTheForm:
    def test_verified_without_a_parked_request_is_asked_what_next(self):
        messages, events = run_action(
            ActionFinishVerification(), make_tracker(slots={"verified_msisdn": "13800000002"})
        )
        assert responses(messages) == ["utter_how_can_i_help"]
        assert handoffs(events) == []

    def test_failed_verification_forgets_the_request(self):
        tracker = make_tracker(
            slots={
                "pending_request": parked("action_check_bill", "my bill", {}),
                "verification_halted": True,
            }
        )
        _, events = run_action(ActionFinishVerification(), tracker)
        assert handoffs(events) == []
        assert slot_events(events)["pending_request"] is None

    def test_already_verified(self):
        messages, events = run_action(
            ActionStartVerification(), make_tracker(slots={"verified_msisdn": "13800000002"})
        )
        assert responses(messages) == ["utter_already_verified"]
        assert handoffs(events) == []

    def test_asking_to_verify_after_expiry_verifies_again(self):
        tracker = make_tracker(
            slots={"verified_msisdn": "13800000002", "verified_at": time.time() - 121 * MINUTE}
        )
        messages, events = run_action(ActionStartVerification(), tracker)
        assert responses(messages) == ["utter_verification_expired"]
        assert slot_events(events)["verified_msisdn"] is None
        assert handoffs(events) == ["verification_form"]


def tracker_verified(verified_minutes_ago: float, previous_message_minutes_ago=None, **slots):
    now = time.time()
    events = []
    if previous_message_minutes_ago is not None:
        events.append(
            {
                "event": "user",
                "text": "earlier",
                "timestamp": now - previous_message_minutes_ago * MINUTE,
            }
        )
    return make_tracker(
        "what's my bill",
        "check_bill",
        events=events,
        slots={
            "verified_msisdn": "13800000002",
            "verified_at": now - verified_minutes_ago * MINUTE,
            **slots,
        },
    )


class TestHowLongAVerificationLasts:
    @pytest.mark.parametrize(
        "verified, previous_message, granted",
        [
            (1, 1, True),
            (100, 14, True),  # active all along
            (100, 16, False),  # silent longer than 15 minutes
            (121, 1, False),  # verified more than two hours ago, however active
            (10, 25, True),  # verifying took long: silence counts from the verification
            (16, None, False),  # no earlier message in this session
            (5, None, True),
        ],
    )
    def test_idle_and_absolute_limits(self, verified, previous_message, granted):
        tracker = tracker_verified(verified, previous_message)
        assert verified_number(tracker) == ("13800000002" if granted else None)

    def test_a_verification_without_its_time_grants_nothing(self):
        tracker = make_tracker(slots={"verified_msisdn": "13800000002", "verified_at": None})
        assert verified_number(tracker) is None

    def test_the_limits_are_the_configured_ones(self, monkeypatch):
        tracker = tracker_verified(3, 2)
        assert verified_number(tracker) == "13800000002"
        monkeypatch.setattr(common, "_verification", Verification(idle_minutes=1, max_minutes=10))
        assert verified_number(tracker) is None

    def test_an_expired_verification_is_announced_and_the_request_kept(self, actions_service):
        messages, events = run_action(ActionCheckBill(), tracker_verified(100, 20))
        assert responses(messages) == ["utter_verification_expired"]
        slots = slot_events(events)
        assert slots["verified_msisdn"] is None and slots["verified_at"] is None
        assert json.loads(slots["pending_request"])["action"] == "action_check_bill"
        assert handoffs(events) == ["verification_form"]

    def test_an_expired_verification_before_an_offer_to_verify(self, actions_service):
        messages, events = run_action(ActionNumberPortability(), tracker_verified(130, 1))
        said = responses(messages)
        assert said[0] == "utter_port_conditions"
        assert said[-2:] == ["utter_verification_expired", "utter_port_verify_to_check"]
        assert slot_events(events)["verified_msisdn"] is None

    def test_a_fresh_verification_answers(self, actions_service):
        messages, _ = run_action(ActionCheckBill(), tracker_verified(30, 2))
        assert "utter_bill_summary" in responses(messages)


# The form's answers too: the next verification asks for the number again.
CLEARED = {
    "verified_msisdn": None,
    "verified_at": None,
    "pending_confirmation": None,
    "pending_request": None,
    "phone_number": None,
    "otp_code": None,
}


class TestEndingVerification:
    def test_sign_out(self):
        tracker = make_tracker(
            "log me out",
            "sign_out",
            slots={
                "verified_msisdn": "13800000002",
                "pending_confirmation": json.dumps({"action": "action_confirm_unsubscribe"}),
            },
        )
        messages, events = run_action(ActionSignOut(), tracker)
        assert responses(messages) == ["utter_signed_out"]
        assert slot_events(events) == CLEARED

    def test_sign_out_without_a_verification(self):
        messages, events = run_action(ActionSignOut(), make_tracker("log me out", "sign_out"))
        assert responses(messages) == ["utter_not_signed_in"]
        assert slot_events(events) == CLEARED

    def test_goodbye_ends_the_verification(self):
        tracker = make_tracker("bye", "goodbye", slots={"verified_msisdn": "13800000002"})
        messages, events = run_action(ActionGoodbye(), tracker)
        assert responses(messages) == ["utter_goodbye"]
        assert slot_events(events) == CLEARED

    def test_after_signing_out_account_data_needs_a_code_again(self, actions_service):
        _, events = run_action(
            ActionSignOut(),
            make_tracker("sign out", "sign_out", slots={"verified_msisdn": "13800000002"}),
        )
        messages, events = run_action(
            ActionCheckBill(), make_tracker("my bill", "check_bill", slots=slot_events(events))
        )
        assert responses(messages) == ["utter_need_verification"]
        assert handoffs(events) == ["verification_form"]


@pytest.mark.parametrize("slot", GRANTING_SLOTS)
def test_slots_that_grant_access_are_set_only_by_actions(slot):
    """`custom` mappings are never filled from a message, entity or `/intent{...}` payload."""
    assert DOMAIN["slots"][slot]["mappings"] == [{"type": "custom"}]
    assert slot not in DOMAIN["entities"]
