"""Shared fixtures: a fixed clock, a freshly seeded database per test (SQLite, and PostgreSQL
where the service runs: each a copy of the demo database migrated and seeded once per
session), the account service on top of it, and the services some tests need (PostgreSQL,
Redis, Chromium, nginx): outside CI a test whose service is missing is skipped with the
reason, in CI it fails."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url

from demo.seed import reset_database
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.database import make_engine, scratch_postgres_database
from telecom_assistant.tickets.sql import SqlTicketService

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

TODAY = date(2026, 11, 23)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def service_missing(message: str, tests: str) -> NoReturn:
    """Skip the test with the reason; in CI fail it instead, since CI must run `tests`."""
    if IN_CI:
        pytest.fail(f"{message}: CI must run {tests}")
    pytest.skip(message)


class FakeClock:
    """The operator's clock, frozen at 10:00 on TODAY until a test moves it."""

    def __init__(self) -> None:
        self.now = datetime.combine(TODAY, datetime.min.time()) + timedelta(hours=10)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def seeded_sqlite_file(tmp_path_factory) -> Path:
    """The demo database on SQLite, migrated and seeded once per test session: a test works
    on a copy of its own (a copy costs a millisecond, seeding a tenth of a second)."""
    path = tmp_path_factory.mktemp("seeded") / "telecom.db"
    engine = make_engine(f"sqlite:///{path}")
    reset_database(engine, TODAY)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_engine(tmp_path, seeded_sqlite_file) -> Iterator[Engine]:
    """A seeded database of its own for this test."""
    path = tmp_path / "telecom.db"
    shutil.copyfile(seeded_sqlite_file, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def postgres_available() -> bool:
    try:
        with create_engine(POSTGRES_ADMIN_URL, future=True).connect():
            return True
    except Exception:
        return False


@contextmanager
def postgres_database() -> Iterator[str]:
    """The URL of an empty database of the caller's own, dropped afterwards."""
    if not postgres_available():
        service_missing(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} (set TEST_POSTGRES_URL)",
            "the PostgreSQL tests",
        )
    with scratch_postgres_database(POSTGRES_ADMIN_URL, "telecom_test") as url:
        yield url


@pytest.fixture(scope="session")
def seeded_postgres_template() -> Iterator[str]:
    """The name of the demo database on PostgreSQL, migrated and seeded once per test session:
    the template each test's database is copied from."""
    with postgres_database() as url:
        engine = make_engine(url)
        reset_database(engine, TODAY)
        # A template is copied only while nobody is connected to it.
        engine.dispose()
        yield make_url(url).database


@pytest.fixture
def postgres_engine(seeded_postgres_template) -> Iterator[Engine]:
    """A seeded database of its own for this test, copied from the template and dropped
    after it."""
    with scratch_postgres_database(
        POSTGRES_ADMIN_URL, "telecom_test", template=seeded_postgres_template
    ) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def module_postgres_url() -> Iterator[str]:
    """An empty database shared by a module's tests (for servers started once per module)."""
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def redis_key_prefix() -> Iterator[str]:
    """A key prefix of the module's own on the test Redis (TEST_REDIS_URL); its keys are
    deleted afterwards."""
    import redis

    from rasa_plugins.lock_store import delete_locks

    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        service_missing(
            f"Redis is not reachable at {TEST_REDIS_URL} (set TEST_REDIS_URL)", "the Redis tests"
        )
    finally:
        client.close()
    prefix = f"test{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        delete_locks(TEST_REDIS_URL, prefix)


@pytest.fixture(scope="session")
def nginx() -> str:
    """Debian's nginx, the production profile's load balancer."""
    from ops.production.nginx import nginx_binary

    binary = nginx_binary()
    if binary is None:
        service_missing(
            "nginx is not installed (apt-get install nginx; `make test` does it)",
            "the scale-out tests",
        )
    return binary


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request) -> Engine:
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture(scope="session")
def model():
    """The trained model: trained once per test run, and only if data, domain or config changed."""
    from tests.stack import train_model

    return train_model()


@pytest.fixture(scope="session")
def product(model, tmp_path_factory):
    """The assistant, the agent console and the web chat, as `telecom run` starts them (with
    the tracker store), shared by the end-to-end tests (Rasa takes a minute to start)."""
    from tests.stack import start_product

    running = start_product(model, tmp_path_factory.mktemp("product"), keep_conversations=True)
    yield running
    running.stop()


@pytest.fixture
def service(engine, clock) -> SqlAccountService:
    return SqlAccountService(engine, clock=clock)


@pytest.fixture
def actions_service(sqlite_engine, clock) -> Iterator[SqlAccountService]:
    """The service every custom action in this process talks to, for the test's duration."""
    from actions import common

    service = SqlAccountService(sqlite_engine, clock=clock)
    common.use_account_service(service)
    yield service
    common.use_account_service(None)


@pytest.fixture
def actions_tickets(sqlite_engine, clock) -> Iterator[SqlTicketService]:
    """The ticket desk every custom action in this process talks to, for the test's duration."""
    from actions import common

    tickets = SqlTicketService(sqlite_engine, clock=clock)
    common.use_ticket_service(tickets)
    yield tickets
    common.use_ticket_service(None)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (nothing is downloaded). Per module:
    Playwright's sync API keeps an event loop running, which later asyncio tests must not see."""
    if CHROMIUM is None:
        service_missing(
            "Chromium is not installed (apt-get install chromium; `make test` does it)",
            "the browser tests",
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Root in a container has no user namespace for Chromium's sandbox.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that drives Chromium is a browser test wherever it lives: `make test-fast` skips
    them (the e2e tier needs no marker: it is its folder)."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
