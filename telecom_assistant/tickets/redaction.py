"""Masks personal data in a complaint ticket's transcript before the ticket is stored.

What is masked (each masked digit or X becomes "*"; separators, prefixes and every other
character stay as they were, so the text keeps its length and shape):

- Chinese resident ID-card numbers, 18 characters (17 digits and a digit or X) or the old
  15 digits: fully.
- Bank-card numbers, 16-19 digits, also written in groups of four separated by spaces or
  dashes: fully.
- One-time codes, 4-8 digits, when a code word (code, OTP, PIN, 验证码, 动态密码, ...) is a
  few words away, or when the number is all there is on its line (the customer's answer to
  "please type the code you received"): fully.
- Chinese mobile numbers, with or without +86 / 86 / 0086 and grouping: all digits but the
  last four, which agents need to tell numbers apart ("13800138000" -> "*******8000").

Amounts, dates, ticket ids, data volumes and service numbers such as 10086 are left alone.

Why spaCy: this is the same machinery as the NLU pipeline (nlu_components/spacy_pipeline.py),
a tokenizer plus an entity ruler, so the rules read as token patterns rather than one large
regular expression, and what needs context (a code word nearby) is a small component working
on tokens. The tokenizer is our own: jieba, the NLU tokenizer, splits by its dictionary and
glues digits to Latin letters ("code482913", "20GB"); here every run of digits, run of Latin
letters, run of whitespace and every other single character is a token, so a number next to
Chinese or letters is always a token of its own.
"""
# No `from __future__ import annotations`: spaCy reads the component factory's annotations
# at run time to validate its arguments.
import re
import unicodedata
from functools import lru_cache
from typing import Any

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span, Token
from spacy.vocab import Vocab

ID_CARD = "ID_CARD"
BANK_CARD = "BANK_CARD"
PHONE = "PHONE"
OTP_CODE = "OTP_CODE"

MASK = "*"
# Agents tell a customer's numbers apart by their last four digits.
VISIBLE_TRAILING_DIGITS = {PHONE: 4}

# Digit runs, Latin word runs, whitespace runs, and any other single character (each Han
# character, punctuation, emoji): digits next to Chinese become tokens of their own, and
# whitespace is kept as tokens so that patterns can name it as a separator.
TOKEN_RUN = re.compile(r"\d+|[A-Za-z]+|\s+|.", re.DOTALL)

CODE_WORDS = (
    "code", "codes", "otp", "otps", "verification", "pin", "pins", "passcode", "passcodes",
    "验证码", "校验码", "动态码", "动态密码", "密码", "短信码",
)
# How many words (whitespace aside; each Han character counts as one) a one-time code may be
# from its code word: "验证码是 482913", "the code I got is 482913", "482913 is my OTP".
CODE_WORD_REACH = 6
CODE_LENGTH = re.compile(r"^\d{4,8}$")
# Operators' service numbers, quoted in the same breath as codes ("a code from 10086").
SERVICE_NUMBERS = frozenset({"10000", "10010", "10086", "10099"})
# A number glued by one of these to digits, letters or a mask is part of a date, an id, a
# decimal or an already masked number, never a code of its own.
JOINERS = frozenset({"-", ".", "/", "_"})
CURRENCY_SIGNS = frozenset({"¥", "$", "€"})
# Words after a number that make it a quantity: money, data, time.
QUANTITY_UNITS = frozenset({
    "元", "块", "角", "分", "年", "月", "日", "号", "天", "%",
    "yuan", "rmb", "cny", "kuai", "gb", "mb", "kb", "min", "mins", "minutes", "days",
})
LATIN_OR_MASK = re.compile(r"^(?:[a-z]+|\*)$")
LATIN_OR_DIGITS_OR_MASK = re.compile(r"^(?:[a-z]+|\d+|\*)$")


def _norm(word: str) -> str:
    # Full-width input (１３８００１３８０００, ＋８６) is common from Chinese keyboards; NFKC
    # turns it into the ASCII the patterns are written in.
    return unicodedata.normalize("NFKC", word).lower()


