"""Masks personal data in ticket transcripts and in the conversations Rasa stores.

What is masked (each masked digit, numeral or letter becomes "*"; separators, prefixes and
every other character stay as they were, so the text keeps its length and shape):

- Chinese resident ID-card numbers, 18 characters (17 digits and a digit or X) or the old
  15 digits, unbroken or grouped 6-8-4, 6-4-4-4 or 4-4-4-4-2 (6-6-3 for the old ones): fully.
- Bank-card numbers, 16-19 digits, unbroken or in groups of four: fully.
- Chinese mobile numbers, with or without +86 / 86 / 0086 (also in brackets), unbroken or
  grouped 3-4-4, 4-3-4, 3-8, 7-4 or digit by digit: all digits but the last four, which agents
  need to tell numbers apart ("13800138000" -> "*******8000").
- One-time codes, 4-8 digits, unbroken or grouped ("482 913", "4 8 2 9 1 3"), when a code
  word (code, OTP, PIN, SMS, 验证码, 动态密码, 短信, ...) is a few words away, or when the
  number is (nearly) all there is on its line: the customer's answer to "please type the code
  you received" ("482913", "\"482913\"", "ok it's 482913", "好的，482913"). Fully.
- E-mail addresses: the part before the @, fully; the domain stays (it names a provider, and
  agents use it to tell a mistyped address from a real one).

Numbers are read however customers type them: separated by spaces, tabs, dots, hyphens, en-
and em-dashes or brackets ("(138) 0013-8000"), with invisible characters (zero-width spaces)
anywhere, in full-width digits (４８２９１３), or in Chinese numerals (四八二九一三,
幺三八零零一三八零零零). Amounts, dates, ticket ids, data volumes, prices and service numbers
such as 10086 are left alone.

A caller that knows which values are secret in this conversation (the one-time code that was
sent and checked, the verified number) passes them: they are masked wherever they appear, in
any of the forms above, even where no rule would have fired.

Two entry points: :func:`redact` for ticket transcripts (everything above), and
:func:`redact_secrets` for what Rasa's tracker store keeps, which must keep phone numbers (the
conversation needs them) and runs for every message, so a message that cannot hold a secret
(fewer than four digits in a row, no @) is returned before any spaCy work.

Why spaCy: this is the same machinery as the NLU pipeline (rasa_plugins/nlu/spacy_pipeline.py),
a tokenizer plus an entity ruler, so the rules read as token patterns rather than one large
regular expression, and what needs context (a code word nearby) is a small component working
on tokens. The tokenizer is our own: jieba, the NLU tokenizer, splits by its dictionary and
glues digits to Latin letters ("code482913", "20GB"); here every run of digits (invisible
characters inside it included), run of Chinese numerals, run of Latin letters, run of
whitespace and invisible characters, every e-mail address and every other single character is
a token, so a number next to Chinese or letters is always a token of its own. Each token's
norm is what the patterns read: ASCII digits for every kind of digit, one "-" for every dash,
" " for a gap within a line and "\\n" for one that breaks it.
"""

# No `from __future__ import annotations`: spaCy reads the component factory's annotations
# at run time to validate its arguments.
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans
from spacy.vocab import Vocab

from telecom_assistant.accounts.msisdn import normalise_msisdn

ID_CARD = "ID_CARD"
BANK_CARD = "BANK_CARD"
PHONE = "PHONE"
OTP_CODE = "OTP_CODE"
EMAIL = "EMAIL"
# What Rasa's tracker store may not keep; phone numbers it must (the conversation uses them).
SECRET_LABELS = frozenset({ID_CARD, BANK_CARD, OTP_CODE, EMAIL})

MASK = "*"
# Agents tell a customer's numbers apart by their last four digits.
VISIBLE_TRAILING_DIGITS = {PHONE: 4}

CHINESE_DIGITS = {
    "〇": "0",
    "零": "0",
    "幺": "1",
    "一": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}
