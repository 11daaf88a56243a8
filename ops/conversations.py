"""Whole conversations, checked by their outcome: the conversation suite.

Each conversation in ``tests/conversations/*.yml`` is what one customer types, turn by turn,
with what the assistant must (and must not) say at each turn, and what must have changed in
the backend at the end: tickets filed for this conversation (kind, category, contact),
add-ons cancelled or disputed, a plan change scheduled, kinds of reminder turned off. A key
left out of ``outcome`` means nothing of that kind may change. A turn may be a reminder instead
of a message: stored for the conversation as the scheduler stores it, and sent into it through
Rasa's reminder door, as the scheduler sends it. Replies are matched by response name (any language variant,
its ``{variables}`` matching anything) or by substring, never by the exact action sequence:
the assistant may get there any way it likes. A ticket's description is stored masked (mobile
numbers keep their last four digits), and is checked as stored.

The runner talks to a running assistant over Rasa's REST channel and reads the backend from
the same database; the database is reset to the demo data before every conversation, so each
starts from the same accounts. Used by the test suite and by `telecom evaluate
--conversations`.
"""

from __future__ import annotations

import fnmatch
import json
import re
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from demo.seed import reset_database
from telecom_assistant.accounts.msisdn import normalise_msisdn
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.accounts.tables import LineRow, SubscriptionRow
from telecom_assistant.database import PROJECT_ROOT
from telecom_assistant.language import CHINESE, ENGLISH
from telecom_assistant.reminders.model import ChatAddress, Reminder, ReminderKind
from telecom_assistant.reminders.sql import SqlReminderStore
from telecom_assistant.settings import Settings
from telecom_assistant.tickets.model import QueueFilter
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.trust import CHANNEL_SECRET, CHANNEL_SECRET_HEADER

SUITE_DIR = PROJECT_ROOT / "tests" / "conversations"
CLASSES = {
    "follow_through": "1. follow-through after verification",
    "forms_yield": "2. forms that yield",
    "forms_listen": "3. forms that listen",
    "context": "4. answers read in context",
    "no_verification": "5. no verification where none is needed",
    "answers": "6. answers to the question asked",
    "general": "everyday conversations",
}
LANGUAGES = ("en", "zh", "mixed")
TURN_CHECKS = ("said", "not_said", "contains", "not_contains", "any_contains")
OUTCOME_KEYS = ("tickets", "cancelled", "disputed", "plan_change", "opted_out")
# A reminder turn: the telecom_assistant.reminders.model.Reminder to send, line first.
REMINDER_KEYS = ("line", "kind", "topic", "subject", "urgent", "details")
TICKET_KEYS = ("kind", "category", "contact", "description_contains")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


class SuiteError(ValueError):
    """A conversation file that does not follow the format."""


@dataclass(frozen=True)
class Turn:
    user: str  # what the customer types; empty in a reminder's turn
    said: tuple[str, ...] = ()
    not_said: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    # At least one of these substrings appears (wording the assistant may choose).
    any_contains: tuple[str, ...] = ()
    reminder: dict[str, Any] | None = None  # REMINDER_KEYS: the scheduler's turn


@dataclass(frozen=True)
class Conversation:
    name: str
    language: str
    kind: str
    turns: tuple[Turn, ...]
    outcome: dict[str, Any]
    source: str

    @property
    def group(self) -> str:
        """Chinese and mixed conversations are reported together, as the issue counts them."""
        return "en" if self.language == "en" else "zh/mixed"


def _strings(value: Any, where: str) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(item, (str, int)) for item in values):
        raise SuiteError(f"{where}: expected text or a list of texts, got {value!r}")
    return tuple(str(item) for item in values)


