"""The SMS business hall (channels/sms/) end to end inside the process: a line's message taken
in by the demo gateway (`SqlSmsGateway.receive`), answered by the hall from the seeded demo
accounts, free text by a scripted Rasa through its real "sms" channel (tests/scripted_rasa.py),
the answers read back from the gateway, and the backend changed as the chat would change it.
Every keyword command in both languages; the confirmation before cancelling; bad input. Then
the real program, `python -m channels.sms`, with `telecom sms` playing the customer."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from actions.subscriptions import ActionListSubscriptions
from channels.rasa_client import RasaClient
from channels.sms.agent_replies import SmsReplySender
from channels.sms.conversations import line_conversation
from channels.sms.desk import SmsDesk
from channels.sms.hall import SmsHall
from channels.sms.keywords import Command, Keywords
from channels.sms.questions import SqlOpenQuestions
from ops import cli, parts
from ops.launcher import free_port, start
from telecom_assistant.accounts.service import BillStatus
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.accounts.tables import SubscriptionRow
from telecom_assistant.reminders.model import ReminderKind
from telecom_assistant.reminders.sql import SqlReminderStore
from telecom_assistant.sms.gateway import SMS_MAX_LENGTH, Direction, Purpose
from telecom_assistant.sms.sql import SqlSmsGateway
from telecom_assistant.texts import format_data, format_money, text
from telecom_assistant.tickets.model import Delivery
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from telecom_assistant.tickets.tables import AgentReplyRow
from telecom_assistant.trust import conversation_id
from tests.actions_support import make_tracker, responses, run_action
from tests.conftest import FakeClock
from tests.integration.test_tickets import new_ticket
from tests.scripted_rasa import ScriptedRasa
from tests.stack import LoopThread

CHANNEL_SECRET = "the-sms-hall-tests-channel-secret-0123456789"
CONVERSATION_KEY = "the-sms-hall-tests-conversation-key-0123456789"
KEYWORDS = Keywords.load()

CONSENTLESS = "13800000004"  # ringback tone and news SMS, no consent record for either
FIVE_ADDONS = "13800000014"
DATA_85 = "13800000018"  # 85 % of this month's data used
ARREARS = "13800000005"  # two bills unpaid, one overdue
PREPAID = "13800000008"  # balance 3.50 yuan
PAID_UP = "13800000017"
STRANGER = "13999999999"


@dataclass
class Hall:
    """The hall over a seeded database, and the customer's side of the gateway."""

    hall: SmsHall
    gateway: SqlSmsGateway
    accounts: SqlAccountService
    reminders: SqlReminderStore
    engine: Engine
    loop: LoopThread
    replies: SmsReplySender

    def send(self, msisdn: str, body: str) -> list[str]:
        """The line sends `body`; the hall's answers to it."""
        sent = self.gateway.receive(msisdn, body)
        self.loop.run(self._answer_all())
        return self.answers_after(msisdn, sent)

    async def _answer_all(self) -> None:
        await self.hall.take_waiting()
        await self.hall.finish()

    def answers_after(self, msisdn: str, sent: int) -> list[str]:
        return [
            sms.body
            for sms in self.gateway.messages(msisdn, after_id=sent)
            if sms.direction is Direction.OUT and sms.purpose is Purpose.HALL
        ]

    def subscription(self, subscription_id: int) -> SubscriptionRow:
        with Session(self.engine) as session:
            row = session.get(SubscriptionRow, subscription_id)
            assert row is not None
            return row


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture(scope="module")
def module_rasa(loop) -> Iterator[tuple[ScriptedRasa, str]]:
    """One scripted Rasa for the module's tests (its channels take seconds to build)."""
    scripted = ScriptedRasa(CHANNEL_SECRET)
    url = loop.run(scripted.start())
    yield scripted, url
    loop.run(scripted.stop())


@pytest.fixture
def rasa(module_rasa) -> tuple[ScriptedRasa, str]:
    """The scripted Rasa, with nothing received and nothing scripted yet."""
    scripted, _ = module_rasa
    scripted.messages.clear()
    scripted.buttons.clear()
    scripted.slow.clear()
    return module_rasa


