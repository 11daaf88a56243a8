"""Reminders in the conversation (actions/reminders.py): the reminder the scheduler opens a
conversation with, what the customer's answers to it mean, turning reminders off and on, and
the chat a line's reminders go to. Against a seeded SQLite backend, with hand-built trackers."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import OperationalError

from actions import common
from actions.common import customer_messages, pending_confirmation, verified_number
from actions.confirmation import ActionHandleConfirmation
from actions.escalation import transcript
from actions.reminders import (
    ActionManageReminders,
    ActionRemind,
    asked_switch,
    button_payload,
)
from actions.satisfaction import ValidateCsatForm
from actions.subscriptions import ActionUnsubscribe
from actions.tariffs import ActionChangePlan, ActionExplainTariff
from actions.verification import ActionSignOut, ValidateVerificationForm
from telecom_assistant.reminders.model import ChatAddress, Reminder, ReminderKind
from telecom_assistant.reminders.sql import SqlReminderStore
from tests.actions_support import (
    DOMAIN,
    handoffs,
    make_tracker,
    parked,
    responses,
    run_action,
    slot_events,
)

CONVERSATION = "test-conversation"
MINUTE = 60
EXTERNAL = {"is_external": True}
NEWS_SMS = Reminder(
    msisdn="13800000004",
    kind=ReminderKind.ADDON,
    event="addon:41",
    topic="addon_started",
    urgent=True,
    subject="news_sms",
    details={
        "name": "Daily News SMS",
        "name_zh": "新闻早晚报",
        "fee": "¥3.00",
        "started": "2026-12-05",
        "channel": "SMS marketing reply",
        "channel_zh": "回复营销短信",
    },
)
DATA_AT_80 = Reminder(
    msisdn="13800000018",
    kind=ReminderKind.USAGE,
    event="usage:data:80:2026-12-01",
    topic="usage_80",
    details={
        "resource": "data",
        "used": "25.5 GB",
        "allowance": "30.0 GB",
        "percent": 85,
        "overage_price": "¥5.00",
        "cycle_end": "2026-12-31",
    },
)
# An add-on whose id makes the dispute button's payload too long for Telegram with it.
MISSED_CALLS = Reminder(
    msisdn="13800000022",
    kind=ReminderKind.ADDON,
    event="addon:77",
    topic="addon_started",
    subject="missed_call_alert",
    details={
        "name": "Missed Call Alert",
        "name_zh": "来电提醒",
        "fee": "¥3.00",
        "started": "2026-12-05",
        "channel": "retail store",
        "channel_zh": "营业厅",
    },
)


@pytest.fixture
def store(sqlite_engine, clock) -> Iterator[SqlReminderStore]:
    """The reminder store every action of this process uses, for the test's duration."""
    reminders = SqlReminderStore(sqlite_engine, clock=clock)
    common.use_reminder_store(reminders)
    yield reminders
    common.use_reminder_store(None)


def sent(
    store: SqlReminderStore,
    reminder: Reminder = NEWS_SMS,
    conversation: str = CONVERSATION,
    language: str = "en",
) -> int:
    """The reminder as the scheduler stores it for a chat: its id."""
    chat = ChatAddress(reminder.msisdn, "webchat", conversation, language)
    reminder_id = store.claim(reminder, language, chat)
    assert reminder_id is not None
    return reminder_id


def reminder_turn(reminder_id: object, conversation: str = CONVERSATION, **slots):
    """The scheduler's external event, as Rasa records it."""
    return make_tracker(
        "EXTERNAL: EXTERNAL_reminder",
        "EXTERNAL_reminder",
        {"reminder": str(reminder_id)},
        slots=slots,
        sender_id=conversation,
        metadata=EXTERNAL,
    )


def external_event(at: float) -> dict:
    return {
        "event": "user",
        "text": "EXTERNAL: EXTERNAL_reminder",
        "timestamp": at,
        "metadata": EXTERNAL,
    }


