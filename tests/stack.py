"""The real assistant for end-to-end tests: the trained model (trained once per test run, and
only when data changed), an action server and a Rasa server on free ports, over a database of
their own."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


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
