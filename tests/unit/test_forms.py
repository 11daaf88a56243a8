"""Forms that yield and listen (actions/forms.py), without a model: what each kind of message
does to the verification and complaint forms."""

from __future__ import annotations

import json

import pytest

from actions.escalation import ActionFileTicket, ActionStartEscalation, ValidateComplaintForm
from actions.verification import ValidateVerificationForm
from tests.actions_support import make_tracker, responses, run_action


def slot_events(events: list[dict]) -> dict:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def rejected(events: list[dict]) -> bool:
    return any(e["event"] == "action_execution_rejected" for e in events)


def verifying(
    text: str, intent: str = "inform", slot: str = "phone_number", confidence=0.9, **slots
):
    tracker = make_tracker(text, intent, slots={"requested_slot": slot, **slots})
    tracker.latest_message["intent"]["confidence"] = confidence
    return tracker


def complaining(
    text: str,
    intent: str = "inform",
    slot: str = "complaint_description",
    trigger: str = "complaint",
    **slots,
):
    escalation = json.dumps(
        {"trigger": trigger, "proposed": slots.pop("proposed", None), "network_issue": None}
    )
    return make_tracker(
        text,
        intent,
        slots={
            "requested_slot": slot,
            "escalation": escalation,
            "handoff": "complaint_form",
            **slots,
        },
    )


@pytest.mark.parametrize(
    "text",
    [
        "cancel",
        "never mind",
        "forget it",
        "stop",
        "取消",
        "算了",
        "不用了",
        "不办了",
        "不弄了",
        "ok forget it thanks",
        "那算了吧",
    ],
)
@pytest.mark.parametrize(
    "form, tracker, said",
    [
        (ValidateVerificationForm, verifying, "utter_verification_cancelled"),
        (ValidateComplaintForm, complaining, "utter_escalation_cancelled"),
    ],
)
def test_stop_words_end_every_form_with_nothing_changed(text, form, tracker, said):
    messages, events = run_action(form(), tracker(text, "unsubscribe"))
    assert responses(messages) == [said]
    slots = slot_events(events)
    assert slots["requested_slot"] is None
    assert not rejected(events)


def test_a_stopped_complaint_files_nothing(actions_tickets):
    _, events = run_action(ValidateComplaintForm(), complaining("取消"))
    messages, _ = run_action(ActionFileTicket(), make_tracker("取消", slots=slot_events(events)))
    assert messages == []
    assert actions_tickets.tickets_for_line("13800000002") == []


@pytest.mark.parametrize(
    "text, intent",
    [("can I just speak to someone", "request_human"), ("我要投诉", "file_complaint")],
)
def test_a_person_or_a_complaint_wins_over_verification(text, intent):
    messages, events = run_action(ValidateVerificationForm(), verifying(text, intent))
    slots = slot_events(events)
    assert slots["requested_slot"] is None and slots["handoff"] == "action_start_escalation"
    assert slots["pending_request"] is None
    assert messages == []


@pytest.mark.parametrize("slot", ["phone_number", "otp_code"])
def test_signing_out_while_verifying_stops_verification(slot):
    messages, events = run_action(
        ValidateVerificationForm(), verifying("actually forget my number", "sign_out", slot=slot)
    )
    assert responses(messages) == ["utter_verification_cancelled"]
    slots = slot_events(events)
    assert slots["requested_slot"] is None and slots["pending_request"] is None


def test_a_doubtful_sign_out_is_not_taken_for_one():
    messages, _ = run_action(
        ValidateVerificationForm(), verifying("out of town", "sign_out", confidence=0.3)
    )
    assert responses(messages) == ["utter_invalid_phone_number"]


def test_a_question_inside_verification_is_answered_and_the_form_resumes():
    _, events = run_action(
        ValidateVerificationForm(),
        verifying("what 5G plans do you have", "ask_tariff", slot="otp_code"),
    )
    # Rasa rejects the form for this turn: the question's rule answers, the form asks again.
    assert rejected(events)
    assert slot_events(events) == {"otp_code": None}


def test_a_doubtful_question_is_not_taken_for_one():
    _, events = run_action(
        ValidateVerificationForm(), verifying("hmm which one", "ask_tariff", confidence=0.3)
    )
    assert not rejected(events)