class TestTheReminderIsSaid:
    def test_in_its_conversation_with_what_the_customer_can_do(self, store):
        messages, events = run_action(ActionRemind(), reminder_turn(sent(store)))
        assert responses(messages) == ["utter_reminder"]
        said = messages[0]
        assert "Daily News SMS, ¥3.00 a month" in said["reminder"]
        assert said["stop_hint"] == (
            'To stop new service reminders, say "stop new service reminders".'
        )
        assert [(b["title"], b["payload"]) for b in said["buttons"]] == [
            ("Cancel it", '/unsubscribe{"addon":"news_sms"}'),
            ("I never ordered it", '/unsubscribe{"addon":"news_sms","consent_dispute":"yes"}'),
            ("Stop these reminders", '/manage_reminders{"reminder_kind":"addon"}'),
        ]
        # "Cancel it", "I never ordered that", "stop these reminders" are about this reminder.
        slots = slot_events(events)
        assert slots["addon_topic"] == "news_sms"
        assert slots["reminder_topic"] == "addon"
        assert slots["language"] == "en"

    def test_in_the_language_the_conversation_speaks(self, store):
        messages, events = run_action(
            ActionRemind(), reminder_turn(sent(store, language="en"), language="zh")
        )
        said = messages[0]
        assert "新闻早晚报" in said["reminder"] and "Daily News SMS" not in said["reminder"]
        assert said["stop_hint"] == "如不想再收到新开业务提醒，请说“停止新开业务提醒”。"
        assert [b["title"] for b in said["buttons"]] == ["退订它", "我没订过", "不再发这类提醒"]
        assert "language" not in slot_events(events)

    def test_a_new_session_takes_the_language_of_the_chat(self, store):
        messages, events = run_action(ActionRemind(), reminder_turn(sent(store, language="zh")))
        assert "新闻早晚报" in messages[0]["reminder"]
        assert slot_events(events)["language"] == "zh"

    def test_a_usage_reminder_offers_a_plan_that_fits(self, store):
        reminder_id = sent(store, DATA_AT_80)
        messages, events = run_action(ActionRemind(), reminder_turn(reminder_id))
        assert "85% of your data" in messages[0]["reminder"]
        assert [(b["title"], b["payload"]) for b in messages[0]["buttons"]] == [
            ("Which plan fits me?", "/recommend_plan"),
            ("Stop these reminders", '/manage_reminders{"reminder_kind":"usage"}'),
        ]
        slots = slot_events(events)
        assert slots["reminder_topic"] == "usage" and "addon_topic" not in slots

    @pytest.mark.parametrize("reminder", [NEWS_SMS, DATA_AT_80, MISSED_CALLS])
    def test_every_button_fits_telegrams_callback_data(self, store, reminder):
        messages, _ = run_action(ActionRemind(), reminder_turn(sent(store, reminder)))
        payloads = [button["payload"] for button in messages[0]["buttons"]]
        assert payloads and all(len(payload.encode("utf-8")) <= 64 for payload in payloads)

    def test_a_question_asked_before_is_no_longer_open(self, store):
        question = json.dumps({"action": "action_confirm_unsubscribe", "asked_at_turn": 0})
        _, events = run_action(
            ActionRemind(), reminder_turn(sent(store), pending_confirmation=question)
        )
        assert slot_events(events)["pending_confirmation"] is None


