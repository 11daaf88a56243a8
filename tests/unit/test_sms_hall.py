"""The SMS hall's parts that need no database: reading keywords.yml and matching messages to
commands, the docs' keyword table, SMS-sized parts, the assistant's answer as an SMS, what a
reminder SMS tells the customer to reply, and the line an SMS conversation is verified as."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from actions.common import verified_number
from channels.rasa_client import BotMessage, Button
from channels.sms.hall import assistant_text
from channels.sms.keywords import DEFAULT_KEYWORDS, Command, Keywords, KeywordsError
from channels.sms.parts import sms_parts
from telecom_assistant.database import PROJECT_ROOT
from telecom_assistant.reminders.model import ReminderKind
from telecom_assistant.reminders.render import SmsHint
from telecom_assistant.settings import Settings, SettingsError
from tests.actions_support import make_tracker

KEYWORDS = Keywords.load()


@pytest.mark.parametrize(
    ("said", "command", "argument", "language"),
    [
        ("0000", Command.LIST_ADDONS, "", None),
        ("００００", Command.LIST_ADDONS, "", None),  # full-width digits
        ("cxll", Command.DATA_LEFT, "", None),
        (" C X L L 。", Command.DATA_LEFT, "", None),
        ("ＣＸＨＦ", Command.BILL, "", None),
        ("查流量", Command.DATA_LEFT, "", "zh"),
        ("Data.", Command.DATA_LEFT, "", "en"),
        ("TD1", Command.CANCEL_ADDON, "1", None),
        ("td 2", Command.CANCEL_ADDON, "2", None),
        ("ｔｄ　３", Command.CANCEL_ADDON, "3", None),
        ("退订彩铃", Command.CANCEL_ADDON, "彩铃", "zh"),
        ("cancel the music pack", Command.CANCEL_ADDON, "the music pack", "en"),
        ("KTLLTX", Command.USAGE_REMINDERS_ON, "", None),
        ("QXLLTX", Command.USAGE_REMINDERS_OFF, "", None),
        # The longer keyword wins: QXTX followed by the kind LL, not QXLLTX.
        ("QXTXLL", Command.REMINDERS_OFF, "LL", None),
        ("alerts off roaming", Command.REMINDERS_OFF, "roaming", "en"),
        ("?", Command.HELP, "", None),
        ("？", Command.HELP, "", None),
        ("帮助", Command.HELP, "", "zh"),
        ("y", Command.CONFIRM, "", None),
        ("是", Command.CONFIRM, "", "zh"),
        ("No", Command.DECLINE, "", "en"),
    ],
)
def test_a_message_is_the_command_its_keyword_names(said, command, argument, language):
    found = KEYWORDS.match(said)
    assert found is not None
    assert (found.command, found.argument, found.keyword.language) == (command, argument, language)


@pytest.mark.parametrize(
    "said",
    ["how much data do I have left?", "CXLL please", "我的流量还剩多少", "Yes please", "好"],
)
def test_anything_else_is_no_command(said):
    assert KEYWORDS.match(said) is None


def test_kinds_and_all():
    assert KEYWORDS.kind("zd") == (ReminderKind.BILL, KEYWORDS.kinds[ReminderKind.BILL].keywords[0])
    assert KEYWORDS.kind("漫游")[0] is ReminderKind.ROAMING
    assert KEYWORDS.kind("weather") is None
    assert KEYWORDS.means_all("all") is not None and KEYWORDS.means_all("全部").language == "zh"
    assert KEYWORDS.shown_in(Command.CONFIRM, "zh") == "Y/是"
    assert KEYWORDS.shown_in(Command.HELP, "en") == "?/HELP"


def test_reminder_smses_name_the_keywords_that_stop_them():
    hints = KEYWORDS.reminder_hints()
    assert hints[ReminderKind.USAGE] == SmsHint("reminder.stop_by_sms", "QXLLTX")
    assert hints[ReminderKind.BILL] == SmsHint("reminder.stop_by_sms", "QXTX ZD")
    # A new add-on's reminder points to the list, where it can be cancelled.
    assert hints[ReminderKind.ADDON] == SmsHint("reminder.addons_by_sms", "0000")
    # Each hint is a command the hall understands.
    for kind, hint in hints.items():
        found = KEYWORDS.match(hint.keyword)
        assert found is not None and found.command in (
            Command.REMINDERS_OFF,
            Command.USAGE_REMINDERS_OFF,
            Command.LIST_ADDONS,
        )
        if found.command is Command.REMINDERS_OFF:
            assert KEYWORDS.kind(found.argument)[0] is kind


def test_docs_show_the_keywords_of_the_file():
    doc = (PROJECT_ROOT / "docs" / "channels.md").read_text(encoding="utf-8")
    table = re.search(
        r"<!-- generated: Keywords.markdown_table\(\) -->\n(.*)<!-- end", doc, re.DOTALL
    )
    assert table is not None, "docs/channels.md lost its keyword table's markers"
    assert table.group(1) == KEYWORDS.markdown_table(), (
        "docs/channels.md's keyword table is out of date: put the output of `python -c 'from "
        "channels.sms.keywords import Keywords; print(Keywords.load().markdown_table(), "
        'end="")\'` between its markers'
    )


@pytest.mark.parametrize(
    ("changed", "complaint"),
    [
        (lambda s: s.replace('codes: ["0000"]', "codes: [0000]"), "write each keyword as text"),
        (lambda s: s.replace('en: ["YES"]', "en: [YES]"), "write each keyword as text"),
        (
            lambda s: s.replace("en: [BALANCE]\n    zh: [余额, 查余额]", "en: [DATA]"),
            "is a keyword of both",
        ),
        (lambda s: s.replace("  help:\n", "  helpme:\n"), "commands.helpme is unknown"),
        (lambda s: 'commands:\n  help:\n    codes: ["?"]\n', "no keywords for list_addons"),
        (lambda s: s.replace("codes: [CXLL]", "codes: CXLL"), "must be a list"),
        (lambda s: "- just a list", "expected `commands`"),
    ],
)
def test_a_keywords_file_the_hall_cannot_use_says_what_to_fix(tmp_path, changed, complaint):
    path = tmp_path / "keywords.yml"
    path.write_text(changed(DEFAULT_KEYWORDS.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(KeywordsError, match=re.escape(complaint)):
        Keywords.load(path)


def test_a_missing_keywords_file_says_so():
    with pytest.raises(KeywordsError, match="cannot read"):
        Keywords.load(Path("/nonexistent/keywords.yml"))


def test_long_texts_go_as_sms_cut_at_line_ends():
    lines = [f"line {number:03d} " + "x" * 90 for number in range(20)]
    parts = sms_parts("\n".join(lines), limit=400)
    assert all(len(part) <= 400 for part in parts)
    assert "\n".join(parts) == "\n".join(lines)
    assert sms_parts("y" * 1000, limit=400) == ["y" * 400, "y" * 400, "y" * 200]
    assert sms_parts("") == []


def test_the_assistants_answer_as_one_sms_with_its_buttons():
    answer = [
        BotMessage(text="Cancel Music Pack (¥15.00 a month)?"),
        BotMessage(
            text="Shall I?",
            buttons=(Button("Yes, cancel it", "/affirm"), Button("No", "/deny")),
        ),
        BotMessage(custom={"ignored": True}),
    ]
    assert assistant_text(answer, None) == (
        "Cancel Music Pack (¥15.00 a month)?\nShall I?\nReply: Yes, cancel it / No"
    )
    chinese = [BotMessage(text="确认退订音乐包吗？", buttons=(Button("确认退订", "/affirm"),))]
    assert assistant_text(chinese, "en") == "确认退订音乐包吗？\n回复：确认退订"
    assert assistant_text([], "en") == ""


def sms_message(metadata, channel="sms", slots=None):
    tracker = make_tracker("how much data do I have left", "check_usage", slots=slots)
    tracker.events[-1]["input_channel"] = channel
    tracker.events[-1]["metadata"] = metadata
    return tracker


def test_an_sms_conversation_is_verified_as_its_line_only():
    assert verified_number(sms_message({"msisdn": "13800000004"})) == "13800000004"
    # Only Rasa's "sms" channel carries a line: metadata on another door names nobody.
    assert verified_number(sms_message({"msisdn": "13800000004"}, channel="webchat")) is None
    assert verified_number(sms_message({"msisdn": "13800000004"}, channel="rest")) is None
    # Without a well-formed number, an SMS names nobody; nor do the slots by SMS.
    assert verified_number(sms_message({"msisdn": "10086"})) is None
    assert verified_number(sms_message({"msisdn": 13800000004})) is None
    assert verified_number(sms_message(None, slots={"verified_msisdn": "13800000001"})) is None
    # Outside SMS, the slots decide as before.
    assert (
        verified_number(
            sms_message(None, channel="webchat", slots={"verified_msisdn": "13800000001"})
        )
        == "13800000001"
    )


def test_a_number_sent_by_sms_earlier_grants_nothing_to_a_later_message_elsewhere():
    earlier = {"event": "user", "input_channel": "sms", "metadata": {"msisdn": "13800000004"}}
    tracker = make_tracker("my bill", "check_bill", events=[earlier])
    tracker.events[-1]["input_channel"] = "rest"
    assert verified_number(tracker) is None


def test_the_keywords_file_is_a_setting():
    assert Path(Settings().sms_keywords) == DEFAULT_KEYWORDS
    with pytest.raises(
        SettingsError, match="TELECOM_SMS_KEYWORDS='/nonexistent.yml': no such file"
    ):
        Settings.from_environment({"TELECOM_SMS_KEYWORDS": "/nonexistent.yml"})
