"""The settings (telecom_assistant/settings.py): their defaults, a clear error for every value
the assistant cannot use, the secrets filled in for the embedded profile and demanded by the
production one, every variable the code reads being a setting, and docs/configuration.md
holding exactly the generated table."""

from __future__ import annotations

import re
from dataclasses import fields, replace

import pytest

from ops.production import problems
from telecom_assistant.accounts.sql import VerificationThrottles
from telecom_assistant.database import PROJECT_ROOT
from telecom_assistant.settings import (
    Ports,
    Production,
    Secrets,
    Settings,
    SettingsError,
    Telegram,
    Verification,
    configuration_table,
    variable_name,
)
from telecom_assistant.trust import (
    ACTION_SERVER_TOKEN,
    ALL_SECRETS,
    CHANNEL_SECRET,
    SecretMissing,
    with_secrets,
)

SECRET = "s" * 40
WEBHOOK_SECRET = "w" * 40
PACKAGES = ("telecom_assistant", "actions", "rasa_plugins", "channels", "console", "demo", "ops")
SETTINGS_MODULE = PROJECT_ROOT / "telecom_assistant" / "settings.py"


def every_variable() -> list[str]:
    rows = configuration_table().splitlines()[2:]
    return [row.split("`")[1] for row in rows]


def read(**environ: str) -> Settings:
    return Settings.from_environment(environ)


def refusal(**environ: str) -> str:
    with pytest.raises(SettingsError) as refused:
        read(**environ)
    return str(refused.value)


# ---- Defaults and values ----------------------------------------------------------------


def test_an_empty_environment_gives_the_defaults():
    settings = read()
    assert settings == Settings()
    assert settings.profile == "embedded"
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'telecom.db'}"
    assert settings.ports == Ports(
        rasa=5005, action_server=5055, console=5002, webchat=5003, telegram_bridge_health=5004
    )
    assert settings.rasa_url == "http://127.0.0.1:5005"
    assert settings.action_server_url == "http://127.0.0.1:5055/webhook"
    assert settings.secrets == Secrets(None, None, None)
    assert settings.verification == Verification(
        idle_minutes=15,
        max_minutes=120,
        codes_per_conversation=3,
        codes_per_number=3,
        codes_per_number_daily=10,
        wrong_codes_per_number=10,
    )
    assert settings.retention_days == 90
    assert settings.telegram.bot_token is None and settings.telegram.webhook_port == 8443
    assert settings.production == Production(
        redis_url="redis://127.0.0.1:6379/0",
        lock_key_prefix="telecom",
        rasa_servers=2,
        action_servers=2,
        public_address="0.0.0.0",
        public_port=8080,
    )


def test_an_empty_or_blank_variable_is_unset():
    assert read(TELECOM_RASA_PORT="", TELECOM_RETENTION_DAYS="  ") == Settings()


def test_values_are_read_typed_and_stripped():
    settings = read(
        TELECOM_PROFILE="production",
        DATABASE_URL="postgresql://u:p@db:5432/telecom",
        TELECOM_CONSOLE_PORT=" 6002 ",
        TELECOM_VERIFICATION_MAX_MINUTES="30.5",
        TELECOM_CODES_PER_NUMBER="5",
        TELECOM_RETENTION_DAYS="30",
        TELECOM_CHANNEL_SECRET=SECRET,
        TELEGRAM_BOT_TOKEN=" 123:abc ",
        REDIS_URL="rediss://:pw@redis:6380/1",
        TELECOM_RASA_SERVERS="4",
    )
    assert settings.profile == "production"
    assert settings.database_url == "postgresql://u:p@db:5432/telecom"
    assert settings.ports.console == 6002
    assert settings.verification.max_minutes == 30.5
    assert settings.verification.codes_per_number == 5
    assert settings.retention_days == 30
    assert settings.secrets.channel_secret == SECRET
    assert settings.telegram.bot_token == "123:abc"
    assert settings.production.redis_url == "rediss://:pw@redis:6380/1"
    assert settings.production.rasa_servers == 4


def test_rasa_and_the_action_server_are_reached_at_their_ports_unless_told_otherwise():
    settings = read(TELECOM_RASA_PORT="6005", TELECOM_ACTION_SERVER_PORT="6055")
    assert settings.rasa_url == "http://127.0.0.1:6005"
    assert settings.action_server_url == "http://127.0.0.1:6055/webhook"
    elsewhere = read(
        TELECOM_RASA_PORT="6005",
        RASA_URL="http://rasa.internal:5005",
        TELECOM_ACTION_SERVER_URL="http://127.0.0.1:7000/webhook",
    )
    assert elsewhere.rasa_url == "http://rasa.internal:5005"
    assert elsewhere.action_server_url == "http://127.0.0.1:7000/webhook"