def test_two_unusable_answers_offer_a_way_out():
    messages, events = run_action(ValidateVerificationForm(), verifying("dunno", "nlu_fallback"))
    assert responses(messages) == ["utter_invalid_phone_number"]
    assert slot_events(events)["form_misses"] == 1
    messages, events = run_action(
        ValidateVerificationForm(), verifying("????", "nlu_fallback", form_misses=1.0)
    )
    assert responses(messages) == ["utter_offer_way_out"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/request_human", "/deny"]
    assert slot_events(events)["phone_number"] is None


def way_out_offered(text: str, intent: str):
    offer = {
        "event": "bot",
        "text": "We seem to be stuck",
        "data": {
            "buttons": [
                {"title": "Try again", "payload": "/affirm"},
                {"title": "Talk to a person", "payload": "/request_human"},
                {"title": "Stop here", "payload": "/deny"},
            ]
        },
    }
    tracker = verifying(text, intent, form_misses=2.0)
    tracker.events.insert(-1, offer)
    return tracker


def test_the_way_out_buttons_work_pressed_or_typed():
    _, events = run_action(ValidateVerificationForm(), way_out_offered("Try again", "nlu_fallback"))
    assert slot_events(events) == {
        "phone_number": None,
        "form_misses": None,
        "requested_slot": "phone_number",
    }
    _, events = run_action(
        ValidateVerificationForm(), way_out_offered("talk to a person", "nlu_fallback")
    )
    assert slot_events(events)["handoff"] == "action_start_escalation"
    messages, events = run_action(ValidateVerificationForm(), way_out_offered("/deny", "deny"))
    assert responses(messages) == ["utter_verification_cancelled"]


def test_a_typed_category_title_works_like_the_button():
    tracker = complaining("Billing", slot="complaint_category")
    tracker.events.insert(
        -1,
        {
            "event": "bot",
            "text": "Which kind?",
            "data": {
                "buttons": [
                    {"title": "billing", "payload": '/inform{"complaint_category":"billing"}'}
                ]
            },
        },
    )
    _, events = run_action(ValidateComplaintForm(), tracker)
    assert slot_events(events)["complaint_category"] == "billing"


@pytest.mark.parametrize("text", ["yes", "no", "13912345678"])
def test_a_yes_a_no_or_a_phone_number_is_not_a_spam_text(text):
    tracker = complaining(
        text, "affirm" if text == "yes" else "inform", slot="spam_content", trigger="spam"
    )
    _, events = run_action(ValidateComplaintForm(), tracker)
    assert slot_events(events).get("spam_content") is None


def test_a_callback_number_in_the_description_is_the_contact():
    text = "you cut my line for no reason, call my wife on 139 1234 5678"
    tracker = complaining(text, complaint_contact="13800000002", complaint_description=text)
    # What Rasa's slot mapping extracted from the message, for the validator to check.
    tracker.events.append({"event": "slot", "name": "complaint_description", "value": text})
    _, events = run_action(ValidateComplaintForm(), tracker)
    assert slot_events(events)["complaint_contact"] == "13912345678"


def test_a_spam_report_said_in_one_breath_fills_the_form():
    tracker = make_tracker(
        "Spam from 10690000321 saying my account is frozen, click the link", "report_spam"
    )
    messages, events = run_action(ActionStartEscalation(), tracker)
    slots = slot_events(events)
    assert slots["spam_sender"] == "10690000321"
    assert "frozen" in slots["spam_content"]
    assert slots["complaint_contact"] is None  # not verified: the form asks for a number


def test_a_bare_request_for_a_complaint_describes_nothing():
    _, events = run_action(
        ActionStartEscalation(),
        make_tracker("I want to file a complaint about my bill", "file_complaint"),
    )
    assert slot_events(events)["complaint_description"] is None
    _, events = run_action(
        ActionStartEscalation(),
        make_tracker(
            "I want to complain: your ad said unlimited data but I'm throttled after 40GB",
            "file_complaint",
        ),
    )
    assert "throttled" in slot_events(events)["complaint_description"]


def test_the_question_is_not_repeated_under_the_way_out():
    from actions.forms import ActionAskOtpCode

    messages, _ = run_action(ActionAskOtpCode(), make_tracker(slots={"form_misses": 2.0}))
    assert messages == []
    messages, _ = run_action(ActionAskOtpCode(), make_tracker(slots={"form_misses": None}))
    assert responses(messages) == ["utter_ask_otp_code"]


def test_every_action_registers_with_the_action_server():
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    assert {
        "action_ask_phone_number",
        "validate_complaint_form",
        "action_handle_confirmation",
    } <= set(executor.actions)
