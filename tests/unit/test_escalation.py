"""Escalation actions with hand-built trackers: every trigger, the complaint form's answers,
filing (once), spam and fraud, network troubleshooting and the ticket status question."""

from __future__ import annotations

import asyncio
import json

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine

from actions import common
from actions.conversation import ActionClarify
from actions.escalation import (
    ActionAskComplaintCategory,
    ActionFileTicket,
    ActionStartEscalation,
    ValidateComplaintForm,
)
from actions.ticket_status import ActionCheckTicketStatus
from actions.troubleshooting import ActionTroubleshootNetwork
from actions.usage import ActionExplainCharge
from telecom_assistant.service_hours import ServiceHours
from telecom_assistant.tickets.live import LiveChats
from telecom_assistant.tickets.model import Category, Kind, Priority, Status
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.tickets.sql_live import SqlLiveDesk
from tests.actions_support import (
    DOMAIN,
    handoffs,
    make_tracker,
    responses,
    run_action,
    slot_events,
)


def user_event(text: str, intent: str, timestamp: float = 1795399200.0) -> dict:
    return {
        "event": "user",
        "text": text,
        "timestamp": timestamp,
        "parse_data": {"intent": {"name": intent}, "entities": []},
    }


def bot_event(text: str, timestamp: float = 1795399201.0) -> dict:
    return {"event": "bot", "text": text, "timestamp": timestamp}


def start(text: str, intent: str, entities=None, slots=None, events=None):
    return run_action(ActionStartEscalation(), make_tracker(text, intent, entities, slots, events))


def escalation_slots(trigger: str, proposed=None, network_issue=None) -> dict:
    return {
        "escalation": json.dumps(
            {"trigger": trigger, "proposed": proposed, "network_issue": network_issue}
        )
    }


def form_slots(**slots) -> dict:
    base = {
        "complaint_category": "billing",
        "complaint_description": "Charged twice",
        "complaint_contact": "13800000002",
        "handoff": "complaint_form",
    }
    return {**escalation_slots("complaint"), **base, **slots}


def file_ticket(slots: dict, events=None, sender_channel: str = "rest"):
    tracker = make_tracker("13800000002", "inform", slots=slots, events=events)
    tracker.events.append(
        {"event": "user", "input_channel": sender_channel, "text": "", "timestamp": 1795399300.0}
    )
    return run_action(ActionFileTicket(), tracker)


class TestTriggers:
    def test_a_named_category_is_taken_and_the_verified_line_is_the_contact(self):
        messages, events = start(
            "I want to complain about my bill",
            "file_complaint",
            {"complaint_category": "billing"},
            slots={"verified_msisdn": "13800000002"},
        )
        assert responses(messages) == ["utter_escalation_intro_complaint"]
        assert handoffs(events) == ["complaint_form"]
        filled = slot_events(events)
        assert filled["complaint_category"] == "billing"
        assert filled["complaint_contact"] == "13800000002"
        assert json.loads(filled["escalation"])["proposed"] is None

    def test_the_conversation_proposes_a_category(self):
        earlier = [user_event("what is this 25 yuan", "explain_charge"), bot_event("It is...")]
        messages, events = start("I want to complain", "file_complaint", events=earlier)
        filled = slot_events(events)
        assert filled["complaint_category"] is None
        assert json.loads(filled["escalation"])["proposed"] == "billing"
        assert filled["complaint_contact"] is None  # not verified: the form asks

    def test_request_for_a_person(self):
        messages, events = start("let me talk to a human", "request_human")
        assert responses(messages) == ["utter_escalation_intro_human"]
        assert handoffs(events) == ["complaint_form"]

    def test_spam_report_is_a_spam_fraud_report(self):
        messages, events = start("I got a scam text", "report_spam")
        assert responses(messages) == ["utter_escalation_intro_spam"]
        assert slot_events(events)["complaint_category"] == "spam_fraud"

    def test_two_misses_in_a_row_escalate_with_the_messages_not_understood(self):
        earlier = [
            user_event("blah", "nlu_fallback"),
            {"event": "action", "name": "action_clarify"},
            {"event": "action", "name": "action_listen"},
        ]
        messages, events = run_action(
            ActionClarify(), make_tracker("blah again", "nlu_fallback", events=earlier)
        )
        assert responses(messages) == ["utter_escalation_intro_fallback"]
        assert handoffs(events) == ["complaint_form"]
        assert slot_events(events)["complaint_description"] == "blah / blah again"

    def test_a_disputed_charge_is_offered_a_billing_complaint(self, actions_service):
        ask = make_tracker(
            "what is this 310 yuan",
            "explain_charge",
            {"amount": "310 yuan"},
            slots={"verified_msisdn": "13800000003"},
        )
        messages, events = run_action(ActionExplainCharge(), ask)
        assert responses(messages)[-1] == "utter_offer_charge_dispute"
        offer = slot_events(events)["pending_confirmation"]
        # The yes was taken by action_handle_confirmation, which handed over.
        yes = make_tracker(
            "yes",
            "affirm",
            events=ask.events,
            slots={
                "verified_msisdn": "13800000003",
                "pending_confirmation": offer,
                "handoff": "action_start_escalation",
            },
        )
        messages, events = run_action(ActionStartEscalation(), yes)
        assert responses(messages) == ["utter_escalation_intro_disputed_charge"]
        filled = slot_events(events)
        assert filled["complaint_category"] == "billing"
        assert (
            "310" in filled["complaint_description"]
            and "roaming" in filled["complaint_description"].lower()
        )
        assert filled["pending_confirmation"] is None


