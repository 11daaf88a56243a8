"""What a customer's own words already tell a ticket: the problem, a spam sender and what the
message said, a number to call back. Customers say it all at once ("Spam from 10690000321
saying my account is frozen, click the link"); asking again is what makes a form deaf."""

from __future__ import annotations

import re

from telecom_assistant.accounts.msisdn import find_msisdns

# The words of a request for a ticket, a person or a report, which describe nothing yet.
_REQUEST_WORDS = re.compile(
    r"\b(?:i|i'd|i'm|id|im|want|wanna|would|like|need|to|file|make|lodge|raise|submit|log|a|an"
    r"|the|complaint|complain|complaining|about|talk|speak|chat|with|someone|somebody|person"
    r"|human|agent|operator|real|live|staff|please|pls|can|could|you|get|me|put|through|report"
    r"|reporting|spam|scam|fraud|fraudulent|message|messages|text|texts|sms|call|calls|number"
    r"|got|received|get|getting|from|this|that|it|is|my|your|service|customer|just|hi|hello"
    r"|hey|there|ok|okay|now|again|formal"
    # Words that carry no complaint of their own.
    r"|how|do|does|did|what|where|when|who|why|which|of|one|in|on|at|for|and|or|but|so|be|was"
    r"|were|are|am|been|have|has|had|will|should|here|them|they|we|us|our|yours|thats|that's"
    r"|too|much|very|really|just|still|any|some|something|way|way|bad|terrible|awful|ridiculous"
    r"|ugh|wait|one|stores?|shop|help)\b",
    re.IGNORECASE,
)
_REQUEST_WORDS_ZH = re.compile(
    r"我要|我想|想要|我|要|帮我|请|麻烦|投诉|转人工|人工|客服|真人|找|举报|诈骗|骚扰|垃圾|短信|电话"
    r"|一下|你们|这个|收到|一条|一个|有人|号码|给|了|的|吧|啊|呢|吗|在|说|跟|和|联系|转"
)
_WORD = re.compile(r"[A-Za-z0-9']+")
_HAN = re.compile(r"[\u4e00-\u9fff]")
MIN_WORDS, MIN_HAN = 3, 4


def describes_something(text: str | None) -> bool:
    """More than a bare request: "I want to complain about my bill" describes nothing yet,
    "you charged me twice for March" does."""
    rest = _REQUEST_WORDS_ZH.sub(" ", _REQUEST_WORDS.sub(" ", text or ""))
    return len(_WORD.findall(rest)) >= MIN_WORDS or len(_HAN.findall(rest)) >= MIN_HAN


# A number offered for a call back: "call me on …", "call my wife at …", "回电 …", "联系我 …".
_CALLBACK = re.compile(
    r"(?:call|ring|phone|reach|contact|text)\s+(?:me|us|my\s+\w+|him|her)?\s*(?:back\s+)?"
    r"(?:on|at|via)?\s*[:：]?\s*(?P<en>[+\d][\d\s-]{9,16}\d)"
    r"|(?:回电|回拨|联系我|联系|打|拨打|致电|找我|打给)[^\d]{0,8}(?P<zh>[+\d][\d\s-]{9,16}\d)",
    re.IGNORECASE,
)


def callback_number(text: str | None) -> str | None:
    for match in _CALLBACK.finditer(text or ""):
        numbers = find_msisdns(match.group("en") or match.group("zh"))
        if numbers:
            return numbers[0]
    return None


# Short codes, landlines, foreign and mobile numbers: four digits or more, maybe grouped.
_SENDER_NUMBER = re.compile(r"\+?\d[\d\s-]{2,18}\d")


def spam_sender(text: str | None) -> str | None:
    """The number a spam message or call came from, as the customer wrote it."""
    callback = callback_number(text)
    for match in _SENDER_NUMBER.finditer(text or ""):
        number = re.sub(r"[\s-]", "", match.group())
        if callback is None or callback not in number:
            return number
    return None


def spam_content(text: str | None) -> str | None:
    """What the spam said or was about, when the customer told it: the whole message goes on
    the ticket ("冒充公安…让我转账" matters as much as the link)."""
    without_numbers = _SENDER_NUMBER.sub(" ", text or "")
    return (text or "").strip() if describes_something(without_numbers) else None