class TestNobodyElsesReminder:
    def test_a_reminder_of_another_conversation_gets_nothing(self, store):
        reminder_id = sent(store, conversation="someone-else")
        messages, events = run_action(ActionRemind(), reminder_turn(reminder_id))
        assert responses(messages) == ["utter_not_understood"]
        assert "Daily News SMS" not in json.dumps(messages)
        # The turn ran (the scheduler does not try again): a slot set to what it was.
        assert slot_events(events) == {"reminder_topic": None}

    def test_a_reminder_typed_as_an_intent_gets_nothing_even_its_own(self, store):
        """A customer typing /EXTERNAL_reminder{"reminder":"5"} is not the scheduler."""
        reminder_id = sent(store)
        tracker = make_tracker(
            f'/EXTERNAL_reminder{{"reminder":"{reminder_id}"}}',
            "EXTERNAL_reminder",
            {"reminder": str(reminder_id)},
        )
        messages, events = run_action(ActionRemind(), tracker)
        assert responses(messages) == ["utter_not_understood"]
        assert slot_events(events) == {"reminder_topic": None}

    def test_a_chat_another_line_was_verified_in_since_gets_nothing(self, store):
        tracker = reminder_turn(sent(store))
        tracker.events[:0] = [
            {"event": "slot", "name": "verified_msisdn", "value": "13800000004"},
            {"event": "slot", "name": "verified_msisdn", "value": None},
            {"event": "slot", "name": "verified_msisdn", "value": "13800000002"},
        ]
        tracker.slots["reminder_topic"] = "usage"  # the present customer's own reminder
        messages, events = run_action(ActionRemind(), tracker)
        assert messages == [] and slot_events(events) == {"reminder_topic": "usage"}

    def test_the_line_last_verified_here_gets_its_reminder(self, store):
        tracker = reminder_turn(sent(store))
        tracker.events[:0] = [
            {"event": "slot", "name": "verified_msisdn", "value": "13800000002"},
            {"event": "slot", "name": "verified_msisdn", "value": "13800000004"},
        ]
        messages, _ = run_action(ActionRemind(), tracker)
        assert responses(messages) == ["utter_reminder"]

    @pytest.mark.parametrize("reminder_id", ["999", "", "1; drop table reminders", "-1"])
    def test_no_such_reminder_gets_nothing(self, store, reminder_id):
        messages, _ = run_action(ActionRemind(), reminder_turn(reminder_id))
        assert responses(messages) == ["utter_not_understood"]

    def test_a_store_that_fails_leaves_the_turn_without_events_for_a_later_try(
        self, store, monkeypatch
    ):
        def fails(self, reminder_id):  # type: ignore[no-untyped-def]
            raise OperationalError("SELECT FROM reminders", {}, Exception("gone"))

        reminder_id = sent(store)
        monkeypatch.setattr(SqlReminderStore, "get", fails)
        messages, events = run_action(ActionRemind(), reminder_turn(reminder_id))
        assert messages == [] and events == []

    def test_without_a_store_nothing_is_said_of_any_line(self):
        messages, _ = run_action(ActionRemind(), reminder_turn("1"))
        assert responses(messages) == ["utter_not_understood"]


