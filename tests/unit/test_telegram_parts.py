"""Texts longer than a Telegram message, in the parts the bridge sends (sending.py)."""

from __future__ import annotations

from channels.telegram.sending import MESSAGE_LIMIT, message_parts, telegram_length


def test_a_text_that_fits_is_one_part():
    assert message_parts("Your bill is ¥129.00.") == ["Your bill is ¥129.00."]


def test_lines_stay_whole_and_nothing_is_lost():
    text = "\n".join(f"line {number}: " + "x" * 90 for number in range(100))
    parts = message_parts(text)
    assert len(parts) == 3
    assert all(telegram_length(part) <= MESSAGE_LIMIT for part in parts)
    assert "\n".join(parts) == text


def test_a_line_longer_than_a_message_is_cut_at_a_space():
    text = "word " * 1000
    parts = message_parts(text)
    assert [telegram_length(part) <= MESSAGE_LIMIT for part in parts] == [True, True]
    assert parts[0].endswith("word ") and "".join(parts) == text


def test_length_is_counted_as_telegram_counts_it_in_utf16():
    emoji = "😀" * 3000  # two UTF-16 code units each
    parts = message_parts(emoji)
    assert [telegram_length(part) for part in parts] == [4096, 1904]
    assert "".join(parts) == emoji
