"""The one way the bridge sends a text to a chat, within Telegram's limits.

- A text longer than Telegram takes (4096 characters, counted in UTF-16 code units as
  Telegram counts them) is sent in parts, cut at line ends where it can be, the buttons on the
  last part: Telegram refuses a longer message outright and the customer would get nothing.
- "429 Too Many Requests" says how long to wait (retry_after): the part is sent again after
  that wait, so the parts of a reply arrive whole and in order.
Anything else Telegram refuses is raised to the caller, which knows what it means there.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Bot
from telegram.error import RetryAfter

MESSAGE_LIMIT = 4096
# Telegram asks for a wait after a burst; waiting more than this many times means trouble.
FLOOD_RETRIES = 3

logger = logging.getLogger(__name__)


def telegram_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def message_parts(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The text in parts Telegram takes: whole lines while they fit, a longer line cut at its
    last space that fits (or anywhere, for a line without one)."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        if telegram_length(current + line) <= limit:
            current += line
            continue
        if current:
            parts.append(current)
            current = ""
        while telegram_length(line) > limit:
            head = _longest_prefix(line, limit)
            cut = head.rfind(" ")
            head = head[: cut + 1] if cut > 0 else head
            parts.append(head)
            line = line[len(head) :]
        current = line
    if current or not parts:
        parts.append(current)
    return [part.rstrip("\n") or part for part in parts]


def _longest_prefix(line: str, limit: int) -> str:
    length = 0
    for index, character in enumerate(line):
        length += telegram_length(character)
        if length > limit:
            return line[:index]
    return line


async def send_text(bot: Bot, chat_id: int, text: str, reply_markup: Any = None) -> None:
    """Sends the text in as many parts as it needs, the reply markup with the last one."""
    parts = message_parts(text)
    for index, part in enumerate(parts):
        await _send_part(bot, chat_id, part, reply_markup if index == len(parts) - 1 else None)


async def _send_part(bot: Bot, chat_id: int, part: str, reply_markup: Any) -> None:
    for attempt in range(FLOOD_RETRIES + 1):
        try:
            await bot.send_message(chat_id, part, reply_markup=reply_markup)
            return
        except RetryAfter as flood_control:
            if attempt == FLOOD_RETRIES:
                raise
            wait = _seconds(flood_control.retry_after)
            logger.warning("Telegram asks to wait %.1f s before sending more", wait)
            await asyncio.sleep(wait)


def _seconds(retry_after: Any) -> float:
    # PTB gives seconds as an int, or as a timedelta in its newer API.
    return (
        retry_after.total_seconds() if hasattr(retry_after, "total_seconds") else float(retry_after)
    )