def _turn(raw: Any, where: str) -> Turn:
    if isinstance(raw, str):
        return Turn(user=raw)
    if not isinstance(raw, dict) or len({"user", "reminder"} & set(raw)) != 1:
        raise SuiteError(f"{where}: a turn is a text or a mapping with `user` or `reminder`")
    unknown = set(raw) - {"user", "reminder", *TURN_CHECKS}
    if unknown:
        raise SuiteError(f"{where}: unknown keys {sorted(unknown)}")
    checks: dict[str, Any] = {
        key: _strings(raw[key], f"{where}.{key}") for key in TURN_CHECKS if key in raw
    }
    if "reminder" in raw:
        return Turn(user="", reminder=_check_reminder(raw["reminder"], where), **checks)
    return Turn(user=str(raw["user"]), **checks)


def _check_reminder(reminder: Any, where: str) -> dict[str, Any]:
    if (
        not isinstance(reminder, dict)
        or set(reminder) - set(REMINDER_KEYS)
        or not {"line", "kind", "topic"} <= set(reminder)
    ):
        raise SuiteError(f"{where}: a reminder is a mapping of {REMINDER_KEYS}, line to topic")
    return reminder


def _check_outcome(outcome: Any, where: str) -> dict[str, Any]:
    if outcome is None:
        return {}
    if not isinstance(outcome, dict) or set(outcome) - set(OUTCOME_KEYS):
        raise SuiteError(f"{where}: outcome keys are {OUTCOME_KEYS}")
    for ticket in outcome.get("tickets", []):
        if not isinstance(ticket, dict) or set(ticket) - set(TICKET_KEYS):
            raise SuiteError(f"{where}: a ticket is a mapping of {TICKET_KEYS}")
    for key in ("cancelled", "disputed"):
        if key in outcome and not isinstance(outcome[key], list):
            raise SuiteError(f"{where}: {key} is a list of add-on ids")
    if "opted_out" in outcome and not isinstance(outcome["opted_out"], list):
        raise SuiteError(f"{where}: opted_out is a list of kinds of reminder")
    return outcome


def load_suite(paths: Iterable[Path] = ()) -> list[Conversation]:
    """Every conversation of the given files (default: the whole suite), checked for form."""
    files = sorted(paths) or sorted(SUITE_DIR.glob("*.yml"))
    conversations: list[Conversation] = []
    names: set[str] = set()
    for path in files:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for index, raw in enumerate(document.get("conversations") or []):
            where = f"{path.name}#{index + 1}"
            name = str(raw.get("name") or "")
            if not name or name in names:
                raise SuiteError(f"{where}: every conversation needs a unique name")
            names.add(name)
            if raw.get("language") not in LANGUAGES:
                raise SuiteError(f"{where}: language is one of {LANGUAGES}")
            if raw.get("class") not in CLASSES:
                raise SuiteError(f"{where}: class is one of {sorted(CLASSES)}")
            turns = tuple(
                _turn(turn, f"{where}.turns[{i}]") for i, turn in enumerate(raw.get("turns") or [])
            )
            if not turns:
                raise SuiteError(f"{where}: no turns")
            conversations.append(
                Conversation(
                    name=name,
                    language=raw["language"],
                    kind=raw["class"],
                    turns=turns,
                    outcome=_check_outcome(raw.get("outcome"), where),
                    source=path.name,
                )
            )
    return conversations


class Responses:
    """Recognises a reply as one of the domain's responses, in either language."""

    def __init__(self, domain: dict[str, Any]) -> None:
        self._patterns: dict[str, list[re.Pattern[str]]] = {}
        for name, variants in (domain.get("responses") or {}).items():
            self._patterns[name] = [self._pattern(v.get("text") or "") for v in variants]

    @staticmethod
    def _pattern(template: str) -> re.Pattern[str]:
        parts = re.split(r"\{[a-z_]+\}", template)
        return re.compile(".+?".join(re.escape(part) for part in parts), re.DOTALL)

    def names(self, pattern: str) -> list[str]:
        found = fnmatch.filter(self._patterns, pattern)
        if not found:
            raise SuiteError(f"no response matches {pattern!r}")
        return found

    def check(self, conversations: Iterable[Conversation]) -> None:
        """Every response a conversation names exists (before any server starts)."""
        for conversation in conversations:
            for turn in conversation.turns:
                for pattern in (*turn.said, *turn.not_said):
                    self.names(pattern)

    def said(self, pattern: str, replies: list[str]) -> bool:
        return any(
            regex.fullmatch(reply.strip())
            for name in self.names(pattern)
            for regex in self._patterns[name]
            for reply in replies
        )


