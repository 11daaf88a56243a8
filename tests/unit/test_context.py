"""Answers read in the context of the assistant's own question, and the word lists behind
them, without a model (docs/conversations.md)."""

from __future__ import annotations

import json

import pytest

from actions.common import answer_in_context
from actions.conversation import ActionCapabilities
from telecom_assistant.accounts.tariffs import PlanWishes
from telecom_assistant.language import (
    asks_to_stop,
    declines_change,
    looks_like_question,
    opens_with_no,
    opens_with_yes,
    says_problem_persists,
)
from telecom_assistant.tickets.intake import (
    callback_number,
    describes_something,
    spam_content,
    spam_sender,
)
from tests.actions_support import handoffs, make_tracker, responses, run_action

FAULT_OFFER = {"action": "action_start_escalation", "trigger": "network_fault"}
UNSUBSCRIBE = {"action": "action_confirm_unsubscribe", "subjects": ["music_pack"]}
PLAN_CHANGE = {"action": "action_confirm_plan_change", "subjects": ["starter_5g_79"]}
VERIFY_OFFER = {"action": "action_start_verification"}


def asked(question: dict, text: str, intent: str, entities=None):
    """The customer's reply right after the assistant asked `question`."""
    pending = json.dumps({**question, "asked_at_turn": 1})
    return make_tracker(
        text,
        intent,
        entities,
        slots={"pending_confirmation": pending},
        events=[{"event": "user", "text": "earlier"}],
    )


@pytest.mark.parametrize(
    "question, text, intent, expected",
    [
        (FAULT_OFFER, "did all that, no luck", "deny", True),
        (FAULT_OFFER, "路由器拔了插了，还是上不了网", "report_network_issue", True),
        (FAULT_OFFER, "试过了 没用 还是掉", "check_usage", True),
        (FAULT_OFFER, "still not working", "nlu_fallback", True),
        (FAULT_OFFER, "no it's fine now", "deny", False),
        (FAULT_OFFER, "不用报了 我先按你说的试试", "report_network_issue", False),
        (UNSUBSCRIBE, "嗯，退了吧", "unsubscribe", True),
        (UNSUBSCRIBE, "yes get rid of it", "affirm", True),
        (UNSUBSCRIBE, "cancel it", "unsubscribe", True),
        (UNSUBSCRIBE, "hmm actually no, keep it, my dad needs it", "recommend_plan", False),
        (PLAN_CHANGE, "还要交500违约金啊 那不换了", "file_complaint", False),
        (PLAN_CHANGE, "yes switch me", "change_plan", True),
        (VERIFY_OFFER, "行 帮我查一下", "check_bill", True),
    ],
)
def test_a_reply_is_read_as_the_answer_to_the_question(question, text, intent, expected):
    assert answer_in_context(asked(question, text, intent)) is expected


@pytest.mark.parametrize(
    "question, text, intent, entities",
    [
        (UNSUBSCRIBE, "cancel the video one instead", "unsubscribe", {"addon": "video_vip"}),
        (UNSUBSCRIBE, "ok what's my bill", "check_bill", None),
        (FAULT_OFFER, "我还是想查一下账单", "check_bill", None),
        (PLAN_CHANGE, "how much data do I have left", "check_usage", None),
    ],
)
def test_another_request_is_not_an_answer(question, text, intent, entities):
    assert answer_in_context(asked(question, text, intent, entities)) is None


def test_a_question_the_customer_walked_away_from_is_not_answered():
    pending = json.dumps({**UNSUBSCRIBE, "asked_at_turn": 1})
    later = make_tracker(
        "yes",
        "affirm",
        slots={"pending_confirmation": pending},
        events=[{"event": "user", "text": "a"}, {"event": "user", "text": "b"}],
    )
    assert answer_in_context(later) is None


def test_never_ordered_says_no_to_the_add_on_not_to_cancelling_it():
    tracker = asked(UNSUBSCRIBE, "I never ordered it, cancel it", "unsubscribe")
    tracker.latest_message["entities"] = [
        {"entity": "consent_dispute", "value": "yes", "start": 2, "end": 15}
    ]
    assert answer_in_context(tracker) is True


@pytest.mark.parametrize(
    "text, stops",
    [
        ("cancel", True),
        ("stop here", True),
        ("never mind.", True),
        ("算了吧", True),
        ("不用了，谢谢", True),
        ("actually forget it, not worth the hassle", True),
        ("取消", True),
        ("cancel my music pack", False),
        ("stop spam from 10690000321", False),
        ("no", False),
    ],
)
def test_stop_words(text, stops):
    assert asks_to_stop(text) is stops


def test_yes_and_no_openers():
    assert opens_with_yes("嗯，退了吧") and opens_with_yes("ok do it")
    assert opens_with_no("hmm actually no") and opens_with_no("不要") and not opens_with_no("now")
    assert not opens_with_yes("no luck")
    assert says_problem_persists("still red") and not says_problem_persists("works now")
    assert declines_change("那不换了") and declines_change("hmm, keep it")
    assert looks_like_question("5G不限量套餐多少钱") and not looks_like_question("你们乱扣我钱")


def test_what_a_customer_asks_of_the_plans():
    wishes = PlanWishes.from_text("what 5G plans do you have and what do they cost?")
    assert (wishes.five_g, wishes.catalogue, wishes.own_plan) == (True, True, False)
    assert PlanWishes.from_text("最便宜的预付费套餐").cheapest
    assert PlanWishes.from_text("最便宜的预付费套餐").prepaid is True
    assert PlanWishes.from_text("我现在办的是什么套餐").own_plan


def test_what_a_complaint_already_says():
    spam = "Spam from 10690000321 saying my account is frozen, click the link"
    assert spam_sender(spam) == "10690000321" and "frozen" in spam_content(spam)
    assert spam_content("I got spam from 10690000321") is None
    assert callback_number("please call my wife on 139 1234 5678") == "13912345678"
    assert callback_number("I was charged for a call to 13912345678") is None
    assert not describes_something("I want to file a complaint about my bill")
    assert describes_something("you charged me twice for March")
    assert describes_something("我要投诉你们的广告说不限量结果限速了")


def test_a_place_named_right_after_a_5g_question_is_a_follow_up():
    from actions.conversation import ActionOutOfScope
    from tests.actions_support import run_action

    earlier = [
        {
            "event": "user",
            "text": "is there 5g in pudong",
            "parse_data": {"intent": {"name": "ask_5g"}},
        }
    ]
    follow_up = make_tracker(
        "what about chongming", "out_of_scope", {"district": "chongming"}, events=earlier
    )
    messages, events = run_action(ActionOutOfScope(), follow_up)
    assert messages == [] and events[-1]["value"] == "action_route_inform"
    weather = make_tracker("how's the weather in beijing", "out_of_scope", {"city": "beijing"})
    messages, _ = run_action(ActionOutOfScope(), weather)
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]


def test_a_yes_heard_as_a_question_about_what_the_assistant_does_answers_the_question():
    """ "可以，帮我看看" right after "shall I check with your number?" is a yes, whatever the model
    heard; asked with no question open, it gets the list of what the assistant does."""
    answering = asked(VERIFY_OFFER, "可以，帮我看看", "ask_capabilities")
    messages, events = run_action(ActionCapabilities(), answering)
    assert (messages, handoffs(events)) == ([], ["action_handle_confirmation"])

    messages, events = run_action(
        ActionCapabilities(), make_tracker("你能做什么", "ask_capabilities")
    )
    assert (responses(messages), handoffs(events)) == (["utter_capabilities"], [])