_CHINESE_DIGIT = "[" + "".join(CHINESE_DIGITS) + "]"
_ANY_DIGIT = r"[\d" + "".join(CHINESE_DIGITS) + "]"
# Characters that show nothing (zero-width spaces and joiners, direction marks, the soft
# hyphen, control characters): they hide inside numbers, so they never split one.
_INVISIBLE = r"\x00-\x08\x0e-\x1f\x7f\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
# Full-width letters and digits too: NFKC makes ＺＨＡＮＧ＠ＱＱ.ＣＯＭ an address.
_EMAIL_LOCAL = "[A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+-]"
_EMAIL_LABEL = "[A-Za-z0-9Ａ-Ｚａ-ｚ０-９-]+"
_EMAIL_ADDRESS = rf"(?<!{_EMAIL_LOCAL}){_EMAIL_LOCAL}+[@＠]{_EMAIL_LABEL}(?:[.．]{_EMAIL_LABEL})+"
TOKEN_RUN = re.compile(
    rf"(?P<email>{_EMAIL_ADDRESS})"
    rf"|(?P<digits>\d+(?:[{_INVISIBLE}]+\d+)*)"
    rf"|(?P<numerals>{_CHINESE_DIGIT}+(?:[{_INVISIBLE}]+{_CHINESE_DIGIT}+)*)"
    r"|(?P<latin>[A-Za-zＡ-Ｚａ-ｚ]+)"
    rf"|(?P<gap>[\s{_INVISIBLE}]+)"
    r"|(?P<other>.)",
    re.DOTALL,
)
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
# Separators inside a number, as token norms: a gap within a line, a dash, a dot, a bracket.
SEPARATORS = frozenset({" ", "-", ".", "(", ")"})
# Hyphens, en- and em-dashes, minus signs, the wave dash and their full-width forms: one "-".
DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u301c\ufe58\ufe63\uff0d")
# Everything NFKC makes a dot or a bracket.
_DOTS_AND_BRACKETS = ".․﹒．()⁽⁾₍₎︵︶﹙﹚（）"
# Raw characters that can make a token of SEPARATORS.
_SEPARATOR_CHAR = (
    "[\\s" + _INVISIBLE + re.escape("".join(sorted(DASHES)) + _DOTS_AND_BRACKETS) + "]"
)
# Every kind of personal data holds four digits in a row (separators aside) or an @: a text
# without them is returned as it is, at the cost of one regular-expression search.
_FOUR_DIGITS = re.compile(rf"{_ANY_DIGIT}(?:{_SEPARATOR_CHAR}*{_ANY_DIGIT}){{3}}")
# How many tokens may stand between two groups of one number: "138 - 0013", "(138) 0013".
MAX_SEPARATOR_TOKENS = 3

CODE_WORDS = (
    "code",
    "codes",
    "otp",
    "otps",
    "verification",
    "verify",
    "pin",
    "pins",
    "passcode",
    "passcodes",
    "sms",
    "验证码",
    "校验码",
    "动态码",
    "动态密码",
    "密码",
    "短信码",
    "短信",
    "验证",
    "口令",
)
# How many words (see _word_weight) may stand between a one-time code and its code word:
# "验证码是 482913", "the code I got yesterday is 482913", "482913 is my OTP".
CODE_WORD_REACH = 8
# A code needs no code word when its line holds at most this many other words: the answer to
# "please type the code" ("482913", "ok it's 482913", "好的，482913", "Customer: 4821").
SHORT_LINE_WORDS = 3
CODE_LENGTH = re.compile(r"^\d{4,8}$")
# Written in groups, a code's groups are short: "482 913", "48 29 13", "4829 1377".
CODE_GROUP_LENGTH = 4
# "since 2025": on a short line a year is a year; a code word or a line of its own makes it a code.
YEAR = re.compile(r"^(?:19|20)\d\d$")
# Operators' and regulators' service numbers, quoted in the same breath as codes ("a code from
# 10086", "I will complain to 12300").
SERVICE_NUMBERS = frozenset(
    {
        "10000",
        "10010",
        "10086",
        "10099",
        "12300",
        "12315",
        "12321",
        "12345",
    }
)
# A number glued by one of these to digits, letters or a mask is part of a date, an id, a
# decimal or an already masked number, never a code of its own.
JOINERS = frozenset({"-", ".", "/", "_"})
CURRENCY_SIGNS = frozenset({"¥", "$", "€"})
# Words after a number that make it a quantity: money, data, time, counts.
QUANTITY_UNITS = frozenset(
    {
        "元",
        "块",
        "角",
        "分",
        "年",
        "月",
        "日",
        "号",
        "天",
        "%",
        "个",
        "次",
        "条",
        "张",
        "人",
        "位",
        "岁",
        "秒",
        "周",
        "台",
        "部",
        "万",
        "亿",
        "千",
        "百",
        "兆",
        "小",
        "yuan",
        "rmb",
        "cny",
        "kuai",
        "gb",
        "mb",
        "kb",
        "mbps",
        "min",
        "mins",
        "minutes",
        "hours",
        "days",
        "times",
        "seconds",
    }
)
LATIN_OR_MASK = re.compile(r"^(?:[a-z]+|\*)$")
LATIN_OR_DIGITS_OR_MASK = re.compile(r"^(?:[a-z]+|\d+|\*)$")
# A known code shorter than this would mask every small number in the text; a known number
# shorter than a landline's is no customer's number.
MIN_KNOWN_CODE_DIGITS = 4
MIN_KNOWN_NUMBER_DIGITS = 7


