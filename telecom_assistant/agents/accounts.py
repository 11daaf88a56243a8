"""Agents of the console, their passwords and their signed-in sessions.

Passwords are hashed with scrypt and a random salt per agent; the stored string names the
algorithm and its cost, so the cost can be raised later without invalidating old hashes.
A session is a random token in an HttpOnly cookie; the database keeps only its SHA-256, so
someone who reads the table cannot sign in with what they read.

Sign-in is throttled twice: 5 failures within 15 minutes lock a username for 15 minutes, and
20 failures within 15 minutes lock the address they came from (someone trying one password on
many usernames) for 15 minutes. Both are kept in this process's memory: the console runs as a
single worker, a restart forgets the failures.

Checking a password costs scrypt's 50 ms, so it runs in a thread and the other agents' requests
go on meanwhile. Sign-ins for one username, and sign-ins from one address, still take turns: a
burst of simultaneous guesses would otherwise all pass the throttle before the first of them
is counted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import secrets
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from telecom_assistant.agents.tables import AgentRow, ConsoleSessionRow
from telecom_assistant.clock import Clock, operator_now
from telecom_assistant.database import SessionPerCall

MIN_PASSWORD_LENGTH = 10
MAX_USERNAME_LENGTH = AgentRow.username.type.length
MAX_DISPLAY_NAME_LENGTH = AgentRow.display_name.type.length
MAX_FAILED_SIGN_INS = 5
# An office behind one NAT shares an address: room for its typos, not for a guessing run.
MAX_FAILED_SIGN_INS_PER_ADDRESS = 20
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
# One customer of a hosting provider or ISP usually holds a whole IPv6 /64.
IPV6_NETWORK_PREFIX = 64


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
class Lockout:
    """Why sign-in is refused without looking at the password, and until when."""

    until: datetime
    by_address: bool  # the address, rather than the username, ran out of tries


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
        [
            SCRYPT_ALGORITHM,
            str(SCRYPT_COST),
            str(SCRYPT_BLOCK_SIZE),
            str(SCRYPT_PARALLELISM),
            _b64(salt),
            _b64(key),
        ]
    )


def verify_password(password: str, stored: str) -> bool:
    algorithm, cost, block_size, parallelism, salt, key = stored.split("$")
    if algorithm != SCRYPT_ALGORITHM:
        raise ValueError(f"unknown password hash algorithm {algorithm!r}")
    expected = base64.b64decode(key)
    derived = _scrypt(
        password,
        base64.b64decode(salt),
        int(cost),
        int(block_size),
        int(parallelism),
        key_bytes=len(expected),
    )
    return hmac.compare_digest(derived, expected)


def _scrypt(
    password: str,
    salt: bytes,
    cost: int,
    block_size: int,
    parallelism: int,
    key_bytes: int = SCRYPT_KEY_BYTES,
) -> bytes:
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


IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(text: str) -> IpAddress | None:
    """The IP address in `text`, None if it is none; ::ffff:1.2.3.4 (how a dual-stack socket
    shows an IPv4 peer) as 1.2.3.4."""
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def address_key(address: str) -> str:
    """The address as the throttle counts it: an IPv6 address by its /64, since whoever holds
    one address of it can use them all."""
    parsed = parse_ip(address)
    if parsed is None:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_NETWORK_PREFIX}", strict=False))
    return str(parsed)


class SignInThrottle:
    """Failed sign-ins per key (a username or an address), in memory (see the module
    docstring)."""

    def __init__(self, clock: Clock, max_failures: int) -> None:
        self._now = clock
        self._max_failures = max_failures
        self._failures: dict[str, deque[datetime]] = {}
        self._locked_until: dict[str, datetime] = {}
        # key -> (its lock, how many sign-ins hold it or wait for it)
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        """One sign-in at a time for this key, so each sees the failures before it."""
        lock, users = self._turns.get(key) or (asyncio.Lock(), 0)
        self._turns[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._turns[key]
            if users == 1:
                del self._turns[key]
            else:
                self._turns[key] = (lock, users - 1)

    def locked_until(self, key: str) -> datetime | None:
        until = self._locked_until.get(key)
        if until is not None and until <= self._now():
            del self._locked_until[key]
            return None
        return until

    def record_failure(self, key: str) -> None:
        now = self._now()
        self._forget_before(now)
        failures = self._failures.setdefault(key, deque())
        failures.append(now)
        if len(failures) >= self._max_failures:
            self._locked_until[key] = now + LOCK_OUT
            failures.clear()

    def record_success(self, key: str) -> None:
        self._failures.pop(key, None)

    def _forget_before(self, now: datetime) -> None:
        """Keeps memory bounded when someone tries many usernames or addresses."""
        cutoff = now - FAILED_SIGN_IN_WINDOW
        for key in list(self._failures):
            failures = self._failures[key]
            while failures and failures[0] < cutoff:
                failures.popleft()
            if not failures:
                del self._failures[key]
        for key, until in list(self._locked_until.items()):
            if until <= now:
                del self._locked_until[key]


class AgentAccounts(SessionPerCall):
    def __init__(self, engine: Engine, clock: Clock = operator_now) -> None:
        super().__init__(engine, clock)
        self._username_throttle = SignInThrottle(clock, MAX_FAILED_SIGN_INS)
        self._address_throttle = SignInThrottle(clock, MAX_FAILED_SIGN_INS_PER_ADDRESS)
        # Checked against when the username does not exist, so that a wrong username takes
        # as long as a wrong password and does not reveal which agents exist.
        self._decoy_hash = hash_password(secrets.token_urlsafe(TOKEN_BYTES))

    # ---- agents

    def create(self, username: str, display_name: str, password: str) -> Agent:
        username = normalise_username(username)
        display_name = display_name.strip()
        if not username or len(username) > MAX_USERNAME_LENGTH:
            raise AccountRefused(f"a username needs 1 to {MAX_USERNAME_LENGTH} characters")
        if not display_name or len(display_name) > MAX_DISPLAY_NAME_LENGTH:
            raise AccountRefused(f"a display name needs 1 to {MAX_DISPLAY_NAME_LENGTH} characters")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        try:
            with self._session() as session:
                session.add(
                    AgentRow(
                        username=username,
                        display_name=display_name,
                        password_hash=hash_password(password),
                        created_at=self._now(),
                    )
                )
        except IntegrityError:  # the username is the primary key: the race-free check
            raise DuplicateAgent(f"an agent called {username!r} already exists") from None
        return Agent(username, display_name)

    async def authenticate(self, username: str, password: str, address: str) -> Agent | None:
        """The agent, or None for a wrong username or password or a lockout (see
        :meth:`lockout`). `address` is the client's network address."""
        username = normalise_username(username)
        address = address_key(address)
        # Always the address's turn first, then the username's: no two sign-ins can each hold
        # the turn the other waits for.
        async with self._address_throttle.turn(address), self._username_throttle.turn(username):
            if self._lockout(username, address) is not None:
                return None
            with self._session() as session:
                row = session.get(AgentRow, username)
                agent = Agent(row.username, row.display_name) if row is not None else None
                stored = row.password_hash if row is not None else self._decoy_hash
            # Also for an unknown username, which then takes as long as a wrong password.
            password_matches = await asyncio.to_thread(verify_password, password, stored)
            if agent is not None and password_matches:
                # The address keeps its failures: signing in to one's own account now and
                # then must not buy more guesses at the others.
                self._username_throttle.record_success(username)
                return agent
            self._username_throttle.record_failure(username)
            self._address_throttle.record_failure(address)
            return None

    def lockout(self, username: str, address: str) -> Lockout | None:
        """The lockout that refuses this username from this address, the longer of two."""
        return self._lockout(normalise_username(username), address_key(address))

    def _lockout(self, username: str, address: str) -> Lockout | None:
        lockouts = [
            Lockout(until, by_address)
            for until, by_address in (
                (self._username_throttle.locked_until(username), False),
                (self._address_throttle.locked_until(address), True),
            )
            if until is not None
        ]
        return max(lockouts, key=lambda lockout: lockout.until, default=None)

    # ---- sessions

    def open_session(self, username: str) -> tuple[str, str]:
        """A new session for a signed-in agent: (cookie token, CSRF token)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        csrf_token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._now()
        with self._session() as session:
            # Sessions nobody closed expire here rather than piling up.
            session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at <= now))
            session.add(
                ConsoleSessionRow(
                    token_hash=_token_hash(token),
                    username=normalise_username(username),
                    csrf_token=csrf_token,
                    created_at=now,
                    expires_at=_expiry(created_at=now, last_seen=now),
                )
            )
        return token, csrf_token

    def session(self, token: str, *, touch: bool = True) -> AgentSession | None:
        """The live session of this token, its idle timeout restarted (unless not `touch`:
        what a page fetches by itself is no sign of the agent); None once expired."""
        now = self._now()
        with self._session() as session:
            found = session.execute(
                select(ConsoleSessionRow, AgentRow)
                .join(AgentRow, AgentRow.username == ConsoleSessionRow.username)
                .where(ConsoleSessionRow.token_hash == _token_hash(token))
            ).one_or_none()
            if found is None:
                return None
            row, agent = found
            if row.expires_at <= now:
                session.delete(row)
                return None
            if touch:
                row.expires_at = _expiry(created_at=row.created_at, last_seen=now)
            return AgentSession(
                agent=Agent(agent.username, agent.display_name),
                csrf_token=row.csrf_token,
                expires_at=row.expires_at,
            )

    def close_session(self, token: str) -> None:
        with self._session() as session:
            session.execute(
                delete(ConsoleSessionRow).where(ConsoleSessionRow.token_hash == _token_hash(token))
            )


def _expiry(created_at: datetime, last_seen: datetime) -> datetime:
    """Idle for 30 minutes or signed in for 8 hours, whichever comes first."""
    return min(last_seen + IDLE_TIMEOUT, created_at + ABSOLUTE_TIMEOUT)