class RunTokenizer:
    """Splits text into TOKEN_RUN pieces; the tokens' text joined is the text itself."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        words = TOKEN_RUN.findall(text)
        # Whitespace is in the words themselves, so no token has trailing space.
        doc = Doc(self.vocab, words=words, spaces=[False] * len(words))
        for token in doc:
            token.norm_ = _norm(token.text)
        return doc


def _digits(count: str) -> dict[str, Any]:
    return {"NORM": {"REGEX": rf"^\d{{{count}}}$"}}


SEPARATOR = {"NORM": {"IN": [" ", "-"]}}
OPTIONAL_SEPARATOR = {**SEPARATOR, "OP": "?"}
GROUP_OF_FOUR = _digits("4")
MOBILE = {"NORM": {"REGEX": r"^1[3-9]\d{9}$"}}
MOBILE_GROUPED = [{"NORM": {"REGEX": r"^1[3-9]\d$"}}, SEPARATOR, GROUP_OF_FOUR,
                  SEPARATOR, GROUP_OF_FOUR]
COUNTRY_CODE = [{"NORM": "+", "OP": "?"}, {"NORM": {"IN": ["86", "0086"]}}, OPTIONAL_SEPARATOR]
PATTERNS = [
    # An old ID number's first digit is an area code, never 0: "008613800138000" is a phone.
    {"label": ID_CARD, "pattern": [{"NORM": {"REGEX": r"^[1-9]\d{14}$"}}]},
    {"label": ID_CARD, "pattern": [_digits("18")]},
    {"label": ID_CARD, "pattern": [_digits("17"), {"NORM": "x"}]},
    # Eighteen digits read as an ID number above; both are fully masked, so a bank card of
    # that length loses nothing by the label.
    {"label": BANK_CARD, "pattern": [{"NORM": {"REGEX": r"^(?:\d{16,17}|\d{19})$"}}]},
    {"label": BANK_CARD, "pattern": [GROUP_OF_FOUR, SEPARATOR] * 3 + [GROUP_OF_FOUR]},
    {"label": BANK_CARD,
     "pattern": [GROUP_OF_FOUR, SEPARATOR] * 4 + [_digits("1,3")]},
    {"label": PHONE, "pattern": [MOBILE]},
    {"label": PHONE, "pattern": MOBILE_GROUPED},
    {"label": PHONE, "pattern": [*COUNTRY_CODE, MOBILE]},
    {"label": PHONE, "pattern": [*COUNTRY_CODE, *MOBILE_GROUPED]},
    {"label": PHONE, "pattern": [{"NORM": "+", "OP": "?"},
                                 {"NORM": {"REGEX": r"^(?:86|0086)1[3-9]\d{9}$"}}]},
]


def _glued_on(neighbour: Token | None, beyond: Token | None) -> bool:
    """Whether a number is part of something larger on this side: letters or a mask right
    against it ("TK0007", "20GB", "*******8000"), a currency sign ("¥1500"), or a joiner with
    more of the same behind it ("2026-11-23", "TK-261123-0007", "***-****-8000")."""
    if neighbour is None or neighbour.norm_ in CODE_WORDS:  # "code482913" is a code
        return False
    if neighbour.norm_ in CURRENCY_SIGNS or LATIN_OR_MASK.match(neighbour.norm_):
        return True
    if neighbour.norm_ in JOINERS:
        return beyond is not None and bool(LATIN_OR_DIGITS_OR_MASK.match(beyond.norm_))
    # The visible tail of a masked, space-grouped number: "*** **** 8000".
    return neighbour.norm_ == " " and beyond is not None and beyond.norm_ == MASK


def _token_at(doc: Doc, index: int) -> Token | None:
    return doc[index] if 0 <= index < len(doc) else None


def _is_standalone(number: Token) -> bool:
    doc, i = number.doc, number.i
    return not (_glued_on(_token_at(doc, i - 1), _token_at(doc, i - 2))
                or _glued_on(_token_at(doc, i + 1), _token_at(doc, i + 2)))


def _is_quantity(number: Token) -> bool:
    following = _token_at(number.doc, number.i + 1)
    if following is not None and following.is_space:
        following = _token_at(number.doc, number.i + 2)
    return following is not None and following.norm_ in QUANTITY_UNITS


def _is_alone_on_its_line(number: Token) -> bool:
    doc = number.doc

    def ends_the_line(neighbour: Token | None) -> bool:
        return neighbour is None or (neighbour.is_space and (
            "\n" in neighbour.text or neighbour.i in (0, len(doc) - 1)))

    return (ends_the_line(_token_at(doc, number.i - 1))
            and ends_the_line(_token_at(doc, number.i + 1)))


class OneTimeCodeFinder:
    """Labels OTP_CODE the 4-8 digit numbers that are codes: near a code word, or alone on
    their line. Whether "482913" is a code depends on its neighbours, which a token pattern
    of fixed length cannot say."""

    def __init__(self, nlp: Language) -> None:
        self.code_words = PhraseMatcher(nlp.vocab, attr="NORM")
        self.code_words.add("CODE_WORD", [nlp.make_doc(word) for word in CODE_WORDS])

    def __call__(self, doc: Doc) -> Doc:
        # Positions count words only, so a space between two words is no extra distance.
        position = {}
        for token in doc:
            if not token.is_space:
                position[token.i] = len(position)
        near_code_word = set()
        for _, start, end in self.code_words(doc):
            first, last = position[start], position[end - 1]
            near_code_word.update(range(first - CODE_WORD_REACH, first))
            near_code_word.update(range(last + 1, last + 1 + CODE_WORD_REACH))
        codes = [
            Span(doc, token.i, token.i + 1, label=OTP_CODE)
            for token in doc
            if not token.ent_type
            and CODE_LENGTH.match(token.norm_)
            and token.norm_ not in SERVICE_NUMBERS
            and (_is_alone_on_its_line(token)
                 or (position[token.i] in near_code_word
                     and _is_standalone(token) and not _is_quantity(token)))
        ]
        doc.ents = [*doc.ents, *codes]
        return doc


@Language.factory("redaction_one_time_codes")
def make_one_time_code_finder(nlp: Language, name: str) -> OneTimeCodeFinder:
    return OneTimeCodeFinder(nlp)


@lru_cache(maxsize=1)
def redaction_pipeline() -> Language:
    """Built once per process: the patterns are compiled when the pipes are added."""
    nlp = spacy.blank("xx")
    nlp.tokenizer = RunTokenizer(nlp.vocab)
    nlp.add_pipe("entity_ruler", config={"validate": True}).add_patterns(PATTERNS)
    nlp.add_pipe("redaction_one_time_codes")
    return nlp


def find_personal_data(text: str) -> list[tuple[str, int, int]]:
    """(label, start, end) of each piece of personal data, by character offset, in order."""
    doc = redaction_pipeline()(text)
    return [(ent.label_, ent.start_char, ent.end_char) for ent in doc.ents]


def _mask(piece: str, visible_trailing: int) -> str:
    """Masks every digit and letter (the X of an ID number) but the last visible_trailing."""
    to_mask = sum(ch.isalnum() for ch in piece) - visible_trailing
    masked = []
    for ch in piece:
        if ch.isalnum() and to_mask > 0:
            masked.append(MASK)
            to_mask -= 1
        else:
            masked.append(ch)
    return "".join(masked)


def redact(text: str) -> str:
    """The text with its personal data masked; everything else byte for byte as it was."""
    pieces = []
    copied_up_to = 0
    for label, start, end in find_personal_data(text):
        pieces.append(text[copied_up_to:start])
        pieces.append(_mask(text[start:end], VISIBLE_TRAILING_DIGITS.get(label, 0)))
        copied_up_to = end
    pieces.append(text[copied_up_to:])
    return "".join(pieces)
