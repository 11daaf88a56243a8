"""Each custom action against a seeded SQLite backend, with hand-built trackers."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import create_engine

from actions import common
from actions.confirmation import ActionHandleConfirmation
from actions.conversation import ActionClarify, ActionRouteInform
from actions.network import ActionAsk5G, ActionNumberPortability
from actions.subscriptions import (
    ActionConfirmUnsubscribe,
    ActionListSubscriptions,
    ActionUnsubscribe,
)
from actions.tariffs import (
    ActionChangePlan,
    ActionConfirmPlanChange,
    ActionExplainTariff,
    ActionRecommendPlan,
)
from actions.usage import (
    ActionCheckBill,
    ActionCheckUsage,
    ActionExplainCharge,
    parse_amount,
)
from telecom_assistant.accounts.sql import SqlAccountService
from tests.actions_support import (
    handoffs,
    make_tracker,
    parked,
    responses,
    run_action,
    slot_events,
)

VERIFIED_ACTIONS = [
    ActionRecommendPlan,
    ActionChangePlan,
    ActionConfirmPlanChange,
    ActionCheckUsage,
    ActionCheckBill,
    ActionExplainCharge,
    ActionListSubscriptions,
    ActionUnsubscribe,
    ActionConfirmUnsubscribe,
]


def verified(msisdn: str, **slots):
    return {"verified_msisdn": msisdn, **slots}


def user_turns(count: int) -> list[dict]:
    return [{"event": "user", "text": f"turn {i}"} for i in range(count)]


@pytest.mark.parametrize("action_class", VERIFIED_ACTIONS)
def test_account_actions_need_verification_first(actions_service, action_class):
    tracker = make_tracker("cancel music pack", "unsubscribe", {"addon": "music_pack"})
    messages, events = run_action(action_class(), tracker)
    assert responses(messages) == ["utter_need_verification"]
    pending = json.loads(slot_events(events)["pending_request"])
    assert pending == {
        "action": action_class().name(),
        "text": "cancel music pack",
        "entities": {"addon": ["music_pack"]},
    }
    assert handoffs(events) == ["verification_form"]


@pytest.mark.parametrize("action_class", VERIFIED_ACTIONS)
def test_account_actions_after_the_verification_expired_verify_again(actions_service, action_class):
    tracker = make_tracker(
        "cancel music pack",
        "unsubscribe",
        {"addon": "music_pack"},
        slots=verified("13800000014", verified_at=time.time() - 3 * 60 * 60),
    )
    messages, events = run_action(action_class(), tracker)
    assert responses(messages) == ["utter_verification_expired"]
    slots = slot_events(events)
    assert slots["verified_msisdn"] is None and slots["verified_at"] is None
    assert json.loads(slots["pending_request"])["action"] == action_class().name()
    assert handoffs(events) == ["verification_form"]


def test_parked_request_is_answered_with_its_own_entities(actions_service):
    tracker = make_tracker(
        "482913",
        "inform",
        # Verification handed over to the parked request.
        slots=verified(
            "13800000014",
            handoff="action_unsubscribe",
            pending_request=parked(
                "action_unsubscribe", "cancel the music thing", {"addon": ["music_pack"]}
            ),
        ),
    )
    messages, events = run_action(ActionUnsubscribe(), tracker)
    assert responses(messages) == ["utter_confirm_unsubscribe"]
    assert messages[0]["addon_names"] == "Music Pack"
    assert slot_events(events)["pending_request"] is None


def test_a_new_request_is_not_answered_with_a_parked_one(actions_service):
    tracker = make_tracker(
        "what about chongming",
        "ask_5g",
        {"district": "chongming"},
        slots={
            "pending_request": parked("action_ask_5g", "5g in pudong", {"district": ["pudong"]})
        },
    )
    messages, _ = run_action(ActionAsk5G(), tracker)
    assert messages[0]["district"] == "Chongming"


class TestGreetingBeforeARequest:
    def test_greeting_is_returned_before_the_answer(self, actions_service):
        tracker = make_tracker(
            "hello 帮我看看这个月消费多少",
            "check_bill",
            slots=verified("13800000001", language="zh"),
        )
        messages, _ = run_action(ActionCheckBill(), tracker)
        assert responses(messages)[0] == "utter_greet_back"
        assert "utter_bill_summary" in responses(messages)

    def test_no_greeting_without_one(self, actions_service):
        tracker = make_tracker("how much is my bill", "check_bill", slots=verified("13800000001"))
        messages, _ = run_action(ActionCheckBill(), tracker)
        assert "utter_greet_back" not in responses(messages)

    def test_greeted_once_per_turn(self, actions_service):
        tracker = make_tracker(
            "hi, cancel the music pack",
            "unsubscribe",
            {"addon": "music_pack"},
            slots=verified("13800000014"),
        )
        tracker.events.append({"event": "bot", "text": "Hello!"})
        messages, _ = run_action(ActionUnsubscribe(), tracker)
        assert "utter_greet_back" not in responses(messages)


class TestUsage:
    def test_usage_with_warning_above_80_percent(self, actions_service):
        messages, _ = run_action(ActionCheckUsage(), make_tracker(slots=verified("13800000018")))
        assert responses(messages) == ["utter_usage", "utter_usage_warning_data"]
        assert messages[0]["days_left"] == "7"
        assert messages[1]["percent"] == "85"

    def test_no_warning_for_normal_usage(self, actions_service):
        messages, _ = run_action(ActionCheckUsage(), make_tracker(slots=verified("13800000017")))
        assert responses(messages) == ["utter_usage"]

    def test_bill_is_itemised_with_status(self, actions_service):
        messages, _ = run_action(ActionCheckBill(), make_tracker(slots=verified("13800000003")))
        assert responses(messages) == [
            "utter_bill_summary",
            "utter_bill_line_plan_fee",
            "utter_bill_line_roaming",
            "utter_bill_line_roaming",
            "utter_bill_paid",
        ]
        assert messages[0]["total"] == "¥438.65"

    def test_overdue_bill(self, actions_service):
        messages, _ = run_action(ActionCheckBill(), make_tracker(slots=verified("13800000005")))
        assert "utter_bill_unpaid" in responses(messages)  # last bill not yet due
        assert actions_service.get_line("13800000005").arrears == 5900

    def test_prepaid_low_balance_warning(self, actions_service):
        messages, _ = run_action(ActionCheckBill(), make_tracker(slots=verified("13800000008")))
        assert responses(messages)[-1] == "utter_prepaid_balance_low"
        assert messages[-1]["balance"] == "¥3.50"

    def test_explain_charge_by_amount(self, actions_service):
        tracker = make_tracker(
            "what is this 310 yuan",
            "explain_charge",
            {"amount": "310 yuan"},
            slots=verified("13800000003"),
        )
        messages, _ = run_action(ActionExplainCharge(), tracker)
        assert responses(messages) == ["utter_explain_roaming", "utter_offer_charge_dispute"]
        assert messages[0]["country"] == "Japan"

    def test_explain_unconsented_addon_charge(self, actions_service):
        tracker = make_tracker(
            "why am i paying for ringtone",
            "explain_charge",
            {"addon": "ringback_tone"},
            slots=verified("13800000004"),
        )
        messages, _ = run_action(ActionExplainCharge(), tracker)
        assert responses(messages) == [
            "utter_explain_addon",
            "utter_explain_addon_no_consent",
            "utter_offer_charge_dispute",
        ]
        assert messages[0]["channel"] == "outbound sales call"

    def test_why_is_my_bill_high_explains_every_extra(self, actions_service):
        tracker = make_tracker(
            "why is my bill so high", "explain_charge", slots=verified("13800000002")
        )
        messages, _ = run_action(ActionExplainCharge(), tracker)
        assert responses(messages) == ["utter_explain_data_overage", "utter_offer_charge_dispute"]

    def test_charge_not_on_the_bill(self, actions_service):
        tracker = make_tracker(
            "what's the 999 yuan",
            "explain_charge",
            {"amount": "999 yuan"},
            slots=verified("13800000002"),
        )
        messages, _ = run_action(ActionExplainCharge(), tracker)
        assert responses(messages)[0] == "utter_charge_not_found"

    @pytest.mark.parametrize(
        "text, fen",
        [
            ("30 yuan", 3000),
            ("¥25", 2500),
            ("CNY 12.5", 1250),
            ("18.00", 1800),
            ("no amount", None),
        ],
    )
    def test_parse_amount(self, text, fen):
        assert parse_amount(text) == fen


class TestTariffs:
    def test_named_plan_with_every_condition(self, actions_service):
        tracker = make_tracker("tell me about 5g plus", "ask_tariff", {"plan": "plus_5g_129"})
        messages, _ = run_action(ActionExplainTariff(), tracker)
        assert responses(messages) == [
            "utter_plan_details",
            "utter_plan_contract",
            "utter_plan_conditions",
        ]
        assert messages[1]["termination_fee"] == "¥300.00"

    def test_compare_two_plans(self, actions_service):
        tracker = make_tracker("compare", "ask_tariff", {"plan": ["basic_4g_39", "starter_5g_79"]})
        messages, _ = run_action(ActionExplainTariff(), tracker)
        assert responses(messages)[0] == "utter_plan_comparison"
        assert (messages[0]["a_fee"], messages[0]["b_fee"]) == ("¥39.00", "¥79.00")

    def test_unknown_plan_offers_the_catalogue(self, actions_service):
        tracker = make_tracker("the galaxy plan", "ask_tariff", {"plan": "galaxy max"})
        messages, _ = run_action(ActionExplainTariff(), tracker)
        assert responses(messages) == ["utter_unknown_plan"]
        assert len(messages[0]["buttons"]) == 10

    def test_own_plan_when_verified(self, actions_service):
        messages, _ = run_action(
            ActionExplainTariff(),
            make_tracker("my plan", "ask_tariff", slots=verified("13800000001")),
        )
        assert responses(messages)[0] == "utter_your_plan"
        assert responses(messages)[-1] == "utter_your_contract_end"

    def test_own_plan_after_the_verification_expired(self, actions_service):
        tracker = make_tracker(
            "my plan",
            "ask_tariff",
            slots=verified("13800000001", verified_at=time.time() - 3 * 60 * 60),
        )
        messages, events = run_action(ActionExplainTariff(), tracker)
        assert responses(messages) == ["utter_verification_expired"]
        assert handoffs(events) == ["verification_form"]

    def test_catalogue_lists_every_plan_with_its_price(self, actions_service):
        messages, _ = run_action(ActionExplainTariff(), make_tracker("plans?", "ask_tariff"))
        assert responses(messages) == ["utter_plan_list_intro", *["utter_plan_list_item"] * 10]
        fees = [float(message["fee"].lstrip("¥")) for message in messages[1:]]
        assert fees == sorted(fees)
        assert len(messages[-1]["buttons"]) == 10

    @pytest.mark.parametrize(
        "text, expected",
        [
            (
                "what 5G plans do you have and what do they cost?",
                [
                    "5G Prepaid 59",
                    "5G Starter 79",
                    "5G Plus 129",
                    "5G Home Fusion 169",
                    "5G Unlimited 199",
                ],
            ),
            ("any prepaid 4g plans", ["4G Lite 19", "Prepaid 4G 29"]),
            ("plans with home broadband", ["5G Home Fusion 169"]),
        ],
    )
    def test_catalogue_filtered_by_what_the_customer_named(self, actions_service, text, expected):
        messages, _ = run_action(ActionExplainTariff(), make_tracker(text, "ask_tariff"))
        assert [
            m["plan_name"] for m in messages if m["response"] == "utter_plan_list_item"
        ] == expected

    def test_the_cheapest_5g_plan_is_one_plan_in_full(self, actions_service):
        # "cheapest plan" is also a name of 4G Lite 19: it does not fit "5G", so it was not meant.
        tracker = make_tracker("cheapest 5g plan", "ask_tariff", {"plan": "lite_4g_19"})
        messages, _ = run_action(ActionExplainTariff(), tracker)
        assert responses(messages)[:3] == [
            "utter_plan_list_intro",
            "utter_plan_list_item",
            "utter_plan_details",
        ]
        assert messages[1]["plan_name"] == "5G Prepaid 59"

    def test_a_verified_4g_customer_asking_5g_prices_gets_5g_plans(self, actions_service):
        tracker = make_tracker(
            "5G套餐多少钱", "ask_tariff", slots=verified("13800000002", language="zh")
        )
        messages, _ = run_action(ActionExplainTariff(), tracker)
        assert "utter_your_plan" not in responses(messages)
        assert {m["network"] for m in messages if m["response"] == "utter_plan_list_item"} == {"5G"}

    def test_recommendation_with_saving(self, actions_service):
        messages, _ = run_action(ActionRecommendPlan(), make_tracker(slots=verified("13800000011")))
        assert responses(messages)[0] == "utter_plan_recommendation"
        assert responses(messages)[-1] == "utter_offer_plan_change"
        assert messages[0]["saving"].startswith("¥")

    def test_already_on_the_best_plan(self, actions_service):
        messages, _ = run_action(ActionRecommendPlan(), make_tracker(slots=verified("13800000010")))
        assert responses(messages) == ["utter_plan_already_best"]

    def test_change_plan_states_the_fee_before_asking(self, actions_service):
        tracker = make_tracker(
            "switch to 5g plus",
            "change_plan",
            {"plan": "plus_5g_129"},
            slots=verified("13800000011"),
            events=user_turns(2),
        )
        messages, events = run_action(ActionChangePlan(), tracker)
        assert responses(messages) == [
            "utter_plan_change_termination_fee",
            "utter_confirm_plan_change",
        ]
        pending = json.loads(slot_events(events)["pending_confirmation"])
        assert (pending["action"], pending["plan_id"]) == (
            "action_confirm_plan_change",
            "plus_5g_129",
        )
        assert actions_service.get_line("13800000011").next_plan is None

    def test_confirmed_change_takes_effect_next_cycle(self, actions_service):
        ask = make_tracker(
            "switch to basic", "change_plan", {"plan": "basic_4g_39"}, slots=verified("13800000012")
        )
        _, events = run_action(ActionChangePlan(), ask)
        answer = make_tracker(
            "yes", "affirm", events=ask.events, slots=verified("13800000012", **slot_events(events))
        )
        _, events = run_action(ActionHandleConfirmation(), answer)
        assert handoffs(events) == ["action_confirm_plan_change"]
        answer.slots.update(slot_events(events))
        messages, events = run_action(ActionConfirmPlanChange(), answer)
        assert responses(messages) == ["utter_plan_changed"]
        assert slot_events(events)["pending_confirmation"] is None
        assert actions_service.get_line("13800000012").next_plan.id == "basic_4g_39"

    def test_stray_plan_words_are_ignored(self, actions_service):
        tracker = make_tracker(
            "put me on the 4G Lite 19 plan",
            "change_plan",
            {"plan": ["the", "4G Lite 19 plan"]},
            slots=verified("13800000012"),
        )
        messages, _ = run_action(ActionChangePlan(), tracker)
        assert responses(messages) == ["utter_confirm_plan_change"]
        assert messages[0]["plan_name"] == "4G Lite 19"

    def test_changing_to_the_current_plan(self, actions_service):
        tracker = make_tracker(
            "switch to basic", "change_plan", {"plan": "basic_4g_39"}, slots=verified("13800000002")
        )
        messages, events = run_action(ActionChangePlan(), tracker)
        assert responses(messages) == ["utter_already_on_plan"]
        assert "pending_confirmation" not in slot_events(events)


class TestConfirmation:
    def pending(self, asked_at_turn: int) -> str:
        return json.dumps(
            {
                "action": "action_confirm_unsubscribe",
                "asked_at_turn": asked_at_turn,
                "subscription_ids": [1],
                "consent_disputed": False,
            }
        )

    def test_no_drops_the_change(self, actions_service):
        tracker = make_tracker(
            "no", "deny", events=user_turns(3), slots={"pending_confirmation": self.pending(3)}
        )
        messages, events = run_action(ActionHandleConfirmation(), tracker)
        assert responses(messages) == ["utter_nothing_changed"]
        assert handoffs(events) == []

    def test_a_late_yes_confirms_nothing(self, actions_service):
        tracker = make_tracker(
            "yes", "affirm", events=user_turns(5), slots={"pending_confirmation": self.pending(3)}
        )
        messages, events = run_action(ActionHandleConfirmation(), tracker)
        assert handoffs(events) == []
        assert responses(messages) == ["utter_how_can_i_help"]


class TestSubscriptions:
    def test_list_flags_missing_consent(self, actions_service):
        messages, _ = run_action(
            ActionListSubscriptions(), make_tracker(slots=verified("13800000014"))
        )
        kinds = responses(messages)
        assert kinds[0] == "utter_subscriptions_intro" and messages[0]["count"] == "5"
        assert kinds.count("utter_subscription_item_no_consent") == 3
        assert kinds[-1] == "utter_offer_unsubscribe" and len(messages[-1]["buttons"]) == 5

    def test_unsubscribe_all_with_consent_dispute(self, actions_service, clock):
        ask = make_tracker(
            "cancel all, i never ordered them",
            "unsubscribe",
            {"addon": "all", "consent_dispute": "yes"},
            slots=verified("13800000004"),
        )
        messages, events = run_action(ActionUnsubscribe(), ask)
        assert responses(messages) == ["utter_confirm_unsubscribe"]
        assert messages[0]["monthly_total"] == "¥8.00"
        answer = make_tracker(
            "yes",
            "affirm",
            events=ask.events,
            slots=verified(
                "13800000004", **slot_events(events), handoff="action_confirm_unsubscribe"
            ),
        )
        messages, events = run_action(ActionConfirmUnsubscribe(), answer)
        # "Never ordered" also becomes a refund complaint, filled in and ready to file.
        assert responses(messages) == [
            "utter_unsubscribed",
            "utter_consent_dispute_recorded",
            "utter_escalation_intro_consent_dispute",
        ]
        assert handoffs(events) == ["complaint_form"]
        filled = slot_events(events)
        assert filled["complaint_category"] == "unauthorised_addon"
        assert filled["complaint_contact"] == "13800000004"
        assert "Refund requested" in filled["complaint_description"]
        assert actions_service.active_subscriptions("13800000004") == []

    def test_a_stray_consent_tag_is_no_dispute(self, actions_service):
        ask = make_tracker(
            "please end my cloud storage",
            "unsubscribe",
            {"addon": "cloud_storage", "consent_dispute": "my"},
            slots=verified("13800000014"),
        )
        _, events = run_action(ActionUnsubscribe(), ask)
        assert json.loads(slot_events(events)["pending_confirmation"])["consent_disputed"] is False

    def test_unknown_addon_asks_which(self, actions_service):
        tracker = make_tracker(
            "cancel pizza", "unsubscribe", {"addon": "pizza"}, slots=verified("13800000014")
        )
        messages, events = run_action(ActionUnsubscribe(), tracker)
        assert responses(messages) == ["utter_not_subscribed", "utter_ask_which_addon"]
        assert "pending_confirmation" not in slot_events(events)

    def test_no_subscriptions(self, actions_service):
        messages, _ = run_action(ActionUnsubscribe(), make_tracker(slots=verified("13800000002")))
        assert responses(messages) == ["utter_no_subscriptions"]


class TestNetwork:
    def test_district_coverage_outdoor_and_indoor(self, actions_service):
        tracker = make_tracker(
            "5g in chongming?", "ask_5g", {"city": "shanghai", "district": "chongming"}
        )
        messages, _ = run_action(ActionAsk5G(), tracker)
        assert responses(messages) == [
            "utter_5g_outdoor_nsa",
            "utter_5g_indoor_none",
            "utter_5g_why_4g",
            "utter_5g_no_change_needed",
            "utter_5g_verify_to_check",
        ]

    def test_city_summary(self, actions_service):
        messages, _ = run_action(
            ActionAsk5G(), make_tracker("5g in changsha", "ask_5g", {"city": "changsha"})
        )
        assert messages[0]["response"] == "utter_5g_city_summary"
        assert messages[0]["no_5g_districts"] == "Wangcheng"

    def test_asks_for_a_place_when_it_knows_none(self, actions_service):
        messages, _ = run_action(ActionAsk5G(), make_tracker("is there 5g", "ask_5g"))
        assert responses(messages)[0] == "utter_ask_5g_location"

    def test_4g_phone_on_5g_plan_gets_the_honest_answer(self, actions_service):
        messages, _ = run_action(
            ActionAsk5G(), make_tracker("5g?", "ask_5g", slots=verified("13800000006"))
        )
        assert "utter_5g_device_none" in responses(messages)
        assert "utter_5g_paying_for_unused" in responses(messages)

    @pytest.mark.parametrize(
        "msisdn, expected",
        [
            ("13800000017", ["utter_port_eligible"]),
            ("13800000005", ["utter_port_blocked_arrears"]),
            ("13800000001", ["utter_port_blocked_in_contract"]),
            ("13800000013", ["utter_port_blocked_too_new"]),
        ],
    )
    def test_portability_per_line(self, actions_service, msisdn, expected):
        messages, _ = run_action(ActionNumberPortability(), make_tracker(slots=verified(msisdn)))
        assert responses(messages) == [*expected, "utter_port_steps", "utter_port_other_province"]

    def test_portability_without_verification(self, actions_service):
        messages, _ = run_action(ActionNumberPortability(), make_tracker())
        assert responses(messages) == [
            "utter_port_conditions",
            "utter_port_steps",
            "utter_port_other_province",
            "utter_port_verify_to_check",
        ]


class TestConversation:
    @pytest.mark.parametrize(
        "entities, target",
        [
            ({"phone_number": "13800000001"}, "action_start_verification"),
            ({"district": "haidian"}, "action_ask_5g"),
            ({"plan": "basic_4g_39"}, "action_explain_tariff"),
            ({}, "action_clarify"),
        ],
    )
    def test_bare_answers_are_routed_by_entity(self, entities, target):
        _, events = run_action(ActionRouteInform(), make_tracker("x", "inform", entities))
        assert handoffs(events) == [target]

    def test_clarification_offers_the_likeliest_requests(self):
        ranking = [
            {"name": "nlu_fallback", "confidence": 0.4},
            {"name": "check_bill", "confidence": 0.3},
            {"name": "greet", "confidence": 0.1},
            {"name": "check_usage", "confidence": 0.1},
            {"name": "ask_5g", "confidence": 0.05},
            {"name": "ask_tariff", "confidence": 0.05},
        ]
        messages, _ = run_action(
            ActionClarify(), make_tracker("blah", "nlu_fallback", intent_ranking=ranking)
        )
        assert messages[0]["response"] == "utter_clarify"
        assert [b["payload"] for b in messages[0]["buttons"]] == [
            "/check_bill",
            "/check_usage",
            "/ask_5g",
        ]
        assert messages[0]["buttons"][0]["title"] == "See my bill"


def test_dead_database_gets_a_clear_message(tmp_path):
    engine = create_engine("postgresql://nobody@127.0.0.1:1/none", future=True)
    common.use_account_service(SqlAccountService(engine))
    try:
        messages, events = run_action(
            ActionCheckUsage(), make_tracker(slots=verified("13800000001"))
        )
    finally:
        common.use_account_service(None)
    assert responses(messages) == ["utter_backend_unavailable"]
    assert events == []


def test_a_typed_yes_to_a_recommended_plan_quotes_the_switch(actions_service):
    offer = make_tracker(
        "which plan suits me", "recommend_plan", slots=verified("13800000012"), events=user_turns(1)
    )
    _, events = run_action(ActionRecommendPlan(), offer)
    yes = make_tracker(
        "yes please",
        "affirm",
        events=offer.events,
        slots=verified("13800000012", **slot_events(events), handoff="action_change_plan"),
    )
    messages, events = run_action(ActionChangePlan(), yes)
    assert responses(messages)[-1] == "utter_confirm_plan_change"
    assert json.loads(slot_events(events)["pending_confirmation"])["plan_id"] == "lite_4g_19"
    assert actions_service.get_line("13800000012").next_plan is None


@pytest.mark.parametrize("text", ["and the cheapest 5g one?", "ok and how much are your 5g ones"])
def test_a_5g_price_question_is_about_plans(actions_service, text):
    _, events = run_action(ActionAsk5G(), make_tracker(text, "ask_5g"))
    assert handoffs(events) == ["action_explain_tariff"]


def test_what_plan_am_i_on_is_the_own_plan_not_advice(actions_service):
    tracker = make_tracker(
        "ok thats fine. what plan am i on?", "recommend_plan", slots=verified("13800000010")
    )
    _, events = run_action(ActionRecommendPlan(), tracker)
    assert handoffs(events) == ["action_explain_tariff"]
    advice = make_tracker(
        "which plan would suit me better", "recommend_plan", slots=verified("13800000010")
    )
    messages, _ = run_action(ActionRecommendPlan(), advice)
    assert responses(messages) == ["utter_plan_already_best"]


def test_what_an_add_on_costs_is_that_charge(actions_service):
    tracker = make_tracker(
        "what am i paying for caller id",
        "list_subscriptions",
        {"addon": "caller_id"},
        slots=verified("13800000010"),
    )
    _, events = run_action(ActionListSubscriptions(), tracker)
    assert handoffs(events) == ["action_explain_charge"]