class TestComplaintForm:
    def extract(self, text, intent, proposed, entities=None):
        tracker = make_tracker(
            text,
            intent,
            entities,
            slots={
                **escalation_slots("complaint", proposed),
                "requested_slot": "complaint_category",
            },
        )
        return asyncio.run(
            ValidateComplaintForm().extract_complaint_category(
                CollectingDispatcher(), tracker, DOMAIN
            )
        )

    def test_yes_takes_the_proposed_category(self):
        assert self.extract("yes", "affirm", "billing") == {"complaint_category": "billing"}

    def test_a_category_button_wins(self):
        picked = self.extract(
            '/inform{"complaint_category":"privacy"}',
            "inform",
            "billing",
            {"complaint_category": "privacy"},
        )
        assert picked == {"complaint_category": "privacy"}

    def test_no_drops_the_proposal_and_a_second_no_is_left_to_the_cancel_rule(self):
        first = self.extract("no", "deny", "billing")
        assert first["complaint_category"] is None
        assert json.loads(first["escalation"])["proposed"] is None
        assert self.extract("no", "deny", None) == {}

    def test_category_question_offers_the_proposal_then_the_rest(self):
        tracker = make_tracker(slots=escalation_slots("complaint", "five_g"))
        messages, _ = run_action(ActionAskComplaintCategory(), tracker)
        assert responses(messages) == ["utter_ask_complaint_category_proposed"]
        assert messages[0]["category"] == "5G"
        payloads = [button["payload"] for button in messages[0]["buttons"]]
        assert payloads[0] == "/affirm" and len(payloads) == len(Category)
        assert '/inform{"complaint_category":"five_g"}' not in payloads

    def test_category_question_in_chinese(self):
        tracker = make_tracker(slots={**escalation_slots("complaint"), "language": "zh"})
        messages, _ = run_action(ActionAskComplaintCategory(), tracker)
        assert responses(messages) == ["utter_ask_complaint_category"]
        assert messages[0]["buttons"][0]["title"] == "账单与扣费"

    @pytest.mark.parametrize(
        "typed, expected",
        [
            ("138 0000 0002", "13800000002"),
            ("+86 13800000002", "13800000002"),
            ("12345", None),
            ("my number", None),
        ],
    )
    def test_contact_number_is_checked(self, typed, expected):
        dispatcher = CollectingDispatcher()
        result = ValidateComplaintForm().validate_complaint_contact(
            typed, dispatcher, make_tracker(), DOMAIN
        )
        assert result == {"complaint_contact": expected}
        assert responses(dispatcher.messages) == (
            [] if expected else ["utter_invalid_phone_number"]
        )

    @pytest.mark.parametrize("slot", ["complaint_description", "spam_content", "spam_sender"])
    def test_a_blank_answer_is_asked_again(self, slot):
        dispatcher = CollectingDispatcher()
        result = getattr(ValidateComplaintForm(), f"validate_{slot}")(
            "   ", dispatcher, make_tracker(), DOMAIN
        )
        assert result == {slot: None}
        assert responses(dispatcher.messages) == ["utter_empty_answer"]

    def test_a_spam_report_asks_for_sender_and_content(self):
        tracker = make_tracker(slots=escalation_slots("spam"))
        form = DOMAIN["forms"]["complaint_form"]["required_slots"]
        spam = asyncio.run(
            ValidateComplaintForm().required_slots(form, CollectingDispatcher(), tracker, DOMAIN)
        )
        complaint = asyncio.run(
            ValidateComplaintForm().required_slots(
                form, CollectingDispatcher(), make_tracker(slots=escalation_slots("human")), DOMAIN
            )
        )
        assert spam == ["spam_sender", "spam_content", "complaint_contact"]
        assert complaint == ["complaint_category", "complaint_description", "complaint_contact"]


