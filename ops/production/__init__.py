"""The production profile, chosen by configuration (`TELECOM_PROFILE=production` or
`telecom run --profile production`): accounts, tickets and conversations in one PostgreSQL
database, a Redis lock store, several Rasa servers and several action servers behind nginx.
endpoints.production.yml reads the environment this module checks and completes."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from ops.production.nginx import nginx_binary
from telecom_assistant.database import PROJECT_ROOT
from telecom_assistant.settings import EMBEDDED, PRODUCTION, PROFILES, selected_profile

PRODUCTION_ENDPOINTS = PROJECT_ROOT / "endpoints.production.yml"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_LOCK_KEY_PREFIX = "telecom"
DEFAULT_SERVERS = 2
# nginx's public door (SECURITY.md): the web chat and the Telegram webhook, nothing else.
DEFAULT_PUBLIC_ADDRESS = "0.0.0.0"
DEFAULT_PUBLIC_PORT = 8080
CONNECT_TIMEOUT_SECONDS = 5


class SettingsError(ValueError):
    """The environment asks for something the production profile cannot do; says what."""


def shown(url: str) -> str:
    """A database or Redis URL without its password, fit for a message."""
    return make_url(url).render_as_string(hide_password=True)


def server_count(environ: Mapping[str, str], variable: str) -> int:
    value = environ.get(variable) or str(DEFAULT_SERVERS)
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(f"{variable}={value!r}: give a number of servers, 1 or more.")
    return int(value)


def public_port(environ: Mapping[str, str]) -> int:
    value = environ.get("TELECOM_PUBLIC_PORT") or str(DEFAULT_PUBLIC_PORT)
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SettingsError(f"TELECOM_PUBLIC_PORT={value!r}: give a port number.")
    return int(value)


@dataclass(frozen=True)
class ProductionSettings:
    database_url: str
    redis_url: str = DEFAULT_REDIS_URL
    lock_key_prefix: str = DEFAULT_LOCK_KEY_PREFIX
    rasa_servers: int = DEFAULT_SERVERS
    action_servers: int = DEFAULT_SERVERS
    public_address: str = DEFAULT_PUBLIC_ADDRESS
    public_port: int = DEFAULT_PUBLIC_PORT

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "ProductionSettings":
        database_url = environ.get("DATABASE_URL", "")
        if not database_url.startswith("postgresql"):
            raise SettingsError(
                "The production profile keeps accounts, tickets and conversations in "
                "PostgreSQL: set DATABASE_URL=postgresql://user:password@host:5432/database."
            )
        # Rasa would quietly fall back to its own prefix, sharing keys with other assistants.
        lock_key_prefix = environ.get("TELECOM_LOCK_KEY_PREFIX") or DEFAULT_LOCK_KEY_PREFIX
        if not lock_key_prefix.isalnum():
            raise SettingsError(f"TELECOM_LOCK_KEY_PREFIX={lock_key_prefix!r}: letters and "
                                "digits only (Rasa's rule for lock store key prefixes).")
        return cls(
            database_url=database_url,
            redis_url=environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
            lock_key_prefix=lock_key_prefix,
            rasa_servers=server_count(environ, "TELECOM_RASA_SERVERS"),
            action_servers=server_count(environ, "TELECOM_ACTION_SERVERS"),
            public_address=environ.get("TELECOM_PUBLIC_ADDRESS") or DEFAULT_PUBLIC_ADDRESS,
            public_port=public_port(environ),
        )

    def problems(self) -> list[str]:
        """What would keep the profile from running, each with what to do: PostgreSQL or Redis
        out of reach, nginx not installed. (Rasa itself would wait for PostgreSQL forever.)"""
        import redis

        found = []
        try:
            engine = create_engine(self.database_url, future=True,
                                   connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
            with engine.connect():
                pass
            engine.dispose()
        except Exception as error:  # noqa: BLE001 - any failure means "cannot use it"
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            found.append(f"PostgreSQL is not reachable at {shown(self.database_url)} ({reason}): "
                         "start it, create the database, or correct DATABASE_URL.")
        client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS)
        try:
            client.ping()
        except redis.RedisError as error:
            found.append(f"Redis is not reachable at {shown(self.redis_url)} ({error}): "
                         "start it or correct REDIS_URL.")
        finally:
            client.close()
        if nginx_binary() is None:
            found.append("nginx is not installed: scripts/bootstrap.sh --with-nginx installs "
                         "Debian's package when run as root (or: sudo apt-get install nginx).")
        return found

    def rasa_environment(self, action_server_url: str) -> dict[str, str]:
        """The variables endpoints.production.yml reads."""
        return {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "TELECOM_LOCK_KEY_PREFIX": self.lock_key_prefix,
            "TELECOM_ACTION_SERVER_URL": action_server_url,
        }