@dataclass
class Backend:
    """What changed in the accounts and the ticket desk, read from the database."""

    engine: Engine
    today: date

    def reset(self) -> None:
        reset_database(self.engine, self.today)

    def latest_code(self, msisdn: str) -> str:
        body = SqlAccountService(self.engine).latest_sms(msisdn) or ""
        match = re.search(r"\b\d{6}\b", body)
        return match.group() if match else "000000"

    def store_reminder(self, turn: dict[str, Any], conversation_id: str, language: str) -> int:
        """The reminder as the scheduler stores it before it sends it, with this conversation
        as the line's chat: its id."""
        reminder = Reminder(
            msisdn=str(turn["line"]),
            kind=ReminderKind(turn["kind"]),
            event=f"suite:{turn['topic']}:{turn.get('subject', '')}",
            topic=turn["topic"],
            urgent=bool(turn.get("urgent")),
            subject=str(turn.get("subject", "")),
            details=turn.get("details") or {},
        )
        chat = ChatAddress(reminder.msisdn, SUITE_CHANNEL, conversation_id, language)
        reminder_id = SqlReminderStore(self.engine).claim(reminder, language, chat)
        if reminder_id is None:
            raise SuiteError(f"the reminder {reminder.event} was sent twice")
        return reminder_id

    def state(self, conversation_id: str) -> dict[str, Any]:
        with Session(self.engine, future=True) as session:
            subscriptions = session.execute(select(SubscriptionRow)).scalars().all()
            lines = session.execute(select(LineRow)).scalars().all()
            state = {
                "cancelled": sorted(s.addon_id for s in subscriptions if s.cancelled_at),
                "disputed": sorted(s.addon_id for s in subscriptions if s.consent_disputed),
                "plan_change": sorted(line.next_plan_id for line in lines if line.next_plan_id),
            }
        opted_out = SqlReminderStore(self.engine).opted_out_among([line.msisdn for line in lines])
        state["opted_out"] = sorted({kind.value for kinds in opted_out.values() for kind in kinds})
        tickets = SqlTicketService(self.engine).queue(QueueFilter())
        state["tickets"] = [
            {
                "kind": t.kind.value,
                "category": t.category.value,
                "contact": t.contact_number,
                "description": t.description,
            }
            for t in tickets
            if t.conversation_id == conversation_id
        ]
        return state


Send = Callable[[str, str], list[dict[str, Any]]]
# Sends the reminder of this id into the conversation: the assistant's replies.
Remind = Callable[[str, int], list[dict[str, Any]]]
# The channel the suite talks over, which also carries its reminders.
SUITE_CHANNEL = "rest"


@cache
def _channel_secret() -> str:
    """The channel programs' secret, read once: the suite sends thousands of messages."""
    return CHANNEL_SECRET.value(Settings.from_environment())


def send_message(
    rasa_url: str, sender: str, text: str, channel: str = SUITE_CHANNEL, timeout: float = 120
) -> list[dict[str, Any]]:
    """One customer message to a Rasa REST-type channel, with the channel programs' secret
    (which the web chat's and Telegram's channels require); the assistant's replies."""
    body = {"sender": sender, "message": text}
    return _post(f"{rasa_url}/webhooks/{channel}/webhook", body, timeout)


def _post(url: str, body: dict[str, Any], timeout: float = 120) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", CHANNEL_SECRET_HEADER: _channel_secret()},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def rest_sender(rasa_url: str) -> Send:
    """Send messages over Rasa's REST channel, as the web chat does."""
    return lambda sender, text: send_message(rasa_url, sender, text)