def make_hall(engine: Engine, clock: FakeClock, loop: LoopThread, rasa_client: RasaClient) -> Hall:
    accounts = SqlAccountService(engine, clock=clock)
    reminders = SqlReminderStore(engine, clock=clock)
    gateway = SqlSmsGateway(engine, clock=clock)
    desk = SmsDesk(accounts, reminders, SqlOpenQuestions(engine, clock), KEYWORDS, clock=clock)
    replies = SmsReplySender(
        SqlReplyOutbox(engine, clock), SqlTicketService(engine, clock), gateway, CONVERSATION_KEY
    )
    hall = SmsHall(
        desk, gateway, rasa_client, KEYWORDS, CONVERSATION_KEY, retry_seconds=0.1, replies=replies
    )
    return Hall(hall, gateway, accounts, reminders, engine, loop, replies)


@pytest.fixture
def sms(sqlite_engine, clock, loop, rasa) -> Iterator[Hall]:
    client = RasaClient(rasa[1], CHANNEL_SECRET)
    yield make_hall(sqlite_engine, clock, loop, client)
    loop.run(client.close())


def one(answers: list[str]) -> str:
    assert len(answers) == 1, answers
    return answers[0]


# ---- 0000: the paid add-ons, numbered -------------------------------------------------------


def test_0000_lists_the_paid_addons_numbered_in_the_lines_language(sms):
    active = sms.accounts.active_subscriptions(CONSENTLESS)
    # No language known for the line: a code is answered in Chinese.
    chinese = one(sms.send(CONSENTLESS, "0000")).splitlines()
    assert chinese[0] == text(
        "sms_hall.addons_intro",
        "zh",
        count=2,
        total=format_money(sum(s.addon.monthly_fee for s in active)),
    )
    for number, (line, sub) in enumerate(zip(chinese[1:3], active), start=1):
        assert line.startswith(
            f"{number}. {sub.addon.name_zh}，每月{format_money(sub.addon.monthly_fee)}"
        )
        assert str(sub.started_on) in line and "没有您同意订购的记录" in line
    assert chinese[-1] == text("sms_hall.how_to_cancel", "zh", keyword="TD")

    # Words in English are answered in English, and the line's language is remembered.
    english = one(sms.send(CONSENTLESS, "my services")).splitlines()
    assert english[1].startswith(
        f"1. {active[0].addon.name}, {format_money(active[0].addon.monthly_fee)} a month"
    )
    assert sms.reminders.language_of(CONSENTLESS) == "en"
    assert one(sms.send(CONSENTLESS, "0000")).splitlines() == english
    assert one(sms.send(CONSENTLESS, "我的业务")).splitlines() == chinese
    assert sms.reminders.language_of(CONSENTLESS) == "zh"


def test_a_line_without_addons_is_told_so(sms):
    assert one(sms.send(DATA_85, "0000")) == text("sms_hall.no_addons", "zh")


# ---- TD: cancelling one, after a yes -----------------------------------------------------------


def test_td_and_a_number_asks_first_and_a_yes_cancels_as_the_chat_does(sms, clock):
    ringback = sms.accounts.active_subscriptions(CONSENTLESS)[0]
    asked = one(sms.send(CONSENTLESS, "TD1"))
    assert asked.startswith(
        text(
            "sms_hall.confirm_cancel",
            "zh",
            confirm="Y/是",
            minutes=10,
            names=ringback.addon.name_zh,
            total=format_money(ringback.addon.monthly_fee),
        )
    )
    # No consent on record: the customer learns how to dispute it (in words, to the assistant).
    assert "我从没订过彩铃" in asked
    assert sms.subscription(ringback.id).cancelled_at is None

    done = one(sms.send(CONSENTLESS, "是"))
    assert done == text(
        "sms_hall.cancelled", "zh", names="彩铃", at=clock.now.strftime("%Y-%m-%d %H:%M")
    )
    row = sms.subscription(ringback.id)
    # As the chat cancels one the customer did not say they never ordered.
    assert row.cancelled_at == clock.now and row.consent_disputed is False
    assert [s.addon.id for s in sms.accounts.active_subscriptions(CONSENTLESS)] == ["news_sms"]


