"""The language catalogue (telecom_assistant/texts): every text in both languages with the same
placeholders, every key the programs ask for present, no customer or agent text left in their
code, and the one way money and dates are written."""

from __future__ import annotations

import ast
import re
import string
from datetime import date, datetime
from pathlib import Path

import pytest

from channels.webchat.app import chat_page
from console.i18n import Translator
from telecom_assistant.accounts.service import BillStatus
from telecom_assistant.language import CHINESE, ENGLISH, LANGUAGES
from telecom_assistant.texts import (
    Texts,
    UnknownText,
    catalogue,
    format_date,
    format_datetime,
    format_money,
    label_key,
    language_of_tag,
    text,
    texts_of,
)
from telecom_assistant.tickets.model import (
    QUEUE_SORTS,
    Category,
    Delivery,
    Kind,
    NetworkIssue,
    Priority,
    Status,
)
from telecom_assistant.tickets.replies import RefusalReason

ROOT = Path(__file__).resolve().parents[2]
# Han characters, CJK punctuation ("、", "。") and full-width forms ("：", "！").
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
LABELLED_ENUMS = (Category, Priority, Status, Kind, NetworkIssue, BillStatus, Delivery)
SPEAKERS = ("customer", "assistant", "agent")  # TranscriptTurn.speaker


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


# ---- the catalogue itself


def test_every_text_exists_in_both_languages():
    assert catalogue(ENGLISH).keys() == catalogue(CHINESE).keys()


@pytest.mark.parametrize("key", sorted(catalogue(ENGLISH)))
def test_both_languages_fill_the_same_placeholders(key):
    assert placeholders(text(key, ENGLISH)) == placeholders(text(key, CHINESE))


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_text_is_empty(language):
    assert [key for key, value in catalogue(language).items() if not value.strip()] == []


def test_the_chinese_texts_are_chinese():
    """Except a name both languages share (5G)."""
    untranslated = [
        key
        for key, chinese in catalogue(CHINESE).items()
        if not CJK.search(chinese) and chinese != text(key, ENGLISH)
    ]
    assert untranslated == []


def test_every_value_the_desk_shows_has_a_name():
    for enum_type in LABELLED_ENUMS:
        for member in enum_type:
            assert label_key(member) in catalogue(ENGLISH), member
    for speaker in SPEAKERS:
        assert f"console.speaker.{speaker}" in catalogue(ENGLISH)


def test_a_text_fills_its_placeholders():
    assert text("reply.heading", CHINESE, ticket_id="TK-261123-0007") == (
        "客服人员就工单 TK-261123-0007 给您的留言："
    )
    assert Texts(ENGLISH)("console.queue.count", count=3) == "3 tickets"


def test_an_unknown_key_or_language_fails_loudly():
    with pytest.raises(UnknownText):
        text("console.no_such_text", ENGLISH)
    with pytest.raises(ValueError):
        Texts("fr")


@pytest.mark.parametrize(
    "tag, language",
    [
        ("zh", "zh"),
        ("zh-hans", "zh"),
        ("zh-Hant-TW", "zh"),
        ("zh_CN", "zh"),
        ("en-GB", "en"),
        ("EN", "en"),
        ("fr", None),
        ("", None),
        (None, None),
    ],
)
def test_language_of_a_tag(tag, language):
    assert language_of_tag(tag) == language


def test_the_console_names_categories_with_a_capital_and_the_assistant_in_lower_case():
    assert Translator(ENGLISH).label(Category.NETWORK) == "Mobile network"
    assert text(label_key(Category.NETWORK), ENGLISH) == "mobile network"
    assert Translator(CHINESE).label(Category.NETWORK) == "移动网络"
    assert Translator(ENGLISH).label(Delivery.PENDING) == "not delivered yet"


def test_the_console_names_speakers_and_keeps_an_agents_username():
    assert Translator(CHINESE).speaker("assistant") == "智能助理"
    assert Translator(CHINESE).speaker("wang") == "wang"


def test_the_language_switch_speaks_the_other_language():
    assert Translator(ENGLISH).other("language.switch_to") == "切换到中文"
    assert Translator(CHINESE).other("language.name") == "English"


# ---- money and dates


@pytest.mark.parametrize(
    "fen, shown",
    [
        (1250, "¥12.50"),
        (0, "¥0.00"),
        (5, "¥0.05"),
        (10, "¥0.10"),
        (100, "¥1.00"),
        (-1250, "-¥12.50"),
        (-5, "-¥0.05"),
        (12_999, "¥129.99"),
        # Beyond what a float carries to the fen.
        (123_456_789_012_345_678, "¥1234567890123456.78"),
    ],
)
def test_money_in_both_languages(fen, shown):
    assert format_money(fen) == shown
    assert all(Texts(language).money(fen) == shown for language in LANGUAGES)


