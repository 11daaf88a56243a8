"""Agents of the console, their passwords and their signed-in sessions.

Passwords are hashed with scrypt and a random salt per agent; the stored string names the
algorithm and its cost, so the cost can be raised later without invalidating old hashes.
A session is a random token in an HttpOnly cookie; the database keeps only its SHA-256, so
someone who reads the table cannot sign in with what they read.

The sign-in lock-out (5 failures within 15 minutes lock a username for 15 minutes) is kept in
this process's memory: the console runs as a single worker, a restart forgets the failures.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from telecom_assistant.backend import orm
from telecom_assistant.backend.clock import Clock, operator_now
from telecom_assistant.backend.database import SessionPerCall

MIN_PASSWORD_LENGTH = 10
MAX_USERNAME_LENGTH = orm.AgentRow.username.type.length
MAX_DISPLAY_NAME_LENGTH = orm.AgentRow.display_name.type.length
MAX_FAILED_SIGN_INS = 5
FAILED_SIGN_IN_WINDOW = timedelta(minutes=15)
LOCK_OUT = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=8)

# scrypt's cost for interactive logins (n=2**14, r=8, p=1, about 16 MB and 50 ms), the
# minimum OWASP recommends.
SCRYPT_ALGORITHM = "scrypt"
SCRYPT_COST = 2**14
SCRYPT_BLOCK_SIZE = 8
SCRYPT_PARALLELISM = 1
SCRYPT_KEY_BYTES = 32
SALT_BYTES = 16
TOKEN_BYTES = 32


class AccountRefused(ValueError):
    """A refused account change, with a message meant for the person creating agents."""


class DuplicateAgent(AccountRefused):
    pass


class WeakPassword(AccountRefused):
    pass


@dataclass(frozen=True)
class Agent:
    username: str
    display_name: str


@dataclass(frozen=True)
class AgentSession:
    agent: Agent
    csrf_token: str
    expires_at: datetime


def hash_password(password: str) -> str:
    """``scrypt$<n>$<r>$<p>$<salt>$<key>`` with salt and key in base64."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_COST, SCRYPT_BLOCK_SIZE, SCRYPT_PARALLELISM)
    return "$".join(
        [SCRYPT_ALGORITHM, str(SCRYPT_COST), str(SCRYPT_BLOCK_SIZE), str(SCRYPT_PARALLELISM),
         _b64(salt), _b64(key)]
    )


def verify_password(password: str, stored: str) -> bool:
    algorithm, cost, block_size, parallelism, salt, key = stored.split("$")
    if algorithm != SCRYPT_ALGORITHM:
        raise ValueError(f"unknown password hash algorithm {algorithm!r}")
    expected = base64.b64decode(key)
    derived = _scrypt(
        password, base64.b64decode(salt), int(cost), int(block_size), int(parallelism),
        key_bytes=len(expected),
    )
    return hmac.compare_digest(derived, expected)


def _scrypt(password: str, salt: bytes, cost: int, block_size: int, parallelism: int,
            key_bytes: int = SCRYPT_KEY_BYTES) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=cost, r=block_size, p=parallelism, dklen=key_bytes
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_username(username: str) -> str:
    """Agents type their username in any case; it is one account."""
    return username.strip().lower()


class SignInThrottle:
    """Failed sign-ins per username, in memory (see the module docstring)."""

    def __init__(self, clock: Clock) -> None:
        self._now = clock
        self._failures: dict[str, deque[datetime]] = {}
        self._locked_until: dict[str, datetime] = {}

    def locked_until(self, username: str) -> Optional[datetime]:
        until = self._locked_until.get(username)
        if until is not None and until <= self._now():
            del self._locked_until[username]
            return None
        return until

    def record_failure(self, username: str) -> None:
        now = self._now()
        self._forget_failures_before(now - FAILED_SIGN_IN_WINDOW)
        failures = self._failures.setdefault(username, deque())
        failures.append(now)
        if len(failures) >= MAX_FAILED_SIGN_INS:
            self._locked_until[username] = now + LOCK_OUT
            failures.clear()

    def record_success(self, username: str) -> None:
        self._failures.pop(username, None)

    def _forget_failures_before(self, cutoff: datetime) -> None:
        """Keeps memory bounded when someone tries many usernames."""
        for username in list(self._failures):
            failures = self._failures[username]
            while failures and failures[0] < cutoff:
                failures.popleft()
            if not failures:
                del self._failures[username]