class TestAnsweringTheReminder:
    def test_i_never_ordered_it_disputes_the_reminded_add_on(self, actions_service, store):
        """The button's payload leaves out an id too long for Telegram: the topic names it."""
        messages, events = run_action(ActionRemind(), reminder_turn(sent(store, MISSED_CALLS)))
        dispute = messages[0]["buttons"][1]["payload"]
        assert dispute == '/unsubscribe{"consent_dispute":"yes"}'
        pressed = make_tracker(
            dispute,
            "unsubscribe",
            {"consent_dispute": "yes"},
            slots={"verified_msisdn": "13800000022", **slot_events(events)},
        )
        messages, events = run_action(ActionUnsubscribe(), pressed)
        assert responses(messages) == ["utter_confirm_unsubscribe"]
        assert messages[0]["addon_names"] == "Missed Call Alert"
        assert json.loads(slot_events(events)["pending_confirmation"])["consent_disputed"]

    @pytest.mark.parametrize(
        ("text", "action", "topic"),
        [
            ("which plan then?", ActionExplainTariff, "usage"),
            ("which plan then?", ActionExplainTariff, "contract"),
            ("那换什么套餐？", ActionChangePlan, "usage"),
        ],
    )
    def test_which_plan_then_asks_for_the_plan_that_fits(
        self, actions_service, text, action, topic
    ):
        tracker = make_tracker(
            text, "ask_tariff", slots={"reminder_topic": topic, "verified_msisdn": "13800000018"}
        )
        _, events = run_action(action(), tracker)
        assert handoffs(events) == ["action_recommend_plan"]

    def test_which_plan_without_a_reminder_is_the_catalogue(self, actions_service):
        messages, events = run_action(ActionExplainTariff(), make_tracker("which plan then?"))
        assert "utter_plan_list_intro" in responses(messages)
        assert handoffs(events) == []

    def test_after_a_bill_reminder_which_plan_is_the_catalogue(self, actions_service):
        tracker = make_tracker("which plan then?", slots={"reminder_topic": "bill"})
        messages, _ = run_action(ActionExplainTariff(), tracker)
        assert "utter_plan_list_intro" in responses(messages)

    @staticmethod
    def answering(reminder_topic: str, text: str, said_since: list[str]):  # type: ignore[no-untyped-def]
        """The customer's `text` after a reminder of `reminder_topic`, with the assistant's
        `said_since` (actions) between the reminder and the message."""
        history = [
            external_event(time.time() - MINUTE),
            {"event": "action", "name": "action_remind"},
            {"event": "slot", "name": "reminder_topic", "value": reminder_topic},
            {"event": "action", "name": "action_listen"},
        ]
        for action in said_since:
            history += [
                {"event": "user", "text": "hm", "timestamp": time.time()},
                {"event": "action", "name": action},
                {"event": "action", "name": "action_listen"},
            ]
        return make_tracker(
            text,
            "unsubscribe",
            slots={"reminder_topic": reminder_topic, "verified_msisdn": "13800000004"},
            events=history,
        )

    @pytest.mark.parametrize(("text", "topic"), [("stop it", "usage"), ("别发了", "bill")])
    def test_stop_it_after_a_reminder_of_no_add_on_stops_the_reminders(
        self, actions_service, text, topic
    ):
        messages, events = run_action(ActionUnsubscribe(), self.answering(topic, text, []))
        assert messages == [] and handoffs(events) == ["action_manage_reminders"]

    @pytest.mark.parametrize(
        ("text", "topic", "handed_to"),
        [
            ("ugh, stop it", "usage", "action_manage_reminders"),
            ("停", "contract", "action_manage_reminders"),
            ("stop it", "addon", "action_unsubscribe"),
        ],
    )
    def test_stop_it_heard_as_a_no_is_about_the_reminder(self, text, topic, handed_to):
        messages, events = run_action(ActionHandleConfirmation(), self.answering(topic, text, []))
        assert messages == [] and handoffs(events) == [handed_to]

    @pytest.mark.parametrize("said_since", [[], ["action_show_usage"]])
    def test_a_bare_no_after_a_reminder_or_a_stop_later_changes_nothing(self, said_since):
        text = "no" if not said_since else "stop it"
        messages, events = run_action(
            ActionHandleConfirmation(), self.answering("usage", text, said_since)
        )
        assert responses(messages) == ["utter_how_can_i_help"] and handoffs(events) == []

    def test_stop_it_after_an_add_on_reminder_cancels_the_add_on(self, actions_service):
        tracker = self.answering("addon", "stop it", [])
        tracker.slots["addon_topic"] = "news_sms"
        messages, events = run_action(ActionUnsubscribe(), tracker)
        assert handoffs(events) == [] and responses(messages) == ["utter_confirm_unsubscribe"]

    def test_cancel_after_the_conversation_moved_on_from_the_reminder_is_about_add_ons(
        self, actions_service
    ):
        tracker = self.answering("usage", "cancel it", ["action_show_usage"])
        messages, events = run_action(ActionUnsubscribe(), tracker)
        assert handoffs(events) == [] and responses(messages) == ["utter_ask_which_addon"]

    def test_an_add_on_named_after_a_usage_reminder_is_cancelled(self, actions_service):
        tracker = self.answering("usage", "cancel the ringback tone", [])
        tracker.latest_message["entities"] = [{"entity": "addon", "value": "ringback_tone"}]
        _, events = run_action(ActionUnsubscribe(), tracker)
        assert handoffs(events) == []


def verified_turn(text: str, entities=None, **slots):
    return make_tracker(
        text, "manage_reminders", entities, slots={"verified_msisdn": "13800000018", **slots}
    )