def test_dates_in_both_languages():
    moment = datetime(2026, 11, 3, 9, 5, 59)
    assert format_date(date(2026, 11, 3)) == "2026-11-03"
    assert format_datetime(moment) == "2026-11-03 09:05"
    for language in LANGUAGES:
        assert Texts(language).day(date(2026, 11, 3)) == "2026-11-03"
        assert Texts(language).when(moment) == "2026-11-03 09:05"
        assert Texts(language).day(None) == Texts(language).when(None) == ""


def test_a_datetime_is_not_written_as_a_date():
    with pytest.raises(TypeError):
        format_date(datetime(2026, 11, 3, 9, 5))


# ---- the programs ask only for texts the catalogue has

KEY_USERS = [
    "console/app.py",
    "console/i18n.py",
    "console/templates/*.html",
    "channels/telegram/*.py",
    "channels/webchat/*.py",
    "channels/webchat/index.html",
    "channels/webchat/static/*.js",
    "telecom_assistant/tickets/replies.py",
    "telecom_assistant/accounts/sql.py",
    "actions/*.py",
]
# Names that look like keys: where the web chat keeps its history and language in the browser.
NOT_TEXTS = {"webchat.history", "webchat.language"}
KEY = re.compile(
    r"""["']((?:console|telegram|webchat|reply|sms|language|list)\.[a-z_.]*[a-z_])["']"""
)


def files(*patterns: str) -> list[Path]:
    return sorted(path for pattern in patterns for path in ROOT.glob(pattern))


def test_every_key_the_programs_name_is_in_the_catalogue():
    named = {
        (path.relative_to(ROOT).as_posix(), key)
        for path in files(*KEY_USERS)
        for key in KEY.findall(path.read_text(encoding="utf-8"))
    }
    assert len(named) > 150  # the scan found the programs' keys
    missing = {
        (path, key) for path, key in named if key not in catalogue(ENGLISH) and key not in NOT_TEXTS
    }
    assert missing == set()


def test_keys_the_console_completes_at_run_time_are_in_the_catalogue():
    for sort in QUEUE_SORTS:
        assert f"console.sort.{sort}" in catalogue(ENGLISH)
    for reason in RefusalReason:
        assert f"console.flash.reply_{reason.value}" in catalogue(ENGLISH)


def test_the_web_chat_page_carries_its_texts_in_both_languages():
    page = chat_page()
    assert "{{" not in page and "<title>Customer service</title>" in page
    for language in LANGUAGES:
        for value in texts_of(language, "webchat", "language").values():
            assert value.replace("<", "\\u003c") in page


# ---- no customer or agent text left in the code

# Modules that once held texts. Chinese may remain in words they use to read what customers
# and agents type, named here by the top-level statement holding them.
SCANNED = [
    "console/*.py",
    "console/templates/*.html",
    "channels/telegram/*.py",
    "channels/webchat/*.py",
    "channels/webchat/index.html",
    "channels/webchat/static/*.js",
    "telecom_assistant/tickets/replies.py",
    "telecom_assistant/tickets/model.py",
    "telecom_assistant/accounts/sql.py",
    "actions/common.py",
]
READS_INPUT = {
    ("telecom_assistant/tickets/model.py", "FRAUD_MARKERS"),
}


def _statement_name(statement: ast.stmt) -> str:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return statement.name
    targets = getattr(statement, "targets", None) or [getattr(statement, "target", None)]
    return next((target.id for target in targets if isinstance(target, ast.Name)), "")


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring nodes: explanations for developers, not texts."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _chinese_literals(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    relative = path.relative_to(ROOT).as_posix()
    if path.suffix != ".py":
        return [line.strip() for line in source.splitlines() if CJK.search(line)]
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    return [
        f"{_statement_name(statement)}: {node.value!r}"
        for statement in tree.body
        if (relative, _statement_name(statement)) not in READS_INPUT
        for node in ast.walk(statement)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and CJK.search(node.value)
    ]


@pytest.mark.parametrize(
    "path", files(*SCANNED), ids=lambda path: path.relative_to(ROOT).as_posix()
)
def test_no_chinese_text_is_left_in_the_code(path):
    assert _chinese_literals(path) == []


def test_the_scan_sees_chinese_where_there_is_some():
    assert _chinese_literals(ROOT / "telecom_assistant/tickets/intake.py")