class TestFiling:
    def test_the_ticket_carries_the_masked_transcript(self, actions_tickets):
        conversation = [
            user_event("my number is 13800000002", "verify_identity"),
            bot_event("I've sent a code to *******0002."),
            user_event("482913", "inform"),
            bot_event("Thanks, Wang Fang."),
        ]
        messages, events = file_ticket(form_slots(verified_msisdn="13800000002"), conversation)
        assert responses(messages) == ["utter_ticket_filed"]
        ticket = actions_tickets.get(messages[0]["ticket_id"])
        assert messages[0]["contact"] == "138****0002"
        assert ticket.msisdn == "13800000002" and ticket.channel == "rest"
        assert ticket.category is Category.BILLING and ticket.kind is Kind.COMPLAINT
        texts = [turn.text for turn in ticket.transcript]
        assert texts[:4] == [
            "my number is *******0002",
            "I've sent a code to *******0002.",
            "******",
            "Thanks, Wang Fang.",
        ]
        assert ticket.transcript[0].speaker == "customer"
        assert ticket.transcript[1].speaker == "assistant"
        assert slot_events(events)["escalation"] is None
        assert slot_events(events)["handoff"] is None

    def test_the_code_typed_is_masked_wherever_and_however_it_appears(self, actions_tickets):
        """The form read the code the customer typed; the transcript also holds it where no
        rule would find a code (mid-sentence, in Chinese numerals): masked everywhere."""
        conversation = [
            user_event("482 913", "inform"),
            {"event": "slot", "name": "otp_code", "value": "482913", "timestamp": 1795399200.5},
            {"event": "slot", "name": "otp_code", "value": "verified", "timestamp": 1795399200.6},
            user_event("I got 482913 yesterday but the shop said it was wrong", "inform"),
            user_event("四八二九一三 不对吗", "inform"),
        ]
        messages, _ = file_ticket(form_slots(verified_msisdn="13800000002"), conversation)
        texts = [turn.text for turn in actions_tickets.get(messages[0]["ticket_id"]).transcript]
        assert texts[:3] == [
            "*** ***",
            "I got ****** yesterday but the shop said it was wrong",
            "****** 不对吗",
        ]

    def test_a_button_press_reads_as_its_title(self, actions_tickets):
        conversation = [
            {
                **bot_event("Which of these best describes your complaint?"),
                "data": {
                    "buttons": [
                        {"title": "5G", "payload": '/inform{"complaint_category":"five_g"}'}
                    ]
                },
            },
            user_event('/inform{"complaint_category":"five_g"}', "inform"),
            user_event('/inform{"complaint_category":"privacy"}', "inform"),
        ]
        messages, _ = file_ticket(form_slots(), conversation)
        texts = [turn.text for turn in actions_tickets.get(messages[0]["ticket_id"]).transcript]
        assert texts[1:3] == ["[5G]", '/inform{"complaint_category":"privacy"}']

    def test_an_unverified_customer_gets_no_line_on_the_ticket(self, actions_tickets):
        messages, _ = file_ticket(form_slots())
        assert actions_tickets.get(messages[0]["ticket_id"]).msisdn is None

    def test_filing_the_same_escalation_again_gives_the_same_ticket(self, actions_tickets):
        first, _ = file_ticket(form_slots())
        again, _ = file_ticket(form_slots())
        assert responses(again) == ["utter_ticket_already_filed"]
        assert again[0]["ticket_id"] == first[0]["ticket_id"]

    def test_a_fault_ticket_promises_a_repair_time(self, actions_tickets):
        slots = form_slots(
            complaint_category="broadband",
            **escalation_slots("network_fault", network_issue="broadband_down"),
        )
        messages, _ = file_ticket(slots)
        assert responses(messages) == ["utter_fault_ticket_filed"]
        ticket = actions_tickets.get(messages[0]["ticket_id"])
        assert ticket.kind is Kind.FAULT and ticket.priority is Priority.HIGH
        assert messages[0]["repair_due"] == ticket.repair_due.strftime("%Y-%m-%d %H:%M")

    @pytest.mark.parametrize(
        "content, advice, priority",
        [
            (
                "said he was police, asked me to transfer money",
                "utter_fraud_advice",
                Priority.URGENT,
            ),
            ("adverts for flats every day", "utter_spam_advice", Priority.NORMAL),
        ],
    )
    def test_spam_reports_get_safety_advice(self, actions_tickets, content, advice, priority):
        slots = {
            **escalation_slots("spam"),
            "complaint_category": "spam_fraud",
            "spam_sender": "17012345678",
            "spam_content": content,
            "complaint_contact": "13800000002",
        }
        messages, _ = file_ticket(slots)
        assert responses(messages) == ["utter_ticket_filed", advice]
        ticket = actions_tickets.get(messages[0]["ticket_id"])
        assert ticket.kind is Kind.SPAM_REPORT and ticket.priority is priority
        assert ticket.description == f"*******5678: {content}"

    def test_a_dead_ticket_desk_gets_a_clear_message(self):
        common.use_ticket_service(
            SqlTicketService(create_engine("postgresql://nobody@127.0.0.1:1/none", future=True))
        )
        try:
            messages, events = file_ticket(form_slots())
        finally:
            common.use_ticket_service(None)
        assert responses(messages) == ["utter_ticket_not_filed"]