def rest_reminder(rasa_url: str) -> Remind:
    """Send stored reminders into conversations on Rasa's REST channel, as the scheduler does
    on the web chat's and Telegram's."""
    url = f"{rasa_url}/webhooks/{SUITE_CHANNEL}/reminder"
    return lambda sender, reminder_id: _post(url, {"sender": sender, "reminder": reminder_id})


@dataclass
class Result:
    conversation: Conversation
    failures: list[str] = field(default_factory=list)
    transcript: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def report(self) -> str:
        lines = [
            f"{self.conversation.source}: {self.conversation.name} "
            f"[{self.conversation.kind}, {self.conversation.language}]"
        ]
        lines += [f"  FAILED {failure}" for failure in self.failures]
        for text, replies in self.transcript:
            lines.append(f"  customer: {text}")
            lines += [f"    bot: {reply}" for reply in replies]
        return "\n".join(lines)


def _fill(text: str, backend: Backend, last_number: str | None) -> str:
    """`{code}` is the code last sent to the number the customer gave; `{wrong_code}` is not."""
    if "{code}" not in text and "{wrong_code}" not in text:
        return text
    code = backend.latest_code(last_number or "")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    return text.replace("{code}", code).replace("{wrong_code}", wrong)


def _check_turn(turn: Turn, replies: list[str], responses: Responses) -> list[str]:
    joined = "\n".join(replies)
    failures = [f"expected {name}" for name in turn.said if not responses.said(name, replies)]
    failures += [
        f"did not expect {name}" for name in turn.not_said if responses.said(name, replies)
    ]
    failures += [f"expected the text {text!r}" for text in turn.contains if text not in joined]
    failures += [
        f"did not expect the text {text!r}" for text in turn.not_contains if text in joined
    ]
    if turn.any_contains and not any(text in joined for text in turn.any_contains):
        failures.append(f"expected one of {list(turn.any_contains)}")
    return failures


def _check_outcome_state(outcome: dict[str, Any], state: dict[str, Any]) -> list[str]:
    failures = []
    for key in ("cancelled", "disputed", "opted_out"):
        wanted = sorted(outcome.get(key) or [])
        if state[key] != wanted:
            failures.append(f"{key}: expected {wanted}, found {state[key]}")
    wanted_plan = outcome.get("plan_change")
    if state["plan_change"] != ([wanted_plan] if wanted_plan else []):
        failures.append(f"plan change: expected {wanted_plan}, found {state['plan_change']}")
    wanted_tickets = outcome.get("tickets") or []
    found = state["tickets"]
    if len(found) != len(wanted_tickets):
        failures.append(
            f"tickets: expected {len(wanted_tickets)}, found {len(found)}: "
            f"{[(t['kind'], t['category']) for t in found]}"
        )
        return failures
    unmatched = list(found)
    for wanted in wanted_tickets:
        match = next((t for t in unmatched if _ticket_matches(wanted, t)), None)
        if match is None:
            failures.append(
                f"no ticket like {wanted} among "
                f"{[{k: t[k] for k in ('kind', 'category', 'contact')} for t in found]}"
            )
        else:
            unmatched.remove(match)
    return failures


def _ticket_matches(wanted: dict[str, Any], ticket: dict[str, Any]) -> bool:
    for key in ("kind", "category"):
        if key in wanted and ticket[key] != wanted[key]:
            return False
    if "contact" in wanted and ticket["contact"] != normalise_msisdn(str(wanted["contact"])):
        return False
    text = wanted.get("description_contains")
    return text is None or str(text).lower() in ticket["description"].lower()


