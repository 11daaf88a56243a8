"""The assistant's settings: every environment variable its programs read, in one typed object.

Each program reads them once, in its entry module (its composition root), which builds its
engine, services and clients from them and hands them in: nothing deeper reads the
environment. Reading validates every value, so that a wrong one stops the program at start
with a SettingsError that names the variable and says what to give. `telecom run` hands the
programs it starts the values it read (`environment`), so that all of them agree.

Rasa itself reads two of them (TELECOM_ACTION_SERVER_URL, TELECOM_ACTION_SERVER_TOKEN) from
the endpoints files. docs/configuration.md is `configuration_table()`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from telecom_assistant.database import PROJECT_ROOT
from telecom_assistant.service_hours import ServiceHours

EMBEDDED, PRODUCTION = "embedded", "production"
PROFILES = (EMBEDDED, PRODUCTION)
# Every program but nginx's public door listens on this machine only (SECURITY.md).
LOOPBACK = "127.0.0.1"
MIN_SECRET_LENGTH = 32
MAKE_A_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
# Telegram takes 1 to 256 of these characters; fewer than 32 would be guessable.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{32,256}")


class SettingsError(ValueError):
    """A variable holds what the assistant cannot use; names it and says what to give."""


class _Unusable(ValueError):
    """What a reader says of a value, before it is told which variable held it."""


def local_url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}"


# ---- Readers: the text of a variable, stripped and not empty, to its value -----------------


def _text(raw: str) -> str:
    return raw


def _profile(raw: str) -> str:
    if raw not in PROFILES:
        raise _Unusable(f"choose one of {', '.join(PROFILES)}.")
    return raw


def _port(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise _Unusable("give a port number, 1 to 65535.")
    return int(raw)


def _count(unit: str) -> Callable[[str], int]:
    def read(raw: str) -> int:
        if not raw.isdigit() or int(raw) < 1:
            raise _Unusable(f"give a number of {unit}, 1 or more.")
        return int(raw)

    return read


def _service_hours(raw: str) -> ServiceHours:
    try:
        return ServiceHours.parse(raw)
    except ValueError as problem:
        raise _Unusable(f"{problem}.") from problem


def _above_zero(unit: str) -> Callable[[str], float]:
    def read(raw: str) -> float:
        try:
            amount = float(raw)
        except ValueError:
            amount = math.nan
        if not (math.isfinite(amount) and amount > 0):
            raise _Unusable(f"give a number of {unit} above 0.")
        return amount

    return read


_minutes = _above_zero("minutes")
_seconds = _above_zero("seconds")


def _url(schemes: tuple[str, ...], example: str) -> Callable[[str], str]:
    def read(raw: str) -> str:
        parts = urlsplit(raw)
        if parts.scheme not in schemes or not parts.hostname:
            kinds = " or ".join(f"{scheme}://" for scheme in schemes)
            raise _Unusable(f"give a URL starting {kinds}, e.g. {example}.")
        return raw

    return read


def _database_url(raw: str) -> str:
    try:
        make_url(raw)
    except ArgumentError:
        raise _Unusable(
            "not a database URL SQLAlchemy understands: give one such as "
            "postgresql://user:password@host:5432/database or sqlite:////path/to/telecom.db."
        ) from None
    return raw


def _secret(raw: str) -> str:
    if len(raw) < MIN_SECRET_LENGTH:
        raise _Unusable(
            f"{len(raw)} characters are too few to be secret: give "
            f"{MIN_SECRET_LENGTH} or more ({MAKE_A_SECRET})."
        )
    return raw


def _webhook_secret(raw: str) -> str:
    if not _WEBHOOK_SECRET.fullmatch(raw):
        raise _Unusable(
            f"give 32 to 256 characters of A-Z, a-z, 0-9, _ and - only, not these "
            f"{len(raw)} ({MAKE_A_SECRET})."
        )
    return raw


def _key_prefix(raw: str) -> str:
    # Rasa would quietly fall back to its own prefix, sharing keys with other assistants.
    if not raw.isalnum():
        raise _Unusable("letters and digits only (Rasa's rule for lock store key prefixes).")
    return raw


_http_url = _url(("http", "https"), "http://host:port")


def _existing_file(raw: str) -> str:
    if not os.path.isfile(raw):
        raise _Unusable("no such file: give the path of an existing file.")
    return raw


# ---- Fields ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _About:
    variable: str
    meaning: str
    read: Callable[[str], Any]
    # Never shown, in messages or repr: a secret, or a URL that may carry a password.
    hidden: bool
    # The default as docs/configuration.md states it, when its value here would mislead
    # (a path of this checkout, a value that follows another variable).
    shown_default: str | None
    # The default when it follows a setting read before it (a URL, its port): made from the
    # values read so far.
    default_from: Callable[[dict[str, Any]], Any] | None


def setting(
    variable: str,
    default: Any,
    meaning: str,
    read: Callable[[str], Any] = _text,
    *,
    hidden: bool = False,
    shown_default: str | None = None,
    default_from: Callable[[dict[str, Any]], Any] | None = None,
) -> Any:
    about = _About(variable, meaning, read, hidden, shown_default, default_from)
    return field(default=default, repr=not hidden, metadata={"setting": about})


def _about(item: Field) -> _About | None:
    """What a field of the settings reads; None for a group of them."""
    return item.metadata.get("setting")


def _read(group: Any, environ: Mapping[str, str]) -> Any:
    """`group` (Settings, or one of its groups) as `environ` gives it."""
    values: dict[str, Any] = {}
    for item in fields(group):
        about = _about(item)
        if about is None:
            values[item.name] = _read(item.default_factory, environ)
            continue
        raw = environ.get(about.variable, "").strip()
        if raw:
            try:
                values[item.name] = about.read(raw)
            except _Unusable as problem:
                shown = "" if about.hidden else f"={raw!r}"
                raise SettingsError(f"{about.variable}{shown}: {problem}") from None
        elif about.default_from is not None:
            values[item.name] = about.default_from(values)
    return group(**values)


def _environment(group: Any) -> dict[str, str]:
    variables: dict[str, str] = {}
    for item in fields(group):
        value = getattr(group, item.name)
        about = _about(item)
        if about is None:
            variables.update(_environment(value))
        elif value is not None:
            variables[about.variable] = str(value)
    return variables


class _Variables:
    """What the settings and their groups share."""

    def environment(self) -> dict[str, str]:
        """Every variable set here, with its value: for the environment of a program this one
        starts, which then reads the same settings."""
        return _environment(self)


# ---- The settings, by area ------------------------------------------------------------------


@dataclass(frozen=True)
class Ports(_Variables):
    """Where each program listens, on 127.0.0.1."""

    rasa: int = setting(
        "TELECOM_RASA_PORT",
        5005,
        "Rasa's REST channels, on 127.0.0.1 (production profile: nginx, in front of the Rasa "
        "servers).",
        _port,
    )
    action_server: int = setting(
        "TELECOM_ACTION_SERVER_PORT",
        5055,
        "The action server, on 127.0.0.1 (production profile: nginx, in front of the action "
        "servers).",
        _port,
    )
    console: int = setting("TELECOM_CONSOLE_PORT", 5002, "The agent console, on 127.0.0.1.", _port)
    webchat: int = setting("TELECOM_WEBCHAT_PORT", 5003, "The web chat, on 127.0.0.1.", _port)
    telegram_bridge_health: int = setting(
        "TELEGRAM_BRIDGE_HEALTH_PORT",
        5004,
        "The Telegram bridge's health check (GET /health), on 127.0.0.1.",
        _port,
    )
    scheduler_health: int = setting(
        "TELECOM_SCHEDULER_HEALTH_PORT",
        5006,
        "The reminder scheduler's health check (GET /health), on 127.0.0.1.",
        _port,
    )
    sms_hall_health: int = setting(
        "TELECOM_SMS_HALL_HEALTH_PORT",
        5007,
        "The SMS business hall's health check (GET /health), on 127.0.0.1.",
        _port,
    )


@dataclass(frozen=True)
class Secrets(_Variables):
    """The secrets of the trust boundary (telecom_assistant/trust.py, SECURITY.md). Unset, the
    embedded profile generates each into var/secrets/; the production profile refuses to
    start."""

    action_server_token: str | None = setting(
        "TELECOM_ACTION_SERVER_TOKEN",
        None,
        "Rasa's token for the action servers, which refuse a call without it.",
        _secret,
        hidden=True,
        shown_default="generated (embedded profile)",
    )
    channel_secret: str | None = setting(
        "TELECOM_CHANNEL_SECRET",
        None,
        "The channel programs' (web chat, Telegram bridge, SMS hall) and the scheduler's secret "
        "for Rasa's channels.",
        _secret,
        hidden=True,
        shown_default="generated (embedded profile)",
    )
    conversation_key: str | None = setting(
        "TELECOM_CONVERSATION_KEY",
        None,
        "The key of the conversation ids (HMACs of a web chat session, a Telegram chat).",
        _secret,
        hidden=True,
        shown_default="generated (embedded profile)",
    )


@dataclass(frozen=True)
class Telegram(_Variables):
    bot_token: str | None = setting(
        "TELEGRAM_BOT_TOKEN",
        None,
        "The bot's token (from @BotFather); `telecom run` starts the Telegram bridge when set.",
        hidden=True,
    )
    api_url: str | None = setting(
        "TELEGRAM_API_URL",
        None,
        "Another Bot API server for the bridge, e.g. a local one.",
        _http_url,
        shown_default="Telegram's own",
    )
    webhook_url: str | None = setting(
        "TELEGRAM_WEBHOOK_URL",
        None,
        "Webhook mode: the public https URL Telegram posts updates to; unset, the bridge polls.",
        _url(("https",), "https://bot.example.com/telegram/webhook"),
    )
    webhook_secret: str | None = setting(
        "TELEGRAM_WEBHOOK_SECRET",
        None,
        "Webhook mode (required): the token Telegram sends with every update, 32 to 256 "
        "characters of A-Z, a-z, 0-9, _ and -.",
        _webhook_secret,
        hidden=True,
    )
    webhook_port: int = setting(
        "TELEGRAM_WEBHOOK_PORT",
        8443,
        "Webhook mode: where the bridge takes updates, on 127.0.0.1 behind the proxy that holds "
        "the URL's certificate.",
        _port,
    )

    def __post_init__(self) -> None:
        if self.webhook_url and not self.webhook_secret:
            raise SettingsError(
                "webhook mode needs TELEGRAM_WEBHOOK_SECRET, which Telegram sends with every "
                "update so that the bridge can refuse updates from anyone else: set it to 32 to "
                f"256 characters of A-Z, a-z, 0-9, _ and - ({MAKE_A_SECRET})"
            )


@dataclass(frozen=True)
class Verification(_Variables):
    """How long a verification grants account data, and how many one-time codes may be sent
    and tried (the throttles' windows are fixed: telecom_assistant/accounts/sql.py)."""

    idle_minutes: float = setting(
        "TELECOM_VERIFICATION_IDLE_MINUTES",
        15,
        "A verification ends when the customer has been silent this long.",
        _minutes,
    )
    max_minutes: float = setting(
        "TELECOM_VERIFICATION_MAX_MINUTES",
        120,
        "A verification ends this long after the code was accepted.",
        _minutes,
    )
    codes_per_conversation: int = setting(
        "TELECOM_CODES_PER_CONVERSATION",
        3,
        "One-time codes sent per conversation in 10 minutes, whatever numbers it tries.",
        _count("codes"),
    )
    codes_per_number: int = setting(
        "TELECOM_CODES_PER_NUMBER",
        3,
        "One-time codes sent per number in 10 minutes, whatever conversation asks.",
        _count("codes"),
    )
    codes_per_number_daily: int = setting(
        "TELECOM_CODES_PER_NUMBER_DAILY",
        10,
        "One-time codes sent per number in a day.",
        _count("codes"),
    )
    wrong_codes_per_number: int = setting(
        "TELECOM_WRONG_CODES_PER_NUMBER",
        10,
        "Wrong codes per number in an hour, whatever conversation typed them.",
        _count("codes"),
    )


@dataclass(frozen=True)
class Reminders(_Variables):
    """The reminders the scheduler sends (telecom_assistant/reminders/, docs/reminders.md)."""

    sending_hours: ServiceHours = setting(
        "TELECOM_REMINDER_HOURS",
        ServiceHours.parse("08:00-22:00"),
        "When reminders go out, in China time (HH:MM-HH:MM); outside these quiet hours only "
        "urgent ones (charges starting now: 100 % of an allowance, a new paid add-on, roaming, "
        "a low prepaid balance).",
        _service_hours,
        shown_default="`08:00-22:00`",
    )
    low_balance_yuan: int = setting(
        "TELECOM_REMINDER_LOW_BALANCE_YUAN",
        10,
        "A prepaid balance below this many yuan is reminded (once a month at most).",
        _count("yuan"),
    )
    booster_addon: str = setting(
        "TELECOM_REMINDER_BOOSTER",
        "data_booster",
        "The add-on (its id) a data reminder names as a way out beside a plan that fits.",
    )
    scan_seconds: float = setting(
        "TELECOM_REMINDER_SCAN_SECONDS",
        60.0,
        "How often the scheduler scans every line for reminders, in seconds.",
        _seconds,
    )


@dataclass(frozen=True)
class Production(_Variables):
    """The production profile's (docs/scaling-up.md)."""

    redis_url: str = setting(
        "REDIS_URL",
        "redis://127.0.0.1:6379/0",
        "Production profile: the Redis of the conversation locks (rediss:// for TLS).",
        _url(("redis", "rediss"), "redis://:password@127.0.0.1:6379/0"),
        hidden=True,
    )
    lock_key_prefix: str = setting(
        "TELECOM_LOCK_KEY_PREFIX",
        "telecom",
        "Production profile: the lock keys' prefix in Redis, letters and digits, apart from "
        "any other assistant on that Redis.",
        _key_prefix,
    )
    rasa_servers: int = setting(
        "TELECOM_RASA_SERVERS",
        2,
        "Production profile: Rasa servers `telecom run` starts behind nginx.",
        _count("servers"),
    )
    action_servers: int = setting(
        "TELECOM_ACTION_SERVERS",
        2,
        "Production profile: action servers `telecom run` starts behind nginx.",
        _count("servers"),
    )
    public_address: str = setting(
        "TELECOM_PUBLIC_ADDRESS",
        "0.0.0.0",
        "Production profile: the address of nginx's public door (the web chat and the "
        "Telegram webhook, nothing else).",
    )
    public_port: int = setting(
        "TELECOM_PUBLIC_PORT", 8080, "Production profile: the port of that door.", _port
    )


@dataclass(frozen=True)
class Settings(_Variables):
    """Every setting of the assistant, by area (docs/configuration.md)."""

    profile: str = setting(
        "TELECOM_PROFILE",
        EMBEDDED,
        "embedded: SQLite, one server of each; production: PostgreSQL, Redis, several servers "
        "behind nginx.",
        _profile,
    )
    database_url: str = setting(
        "DATABASE_URL",
        f"sqlite:///{PROJECT_ROOT / 'var' / 'telecom.db'}",
        "The assistant's database (accounts, tickets, agents; production profile: "
        "conversations too), as an SQLAlchemy URL.",
        _database_url,
        hidden=True,
        shown_default="`sqlite:///var/telecom.db` in the project",
    )
    ports: Ports = field(default_factory=Ports)
    rasa_url: str = setting(
        "RASA_URL",
        local_url(Ports.rasa),
        "Where the web chat and the Telegram bridge reach Rasa.",
        _http_url,
        shown_default="`http://127.0.0.1:<TELECOM_RASA_PORT>`",
        default_from=lambda read: local_url(read["ports"].rasa),
    )
    action_server_url: str = setting(
        "TELECOM_ACTION_SERVER_URL",
        f"{local_url(Ports.action_server)}/webhook",
        "Where Rasa reaches the action server (read by Rasa, from the endpoints files).",
        _http_url,
        shown_default="`http://127.0.0.1:<TELECOM_ACTION_SERVER_PORT>/webhook`",
        default_from=lambda read: f"{local_url(read['ports'].action_server)}/webhook",
    )
    secrets: Secrets = field(default_factory=Secrets)
    verification: Verification = field(default_factory=Verification)
    retention_days: int = setting(
        "TELECOM_RETENTION_DAYS",
        90,
        "Conversations, demo SMS and reminders older than this are deleted (reminders after "
        "100 days at the least; `telecom retention`, and `telecom run` at start and daily).",
        _count("days"),
    )
    service_hours: ServiceHours = setting(
        "TELECOM_SERVICE_HOURS",
        ServiceHours.parse("08:00-22:00"),
        "When agents take live chats, every day, in China time (HH:MM-HH:MM). Outside them an "
        "escalated customer is told when the desk opens, and the ticket is answered later.",
        _service_hours,
        shown_default="`08:00-22:00`",
    )
    telegram: Telegram = field(default_factory=Telegram)
    reminders: Reminders = field(default_factory=Reminders)
    sms_keywords: str = setting(
        "TELECOM_SMS_KEYWORDS",
        str(PROJECT_ROOT / "channels" / "sms" / "keywords.yml"),
        "The SMS business hall's keyword commands, both languages (a YAML file like the default).",
        _existing_file,
        shown_default="`channels/sms/keywords.yml` in the project",
    )
    production: Production = field(default_factory=Production)
    agent_password: str | None = setting(
        "TELECOM_AGENT_PASSWORD",
        None,
        "`telecom agent add` gives the new agent this password instead of asking for one.",
        hidden=True,
    )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """The settings `environ` gives, every value checked; raises SettingsError."""
        return _read(cls, environ)


def variable_name(group: Any, name: str) -> str:
    """The environment variable of the setting `name` of `group` (Settings, or one of its
    groups)."""
    about = next(_about(item) for item in fields(group) if item.name == name)
    if about is None:
        raise ValueError(f"{group.__name__}.{name} is a group of settings")
    return about.variable


def _rows(group: Any) -> list[tuple[str, str, str]]:
    rows = []
    for item in fields(group):
        about = _about(item)
        if about is None:
            rows.extend(_rows(item.default_factory))
            continue
        default = about.shown_default or ("none" if item.default is None else f"`{item.default}`")
        rows.append((f"`{about.variable}`", default, about.meaning))
    return rows


def configuration_table() -> str:
    """Every variable, its default and its meaning, as the Markdown table of
    docs/configuration.md."""
    lines = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    lines += [
        f"| {variable} | {default} | {meaning} |" for variable, default, meaning in _rows(Settings)
    ]
    return "\n".join(lines) + "\n"