def test_a_yes_reaching_another_hall_or_a_restarted_one_cancels(sms, clock, loop, rasa):
    """The question is kept in the database, not in the hall that asked it."""
    ringback = sms.accounts.active_subscriptions(CONSENTLESS)[0]
    sms.send(CONSENTLESS, "TD1")
    client = RasaClient(rasa[1], CHANNEL_SECRET)
    other = make_hall(sms.engine, clock, loop, client)
    try:
        assert one(other.send(CONSENTLESS, "Y")).startswith("已办理：彩铃已于")
        # Answered once: a second yes, at either hall, is no answer to a question any more.
        assert one(sms.send(CONSENTLESS, "Y")) == "echo: Y"
    finally:
        loop.run(client.close())
    assert sms.subscription(ringback.id).cancelled_at == clock.now


def test_the_question_names_the_add_ons_in_the_language_of_the_answer(sms):
    sms.send(CONSENTLESS, "TD1")
    assert one(sms.send(CONSENTLESS, "N")) == text("sms_hall.cancel_declined", "zh", names="彩铃")
    sms.send(CONSENTLESS, "cancel ringback")
    assert one(sms.send(CONSENTLESS, "no")) == text(
        "sms_hall.cancel_declined", "en", names="Colour Ringback Tone"
    )


def test_cancel_by_name_in_english_and_in_chinese(sms):
    asked = one(sms.send(FIVE_ADDONS, "cancel music"))
    assert "Reply Y/YES within 10 minutes to cancel Music Pack (¥15.00 a month in all)." in asked
    assert one(sms.send(FIVE_ADDONS, "yes")).startswith("Done: Music Pack cancelled at ")

    assert "确认退订游戏包" in one(sms.send(FIVE_ADDONS, "退订游戏包"))
    assert one(sms.send(FIVE_ADDONS, "Y")).startswith("已办理：游戏包已于")
    left = {s.addon.id for s in sms.accounts.active_subscriptions(FIVE_ADDONS)}
    assert "music_pack" not in left and "game_pack" not in left and len(left) == 3


def test_td_all_cancels_every_addon_after_one_yes(sms):
    total = format_money(
        sum(s.addon.monthly_fee for s in sms.accounts.active_subscriptions(FIVE_ADDONS))
    )
    assert f"（合计每月{total}）" in one(sms.send(FIVE_ADDONS, "TD ALL"))
    sms.send(FIVE_ADDONS, "Y")
    assert sms.accounts.active_subscriptions(FIVE_ADDONS) == []


def test_a_no_or_another_message_cancels_nothing(sms, rasa):
    assert one(sms.send(CONSENTLESS, "TD2"))
    assert one(sms.send(CONSENTLESS, "N")) == text(
        "sms_hall.cancel_declined", "zh", names="新闻早晚报"
    )
    # Another request ends the question: it is answered, and a later yes confirms nothing.
    sms.send(CONSENTLESS, "TD2")
    assert one(sms.send(CONSENTLESS, "CXLL")).startswith("本月剩余流量")
    assert one(sms.send(CONSENTLESS, "Y")) == "echo: Y"  # for the assistant, which may have asked
    assert len(sms.accounts.active_subscriptions(CONSENTLESS)) == 2


def test_a_yes_after_ten_minutes_cancels_nothing(sms, clock):
    sms.send(CONSENTLESS, "TD1")
    clock.advance(minutes=10, seconds=1)
    assert one(sms.send(CONSENTLESS, "Y")) == text(
        "sms_hall.cancel_expired", "zh", minutes=10, names="彩铃", keyword="TD"
    )
    assert len(sms.accounts.active_subscriptions(CONSENTLESS)) == 2


def test_an_addon_cancelled_meanwhile_is_not_cancelled_twice(sms):
    ringback = sms.accounts.active_subscriptions(CONSENTLESS)[0]
    sms.send(CONSENTLESS, "TD1")
    sms.accounts.cancel_subscriptions(CONSENTLESS, [ringback.id], consent_disputed=True)  # the chat
    assert one(sms.send(CONSENTLESS, "Y")) == text("sms_hall.already_cancelled", "zh", names="彩铃")
    assert sms.subscription(ringback.id).consent_disputed is True


