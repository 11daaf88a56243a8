"""Which language a customer wrote in: Simplified Chinese or English, often mixed."""
from __future__ import annotations

import re
from typing import Optional

ENGLISH = "en"
CHINESE = "zh"
LANGUAGES = (ENGLISH, CHINESE)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def detect_language(text: str) -> Optional[str]:
    """Chinese when the message has at least as many Han characters as English words.

    A Han character carries about a word's meaning, so "帮我退订Music Pack" (4 characters,
    2 words) is Chinese and "cancel my 彩铃 please" (2 characters, 3 words) is English.
    None when the message has neither (a phone number, a code, an emoji): the customer's
    language stays what it was.
    """
    han = len(_HAN.findall(text or ""))
    words = len(_LATIN_WORD.findall(text or ""))
    if not han and not words:
        return None
    return CHINESE if han >= words else ENGLISH