def test_a_program_started_with_the_environment_reads_the_same_settings():
    settings = read(
        TELECOM_PROFILE="production",
        TELECOM_WEBCHAT_PORT="6003",
        TELECOM_VERIFICATION_IDLE_MINUTES="5",
        TELECOM_CONVERSATION_KEY=SECRET,
        TELEGRAM_WEBHOOK_URL="https://bot.example.com/hook",
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        TELECOM_LOCK_KEY_PREFIX="other",
    )
    assert Settings.from_environment(settings.environment()) == settings
    assert "TELECOM_AGENT_PASSWORD" not in settings.environment()  # unset stays unset


def test_secrets_and_passwords_stay_out_of_repr():
    settings = read(
        TELECOM_CHANNEL_SECRET=SECRET,
        TELEGRAM_BOT_TOKEN="123:bot-token",
        TELECOM_AGENT_PASSWORD="agent-password",
        DATABASE_URL="postgresql://u:db-password@db/telecom",
    )
    shown = repr(settings)
    for secret in (SECRET, "bot-token", "agent-password", "db-password"):
        assert secret not in shown


# ---- What cannot be used ------------------------------------------------------------------


@pytest.mark.parametrize(
    "environ, complaint",
    [
        (
            {"TELECOM_PROFILE": "staging"},
            "TELECOM_PROFILE='staging': choose one of embedded, production.",
        ),
        (
            {"TELECOM_WEBCHAT_PORT": "eighty"},
            "TELECOM_WEBCHAT_PORT='eighty': give a port number, 1 to 65535.",
        ),
        ({"TELECOM_PUBLIC_PORT": "70000"}, "TELECOM_PUBLIC_PORT='70000': give a port number"),
        (
            {"TELEGRAM_BRIDGE_HEALTH_PORT": "0"},
            "TELEGRAM_BRIDGE_HEALTH_PORT='0': give a port number",
        ),
        (
            {"TELECOM_RETENTION_DAYS": "1.5"},
            "TELECOM_RETENTION_DAYS='1.5': give a number of days, 1 or more.",
        ),
        ({"TELECOM_RETENTION_DAYS": "0"}, "TELECOM_RETENTION_DAYS='0': give a number of days"),
        (
            {"TELECOM_CODES_PER_NUMBER": "many"},
            "TELECOM_CODES_PER_NUMBER='many': give a number of codes",
        ),
        (
            {"TELECOM_RASA_SERVERS": "-1"},
            "TELECOM_RASA_SERVERS='-1': give a number of servers, 1 or more.",
        ),
        (
            {"RASA_URL": "127.0.0.1:5005"},
            "RASA_URL='127.0.0.1:5005': give a URL starting http:// or https://",
        ),
        (
            {"TELEGRAM_API_URL": "ftp://api"},
            "TELEGRAM_API_URL='ftp://api': give a URL starting http://",
        ),
        (
            {
                "TELEGRAM_WEBHOOK_URL": "http://bot.example.com/hook",
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            },
            "TELEGRAM_WEBHOOK_URL='http://bot.example.com/hook': give a URL starting https://, e.g.",
        ),
        (
            {"TELECOM_LOCK_KEY_PREFIX": "tele:com"},
            "TELECOM_LOCK_KEY_PREFIX='tele:com': letters and digits only",
        ),
    ],
)
def test_a_value_that_cannot_be_used_is_named_with_what_to_give(environ, complaint):
    assert refusal(**environ).startswith(complaint)


@pytest.mark.parametrize("minutes", ["0", "-3", "ten", "nan", "inf"])
def test_a_verification_limit_is_a_number_of_minutes_above_zero(minutes):
    assert refusal(TELECOM_VERIFICATION_IDLE_MINUTES=minutes) == (
        f"TELECOM_VERIFICATION_IDLE_MINUTES={minutes!r}: give a number of minutes above 0."
    )


@pytest.mark.parametrize(
    "environ, complaint",
    [
        (
            {"TELECOM_CHANNEL_SECRET": "short-but-secret"},
            "TELECOM_CHANNEL_SECRET: 16 characters are too few to be secret: give 32 or more",
        ),
        (
            {
                "TELEGRAM_WEBHOOK_URL": "https://bot.example.com/hook",
                "TELEGRAM_WEBHOOK_SECRET": "short-but-secret",
            },
            "TELEGRAM_WEBHOOK_SECRET: give 32 to 256 characters of A-Z, a-z, 0-9, _ and - only, not "
            "these 16",
        ),
        (
            {"DATABASE_URL": "postgres ql://u:secret-password@db"},
            "DATABASE_URL: not a database URL SQLAlchemy understands",
        ),
        (
            {"REDIS_URL": "http://:secret-password@redis"},
            "REDIS_URL: give a URL starting redis:// or rediss://",
        ),
    ],
)
def test_a_secret_or_a_url_with_a_password_is_never_shown(environ, complaint):
    message = refusal(**environ)
    assert message.startswith(complaint)
    assert "short-but-secret" not in message and "secret-password" not in message