class TestTurningRemindersOffAndOn:
    def test_stop_these_reminders_after_a_reminder_turns_its_kind_off(self, store):
        messages, events = run_action(
            ActionManageReminders(), verified_turn("stop these reminders", reminder_topic="usage")
        )
        assert responses(messages) == ["utter_reminders_off"]
        assert messages[0]["kinds"] == "usage"
        assert store.opted_out("13800000018") == {ReminderKind.USAGE}
        assert slot_events(events)["reminder_topic"] == "usage"

    def test_a_named_kind_in_chinese(self, store):
        tracker = verified_turn("不要再给我发账单提醒了", {"reminder_kind": "bill"}, language="zh")
        messages, _ = run_action(ActionManageReminders(), tracker)
        assert messages[0]["kinds"] == "账单"
        assert store.opted_out("13800000018") == {ReminderKind.BILL}

    def test_a_change_of_mind_turns_them_back_on(self, store):
        store.set_opt_out("13800000018", [ReminderKind.USAGE, ReminderKind.BILL], out=True)
        tracker = verified_turn("actually turn them back on", reminder_topic="usage")
        messages, _ = run_action(ActionManageReminders(), tracker)
        assert responses(messages) == ["utter_reminders_on"]
        assert store.opted_out("13800000018") == {ReminderKind.BILL}

    def test_all_reminders(self, store):
        tracker = verified_turn("stop all the reminders", {"reminder_kind": "all"})
        _, events = run_action(ActionManageReminders(), tracker)
        assert store.opted_out("13800000018") == set(ReminderKind)
        assert slot_events(events)["reminder_topic"] == "all"

    def test_the_reminders_own_button_stops_them(self, store):
        tracker = verified_turn(
            '/manage_reminders{"reminder_kind":"roaming"}', {"reminder_kind": "roaming"}
        )
        run_action(ActionManageReminders(), tracker)
        assert store.opted_out("13800000018") == {ReminderKind.ROAMING}

    @pytest.mark.parametrize(
        "text, topic", [("which reminders do i get?", "usage"), ("stop sending me reminders", None)]
    )
    def test_no_kind_or_no_wish_is_answered_with_what_is_on_and_off(self, store, text, topic):
        store.set_opt_out("13800000018", [ReminderKind.BILL], out=True)
        messages, _ = run_action(ActionManageReminders(), verified_turn(text, reminder_topic=topic))
        assert responses(messages) == ["utter_reminders_which"]
        assert messages[0]["kinds_off"] == "bill"
        assert "bill" not in messages[0]["kinds_on"] and "usage" in messages[0]["kinds_on"]
        assert store.opted_out("13800000018") == {ReminderKind.BILL}

    def test_whose_reminders_is_asked_first(self, store):
        tracker = make_tracker(
            "stop sending me data usage reminders", "manage_reminders", {"reminder_kind": "usage"}
        )
        messages, events = run_action(ActionManageReminders(), tracker)
        assert responses(messages) == ["utter_need_verification"]
        assert slot_events(events)["pending_request"] == parked(
            "action_manage_reminders",
            "stop sending me data usage reminders",
            {"reminder_kind": ["usage"]},
        )
        assert handoffs(events) == ["verification_form"]
        assert store.opted_out_among(["13800000018"]) == {}

    def test_a_no_in_its_own_words_answers_no_open_question(self, store):
        """After "Switch to 4G Plus 59?", "不要再给我发流量提醒了" is about reminders."""
        question = json.dumps({"action": "action_change_plan", "asked_at_turn": 1})
        tracker = verified_turn(
            "不要再给我发流量提醒了",
            {"reminder_kind": "usage"},
            pending_confirmation=question,
        )
        tracker.events.insert(0, {"event": "user", "text": "which plan fits me?"})
        assert pending_confirmation(tracker) is not None
        messages, events = run_action(ActionManageReminders(), tracker)
        assert responses(messages) == ["utter_reminders_off"]
        assert handoffs(events) == []

    def test_the_missed_call_alert_is_an_add_on_to_cancel(self, store):
        tracker = make_tracker("关闭来电提醒", "manage_reminders", {"addon": "missed_call_alert"})
        _, events = run_action(ActionManageReminders(), tracker)
        assert handoffs(events) == ["action_unsubscribe"]