def _ascii_digits(text: str) -> str:
    """The digits of any script or width, and Chinese numerals, as ASCII; the rest dropped."""
    return "".join(
        CHINESE_DIGITS[ch] if ch in CHINESE_DIGITS else str(unicodedata.digit(ch))
        for ch in text
        if ch in CHINESE_DIGITS or ch.isdecimal()
    )


def _norm(kind: str, word: str) -> str:
    if kind in ("digits", "numerals"):
        return _ascii_digits(word)
    if kind == "gap":
        return "\n" if LINE_BREAKS.intersection(word) else " "
    if word in DASHES:
        return "-"
    # Full-width input (ＣＯＤＥ, ＋８６) is common from Chinese keyboards; NFKC turns it into
    # the ASCII the patterns are written in.
    normalized = unicodedata.normalize("NFKC", word).lower()
    # Circled and superscript digits (①, ²) number lists and write powers, never a number's
    # digits: NFKC would make them ASCII digits.
    return word if any(ch.isdecimal() for ch in normalized) else normalized


class RunTokenizer:
    """Splits text into TOKEN_RUN pieces; the tokens' text joined is the text itself."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        runs = [(match.lastgroup or "", match.group()) for match in TOKEN_RUN.finditer(text)]
        # Whitespace is in the words themselves, so no token has trailing space.
        doc = Doc(self.vocab, words=[word for _, word in runs], spaces=[False] * len(runs))
        for token, (kind, word) in zip(doc, runs):
            token.norm_ = _norm(kind, word)
        return doc


def _is_gap(token: Token) -> bool:
    return token.norm_ in (" ", "\n")


def _is_number(token: Token) -> bool:
    return token.norm_.isdecimal()


GAP: dict[str, Any] = {"NORM": " ", "OP": "?"}
SEPARATOR: list[dict[str, Any]] = [GAP, {"NORM": {"IN": sorted(SEPARATORS)}}, GAP]
X = {"NORM": "x"}


def _grouped(shape: Sequence[str], sizes: Sequence[int]) -> list[dict[str, Any]]:
    """Token patterns for a number of this shape (one regex class per digit) written in
    groups of these sizes, any separator between the groups."""
    tokens: list[dict[str, Any]] = []
    taken = 0
    for size in sizes:
        if tokens:
            tokens.extend(SEPARATOR)
        tokens.append({"NORM": {"REGEX": "^" + "".join(shape[taken : taken + size]) + "$"}})
        taken += size
    return tokens


def _ending_in_x(shape: Sequence[str], sizes: Sequence[int]) -> list[dict[str, Any]]:
    """The ID number whose check character is X: the digits, then the X as a token."""
    return [*_grouped(shape, [*sizes[:-1], sizes[-1] - 1]), X]


DIGIT = r"\d"
ID_SHAPE = [DIGIT] * 18
ID_GROUPINGS = ((18,), (6, 8, 4), (6, 4, 4, 4), (4, 4, 4, 4, 2))
# An old ID number's first digit is an area code, never 0: "008613800138000" is a phone.
OLD_ID_SHAPE = ["[1-9]"] + [DIGIT] * 14
OLD_ID_GROUPINGS = ((15,), (6, 6, 3))
# Eighteen digits read as an ID number; both are fully masked, so a bank card of that length
# loses nothing by the label.
BANK_CARD_LENGTHS = (16, 17, 19)
BANK_CARD_GROUPINGS = ((4, 4, 4, 4), (4, 4, 4, 4, 1), (4, 4, 4, 4, 2), (4, 4, 4, 4, 3))
MOBILE_SHAPE = ["1", "[3-9]"] + [DIGIT] * 9
MOBILE_GROUPINGS = ((11,), (3, 4, 4), (4, 3, 4), (3, 8), (7, 4), (1,) * 11)
COUNTRY_CODE = [{"NORM": "+", "OP": "?"}, {"NORM": {"IN": ["86", "0086"]}}]
PATTERNS = [
    *(
        {"label": ID_CARD, "pattern": pattern}
        for sizes in ID_GROUPINGS
        for pattern in (_grouped(ID_SHAPE, sizes), _ending_in_x(ID_SHAPE, sizes))
    ),
    *({"label": ID_CARD, "pattern": _grouped(OLD_ID_SHAPE, sizes)} for sizes in OLD_ID_GROUPINGS),
    *(
        {"label": BANK_CARD, "pattern": [{"NORM": {"REGEX": rf"^\d{{{length}}}$"}}]}
        for length in BANK_CARD_LENGTHS
    ),
    *(
        {"label": BANK_CARD, "pattern": _grouped([DIGIT] * sum(sizes), sizes)}
        for sizes in BANK_CARD_GROUPINGS
    ),
    *(
        {"label": PHONE, "pattern": prefix + _grouped(MOBILE_SHAPE, sizes)}
        for sizes in MOBILE_GROUPINGS
        for prefix in ([], COUNTRY_CODE + SEPARATOR)
    ),
    {
        "label": PHONE,
        "pattern": [{"NORM": "+", "OP": "?"}, {"NORM": {"REGEX": r"^(?:86|0086)1[3-9]\d{9}$"}}],
    },
    {"label": EMAIL, "pattern": [{"NORM": {"REGEX": r"^[^@]+@[^@]+$"}}]},
]


def _glued_on(number: Token, step: int) -> bool:
    """Whether a number is part of something larger on one side (step -1: before it, +1:
    after it): letters or a mask right against it ("TK0007", "20GB", "*******8000"), a
    currency sign ("¥1500"), a joiner with more of the same behind it ("2026-11-23",
    "TK-261123-0007"), or the masked rest of a grouped number ("*** - **** - 8000")."""
    doc = number.doc
    neighbour = _token_at(doc, number.i + step)
    beyond = _token_at(doc, number.i + 2 * step)
    if neighbour is None or neighbour.norm_ in CODE_WORDS:  # "code482913" is a code
        return False
    if neighbour.norm_ in CURRENCY_SIGNS or LATIN_OR_MASK.match(neighbour.norm_):
        return True
    if (
        neighbour.norm_ in JOINERS
        and beyond is not None
        and LATIN_OR_DIGITS_OR_MASK.match(beyond.norm_)
    ):
        return True
    for distance in range(1, MAX_SEPARATOR_TOKENS + 2):
        token = _token_at(doc, number.i + distance * step)
        if token is None or token.norm_ not in SEPARATORS:
            return token is not None and token.norm_ == MASK
    return False


def _token_at(doc: Doc, index: int) -> Token | None:
    return doc[index] if 0 <= index < len(doc) else None


def _is_standalone(first: Token, last: Token) -> bool:
    return not (_glued_on(first, -1) or _glued_on(last, +1))


def _is_quantity(last: Token) -> bool:
    following = _token_at(last.doc, last.i + 1)
    if following is not None and _is_gap(following):
        following = _token_at(last.doc, last.i + 2)
    return following is not None and following.norm_ in QUANTITY_UNITS


def _number_runs(
    doc: Doc, separators: frozenset[str], *, within_entities: bool
) -> Iterator[list[Token]]:
    """The numbers of the text, each a list of its groups: numbers on one line joined only by
    separators ("482 913", "(138) 0013-8000") are one. Entities break a run unless
    within_entities."""
    run: list[Token] = []
    between = 0
    for token in doc:
        if _is_number(token) and (within_entities or not token.ent_type):
            if run and between > MAX_SEPARATOR_TOKENS:
                yield run
                run = []
            run.append(token)
            between = 0
        elif run and token.norm_ in separators and (within_entities or not token.ent_type):
            between += 1
        elif run:
            yield run
            run = []
    if run:
        yield run


def _code_candidates(doc: Doc) -> Iterator[list[Token]]:
    """Numbers that could be codes, each a list of its groups. Short groups joined by a space
    are one number ("482 913", "4 8 2 9 1 3"; "1069 0001 2345" is no code, nor any part of
    it); a longer group is a number of its own ("482913 5521" are two)."""
    for run in _number_runs(doc, frozenset({" "}), within_entities=False):
        short: list[Token] = []
        for group in run:
            if len(group.norm_) <= CODE_GROUP_LENGTH:
                short.append(group)
                continue
            if short:
                yield short
                short = []
            yield [group]
        if short:
            yield short


def _word_weight(token: Token) -> float:
    """How much of a word a token is: a Han character carries about half an English word's
    meaning, so "收到的是" (4 characters) weighs what "I got it" does; punctuation nothing."""
    if not any(ch.isalnum() for ch in token.norm_):
        return 0
    return 0.5 if len(token.text) == 1 and unicodedata.category(token.text) == "Lo" else 1


class OneTimeCodeFinder:
    """Labels OTP_CODE the 4-8 digit numbers that are codes: near a code word, or (nearly)
    alone on their line. Whether "482913" is a code depends on its neighbours, which a token
    pattern of fixed length cannot say."""

    def __init__(self, nlp: Language) -> None:
        self.code_words = PhraseMatcher(nlp.vocab, attr="NORM")
        self.code_words.add("CODE_WORD", [nlp.make_doc(word) for word in CODE_WORDS])

    def __call__(self, doc: Doc) -> Doc:
        # words_before[i]: how many words come before token i, so distances count words only.
        words_before = [0.0] * (len(doc) + 1)
        line_of = [0] * len(doc)
        words_on_line = [0.0]
        for token in doc:
            weight = _word_weight(token)
            words_before[token.i + 1] = words_before[token.i] + weight
            if token.norm_ == "\n":
                words_on_line.append(0)
            line_of[token.i] = len(words_on_line) - 1
            words_on_line[-1] += weight
        matches = self.code_words(doc)
        code_word_starts = sorted(words_before[start] for _, start, _ in matches)
        code_word_ends = sorted(words_before[end] for _, _, end in matches)

        def near_code_word(start: int, end: int) -> bool:
            following = bisect_left(code_word_starts, words_before[end])
            preceding = bisect_right(code_word_ends, words_before[start]) - 1
            return (
                following < len(code_word_starts)
                and code_word_starts[following] - words_before[end] <= CODE_WORD_REACH
            ) or (
                preceding >= 0
                and words_before[start] - code_word_ends[preceding] <= CODE_WORD_REACH
            )

        def is_code(groups: list[Token]) -> bool:
            start, end = groups[0].i, groups[-1].i + 1
            digits = "".join(group.norm_ for group in groups)
            if (
                not CODE_LENGTH.match(digits)
                or digits in SERVICE_NUMBERS
                or not _is_standalone(groups[0], groups[-1])
                or _is_quantity(groups[-1])
            ):
                return False
            if near_code_word(start, end):
                return True
            other_words = words_on_line[line_of[start]] - (words_before[end] - words_before[start])
            return other_words == 0 or (other_words <= SHORT_LINE_WORDS and not YEAR.match(digits))

        codes = [
            Span(doc, groups[0].i, groups[-1].i + 1, label=OTP_CODE)
            for groups in _code_candidates(doc)
            if is_code(groups)
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


def _known_digits(known_codes: Iterable[str], known_numbers: Iterable[str]) -> dict[str, str]:
    """The digits to look for, each with the label it is masked as."""
    wanted = {}
    for code in known_codes:
        digits = _ascii_digits(unicodedata.normalize("NFKC", code))
        if len(digits) >= MIN_KNOWN_CODE_DIGITS:
            wanted[digits] = OTP_CODE
    for number in known_numbers:
        digits = _ascii_digits(unicodedata.normalize("NFKC", number))
        digits = normalise_msisdn(digits) or digits
        if len(digits) >= MIN_KNOWN_NUMBER_DIGITS:
            # With the country code it is still the number, and masked as one.
            wanted.update({f"{prefix}{digits}": PHONE for prefix in ("", "86", "0086")})
    return wanted


def _known_value_spans(doc: Doc, wanted: dict[str, str]) -> Iterator[Span]:
    """Where the known values are written, whole groups only: "482913" is found in "482 913"
    and "四八二九一三", not inside "94829135"."""
    for run in _number_runs(doc, SEPARATORS, within_entities=True):
        digits = "".join(group.norm_ for group in run)
        starts, ends, offset = {}, {}, 0
        for index, group in enumerate(run):
            starts[offset] = index
            offset += len(group.norm_)
            ends[offset] = index
        for value, label in wanted.items():
            at = digits.find(value)
            while at >= 0:
                if at in starts and at + len(value) in ends:
                    first, last = run[starts[at]], run[ends[at + len(value)]]
                    yield Span(doc, first.i, last.i + 1, label=label)
                at = digits.find(value, at + 1)


def may_hold_personal_data(text: str) -> bool:
    """False for a text that certainly holds none (fewer than four digits in a row, no @),
    at the cost of one regular-expression search."""
    return "@" in text or "＠" in text or _FOUR_DIGITS.search(text) is not None


def find_personal_data(
    text: str, *, known_codes: Iterable[str] = (), known_numbers: Iterable[str] = ()
) -> list[tuple[str, int, int]]:
    """(label, start, end) of each piece of personal data, by character offset, in order."""
    if not may_hold_personal_data(text):
        return []
    doc = redaction_pipeline()(text)
    spans = list(doc.ents)
    wanted = _known_digits(known_codes, known_numbers)
    if wanted:
        # Where a rule and a known value cover different stretches, the longer one is masked.
        spans = sorted(
            filter_spans([*spans, *_known_value_spans(doc, wanted)]), key=lambda span: span.start
        )
    return [(span.label_, span.start_char, span.end_char) for span in spans]


def _mask(piece: str, visible_trailing: int = 0) -> str:
    """Masks every digit, numeral and letter (the X of an ID number) but the last
    visible_trailing."""
    to_mask = sum(ch.isalnum() for ch in piece) - visible_trailing
    masked = []
    for ch in piece:
        if ch.isalnum() and to_mask > 0:
            masked.append(MASK)
            to_mask -= 1
        else:
            masked.append(ch)
    return "".join(masked)


def _masked(label: str, piece: str) -> str:
    if label == EMAIL:
        at = max(piece.rfind("@"), piece.rfind("＠"))
        return _mask(piece[:at]) + piece[at:]
    return _mask(piece, VISIBLE_TRAILING_DIGITS.get(label, 0))


def _apply(text: str, found: Iterable[tuple[str, int, int]]) -> str:
    pieces = []
    copied_up_to = 0
    for label, start, end in found:
        pieces.append(text[copied_up_to:start])
        pieces.append(_masked(label, text[start:end]))
        copied_up_to = end
    pieces.append(text[copied_up_to:])
    return "".join(pieces)


def redact(text: str, *, known_codes: Iterable[str] = (), known_numbers: Iterable[str] = ()) -> str:
    """The text with its personal data masked; everything else byte for byte as it was.

    known_codes are masked fully and known_numbers all but their last four digits wherever
    they are written, in any form."""
    return _apply(
        text, find_personal_data(text, known_codes=known_codes, known_numbers=known_numbers)
    )


def redact_secrets(text: str, *, known_codes: Iterable[str] = ()) -> str:
    """The text with one-time codes, ID-card and bank-card numbers and e-mail addresses
    masked, phone numbers kept: for every message Rasa stores. A message with fewer than four
    digits in a row and no @ costs one regular-expression search."""
    if not text:  # Rasa's events may carry no text at all
        return text
    found = find_personal_data(text, known_codes=known_codes)
    return _apply(text, (piece for piece in found if piece[0] in SECRET_LABELS))
