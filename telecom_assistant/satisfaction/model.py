"""Ratings: the 1-5 scale, who is asked and how often, and how a typed answer is read. No
storage and no Rasa: the assistant, the console and the demo data share these rules.

A customer is asked to rate twice in their life with us: after a conversation the assistant
handled alone (when they say goodbye or thank it at the end), and after an agent resolved
their ticket. Each is asked once, answered once, and only by the conversation that was asked;
a low score (1 or 2) asks what went wrong, and the customer may leave that unanswered.
"""

from __future__ import annotations

import enum
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from telecom_assistant.language import asks_to_stop, opens_with_no
from telecom_assistant.tickets.model import Category

SCORES = range(1, 6)
# Scores that ask for a comment: what went wrong is worth more than the number.
LOW_SCORES = frozenset({1, 2})
# Scores that count as satisfied in CSAT (the share of 4s and 5s, as the trade measures it).
SATISFIED_SCORES = frozenset({4, 5})
COMMENT_MAX_LENGTH = 2000
# A conversation's key must fit its column with the session's start appended.
_SENDER_MAX_LENGTH = 160


class SatisfactionError(Exception):
    """A rating that cannot be taken."""


class NotAsked(SatisfactionError):
    """Nobody asked this conversation to rate this: it is not theirs to rate."""


class AlreadyRated(SatisfactionError):
    """A rating was already given: each is taken once."""


class CommentRefused(SatisfactionError):
    """A comment is taken once, and only on a low score."""


class Subject(str, enum.Enum):
    """What the customer rates."""

    CONVERSATION = "conversation"  # a conversation the assistant handled alone
    TICKET = "ticket"  # how the desk handled a ticket, once it is resolved


def check_score(score: int) -> int:
    if score not in SCORES:
        raise ValueError(f"a rating is 1 to 5, not {score!r}")
    return score


def is_low(score: int | None) -> bool:
    return score in LOW_SCORES


@dataclass(frozen=True)
class RatingRequest:
    """The customer is asked to rate something."""

    subject: Subject
    subject_id: str  # the conversation's key (conversation_key) or the ticket's id
    # The conversation (Rasa's sender id) that was asked, and the only one that may answer.
    conversation_id: str
    channel: str
    language: str
    category: Category | None = None  # a ticket's category; None for a conversation


@dataclass(frozen=True)
class Survey:
    """A rating request and, once the customer answered, their rating."""

    request: RatingRequest
    asked_at: datetime
    score: int | None = None
    comment: str | None = None
    answered_at: datetime | None = None

    @property
    def wants_comment(self) -> bool:
        return is_low(self.score) and self.comment is None


@dataclass(frozen=True)
class ConversationEnd:
    """The assistant closed a conversation: the customer said goodbye, or thanked it and was
    asked to rate the chat. The report counts the ones that filed no ticket as resolved by
    the assistant alone."""

    key: str  # conversation_key
    conversation_id: str  # Rasa's sender id, which the conversation's tickets carry too
    started_at: datetime
    ended_at: datetime
    channel: str
    language: str
    filed_ticket: bool


def conversation_key(conversation_id: str, started_at: datetime) -> str:
    """One conversation: a sender's session. A sender id lives long (the web chat keeps it a
    month), and each of its sessions is a conversation of its own, asked once."""
    sender = conversation_id
    if len(sender) > _SENDER_MAX_LENGTH:
        sender = "sha256:" + hashlib.sha256(sender.encode("utf-8")).hexdigest()
    return f"{sender}@{started_at:%Y%m%d%H%M%S}"


# ---- reading a rating the customer typed instead of pressing a button