class TestTroubleshooting:
    def test_the_kind_of_fault_is_asked_with_buttons(self, actions_service):
        messages, events = run_action(
            ActionTroubleshootNetwork(), make_tracker("network problem", "report_network_issue")
        )
        assert responses(messages) == ["utter_ask_network_issue"]
        assert events == []

    @pytest.mark.parametrize(
        "msisdn, area_response",
        [
            ("13800000001", "utter_network_area_good"),  # Haidian, Beijing
            (None, "utter_network_area_unknown"),
        ],
    )
    def test_steps_coverage_and_an_offer_to_report_a_fault(
        self, actions_service, msisdn, area_response
    ):
        tracker = make_tracker(
            "calls keep dropping",
            "report_network_issue",
            {"network_issue": "dropped_calls"},
            slots={"verified_msisdn": msisdn},
        )
        messages, events = run_action(ActionTroubleshootNetwork(), tracker)
        assert responses(messages) == [
            "utter_troubleshoot_dropped_calls",
            area_response,
            "utter_offer_fault_ticket",
        ]
        offer = json.loads(slot_events(events)["pending_confirmation"])
        assert offer["action"] == "action_start_escalation"
        assert (offer["trigger"], offer["category"], offer["network_issue"]) == (
            "network_fault",
            "network",
            "dropped_calls",
        )
        assert offer["declined"] == "utter_nothing_filed"

    def test_a_weak_coverage_area_is_named(self, actions_service):
        tracker = make_tracker(
            "no signal in fangshan",
            "report_network_issue",
            {"network_issue": "no_signal", "district": "fangshan"},
        )
        messages, _ = run_action(ActionTroubleshootNetwork(), tracker)
        assert responses(messages)[1] in {
            "utter_network_area_weak",
            "utter_network_area_indoor_partial",
        }

    def test_broadband_faults_skip_the_mobile_coverage_check(self, actions_service):
        tracker = make_tracker(
            "broadband down", "report_network_issue", {"network_issue": "broadband_down"}
        )
        messages, events = run_action(ActionTroubleshootNetwork(), tracker)
        assert responses(messages) == [
            "utter_troubleshoot_broadband_down",
            "utter_offer_fault_ticket",
        ]
        assert json.loads(slot_events(events)["pending_confirmation"])["category"] == "broadband"


