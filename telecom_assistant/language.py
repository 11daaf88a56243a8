"""Which language a customer wrote in: Simplified Chinese or English, often mixed."""
from __future__ import annotations

import re
from typing import Any, Optional

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


def response_text(domain: dict[str, Any], name: str, language: str) -> Optional[str]:
    """A domain response's text in a language, chosen the way Rasa chooses: the variant whose
    condition is that language (slot ``language``), else the unconditional one."""
    variants = domain.get("responses", {}).get(name) or []
    for variant in variants:
        conditions = variant.get("condition") or []
        if any(c.get("name") == "language" and c.get("value") == language for c in conditions):
            return variant.get("text")
    return next((v.get("text") for v in variants if not v.get("condition")), None)


# A greeting at the start of a message that goes on to ask something ("hello 帮我看看这个月
# 消费多少"): the request is answered, and the greeting returned first.
_GREETING_OPENER = re.compile(
    r"^\W*(?:"
    r"(?:hi|hello|hey|hiya|howdy|greetings|good\s+(?:morning|afternoon|evening)|morning)"
    r"(?:\s+(?:there|everyone|team|bot|assistant))?\b"
    r"|你好|您好|嗨|哈喽|哈啰|早上好|上午好|中午好|下午好|晚上好|早安|在吗|在不在"
    r")[\s\W_]*(?:呀|啊|哈)?[\s\W_]*",
    re.IGNORECASE,
)


def opens_with_greeting(text: str) -> bool:
    """True when the message starts with a greeting and has words after it."""
    match = _GREETING_OPENER.match(text or "")
    if not match:
        return False
    rest = text[match.end():]
    return bool(_HAN.search(rest) or _LATIN_WORD.search(rest))