def test_td_without_a_clear_addon(sms, rasa):
    which = one(sms.send(FIVE_ADDONS, "TD")).splitlines()
    assert which[0] == text("sms_hall.which_addon", "zh", keyword="TD") and len(which) == 6
    assert one(sms.send(FIVE_ADDONS, "TD 9")) == text(
        "sms_hall.no_such_number", "zh", number=9, keyword="0000"
    )
    assert one(sms.send(FIVE_ADDONS, "TD pizza")) == text(
        "sms_hall.not_subscribed", "en", name="pizza", keyword="0000"
    )
    # A sentence starting with a keyword word is the assistant's to read.
    assert one(sms.send(FIVE_ADDONS, "退订了吗")) == "echo: 退订了吗"
    assert len(sms.accounts.active_subscriptions(FIVE_ADDONS)) == 5
    # The line's only add-on needs no number.
    assert "to cancel Missed Call Alert" in one(sms.send("13800000022", "cancel"))


# ---- CXLL, CXHF, YE ------------------------------------------------------------------------------


def test_cxll_tells_the_data_left(sms):
    report = sms.accounts.current_usage(DATA_85)
    english = text(
        "sms_hall.data_left",
        "en",
        left=format_data(report.data_left_mb),
        allowance=format_data(report.plan.data_mb),
        used=format_data(report.usage.data_used_mb),
        cycle_end=str(report.usage.cycle_end),
    )
    assert one(sms.send(DATA_85, "data")) == english
    assert one(sms.send(DATA_85, "cxll")) == english  # the code, in the language remembered
    assert one(sms.send(DATA_85, "查流量")).startswith(
        f"本月剩余流量：{format_data(report.data_left_mb)}"
    )


def test_cxhf_tells_the_bill_and_what_is_owed(sms):
    bill = sms.accounts.latest_bill(ARREARS)
    owed = sum(
        b.total - b.amount_paid
        for b in sms.accounts.recent_bills(ARREARS, 12)
        if b.status is not BillStatus.PAID
    )
    overdue = sms.accounts.get_line(ARREARS).arrears
    assert owed > overdue > 0
    chinese = one(sms.send(ARREARS, "CXHF"))
    assert chinese.startswith(
        f"您最近一期账单（{bill.cycle_start}至{bill.cycle_end}）：{format_money(bill.total)}"
    )
    assert chinese.endswith(
        text("sms_hall.owes_overdue", "zh", owed=format_money(owed), overdue=format_money(overdue))
    )
    english = one(sms.send(ARREARS, "bill"))
    assert f"{format_money(bill.total)}, due on {bill.due_date}" in english
    # A prepaid line's bill answer ends with its balance.
    assert one(sms.send(PREPAID, "话费")).endswith(
        text("sms_hall.balance_prepaid", "zh", balance="¥3.50")
    )


def test_ye_tells_the_balance_or_what_is_owed(sms):
    assert one(sms.send(PREPAID, "YE")) == "您的预付费余额为¥3.50。"
    assert one(sms.send(PREPAID, "balance")) == "Your prepaid balance is ¥3.50."
    assert one(sms.send(PAID_UP, "余额")) == text("sms_hall.owes_nothing", "zh")
    assert "is owed now" in one(sms.send(ARREARS, "BALANCE"))


# ---- reminders on and off ---------------------------------------------------------------------


def test_usage_reminders_off_and_on_reach_the_reminder_store(sms):
    assert one(sms.send(DATA_85, "QXLLTX")).startswith("已取消用量提醒")
    assert sms.reminders.opted_out(DATA_85) == {ReminderKind.USAGE}
    assert one(sms.send(DATA_85, "usage alerts on")).startswith("Usage reminders")
    assert sms.reminders.opted_out(DATA_85) == frozenset()
    sms.send(DATA_85, "取消流量提醒")
    assert sms.reminders.opted_out(DATA_85) == {ReminderKind.USAGE}
    sms.send(DATA_85, "KTLLTX")
    assert sms.reminders.opted_out(DATA_85) == frozenset()


def test_any_kind_of_reminder_off_and_on(sms):
    assert one(sms.send(PREPAID, "QXTX ZD")) == text(
        "sms_hall.reminders_off", "zh", kinds="账单", on="KTTX", off="QXTX", code="ZD"
    )
    sms.send(PREPAID, "alerts off roaming")
    assert sms.reminders.opted_out(PREPAID) == {ReminderKind.BILL, ReminderKind.ROAMING}
    sms.send(PREPAID, "取消提醒全部")
    assert sms.reminders.opted_out(PREPAID) == frozenset(ReminderKind)
    sms.send(PREPAID, "KTTX ALL")
    assert sms.reminders.opted_out(PREPAID) == frozenset()
    which = one(sms.send(PREPAID, "QXTX"))
    assert which.startswith("请问哪类提醒？") and "ZD 账单" in which
    assert sms.reminders.opted_out(PREPAID) == frozenset()