class AgentAccounts(SessionPerCall):
    def __init__(self, engine: Engine, clock: Clock = operator_now) -> None:
        super().__init__(engine, clock)
        self._throttle = SignInThrottle(clock)
        # Checked against when the username does not exist, so that a wrong username takes
        # as long as a wrong password and does not reveal which agents exist.
        self._decoy_hash = hash_password(secrets.token_urlsafe(TOKEN_BYTES))

    # ---- agents

    def create(self, username: str, display_name: str, password: str) -> Agent:
        username = normalise_username(username)
        display_name = display_name.strip()
        if not username or len(username) > MAX_USERNAME_LENGTH:
            raise AccountRefused(
                f"a username needs 1 to {MAX_USERNAME_LENGTH} characters"
            )
        if not display_name or len(display_name) > MAX_DISPLAY_NAME_LENGTH:
            raise AccountRefused(
                f"a display name needs 1 to {MAX_DISPLAY_NAME_LENGTH} characters"
            )
        if len(password) < MIN_PASSWORD_LENGTH:
            raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        try:
            with self._session() as session:
                session.add(orm.AgentRow(
                    username=username,
                    display_name=display_name,
                    password_hash=hash_password(password),
                    created_at=self._now(),
                ))
        except IntegrityError:  # the username is the primary key: the race-free check
            raise DuplicateAgent(f"an agent called {username!r} already exists") from None
        return Agent(username, display_name)

    def authenticate(self, username: str, password: str) -> Optional[Agent]:
        """The agent, or None for a wrong username or password or a locked-out username."""
        username = normalise_username(username)
        if self._throttle.locked_until(username) is not None:
            return None
        with self._session() as session:
            row = session.get(orm.AgentRow, username)
            agent = Agent(row.username, row.display_name) if row is not None else None
            stored = row.password_hash if row is not None else self._decoy_hash
        password_matches = verify_password(password, stored)  # also for an unknown username
        if agent is not None and password_matches:
            self._throttle.record_success(username)
            return agent
        self._throttle.record_failure(username)
        return None

    def locked_until(self, username: str) -> Optional[datetime]:
        return self._throttle.locked_until(normalise_username(username))

    # ---- sessions

    def open_session(self, username: str) -> tuple[str, str]:
        """A new session for a signed-in agent: (cookie token, CSRF token)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        csrf_token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._now()
        with self._session() as session:
            # Sessions nobody closed expire here rather than piling up.
            session.execute(
                delete(orm.ConsoleSessionRow).where(orm.ConsoleSessionRow.expires_at <= now)
            )
            session.add(orm.ConsoleSessionRow(
                token_hash=_token_hash(token),
                username=normalise_username(username),
                csrf_token=csrf_token,
                created_at=now,
                expires_at=_expiry(created_at=now, last_seen=now),
            ))
        return token, csrf_token

    def session(self, token: str) -> Optional[AgentSession]:
        """The live session of this token, its idle timeout restarted; None once expired."""
        now = self._now()
        with self._session() as session:
            found = session.execute(
                select(orm.ConsoleSessionRow, orm.AgentRow)
                .join(orm.AgentRow, orm.AgentRow.username == orm.ConsoleSessionRow.username)
                .where(orm.ConsoleSessionRow.token_hash == _token_hash(token))
            ).one_or_none()
            if found is None:
                return None
            row, agent = found
            if row.expires_at <= now:
                session.delete(row)
                return None
            row.expires_at = _expiry(created_at=row.created_at, last_seen=now)
            return AgentSession(
                agent=Agent(agent.username, agent.display_name),
                csrf_token=row.csrf_token,
                expires_at=row.expires_at,
            )

    def close_session(self, token: str) -> None:
        with self._session() as session:
            session.execute(
                delete(orm.ConsoleSessionRow)
                .where(orm.ConsoleSessionRow.token_hash == _token_hash(token))
            )


def _expiry(created_at: datetime, last_seen: datetime) -> datetime:
    """Idle for 30 minutes or signed in for 8 hours, whichever comes first."""
    return min(last_seen + IDLE_TIMEOUT, created_at + ABSOLUTE_TIMEOUT)
