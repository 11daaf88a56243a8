"""The secrets that draw the trust boundary (SECURITY.md).

Only the channel programs (web chat, Telegram bridge) face customers. Everything behind them
asks for one of these secrets:

- the action server token: Rasa sends it with every call to the action server, which
  refuses a call without it, wherever the call comes from;
- the channel secret: the channel programs send it with every message to Rasa's channels;
  in the production profile Rasa refuses a message without it;
- the conversation key: conversation ids are HMACs under it (of the web chat's session, of
  the Telegram chat), so nobody can name a conversation that is not theirs.

Each comes from its environment variable (Settings.secrets, which checks that it is long
enough). Without one, the embedded profile generates it once into var/secrets/ (readable by its
owner only) and every process of that checkout reads the same file; the production profile
refuses to start instead (SecretMissing).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass, replace
from pathlib import Path

from telecom_assistant.database import PROJECT_ROOT
from telecom_assistant.settings import PRODUCTION, Secrets, Settings, SettingsError, variable_name

SECRETS_DIR = PROJECT_ROOT / "var" / "secrets"
ACTION_TOKEN_HEADER = "X-Telecom-Action-Token"
CHANNEL_SECRET_HEADER = "X-Telecom-Channel-Secret"
# 256 bits, URL-safe: fits a header, a cookie and an environment variable as it is.
SECRET_BYTES = 32


class SecretMissing(SettingsError):
    """The production profile needs this secret from the environment; says which."""


@dataclass(frozen=True)
class Secret:
    # Its field of Settings.secrets.
    name: str
    file_name: str
    purpose: str

    @property
    def variable(self) -> str:
        return variable_name(Secrets, self.name)

    def value(self, settings: Settings, secrets_dir: Path | None = None) -> str:
        configured: str | None = getattr(settings.secrets, self.name)
        if configured:
            return configured
        if settings.profile == PRODUCTION:
            raise SecretMissing(
                f"The production profile needs {self.variable} ({self.purpose}): "
                "set it to a random value of 32 characters or more, the same "
                "for every server (SECURITY.md)."
            )
        return _generated(secrets_dir or SECRETS_DIR, self.file_name)


def _generated(directory: Path, file_name: str) -> str:
    """The secret kept in `directory/file_name`, created on first use. Two processes starting
    at once agree on one value: the file is created exclusively, and the loser reads it."""
    path = directory / file_name
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            value = path.read_text(encoding="ascii").strip()
            if value:
                return value
            # The creator has not written it yet.
            time.sleep(0.01)
        raise SecretMissing(f"{path} is empty: delete it and start again.") from None
    value = secrets.token_urlsafe(SECRET_BYTES)
    with os.fdopen(descriptor, "w", encoding="ascii") as output:
        output.write(value)
    return value


ACTION_SERVER_TOKEN = Secret(
    "action_server_token", "action-server-token", "Rasa's token for the action servers"
)
CHANNEL_SECRET = Secret(
    "channel_secret", "channel-secret", "the channel programs' secret for Rasa's channels"
)
CONVERSATION_KEY = Secret("conversation_key", "conversation-key", "the key of the conversation ids")
ALL_SECRETS = (ACTION_SERVER_TOKEN, CHANNEL_SECRET, CONVERSATION_KEY)


def with_secrets(settings: Settings, secrets_dir: Path | None = None) -> Settings:
    """`settings` with every secret filled in, for `telecom run` to hand the programs it starts
    (Settings.environment): one reading of var/secrets/ (or the environment) for all of
    them."""
    filled = {secret.name: secret.value(settings, secrets_dir) for secret in ALL_SECRETS}
    return replace(settings, secrets=Secrets(**filled))


def same_secret(sent: str | None, expected: str) -> bool:
    """Constant-time comparison; a missing value never matches."""
    if not sent:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


def conversation_id(prefix: str, identity: str, key: str) -> str:
    """The Rasa sender id of a conversation: `prefix` and an HMAC of what identifies the
    customer to the channel (a web chat session, a Telegram chat id). Knowing one id, or the
    chat id, tells nothing of another."""
    digest = hmac.new(key.encode(), f"{prefix}{identity}".encode(), hashlib.sha256).hexdigest()
    return f"{prefix}{digest[:32]}"
