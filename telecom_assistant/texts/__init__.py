"""Every text customers and agents read outside ``domain.yml``, and the one way amounts of money
and dates are written.

The texts live in one file per language (``en.yml``, ``zh.yml``), grouped by who reads them
(``console.*``, ``telegram.*``, ``webchat.*``, ``reply.*``) and by what they name (``category.*``,
the labels of the ticket desk's values, ``place.*``). A key is the dotted path of a text in its
file: ``text("console.queue.title", "zh")``. Placeholders are ``str.format`` fields:
``text("reply.heading", "en", ticket_id="TK-261123-0007")``.

Money and dates read the same in both languages (``¥12.50``, ``2026-11-23 14:05``): sortable,
unambiguous, and what customers already see in the chat.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from telecom_assistant.language import CHINESE, LANGUAGES

CATALOGUE_DIR = Path(__file__).resolve().parent
DATE_FORMAT = "%Y-%m-%d"
DATE_TIME_FORMAT = "%Y-%m-%d %H:%M"


class UnknownText(KeyError):
    """A key that the catalogue of a language does not have."""


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """Every text of a language by its dotted key, read once per process."""
    if language not in LANGUAGES:
        raise ValueError(f"no texts in {language!r}; the languages are {', '.join(LANGUAGES)}")
    path = CATALOGUE_DIR / f"{language}.yml"
    return _flattened(yaml.safe_load(path.read_text(encoding="utf-8")), prefix="", source=path)


def _flattened(tree: Any, prefix: str, source: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for name, value in tree.items():
        # YAML reads an unquoted yes/no/on/off key as a boolean: quote it in the file.
        if not isinstance(name, str):
            raise ValueError(
                f"{source}: the key {name!r} under {prefix or 'the top'!r} must be quoted"
            )
        key = prefix + name
        if isinstance(value, dict):
            texts.update(_flattened(value, key + ".", source))
        elif isinstance(value, str):
            texts[key] = value
        else:
            raise ValueError(f"{source}: {key} must be a text, not {value!r}")
    return texts


def text(key: str, language: str, **params: object) -> str:
    """The text of ``key`` in ``language``, its placeholders filled from ``params``."""
    try:
        template = catalogue(language)[key]
    except KeyError:
        raise UnknownText(f"no text {key!r} in {language!r}") from None
    return template.format(**params) if params else template


def find_text(key: str, language: str) -> str | None:
    """The text of ``key``, or None where the catalogue has none (a name the data may lack)."""
    return catalogue(language).get(key)


def texts_of(language: str, *groups: str) -> dict[str, str]:
    """Every text of the given groups (``"webchat"``, ``"language"``), by full key."""
    prefixes = tuple(group + "." for group in groups)
    return {key: value for key, value in catalogue(language).items() if key.startswith(prefixes)}


def label_key(member: enum.Enum) -> str:
    """The key that names a value of the domain: ``Priority.URGENT`` is ``priority.urgent``."""
    return f"{type(member).__name__.lower()}.{member.value}"


def language_of_tag(tag: str | None) -> str | None:
    """Our language of a language tag ("zh-Hans-CN", "en_GB", "zh"), or None for any other."""
    primary = re.split(r"[-_]", (tag or "").strip().lower(), maxsplit=1)[0]
    return primary if primary in LANGUAGES else None


def other_language(language: str) -> str:
    """The language to offer a switch to."""
    return next(other for other in LANGUAGES if other != language)


def local_name(language: str, english: str, chinese: str | None) -> str:
    """One of the two names account data keeps (a plan, an add-on): English when the Chinese
    one is missing."""
    return chinese if language == CHINESE and chinese else english


def format_money(fen: int) -> str:
    """An amount in fen as yuan: ``¥12.50``, ``-¥3.05``. Integer arithmetic: no float rounding."""
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), 100)
    return f"{sign}¥{yuan}.{rest:02d}"


def format_data(mb: int) -> str:
    """A data volume: ``850 MB``, ``7.5 GB`` (1 GB is 1,024 MB, as the plans count it)."""
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb} MB"


def format_date(day: date) -> str:
    """``2026-11-23``."""
    if isinstance(day, datetime):
        # A datetime is a date too: refuse it rather than drop its time without a word.
        raise TypeError("format_date takes a date; use format_datetime for a datetime")
    return day.strftime(DATE_FORMAT)


def format_datetime(moment: datetime) -> str:
    """``2026-11-23 14:05``, in the time the moment is stored in (China time)."""
    return moment.strftime(DATE_TIME_FORMAT)


class Texts:
    """The texts of one language, for code that writes many of them: ``t("console.nav.queue")``,
    ``t.label(Priority.URGENT)``, ``t.money(1250)``, ``t.when(ticket.created_at)``. The console's templates get one as ``t``."""

    def __init__(self, language: str) -> None:
        catalogue(language)  # an unknown language fails here, not at the first text
        self.language = language

    def __call__(self, key: str, **params: object) -> str:
        return text(key, self.language, **params)

    def label(self, member: enum.Enum) -> str:
        return self(label_key(member))

    def local(self, english: str, chinese: str | None) -> str:
        return local_name(self.language, english, chinese)

    @property
    def other(self) -> Texts:
        """The same texts in the language to offer a switch to."""
        return type(self)(other_language(self.language))

    money = staticmethod(format_money)

    # A table cell without the value stays empty.

    @staticmethod
    def day(value: date | None) -> str:
        return format_date(value) if value else ""

    @staticmethod
    def when(moment: datetime | None) -> str:
        return format_datetime(moment) if moment else ""