def run_conversation(
    conversation: Conversation,
    send: Send,
    backend: Backend,
    responses: Responses,
    remind: Remind | None = None,
) -> Result:
    backend.reset()
    sender = f"suite-{uuid.uuid4().hex[:12]}"
    result = Result(conversation)
    last_number: str | None = None
    # The chat's language as the scheduler knows it: a mixed conversation is a Chinese one.
    language = ENGLISH if conversation.language == ENGLISH else CHINESE
    for index, turn in enumerate(conversation.turns, start=1):
        text = _fill(turn.user, backend, last_number)
        numbers = _MOBILE.findall(text)
        last_number = numbers[-1] if numbers else last_number
        try:
            if turn.reminder is None:
                said = send(sender, text)
            elif remind is None:
                raise SuiteError(f"{conversation.name}: a reminder turn, and no way to send it")
            else:
                text = f"(reminder: {turn.reminder['topic']})"
                said = remind(sender, backend.store_reminder(turn.reminder, sender, language))
            replies = [message.get("text") or "" for message in said]
        except OSError as error:
            result.failures.append(f"turn {index}: no answer ({error})")
            return result
        replies = [reply for reply in replies if reply]
        result.transcript.append((text, replies))
        result.failures += [
            f"turn {index} ({text!r}): {failure}"
            for failure in _check_turn(turn, replies, responses)
        ]
    result.failures += [
        f"outcome: {failure}"
        for failure in _check_outcome_state(conversation.outcome, backend.state(sender))
    ]
    return result


def summarise(results: list[Result]) -> str:
    """Success per language and per class, then every failure with its transcript."""
    by_group: dict[str, list[bool]] = defaultdict(list)
    by_class: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for result in results:
        by_group[result.conversation.group].append(result.passed)
        by_class[(result.conversation.kind, result.conversation.group)].append(result.passed)

    def share(flags: list[bool]) -> str:
        return f"{sum(flags)}/{len(flags)} ({sum(flags) / len(flags):.1%})" if flags else "-"

    lines = ["Conversation suite: success by language"]
    lines += [f"  {group:<9} {share(by_group[group])}" for group in ("en", "zh/mixed")]
    lines.append(f"  {'all':<9} {share([r.passed for r in results])}")
    lines.append("By class:")
    lines.append(f"  {'class':<42} {'en':<16} zh/mixed")
    for kind, title in CLASSES.items():
        if any(k == kind for k, _ in by_class):
            lines.append(
                f"  {title:<42} {share(by_class[(kind, 'en')]):<16} "
                f"{share(by_class[(kind, 'zh/mixed')])}"
            )
    failed = [result for result in results if not result.passed]
    if failed:
        lines.append(f"\n{len(failed)} failed:")
        lines += [result.report() for result in failed]
    return "\n".join(lines)


# Target of the suite: the share of conversations that succeed, in each language group.
TARGET = 0.95


def evaluate(model: Path, files: Iterable[Path] = ()) -> int:
    """`telecom evaluate --conversations`: the assistant (the newest model, an action server)
    on a scratch SQLite database, the suite run against it, success printed per language and
    class with every failure. Exits non-zero below the target in either language."""
    import tempfile

    from ops.benchmark.servers import (
        action_server_part,
        rasa_part,
        server_environment,
        write_endpoints,
    )
    from ops.launcher import started
    from telecom_assistant.clock import operator_now
    from telecom_assistant.database import make_engine

    conversations = load_suite(files)
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    responses = Responses(domain)
    responses.check(conversations)
    with tempfile.TemporaryDirectory(prefix="conversations-") as scratch:
        workdir = Path(scratch)
        database_url = f"sqlite:///{workdir / 'accounts.db'}"
        backend = Backend(make_engine(database_url), operator_now().date())
        backend.reset()
        env = server_environment(database_url)
        actions = action_server_part(workdir, env)
        rasa = rasa_part(model, workdir, env, write_endpoints(workdir, actions.url))
        with started([actions, rasa]):
            send, remind = rest_sender(rasa.url), rest_reminder(rasa.url)
            results = [run_conversation(c, send, backend, responses, remind) for c in conversations]
    print(summarise(results))
    groups = defaultdict(list)
    for result in results:
        groups[result.conversation.group].append(result.passed)
    return 0 if all(sum(f) / len(f) >= TARGET for f in groups.values()) else 1