# ---- help ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "language"), [("?", "zh"), ("帮助", "zh"), ("HELP", "en"), ("？", "zh")]
)
def test_help_lists_every_command(sms, said, language):
    answer = one(sms.send(DATA_85, said))
    assert answer.splitlines()[0] == text("sms_hall.help", language)
    for command in Command:
        if command not in (Command.CONFIRM, Command.DECLINE):
            assert KEYWORDS.shown(command) in answer


# ---- free text, through Rasa's "sms" channel ---------------------------------------------------


def test_free_text_reaches_the_assistant_in_the_lines_own_conversation(sms, rasa):
    scripted, _ = rasa
    assert sms.send(DATA_85, "how much data do I have left?") == [
        "echo: how much data do I have left?"
    ]
    message = scripted.messages[-1]
    assert message.input_channel == "sms"
    assert message.sender_id == conversation_id("sms-", DATA_85, CONVERSATION_KEY)
    assert message.metadata == {"msisdn": DATA_85}
    assert message.message_id and message.message_id.startswith("sms-")
    assert sms.reminders.language_of(DATA_85) == "en"
    # Another line is another conversation.
    sms.send(PREPAID, "我的流量还剩多少")
    assert scripted.messages[-1].sender_id == conversation_id("sms-", PREPAID, CONVERSATION_KEY)


def test_buttons_become_a_reply_line(sms, rasa):
    scripted, _ = rasa
    scripted.buttons["which plan fits me"] = [
        {"title": "5G Plus 129", "payload": '/ask_tariff{"plan":"5g_plus_129"}'},
        {"title": "4G Basic 39", "payload": '/ask_tariff{"plan":"basic_4g_39"}'},
    ]
    scripted.buttons["哪个套餐适合我"] = [{"title": "好的", "payload": "/affirm"}]
    assert one(sms.send(DATA_85, "which plan fits me")) == (
        "echo: which plan fits me\nReply: 5G Plus 129 / 4G Basic 39"
    )
    assert one(sms.send(DATA_85, "哪个套餐适合我")) == "echo: 哪个套餐适合我\n回复：好的"


def test_a_typed_intent_reaches_the_assistant_as_words(sms, rasa):
    scripted, _ = rasa
    sms.send(DATA_85, '/unsubscribe{"addon":"all"}')
    assert scripted.messages[-1].text == 'unsubscribe{"addon":"all"}'


def test_the_assistant_out_of_reach_is_said_in_the_customers_language(sqlite_engine, clock, loop):
    dead = RasaClient(f"http://127.0.0.1:{free_port()}", CHANNEL_SECRET, timeout_seconds=2)
    sms = make_hall(sqlite_engine, clock, loop, dead)
    try:
        assert one(sms.send(DATA_85, "how much data do I have left?")) == text(
            "sms_hall.assistant_unavailable", "en", keyword="?/HELP"
        )
        # Nothing tells the language (the line has none yet): both, Chinese first.
        unknown = one(sms.send(PREPAID, "12345"))
        assert unknown == "\n".join(
            [
                text("sms_hall.assistant_unavailable", "zh", keyword="?/帮助"),
                text("sms_hall.assistant_unavailable", "en", keyword="?/HELP"),
            ]
        )
        # The commands work without the assistant.
        assert one(sms.send(PREPAID, "YE")) == "您的预付费余额为¥3.50。"
    finally:
        loop.run(dead.close())


def test_a_turn_slower_than_the_client_is_answered_once_it_is_done(
    sqlite_engine, clock, loop, rasa
):
    scripted, url = rasa
    scripted.slow["check my bill please"] = 1.0
    impatient = RasaClient(url, CHANNEL_SECRET, timeout_seconds=0.5)
    sms = make_hall(sqlite_engine, clock, loop, impatient)
    try:
        assert sms.send(DATA_85, "check my bill please") == ["echo: check my bill please"]
        assert scripted.turns_of("check my bill please") == 1
    finally:
        loop.run(impatient.close())


