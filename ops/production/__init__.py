"""The production profile, chosen by configuration (`TELECOM_PROFILE=production` or
`telecom run --profile production`): accounts, tickets and conversations in one PostgreSQL
database, a Redis lock store, several Rasa servers and several action servers behind nginx.
Its settings are Settings.production (telecom_assistant/settings.py); endpoints.production.yml
is Rasa's side of it."""

from __future__ import annotations

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from ops.production.nginx import nginx_binary
from telecom_assistant.database import PROJECT_ROOT
from telecom_assistant.settings import Settings

PRODUCTION_ENDPOINTS = PROJECT_ROOT / "endpoints.production.yml"
CONNECT_TIMEOUT_SECONDS = 5


def shown(url: str) -> str:
    """A database or Redis URL without its password, fit for a message."""
    return make_url(url).render_as_string(hide_password=True)


def problems(settings: Settings) -> list[str]:
    """What would keep the production profile from running, each with what to do: a database
    that is not PostgreSQL, PostgreSQL or Redis out of reach, nginx not installed. (Rasa
    itself would wait for PostgreSQL forever.)"""
    import redis

    if make_url(settings.database_url).get_backend_name() != "postgresql":
        return [
            "The production profile keeps accounts, tickets and conversations in "
            "PostgreSQL: set DATABASE_URL=postgresql://user:password@host:5432/database."
        ]
    found = []
    try:
        engine = create_engine(
            settings.database_url,
            future=True,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
        )
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:
        # Any failure means "cannot use it".
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        found.append(
            f"PostgreSQL is not reachable at {shown(settings.database_url)} "
            f"({reason}): start it, create the database, or correct DATABASE_URL."
        )
    redis_url = settings.production.redis_url
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        client.ping()
    except redis.RedisError as error:
        found.append(
            f"Redis is not reachable at {shown(redis_url)} ({error}): "
            "start it or correct REDIS_URL."
        )
    finally:
        client.close()
    if nginx_binary() is None:
        found.append(
            "nginx is not installed: scripts/bootstrap.sh --with-nginx installs "
            "Debian's package when run as root (or: sudo apt-get install nginx)."
        )
    return found