class TestTicketStatus:
    def file(self, tickets, **changes):
        from tests.integration.test_tickets import new_ticket

        return tickets.file(new_ticket(**changes)).ticket

    def test_by_number_without_verification(self, actions_service, actions_tickets):
        ticket = self.file(actions_tickets)
        tracker = make_tracker(
            "status of tk2611230001", "check_ticket_status", {"ticket_id": "tk2611230001"}
        )
        messages, _ = run_action(ActionCheckTicketStatus(), tracker)
        assert responses(messages) == ["utter_ticket_status_open"]
        assert messages[0]["ticket_id"] == ticket.id
        assert messages[0]["category"] == "billing"

    def test_a_resolved_ticket_says_when(self, actions_service, actions_tickets, clock):
        ticket = self.file(actions_tickets)
        clock.advance(hours=3)
        actions_tickets.change_status(ticket.id, Status.RESOLVED, "agent.chen")
        messages, _ = run_action(
            ActionCheckTicketStatus(), make_tracker(ticket.id, "inform", {"ticket_id": ticket.id})
        )
        assert responses(messages) == ["utter_ticket_status_resolved"]
        assert messages[0]["changed"] == "2026-11-23 13:00"

    def test_an_unknown_number(self, actions_service, actions_tickets):
        messages, _ = run_action(
            ActionCheckTicketStatus(),
            make_tracker("TK-261123-0999", "check_ticket_status", {"ticket_id": "TK-261123-0999"}),
        )
        assert responses(messages) == ["utter_unknown_ticket"]

    def test_without_a_number_the_line_is_verified_first(self, actions_service, actions_tickets):
        self.file(actions_tickets)
        messages, events = run_action(
            ActionCheckTicketStatus(), make_tracker("where is my complaint", "check_ticket_status")
        )
        assert responses(messages) == ["utter_need_verification"]
        assert handoffs(events) == ["verification_form"]

    def test_the_verified_lines_tickets(self, actions_service, actions_tickets):
        self.file(actions_tickets)
        self.file(actions_tickets, idempotency_key="second", category=Category.FIVE_G)
        messages, _ = run_action(
            ActionCheckTicketStatus(),
            make_tracker(
                "where is my complaint",
                "check_ticket_status",
                slots={"verified_msisdn": "13800000002"},
            ),
        )
        assert responses(messages) == ["utter_ticket_status_open"] * 2
        messages, _ = run_action(
            ActionCheckTicketStatus(),
            make_tracker(
                "where is my complaint",
                "check_ticket_status",
                slots={"verified_msisdn": "13800000005"},
            ),
        )
        assert responses(messages) == ["utter_no_tickets"]


class TestAPersonOnTheLine:
    """After a filing on a channel that can carry a chat, the customer is put in line for an
    agent during service hours, and told when the desk opens outside them."""

    @pytest.fixture
    def live_desk(self, sqlite_engine, clock, actions_tickets):
        desk = SqlLiveDesk(sqlite_engine, clock=clock)
        yield desk
        common.use_live_chats(None)

    def test_during_service_hours_the_customer_waits_for_a_colleague(
        self, live_desk, clock, actions_tickets
    ):
        common.use_live_chats(LiveChats(live_desk, ServiceHours.parse("08:00-22:00"), clock))
        messages, _ = file_ticket(
            form_slots(verified_msisdn="13800000002"), sender_channel="webchat"
        )
        assert responses(messages) == ["utter_ticket_filed", "utter_agent_requested"]
        [waiting] = actions_tickets.waiting_for_person()
        assert waiting.id == messages[0]["ticket_id"] and waiting.channel == "webchat"

    def test_outside_service_hours_the_customer_is_told_when_the_desk_opens(
        self, live_desk, clock, actions_tickets
    ):
        hours = ServiceHours.parse("08:00-09:00")  # the fixed clock says 10:00
        common.use_live_chats(LiveChats(live_desk, hours, clock))
        messages, _ = file_ticket(
            form_slots(verified_msisdn="13800000002"), sender_channel="telegram"
        )
        assert responses(messages) == ["utter_ticket_filed", "utter_agents_away"]
        assert messages[1]["hours"] == "08:00-09:00"
        assert messages[1]["opens"].endswith("08:00") and messages[1]["opens"] > str(clock().date())
        assert actions_tickets.waiting_for_person() == []

    def test_nobody_is_put_in_line_where_nobody_can_chat(self, live_desk, clock, actions_tickets):
        common.use_live_chats(LiveChats(live_desk, ServiceHours.parse("00:00-24:00"), clock))
        messages, _ = file_ticket(form_slots(verified_msisdn="13800000002"), sender_channel="rest")
        assert responses(messages) == ["utter_ticket_filed"]
        assert actions_tickets.waiting_for_person() == []