def test_a_refused_channel_secret_is_the_assistant_unavailable(sqlite_engine, clock, loop, rasa):
    wrong = RasaClient(rasa[1], "not-the-channel-secret-0123456789abcdef")
    sms = make_hall(sqlite_engine, clock, loop, wrong)
    try:
        assert one(sms.send(DATA_85, "hello there")).startswith("Sorry, our assistant")
        assert rasa[0].messages == []
    finally:
        loop.run(wrong.close())


# ---- bad input, unknown lines ------------------------------------------------------------------


def test_empty_and_unreadable_messages_get_a_clear_answer(sms, rasa):
    empty = text("sms_hall.empty", "zh", keyword="?/帮助")
    assert one(sms.send(DATA_85, "")) == empty
    assert one(sms.send(DATA_85, " \t\n ")) == empty
    assert one(sms.send(DATA_85, "\x00\x07\u200b")) == empty
    assert one(sms.send(DATA_85, "👍🎉!!")) == text("sms_hall.unreadable", "zh", keyword="?/帮助")
    # Control characters inside a command are dropped, not held against it.
    assert one(sms.send(DATA_85, "CX\x00L\u200bL")).startswith("本月剩余流量")
    assert rasa[0].messages == []


def test_a_huge_message_is_answered_in_sms_sized_parts(sms, rasa):
    answers = sms.send(DATA_85, "why " * 2000)
    # The gateway keeps an SMS's worth; the assistant's echo of it needs two.
    assert len(rasa[0].messages[-1].text) == SMS_MAX_LENGTH
    assert len(answers) == 2 and all(len(part) <= SMS_MAX_LENGTH for part in answers)
    assert "".join(answers) == "echo: " + ("why " * 2000)[:SMS_MAX_LENGTH].strip()


def test_a_number_that_is_not_ours_is_told_once_a_day_and_nothing_else(sms, clock):
    told = one(sms.send(STRANGER, "0000"))
    assert told == "\n".join(
        [text("sms_hall.not_customer", "zh"), text("sms_hall.not_customer", "en")]
    )
    assert sms.send(STRANGER, "CXLL") == []  # two machines never answer each other for ever
    clock.advance(days=1)
    assert sms.send(STRANGER, "how much data?") == [text("sms_hall.not_customer", "en")]
    # A sender that is no mobile number (a short code) gets nothing.
    assert sms.send("10086", "0000") == []
    assert sms.gateway.waiting() == []  # every message was taken


# ---- several halls, several lines --------------------------------------------------------------


def test_two_halls_answer_each_message_once(sms, sqlite_engine, clock, loop, rasa):
    other_client = RasaClient(rasa[1], CHANNEL_SECRET)
    other = make_hall(sqlite_engine, clock, loop, other_client)
    sent = [sms.gateway.receive(line, "YE") for line in (PREPAID, PAID_UP, ARREARS)]

    async def both() -> None:
        await asyncio.gather(sms.hall.take_waiting(), other.hall.take_waiting())
        await asyncio.gather(sms.hall.finish(), other.hall.finish())

    loop.run(both())
    for line, message in zip((PREPAID, PAID_UP, ARREARS), sent):
        assert len(sms.answers_after(line, message)) == 1
    assert sms.hall.answered + other.hall.answered == 3
    loop.run(other_client.close())


def test_a_slow_answer_holds_up_its_own_line_only(sms, rasa):
    rasa[0].slow["a slow question"] = 1.0
    first = sms.gateway.receive(DATA_85, "a slow question")
    sms.gateway.receive(DATA_85, "YE")
    sms.gateway.receive(PREPAID, "YE")
    sms.loop.run(sms._answer_all())
    slow, balance = sms.answers_after(DATA_85, first)
    # The line's own messages answered in the order sent ...
    assert slow == "echo: a slow question" and balance.startswith("Your line is postpaid")
    # ... and the other line's answered while the slow one was under way.
    (prepaid,) = sms.gateway.messages(PREPAID, after_id=first)[-1:]
    slow_sms = next(m for m in sms.gateway.messages(DATA_85, after_id=first) if m.body == slow)
    assert prepaid.body == "您的预付费余额为¥3.50。" and prepaid.id < slow_sms.id


# ---- the chat's actions take the SMS line as verified ----------------------------------------------


def sms_tracker(metadata: dict | None, channel: str = "sms"):
    tracker = make_tracker("0000", "list_subscriptions")
    tracker.events[-1]["input_channel"] = channel
    tracker.events[-1]["metadata"] = metadata
    return tracker


