"""The SMS hall's keywords: which command a message is, and which language it was written in.

They are configuration (keywords.yml, or the file TELECOM_SMS_KEYWORDS names), read once when
the program starts; a file the hall cannot use stops it then, with what to fix.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from telecom_assistant.language import CHINESE, ENGLISH, LANGUAGES
from telecom_assistant.reminders.model import ReminderKind
from telecom_assistant.reminders.render import SmsHint

DEFAULT_KEYWORDS = Path(__file__).resolve().parent / "keywords.yml"
CODES = "codes"
# Dropped from the end of a message before it is matched: "CXLL." is CXLL. Not "?": it is help.
TRAILING_PUNCTUATION = ".。!,，、~～"


class Command(str, enum.Enum):
    LIST_ADDONS = "list_addons"
    CANCEL_ADDON = "cancel_addon"
    DATA_LEFT = "data_left"
    BILL = "bill"
    BALANCE = "balance"
    USAGE_REMINDERS_ON = "usage_reminders_on"
    USAGE_REMINDERS_OFF = "usage_reminders_off"
    REMINDERS_ON = "reminders_on"
    REMINDERS_OFF = "reminders_off"
    HELP = "help"
    CONFIRM = "confirm"
    DECLINE = "decline"


# Commands followed by what they act on ("TD2", "QXTX ZD"); the others are the whole message.
TAKES_ARGUMENT = frozenset({Command.CANCEL_ADDON, Command.REMINDERS_ON, Command.REMINDERS_OFF})


class KeywordsError(ValueError):
    """The keywords file cannot be used; says where and why."""


@dataclass(frozen=True)
class Keyword:
    word: str
    language: str | None  # None: a code, the same in every language


@dataclass(frozen=True)
class Match:
    command: Command
    keyword: Keyword
    argument: str  # what follows the keyword; "" for none
    text: str  # the whole message


@dataclass(frozen=True)
class Entry:
    """One command's, one kind's (or "all"'s) keywords: its codes first, then its words."""

    keywords: tuple[Keyword, ...]

    @property
    def shown(self) -> str:
        """The keyword the hall's answers tell customers to send."""
        return self.keywords[0].word


class Keywords:
    def __init__(
        self,
        commands: Mapping[Command, Entry],
        kinds: Mapping[ReminderKind, Entry],
        everything: Entry,
    ) -> None:
        self.commands = dict(commands)
        self.kinds = dict(kinds)
        self.everything = everything
        self._whole: dict[str, tuple[Command, Keyword]] = {}
        for command, entry in self.commands.items():
            for keyword in entry.keywords:
                self._whole[squeezed(keyword.word)] = (command, keyword)
        # Longest first: "QXTX" must not take "QXTXLL"'s place, nor a short code a longer one's.
        self._leading = sorted(
            (
                (squeezed(keyword.word), command, keyword)
                for command in TAKES_ARGUMENT
                for keyword in self.commands[command].keywords
            ),
            key=lambda item: -len(item[0]),
        )

    @classmethod
    def load(cls, path: Path = DEFAULT_KEYWORDS) -> Keywords:
        """The keywords of a file; raises KeywordsError."""
        try:
            tree = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as problem:
            raise KeywordsError(f"{path}: cannot read the SMS hall's keywords: {problem}") from None
        if not isinstance(tree, dict):
            raise KeywordsError(f"{path}: expected `commands`, `reminder_kinds` and `all`")
        commands = _section(path, tree, "commands", Command)
        missing = [command.value for command in Command if command not in commands]
        if missing:
            raise KeywordsError(f"{path}: no keywords for {', '.join(missing)}")
        kinds = _section(path, tree, "reminder_kinds", ReminderKind)
        keywords = cls(commands, kinds, _entry(path, "all", tree.get("all")))
        _refuse_duplicates(path, commands)
        return keywords

    def match(self, text: str) -> Match | None:
        """The command `text` is, if it is one."""
        whole = squeezed(text)
        whole = whole.rstrip(TRAILING_PUNCTUATION) or whole
        found = self._whole.get(whole)
        if found is not None:
            return Match(found[0], found[1], "", text)
        for leading, command, keyword in self._leading:
            if whole.startswith(leading):
                return Match(command, keyword, _after(text, keyword.word), text)
        return None

    def kind(self, argument: str) -> tuple[ReminderKind, Keyword] | None:
        """The kind of reminder an argument names ("ZD", "账单", "bill")."""
        wanted = squeezed(argument)
        for kind, entry in self.kinds.items():
            for keyword in entry.keywords:
                if squeezed(keyword.word) == wanted:
                    return kind, keyword
        return None

    def means_all(self, argument: str) -> Keyword | None:
        wanted = squeezed(argument)
        return next((k for k in self.everything.keywords if squeezed(k.word) == wanted), None)

    def shown(self, command: Command) -> str:
        return self.commands[command].shown

    def shown_in(self, command: Command, language: str) -> str:
        """The keyword to send, and the word of `language` for it too: "Y/是"."""
        keywords = self.commands[command].keywords
        first_code = next((k.word for k in keywords if k.language is None), None)
        first_word = next((k.word for k in keywords if k.language == language), None)
        return "/".join(word for word in (first_code, first_word) if word) or keywords[0].word

    def reminder_hints(self) -> dict[ReminderKind, SmsHint]:
        """What a reminder SMS tells the customer to reply (the scheduler's ReminderPolicy):
        the add-on list under a new add-on (to cancel it), else how to stop that kind."""
        hints = {
            kind: SmsHint(
                "reminder.stop_by_sms", f"{self.shown(Command.REMINDERS_OFF)} {entry.shown}"
            )
            for kind, entry in self.kinds.items()
        }
        hints[ReminderKind.USAGE] = SmsHint(
            "reminder.stop_by_sms", self.shown(Command.USAGE_REMINDERS_OFF)
        )
        hints[ReminderKind.ADDON] = SmsHint(
            "reminder.addons_by_sms", self.shown(Command.LIST_ADDONS)
        )
        return hints

    def markdown_table(self) -> str:
        """Every command and its keywords, as docs/channels.md shows them."""
        rows = [
            "| command | codes | English | Chinese |",
            "| --- | --- | --- | --- |",
        ]
        for command, entry in self.commands.items():
            rows.append(
                f"| `{command.value}` | {_cell(entry, None)} | {_cell(entry, ENGLISH)} | "
                f"{_cell(entry, CHINESE)} |"
            )
        for kind, entry in self.kinds.items():
            rows.append(
                f"| kind `{kind.value}` | {_cell(entry, None)} | {_cell(entry, ENGLISH)} | "
                f"{_cell(entry, CHINESE)} |"
            )
        everything = self.everything
        rows.append(
            f"| `all` | {_cell(everything, None)} | {_cell(everything, ENGLISH)} | "
            f"{_cell(everything, CHINESE)} |"
        )
        return "\n".join(rows) + "\n"


def squeezed(text: str) -> str:
    """Text as keywords are compared: full-width forms as ASCII, any case, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def _after(text: str, word: str) -> str:
    """What follows `word` at the start of `text`, spaces inside the word allowed."""
    letters = [re.escape(letter) for letter in squeezed(word)]
    pattern = r"\s*" + r"\s*".join(letters)
    found = re.match(pattern, unicodedata.normalize("NFKC", text), re.IGNORECASE)
    rest = unicodedata.normalize("NFKC", text)[found.end() :] if found else ""
    return rest.strip().rstrip(TRAILING_PUNCTUATION).strip()


def _cell(entry: Entry, language: str | None) -> str:
    return ", ".join(f"`{k.word}`" for k in entry.keywords if k.language == language)


def _section(path: Path, tree: dict[str, Any], name: str, names: type[enum.Enum]) -> dict:
    section = tree.get(name)
    if not isinstance(section, dict):
        raise KeywordsError(f"{path}: `{name}` must map each name to its keywords")
    known = {member.value: member for member in names}
    entries = {}
    for key, value in section.items():
        if key not in known:
            raise KeywordsError(
                f"{path}: {name}.{key} is unknown; the names are {', '.join(known)}"
            )
        entries[known[key]] = _entry(path, f"{name}.{key}", value)
    return entries


def _entry(path: Path, where: str, value: Any) -> Entry:
    if not isinstance(value, dict):
        raise KeywordsError(f"{path}: {where} must have `codes`, `en` or `zh` lists")
    keywords: list[Keyword] = []
    for group in (CODES, *LANGUAGES):
        words = value.get(group) or []
        if not isinstance(words, list):
            raise KeywordsError(f"{path}: {where}.{group} must be a list")
        for word in words:
            if not isinstance(word, str) or not squeezed(word):
                raise KeywordsError(
                    f"{path}: {where}.{group} has {word!r}: write each keyword as text, in "
                    'quotes where YAML would read a number or a yes or no ("0000", "YES")'
                )
            keywords.append(Keyword(word, None if group == CODES else group))
    unknown = set(value) - {CODES, *LANGUAGES}
    if unknown:
        raise KeywordsError(f"{path}: {where} has {', '.join(sorted(unknown))}; use codes, en, zh")
    if not keywords:
        raise KeywordsError(f"{path}: {where} has no keyword")
    return Entry(tuple(keywords))


def _refuse_duplicates(path: Path, commands: Mapping[Command, Entry]) -> None:
    seen: dict[str, Command] = {}
    for command, entry in commands.items():
        for keyword in entry.keywords:
            other = seen.setdefault(squeezed(keyword.word), command)
            if other is not command:
                raise KeywordsError(
                    f"{path}: {keyword.word!r} is a keyword of both {other.value} and "
                    f"{command.value}"
                )