@pytest.mark.parametrize(
    "text, names_a_kind, on",
    [
        ("stop these reminders", False, False),
        ("no more bill reminders please", True, False),
        ("turn the bill reminders back on", True, True),
        ("actually turn them back on", False, True),
        ("i want the data alerts back", True, True),
        ("changed my mind, keep sending the reminders", False, True),
        ("don't turn them back on", False, False),
        ("turn off reminders on my line", False, False),
        ("we pay from the bank now, no need for the bill reminders", True, False),
        ('/manage_reminders{"reminder_kind":"addon"}', True, False),
        ("which reminders do i get?", False, None),
        ("what about bill reminders?", True, None),
        ("不要再给我发流量提醒了", True, False),
        ("不再发这类提醒", False, False),
        ("恢复账单提醒", True, True),
        ("算了 还是提醒我吧", False, True),
        ("之前关掉的账单提醒帮我恢复一下", True, True),
        ("别再发了，算了还是恢复吧", False, True),
        ("别恢复", False, False),
    ],
)
def test_on_or_off_is_what_the_message_says_last(text, names_a_kind, on):
    assert asked_switch(text, names_a_kind) is on


def test_a_payload_too_long_for_telegram_leaves_out_the_topic():
    named = button_payload("unsubscribe", {"addon": "news_sms", "consent_dispute": "yes"})
    assert named == '/unsubscribe{"addon":"news_sms","consent_dispute":"yes"}'
    long_id = {"addon": "x" * 40, "consent_dispute": "yes"}
    assert button_payload("unsubscribe", long_id, topic="addon") == (
        '/unsubscribe{"consent_dispute":"yes"}'
    )


class TestTheReminderIsNoMessageOfTheCustomers:
    def test_it_keeps_no_verification_alive(self):
        now = time.time()
        slots = {"verified_msisdn": "13800000002", "verified_at": now - 20 * MINUTE}
        verifying = {"event": "user", "text": "483920", "timestamp": now - 20 * MINUTE}
        reminded = make_tracker(
            "and my usage?",
            "check_usage",
            events=[verifying, external_event(now - MINUTE)],
            slots=slots,
        )
        assert verified_number(reminded) is None
        # The same minute, a message of the customer's own keeps it.
        talking = make_tracker(
            "and my usage?",
            "check_usage",
            events=[verifying, {"event": "user", "text": "hmm", "timestamp": now - MINUTE}],
            slots=slots,
        )
        assert verified_number(talking) == "13800000002"

    def test_it_is_no_turn_of_the_customers(self):
        tracker = make_tracker(
            "yes", events=[{"event": "user", "text": "cancel it"}, external_event(time.time())]
        )
        assert [event["text"] for event in customer_messages(tracker)] == ["cancel it", "yes"]

    def test_a_ticket_transcript_shows_the_reminder_not_the_event(self):
        tracker = make_tracker(
            "I never ordered that",
            events=[
                external_event(time.time()),
                {"event": "bot", "text": "A paid service started on your line", "timestamp": 1},
            ],
        )
        turns = [(turn.speaker, turn.text) for turn in transcript(tracker)]
        assert turns == [
            ("assistant", "A paid service started on your line"),
            ("customer", "I never ordered that"),
        ]

    def test_a_form_waiting_for_an_answer_steps_aside_once(self):
        tracker = make_tracker(
            "EXTERNAL: EXTERNAL_reminder",
            "EXTERNAL_reminder",
            slots={"requested_slot": "otp_code", "phone_number": "13800000002"},
            metadata=EXTERNAL,
        )
        _, events = run_action(ValidateVerificationForm(), tracker)
        assert [event["event"] for event in events] == ["slot", "action_execution_rejected"]
        assert slot_events(events) == {"otp_code": None}

    def test_the_rating_question_is_left_when_a_reminder_comes(self):
        tracker = make_tracker(
            "EXTERNAL: EXTERNAL_reminder",
            "EXTERNAL_reminder",
            slots={"requested_slot": "csat_score"},
            metadata=EXTERNAL,
        )
        _, events = run_action(ValidateCsatForm(), tracker)
        assert "action_execution_rejected" in [event["event"] for event in events]
        assert slot_events(events)["requested_slot"] is None