def test_the_assistant_answers_an_sms_line_without_a_code(actions_service):
    messages, _ = run_action(ActionListSubscriptions(), sms_tracker({"msisdn": CONSENTLESS}))
    assert responses(messages)[0] == "utter_subscriptions_intro" and messages[0]["count"] == "2"
    # The same metadata through any other door grants nothing.
    messages, _ = run_action(
        ActionListSubscriptions(), sms_tracker({"msisdn": CONSENTLESS}, "webchat")
    )
    assert responses(messages) == ["utter_need_verification"]


# ---- a hall killed while answering -------------------------------------------------------------


def take_and_answer(sms: Hall) -> int:
    claimed = sms.loop.run(sms.hall.take_waiting())
    sms.loop.run(sms.hall.finish())
    return claimed


def test_a_message_claimed_by_a_hall_that_died_is_answered_once_its_claim_expires(sms, clock):
    sent = sms.gateway.receive(CONSENTLESS, "0000")
    assert sms.gateway.mark_handled(sent)  # a hall claims it, and is killed
    assert take_and_answer(sms) == 0
    clock.advance(minutes=10, seconds=1)
    assert take_and_answer(sms) == 1
    assert one(sms.answers_after(CONSENTLESS, sent)).startswith("您已开通的付费业务（2项")
    clock.advance(minutes=11)
    assert take_and_answer(sms) == 0 and len(sms.answers_after(CONSENTLESS, sent)) == 1


def test_a_hall_killed_after_answering_does_not_answer_twice(sms, clock, monkeypatch):
    """Killed between sending the answer and recording it: taken again, answered under the
    same references, which the gateway refuses."""

    def killed(self, sms_id):  # type: ignore[no-untyped-def]
        raise OperationalError("UPDATE sms_outbox", {}, Exception("the hall was killed"))

    sent = sms.gateway.receive(CONSENTLESS, "CXLL")
    with monkeypatch.context() as dying:
        dying.setattr(SqlSmsGateway, "mark_answered", killed)
        assert take_and_answer(sms) == 1
    clock.advance(minutes=10, seconds=1)
    assert take_and_answer(sms) == 1
    assert take_and_answer(sms) == 0
    assert len(sms.answers_after(CONSENTLESS, sent)) == 1


# ---- the program ---------------------------------------------------------------------------------


@pytest.fixture
def hall_program_environment(tmp_path, seeded_sqlite_file) -> dict[str, str]:
    database = tmp_path / "telecom.db"
    shutil.copyfile(seeded_sqlite_file, database)
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        # Nobody there: the commands answer without the assistant.
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "TELECOM_CHANNEL_SECRET": CHANNEL_SECRET,
        "TELECOM_CONVERSATION_KEY": CONVERSATION_KEY,
    }


def test_the_program_serves_health_answers_0000_and_stops_on_sigterm(
    hall_program_environment, tmp_path, monkeypatch, capsys
):
    running = start(
        parts.sms_hall(free_port(), environment=hall_program_environment, log=tmp_path / "hall.log")
    )
    try:
        health = httpx.get(running.part.health_url, timeout=5).json()
        assert health["status"] == "ok" and health["rasa"] == "unreachable"
        # `telecom sms` plays the customer: the message goes in, the hall's answer comes out.
        monkeypatch.setenv("DATABASE_URL", hall_program_environment["DATABASE_URL"])
        assert cli.main(["sms", "138 0000 0004", "0000"]) == 0
        printed = capsys.readouterr().out
        assert printed.startswith("您已开通的付费业务（2项") and "1. 彩铃" in printed
        assert httpx.get(running.part.health_url, timeout=5).json()["answered"] == 1
    finally:
        running.process.send_signal(signal.SIGTERM)
        code = running.process.wait(timeout=20)
    assert code == 0, (tmp_path / "hall.log").read_text()


