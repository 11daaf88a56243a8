"""The real assistant for end-to-end tests: the trained model (trained once per test run, and
only when data changed), an action server and a Rasa server on free ports, over a database of
their own."""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Optional, TypeVar

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
BIN = Path(sys.executable).parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train_model() -> Path:
    """`telecom train` (Rasa skips training when the fingerprint is unchanged)."""
    log = PROJECT_ROOT / "models" / "train.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("w") as output:
        result = subprocess.run([str(BIN / "telecom"), "train"], cwd=PROJECT_ROOT,
                                stdout=output, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise RuntimeError(f"training failed; see {log}")
    models = sorted((PROJECT_ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(url)


@dataclass
class Stack:
    rasa_url: str
    database_url: str
    processes: list[subprocess.Popen]

    def send(self, sender: str, text: str, channel: str = "rest") -> list[dict[str, Any]]:
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/{channel}/webhook",
            data=json.dumps({"sender": sender, "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def start_stack(model: Path, workdir: Path, database_url: str,
                action_port: Optional[int] = None) -> Stack:
    """Start both servers; `action_port` pointing nowhere simulates a dead action server."""
    env = {**os.environ, "DATABASE_URL": database_url, "RASA_TELEMETRY_ENABLED": "false"}
    processes = []
    if action_port is None:
        action_port = free_port()
        actions = subprocess.Popen(
            [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(action_port)],
            cwd=PROJECT_ROOT, env=env, stdout=(workdir / "actions.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        processes.append(actions)
        wait_for(f"http://127.0.0.1:{action_port}/health", actions)
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n')
    rasa_port = free_port()
    server = subprocess.Popen(
        [str(BIN / "rasa"), "run", *(["--debug"] if os.environ.get("STACK_DEBUG") else []), "--model", str(model), "--port", str(rasa_port),
         "--endpoints", str(endpoints), "--credentials", str(PROJECT_ROOT / "credentials.yml")],
        cwd=PROJECT_ROOT, env=env, stdout=(workdir / "rasa.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    processes.append(server)
    stack = Stack(f"http://127.0.0.1:{rasa_port}", database_url, processes)
    try:
        wait_for(f"{stack.rasa_url}/", server)
    except Exception:
        stack.stop()
        raise
    return stack


AGENT, AGENT_NAME = "agent.chen", "Chen Jing"


@dataclass
class Product:
    """Everything `telecom run` starts but the Telegram bridge, on one demo database."""

    stack: Stack
    console_url: str
    webchat_url: str
    agent_password: str
    programs: list[subprocess.Popen]

    def stop(self) -> None:
        for program in self.programs:
            program.terminate()
        for program in self.programs:
            program.wait(timeout=30)
        self.stack.stop()


def start_product(model: Path, workdir: Path) -> Product:
    """The assistant, the agent console and the web chat over a demo database with one agent."""
    # Imported here: the stack alone must not need the whole product importable.
    from console.accounts import AgentAccounts
    from telecom_assistant.backend.clock import operator_now
    from telecom_assistant.backend.database import make_engine
    from telecom_assistant.backend.seed import reset_database
    from telecom_assistant.tickets.demo import seed_demo_tickets

    database_url = f"sqlite:///{workdir / 'telecom.db'}"
    engine = make_engine(database_url)
    today = operator_now().date()
    reset_database(engine, today)
    seed_demo_tickets(engine, today)
    password = secrets.token_urlsafe(16)
    AgentAccounts(engine).create(AGENT, AGENT_NAME, password)
    stack = start_stack(model, workdir, database_url)
    programs: list[subprocess.Popen] = []
    urls = []
    try:
        for module, extra in (("console", []), ("webchat", ["--rasa-url", stack.rasa_url])):
            port = free_port()
            program = subprocess.Popen(
                [sys.executable, "-m", module, "--port", str(port), *extra], cwd=PROJECT_ROOT,
                env={**os.environ, "DATABASE_URL": database_url},
                stdout=(workdir / f"{module}.log").open("w"), stderr=subprocess.STDOUT,
            )
            programs.append(program)
            urls.append(f"http://127.0.0.1:{port}")
            wait_for(f"{urls[-1]}/health", program, timeout=60)
    except Exception:
        Product(stack, "", "", password, programs).stop()
        raise
    console_url, webchat_url = urls
    return Product(stack, console_url, webchat_url, password, programs)


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