def code_sent_to(actions_service, msisdn: str) -> str:
    return re.search(r"\b\d{6}\b", actions_service.latest_sms(msisdn)).group()


def code_accepted(
    actions_service, msisdn: str, channel: str, conversation: str = CONVERSATION, **slots
):
    """The verification form's code question answered right, in a chat of `channel`."""
    form = ValidateVerificationForm()
    asked = make_tracker(msisdn, sender_id=conversation, input_channel=channel)
    form.validate_phone_number(msisdn, CollectingDispatcher(), asked, DOMAIN)
    code = code_sent_to(actions_service, msisdn)
    tracker = make_tracker(
        code,
        sender_id=conversation,
        input_channel=channel,
        slots={"phone_number": msisdn, **slots},
    )
    return form.validate_otp_code(code, CollectingDispatcher(), tracker, DOMAIN)


class TestTheChatOfALine:
    @pytest.mark.parametrize("channel", ["webchat", "telegram"])
    def test_a_chat_verified_receives_the_lines_reminders(self, actions_service, store, channel):
        slots = code_accepted(actions_service, "13800000002", channel, language="zh")
        assert slots["verified_msisdn"] == "13800000002"
        assert store.chats_among(["13800000002"]) == {
            "13800000002": ChatAddress("13800000002", channel, CONVERSATION, "zh")
        }

    def test_a_script_on_the_rest_channel_is_no_chat(self, actions_service, store):
        code_accepted(actions_service, "13800000002", "rest")
        assert store.chats_among(["13800000002"]) == {}

    def test_a_line_verified_after_another_takes_the_chat(self, actions_service, store):
        store.remember_chat(ChatAddress("13800000004", "webchat", CONVERSATION, "en"))
        earlier = [{"event": "slot", "name": "verified_msisdn", "value": "13800000004"}]
        form = ValidateVerificationForm()
        form.validate_phone_number(
            "13800000002",
            CollectingDispatcher(),
            make_tracker("13800000002", input_channel="webchat"),
            DOMAIN,
        )
        code = code_sent_to(actions_service, "13800000002")
        tracker = make_tracker(
            code, events=earlier, input_channel="webchat", slots={"phone_number": "13800000002"}
        )
        form.validate_otp_code(code, CollectingDispatcher(), tracker, DOMAIN)
        assert set(store.chats_among(["13800000002", "13800000004"])) == {"13800000002"}

    def test_a_database_failure_costs_the_reminders_not_the_verification(
        self, actions_service, sqlite_engine
    ):
        class Unreachable(SqlReminderStore):
            def remember_chat(self, address: ChatAddress) -> None:
                raise OperationalError("INSERT INTO reminder_chats", {}, Exception("locked"))

        common.use_reminder_store(Unreachable(sqlite_engine))
        try:
            slots = code_accepted(actions_service, "13800000002", "webchat")
        finally:
            common.use_reminder_store(None)
        assert slots["verified_msisdn"] == "13800000002"

    def test_sign_out_ends_the_reminders_in_this_chat(self, store):
        store.remember_chat(ChatAddress("13800000002", "telegram", CONVERSATION, "en"))
        store.remember_chat(ChatAddress("13800000002", "webchat", "another-chat", "en"))
        # The verification has lapsed already: the chat is forgotten all the same.
        verified = [{"event": "slot", "name": "verified_msisdn", "value": "13800000002"}]
        messages, _ = run_action(
            ActionSignOut(), make_tracker("sign me out", "sign_out", events=verified)
        )
        assert responses(messages) == ["utter_not_signed_in"]
        assert store.chats_among(["13800000002"]) == {
            "13800000002": ChatAddress("13800000002", "webchat", "another-chat", "en")
        }