def test_telecom_sms_says_when_no_hall_answers(hall_program_environment, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", hall_program_environment["DATABASE_URL"])
    monkeypatch.setattr(cli, "SMS_ANSWER_SECONDS", 0.5)
    assert cli.main(["sms", CONSENTLESS, "0000"]) == 1
    assert "the SMS hall is not running (`telecom run` starts it)" in capsys.readouterr().err
    assert cli.main(["sms", "12345", "0000"]) == 2
    # Without a text: what the line's phone shows.
    assert cli.main(["sms", CONSENTLESS]) == 0
    assert "  you:\n0000\n" in capsys.readouterr().out
    assert cli.main(["sms", PAID_UP]) == 1
    assert f"No SMS to or from {PAID_UP} yet." in capsys.readouterr().err


def test_the_program_refuses_a_keywords_file_it_cannot_use(hall_program_environment, tmp_path):
    broken = tmp_path / "keywords.yml"
    broken.write_text("commands:\n  list_addons:\n    codes: [0000]\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "channels.sms"],
        env={**hall_program_environment, "TELECOM_SMS_KEYWORDS": str(broken)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 1
    assert "write each keyword as text" in result.stderr


# ---- agents' replies to tickets filed by SMS ------------------------------------------------


def sms_ticket(sms: Hall, clock: FakeClock, conversation: str | None = None) -> str:
    """A complaint the assistant filed from the line's SMS conversation: its id."""
    tickets = SqlTicketService(sms.engine, clock)
    conversation = conversation or line_conversation(CONSENTLESS, CONVERSATION_KEY)
    filing = tickets.file(
        new_ticket(
            channel="sms",
            conversation_id=conversation,
            msisdn=CONSENTLESS,
            contact_number=CONSENTLESS,
            language="zh",
            idempotency_key=f"{conversation}:billing",
        )
    )
    return filing.ticket.id


def replies_sent(sms: Hall, msisdn: str = CONSENTLESS) -> list[str]:
    return [
        message.body for message in sms.gateway.messages(msisdn) if message.purpose is Purpose.REPLY
    ]


def deliveries(sms: Hall, ticket_id: str) -> list[str]:
    with Session(sms.engine) as session:
        return list(
            session.scalars(
                select(AgentReplyRow.delivery).where(AgentReplyRow.ticket_id == ticket_id)
            )
        )


def test_an_agents_reply_to_a_ticket_filed_by_sms_reaches_the_line_by_sms_once(sms, clock):
    ticket_id = sms_ticket(sms, clock)
    tickets = SqlTicketService(sms.engine, clock)
    tickets.reply(ticket_id, "li.na", "我们已核实，重复扣的39元将在3个工作日内退回。")
    assert sms.loop.run(sms.hall.send_replies()) == 1
    assert sms.loop.run(sms.hall.send_replies()) == 0
    (sent,) = replies_sent(sms)
    assert ticket_id in sent and "重复扣的39元将在3个工作日内退回" in sent
    assert deliveries(sms, ticket_id) == [Delivery.DELIVERED.value]
    # The letter went by SMS itself: the reminder scan has no news to add about it.
    assert [
        u for u in tickets.updates_since(clock.now - timedelta(days=1)) if u.ticket_id == ticket_id
    ] == []


def test_a_long_reply_goes_in_parts_and_a_hall_stopped_before_recording_it_sends_no_part_twice(
    sms, clock, monkeypatch
):
    ticket_id = sms_ticket(sms, clock)
    letter = "\n".join(f"第{n}条：" + "说明" * 60 for n in range(12))
    SqlTicketService(sms.engine, clock).reply(ticket_id, "li.na", letter[:2000])

    def stopped(*args: object) -> int:
        raise OSError("the hall is stopped here")

    with monkeypatch.context() as stopping:
        stopping.setattr(SqlReplyOutbox, "mark_delivered", stopped)
        with pytest.raises(OSError):
            sms.replies.send_pending()
    parts = replies_sent(sms)
    assert len(parts) >= 3 and all(len(part) <= SMS_MAX_LENGTH for part in parts)
    assert sms.loop.run(sms.hall.send_replies()) == 1
    assert replies_sent(sms) == parts


def test_a_reply_whose_conversation_is_not_the_lines_sms_goes_nowhere(sms, clock):
    ticket_id = sms_ticket(sms, clock, conversation="sms-0123456789abcdef0123456789abcdef")
    SqlTicketService(sms.engine, clock).reply(ticket_id, "li.na", "您好")
    assert sms.loop.run(sms.hall.send_replies()) == 0
    assert replies_sent(sms) == []
    assert deliveries(sms, ticket_id) == [Delivery.FAILED.value]