def test_webhook_mode_needs_its_secret():
    assert "webhook mode needs TELEGRAM_WEBHOOK_SECRET" in refusal(
        TELEGRAM_WEBHOOK_URL="https://bot.example.com/hook"
    )
    assert read(TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET).telegram.webhook_url is None  # polling
    with pytest.raises(SettingsError):
        Telegram(webhook_url="https://bot.example.com/hook")


def test_the_production_profile_needs_postgresql():
    found = problems(read(TELECOM_PROFILE="production"))
    assert found == [
        "The production profile keeps accounts, tickets and conversations in "
        "PostgreSQL: set DATABASE_URL=postgresql://user:password@host:5432/database."
    ]


# ---- Secrets ----------------------------------------------------------------------------


def test_the_embedded_profile_generates_each_secret_once(tmp_path):
    settings = with_secrets(read(), tmp_path)
    values = [getattr(settings.secrets, secret.name) for secret in ALL_SECRETS]
    assert len(set(values)) == 3 and all(len(value) >= 32 for value in values)
    assert with_secrets(read(), tmp_path) == settings  # read back, not made again
    assert ACTION_SERVER_TOKEN.value(read(), tmp_path) == settings.secrets.action_server_token


def test_a_configured_secret_is_used_as_it_is(tmp_path):
    assert CHANNEL_SECRET.value(read(TELECOM_CHANNEL_SECRET=SECRET), tmp_path) == SECRET
    assert not (tmp_path / "channel-secret").exists()


def test_the_production_profile_refuses_to_make_up_a_secret(tmp_path):
    with pytest.raises(SecretMissing, match="The production profile needs TELECOM_CHANNEL_SECRET"):
        CHANNEL_SECRET.value(read(TELECOM_PROFILE="production"), tmp_path)
    assert issubclass(SecretMissing, SettingsError)
    assert not list(tmp_path.iterdir())


# ---- One list of variables ----------------------------------------------------------------


def test_every_variable_is_one_setting():
    variables = every_variable()
    assert len(variables) == len(set(variables))
    assert variable_name(Verification, "codes_per_number") == "TELECOM_CODES_PER_NUMBER"


def test_the_throttles_default_counts_are_the_settings_defaults():
    assert VerificationThrottles.from_settings(Verification()) == VerificationThrottles()
    counted = VerificationThrottles.from_settings(replace(Verification(), codes_per_number=5))
    assert counted.codes_per_number.count == 5
    assert counted.codes_per_number.window == VerificationThrottles().codes_per_number.window
    assert [item.name for item in fields(VerificationThrottles)] == [
        item.name for item in fields(Verification) if item.name.startswith(("codes", "wrong"))
    ]


def source_files():
    for package in PACKAGES:
        yield from (
            path for path in (PROJECT_ROOT / package).rglob("*.py") if path != SETTINGS_MODULE
        )


# Handing this process's whole environment to a program it starts reads no variable; Rasa's
# own variables (RASA_TELEMETRY_ENABLED) are Rasa's, set for it, not settings of ours.
PASSED_ON = re.compile(r"\*\*os\.environ\b|os\.environ\.setdefault\(\"RASA_")


def test_nothing_but_the_settings_reads_the_environment():
    readers = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}"
        for path in source_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\benviron\b|\bgetenv\b", PASSED_ON.sub("", line))
    ]
    assert readers == [], "read these through Settings (telecom_assistant/settings.py)"


def test_every_variable_named_in_the_code_or_the_endpoints_is_a_setting():
    known = set(every_variable())
    named = re.compile(
        r"[\"']((?:TELECOM|TELEGRAM)_[A-Z0-9_]+|DATABASE_URL|REDIS_URL|RASA_URL)[\"']"
    )
    in_code = {
        (path.name, match)
        for path in source_files()
        for match in named.findall(path.read_text(encoding="utf-8"))
    }
    in_endpoints = {
        (path.name, match)
        for path in PROJECT_ROOT.glob("*.yml")
        for match in re.findall(r"\$\{(\w+)\}", path.read_text(encoding="utf-8"))
    }
    assert {
        (file, variable) for file, variable in in_code | in_endpoints if variable not in known
    } == set()


def test_the_configuration_doc_holds_exactly_the_generated_table():
    doc = (PROJECT_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    generated = re.search(
        r"<!-- generated: configuration_table\(\) -->\n(.*)<!-- end", doc, re.DOTALL
    )
    assert generated is not None, "docs/configuration.md lost its generated table's markers"
    assert generated.group(1) == configuration_table(), (
        "docs/configuration.md is out of date: put the output of `python -c 'from "
        'telecom_assistant.settings import configuration_table as t; print(t(), end="")\'` '
        "between its markers"
    )