_NUMBERS = {
    **{str(score): score for score in SCORES},
    **{"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5},
}
_NUMBER = "([1-5一二两三四五])"
_OUT_OF = r"(?:\s*(?:/\s*5|out of (?:5|five)|分|星|颗星|stars?|points?))?"
# "4", "4/5", "5 stars", "五星", "3分": a score and nothing else.
_SCORE_ALONE = re.compile(rf"^{_NUMBER}{_OUT_OF}$", re.IGNORECASE)
# "I'd give it a 4", "rating: 5", "打5分", "给你4星": a score given in words around it.
_SCORE_GIVEN = re.compile(
    rf"(?:give|gave|rate|rating|score|打|给|评)\D{{0,12}}?{_NUMBER}{_OUT_OF}(?![\da-z])",
    re.IGNORECASE,
)
_STARS = re.compile(r"^[★⭐]{1,5}$")
_STARS_IN_WORDS = re.compile(r"^(one|two|three|four|five) stars?$")
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
# What a rating sounds like in words, in both languages. Read longest first, so "not good"
# is not "good" and "非常不满意" is not "不满意".
_WORDS = {
    5: (
        "excellent",
        "very good",
        "great",
        "perfect",
        "amazing",
        "fantastic",
        "awesome",
        "outstanding",
        "superb",
        "brilliant",
        "very satisfied",
        "very helpful",
        "love it",
        "loved it",
        "非常满意",
        "很满意",
        "特别满意",
        "非常好",
        "很好",
        "特别好",
        "太好了",
        "完美",
        "满分",
        "好评",
        "超赞",
        "很棒",
        "太棒了",
        "非常棒",
    ),
    4: (
        "good",
        "pretty good",
        "quite good",
        "satisfied",
        "helpful",
        "not bad",
        "nice",
        "满意",
        "比较满意",
        "挺满意",
        "不错",
        "还不错",
        "挺好",
        "挺好的",
    ),
    3: (
        "average",
        "so-so",
        "so so",
        "meh",
        "mediocre",
        "neutral",
        "just ok",
        "could be better",
        "一般",
        "一般般",
        "还行",
        "还可以",
        "凑合",
        "马马虎虎",
        "中等",
        "差不多",
    ),
    2: (
        "poor",
        "bad",
        "dissatisfied",
        "unsatisfied",
        "not satisfied",
        "not good",
        "not great",
        "not helpful",
        "unhelpful",
        "disappointing",
        "disappointed",
        "不满意",
        "不太满意",
        "不好",
        "不太好",
        "差",
        "比较差",
        "失望",
        "没帮助",
        "没用",
    ),
    1: (
        "very poor",
        "very bad",
        "terrible",
        "awful",
        "horrible",
        "useless",
        "worst",
        "very dissatisfied",
        "rubbish",
        "hopeless",
        "非常不满意",
        "很不满意",
        "特别不满意",
        "非常差",
        "很差",
        "太差",
        "极差",
        "差评",
        "垃圾",
        "糟糕",
        "太烂了",
    ),
}
_PHRASES = sorted(
    ((phrase, score) for score, phrases in _WORDS.items() for phrase in phrases),
    key=lambda item: -len(item[0]),
)
# "not very good", "wouldn't say great": a good word said the other way round.
_NEGATED = re.compile(r"\b(?:not|never|hardly)\b|n't", re.IGNORECASE)
_PUNCTUATION_AROUND = re.compile(r"^[\s.,:;!?。，：；！？~…]+|[\s.,:;!?。，：；！？~…]+$")
# Words about the rating, not a sentence that happens to hold one ("what about my bill? bad").
_SHORT_ANSWER = 40


def read_score(text: str) -> int | None:
    """The rating a typed answer gives, 1 to 5, or None when it gives none: a number ("4",
    "5/5", "五星", "打4分"), stars ("★★★★", "four stars"), or words ("very good", "terrible",
    "非常满意", "一般")."""
    typed = unicodedata.normalize("NFKC", text or "").strip().lower()
    typed = _PUNCTUATION_AROUND.sub("", typed)
    if not typed:
        return None
    number = _SCORE_ALONE.match(typed) or _SCORE_GIVEN.search(typed)
    if number:
        return _NUMBERS[number.group(1)]
    if _STARS.match(typed):
        return len(typed)
    stars = _STARS_IN_WORDS.match(typed)
    if stars:
        return _NUMBER_WORDS[stars.group(1)]
    if len(typed) > _SHORT_ANSWER:
        return None
    for phrase, score in _PHRASES:
        if _says(typed, phrase):
            if score >= 4 and not _NEGATED.search(phrase) and _NEGATED.search(typed):
                return 2
            return score
    return None


# "skip", "no comment", "没有": the customer has nothing to add.
_NOTHING_TO_ADD = re.compile(
    r"^(?:skip|pass|no comment|nothing|nothing else|nothing to add|no thanks|no thank you|n/?a"
    r"|跳过|没有|没有了|没了|没什么|没什么要说的|无|不用|不用了|不必了)$",
    re.IGNORECASE,
)
# A "no" that says more than no ("no, the agent never called back") is a comment.
_BARE_NO = 12


def declines_to_answer(text: str) -> bool:
    """The customer would rather not rate, or not say more: "no thanks", "skip", "不用了"."""
    bare = re.sub(r"^[\s\W_]+|[\s\W_]+$", "", unicodedata.normalize("NFKC", text or ""))
    return (
        bool(_NOTHING_TO_ADD.match(bare))
        or asks_to_stop(bare)
        or (opens_with_no(bare) and len(bare) <= _BARE_NO)
    )


def _says(text: str, phrase: str) -> bool:
    if phrase.isascii():
        return re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text) is not None
    return phrase in text


# ---- the buttons a rating request carries

# What a button sends back as the customer's message: the assistant's `rate` request with the
# score, and the ticket it rates. Telegram carries at most 64 bytes of it (about 52 here).
RATE_INTENT = "rate"
SCORE_ENTITY = "csat_score"
TICKET_ENTITY = "ticket_id"


def rating_payload(score: int, ticket_id: str | None = None) -> str:
    about = f'"{TICKET_ENTITY}":"{ticket_id}",' if ticket_id else ""
    return f'/{RATE_INTENT}{{{about}"{SCORE_ENTITY}":"{check_score(score)}"}}'


def rating_buttons(ticket_id: str | None = None) -> list[tuple[str, str]]:
    """(title, payload) of the five buttons, 1 to 5: digits read the same in both languages,
    and a customer who types one instead of pressing it is understood all the same."""
    return [(str(score), rating_payload(score, ticket_id)) for score in SCORES]
