"""The real assistant for end-to-end tests: the trained model (trained once per test run, and
only when data changed), an action server and a Rasa server on free ports, over a database of
their own; or the production profile, several Rasa servers behind nginx over PostgreSQL and
Redis."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import threading
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ops import parts
from ops.benchmark.servers import (
    action_server_part,
    production_endpoints,
    rasa_part,
    server_environment,
    start_production_servers,
    write_endpoints,
)
from ops.conversations import send_message
from ops.launcher import Running, free_port, start_in_order, stop
from ops.parts import BIN
from telecom_assistant.database import PROJECT_ROOT
from telecom_assistant.settings import Settings, local_url

ALWAYS_OPEN = "00:00-24:00"

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
T = TypeVar("T")


def train_model() -> Path:
    """`telecom train` (Rasa skips training when the fingerprint is unchanged)."""
    log = PROJECT_ROOT / "models" / "train.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("w") as output:
        result = subprocess.run(
            [str(BIN / "telecom"), "train"],
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        raise RuntimeError(f"training failed; see {log}")
    models = sorted((PROJECT_ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1]


@dataclass
class Stack:
    rasa_url: str
    database_url: str
    servers: list[Running]

    def send(self, sender: str, text: str, channel: str = "rest") -> list[dict[str, Any]]:
        return send_message(self.rasa_url, sender, text, channel, timeout=60)

    def stop(self) -> None:
        stop(self.servers)


def start_stack(
    model: Path,
    workdir: Path,
    database_url: str,
    action_port: int | None = None,
    keep_conversations: bool = False,
) -> Stack:
    """Start both servers; `action_port` pointing nowhere simulates a dead action server.
    Conversations stay in Rasa's memory (each test's are its own), or with
    `keep_conversations` in the embedded profile's tracker store, in workdir/tracker.db."""
    # Agents are in around the clock: what the assistant says after a filing does not depend
    # on the hour the tests run at.
    env = {**server_environment(database_url), "TELECOM_SERVICE_HOURS": ALWAYS_OPEN}
    actions = [] if action_port is not None else [action_server_part(workdir, env)]
    action_url = actions[0].url if actions else local_url(action_port)
    endpoints = (
        production_endpoints(workdir, action_url)
        if keep_conversations
        else write_endpoints(workdir, action_url)
    )
    rasa = rasa_part(
        model,
        workdir,
        env,
        endpoints,
        extra_args=["--debug"] if os.environ.get("STACK_DEBUG") else [],
    )
    return Stack(rasa.url, database_url, start_in_order([*actions, rasa]))


@dataclass
class ProductionStack:
    """The production profile on free ports: Rasa servers sharing PostgreSQL and Redis, an
    action server, and nginx in front of both; each Rasa server can also be reached directly."""

    rasa: list[Stack]
    balancer: Stack
    actions: Running

    def stop(self) -> None:
        for door in (self.balancer, *self.rasa):
            door.stop()
        self.actions.stop()


def start_production_stack(
    model: Path, workdir: Path, settings: Settings, nginx: str
) -> ProductionStack:
    """The production profile as `telecom benchmark --production` starts it; each Rasa server
    and nginx reachable as a Stack of its own."""
    actions, *rasa, door = start_production_servers(model, workdir, settings, nginx)
    return ProductionStack(
        [Stack(server.url, settings.database_url, [server]) for server in rasa],
        Stack(door.url, settings.database_url, [door]),
        actions,
    )


AGENT, AGENT_NAME = "agent.chen", "Chen Jing"


@dataclass
class Product:
    """Everything `telecom run` starts but the Telegram bridge, on one demo database."""

    stack: Stack
    console_url: str
    webchat_url: str
    agent_password: str
    programs: list[Running]
    # Its logs, and its conversations when kept (tracker.db).
    workdir: Path | None = None

    def stop(self) -> None:
        stop([*self.stack.servers, *self.programs])


def start_product(model: Path, workdir: Path, keep_conversations: bool = False) -> Product:
    """The assistant, the agent console and the web chat over a demo database with one agent
    (`keep_conversations`: see start_stack)."""
    # Imported here: the stack alone must not need the whole product importable.
    from demo.satisfaction import seed_demo_ratings
    from demo.seed import reset_database
    from demo.tickets import seed_demo_tickets
    from telecom_assistant.agents.accounts import AgentAccounts
    from telecom_assistant.clock import operator_now
    from telecom_assistant.database import make_engine

    database_url = f"sqlite:///{workdir / 'telecom.db'}"
    engine = make_engine(database_url)
    today = operator_now().date()
    reset_database(engine, today)
    seed_demo_tickets(engine, today)
    seed_demo_ratings(engine, today)
    password = secrets.token_urlsafe(16)
    AgentAccounts(engine).create(AGENT, AGENT_NAME, password)
    stack = start_stack(model, workdir, database_url, keep_conversations=keep_conversations)
    env = {**os.environ, "DATABASE_URL": database_url}
    try:
        programs = start_in_order(
            [
                parts.console(free_port(), environment=env, log=workdir / "console.log"),
                parts.webchat(
                    free_port(), stack.rasa_url, environment=env, log=workdir / "webchat.log"
                ),
            ],
            timeout=60,
        )
    except Exception:
        stack.stop()
        raise
    console, webchat = programs
    return Product(stack, console.url, webchat.url, password, programs, workdir)


def save_screenshot(page: Any, name: str, full_page: bool = True) -> None:
    """The README's screenshots, refreshed only when asked (UPDATE_SCREENSHOTS=1)."""
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


class LoopThread:
    """An asyncio loop in a thread of its own, for async fakes (the Telegram Bot API) that must
    keep serving while a synchronous test, or Playwright's own loop, runs."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Awaitable[T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def listening_addresses(port: int) -> set[str]:
    """The local addresses a TCP socket listens on at `port`, read from the kernel's tables
    ("127.0.0.1", "0.0.0.0", "::", ...): what a server bound to, not what answers."""
    import ipaddress

    found = set()
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, _remote, state = line.split()[1:4]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, width, 4))
            found.add(str(ipaddress.ip_address(raw)))
    return found
