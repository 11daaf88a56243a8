"""Customer text made printable where it enters (telecom_assistant/text.py): what goes, and the
line breaks, tabs and emoji that stay."""

from __future__ import annotations

import pytest

from telecom_assistant.text import clean_message


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("first line\nsecond line", "first line\nsecond line"),
        ("name\tnumber", "name\tnumber"),
        ("line one\r\nline two", "line one\nline two"),  # a Windows paste: one break
        ("138\u200b0013\ufeff8000", "13800138000"),  # zero-width space and BOM in a number
        ("code\x00 482\x07913\x1b\x7f", "code 482913"),
        ("half a pair \ud83d here", "half a pair  here"),  # a lone surrogate
        ("family 👨\u200d👩\u200d👧 and 👍🏽", "family 👨\u200d👩\u200d👧 and 👍🏽"),
        ("帮我查一下\n话费", "帮我查一下\n话费"),
    ],
    ids=[
        "line-breaks",
        "tabs",
        "carriage-returns",
        "invisible-format",
        "control",
        "lone-surrogate",
        "emoji-sequences",
        "chinese",
    ],
)
def test_clean_message(typed, kept):
    assert clean_message(typed) == kept


def test_printable_text_is_returned_as_it_is():
    text = "Hello, 你好 👋"
    assert clean_message(text) is text
