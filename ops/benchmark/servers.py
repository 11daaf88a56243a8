"""The assistant's servers as processes of their own on free ports, timed from spawn until their
health check answers. Used by `telecom benchmark` and by the end-to-end tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence
from urllib.parse import urlsplit

import yaml

from ops.production import PRODUCTION_ENDPOINTS, ProductionSettings
from ops.production.nginx import LoadBalancer, nginx_command
from telecom_assistant.database import PROJECT_ROOT
from telecom_assistant.trust import ACTION_SERVER_TOKEN, ACTION_TOKEN_HEADER, secrets_environment

BIN = Path(sys.executable).parent
ACTION_SERVER, RASA, LOAD_BALANCER = "action server", "Rasa", "nginx"
# Often enough that start-up times are measured to a tenth of a second.
POLL_SECONDS = 0.1


def free_port() -> int:
    """A port nobody listens on now (the kernel's choice, never one of the product's own)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 300) -> float:
    """Poll `url` until it answers; the seconds that took. Fails fast if the process exits."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return time.monotonic() - started
        except OSError:
            time.sleep(POLL_SECONDS)
    raise TimeoutError(url)


def server_environment(database_url: Optional[str] = None) -> dict[str, str]:
    """This process's environment for a server, with the secrets every server of one
    assistant shares (telecom_assistant/trust.py)."""
    # Rasa phones home at start-up and retries forever without internet.
    environment = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", **secrets_environment()}
    if database_url:
        environment["DATABASE_URL"] = database_url
    return environment


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    url: str
    # From spawning the process until its health check answered: what a restart costs.
    startup_seconds: float

    @property
    def port(self) -> int:
        return urlsplit(self.url).port

    def stop(self) -> None:
        stop_all([self])


def spawn(name: str, command: Sequence[str], url: str, health_path: str, *, cwd: Path,
          env: dict[str, str], log: Path, timeout: float = 300) -> Server:
    started = time.monotonic()
    with log.open("w") as output:
        process = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
    try:
        wait_for(url + health_path, process, timeout)
    except Exception:
        process.kill()
        process.wait()
        raise
    return Server(name, process, url, time.monotonic() - started)


def rasa_command(*args: str, profile_to: Optional[Path] = None) -> list[str]:
    """The `rasa` command line; under cProfile (written to `profile_to` when the process
    exits) to see where its time goes."""
    if profile_to is None:
        return [str(BIN / "rasa"), *args]
    return [sys.executable, "-m", "cProfile", "-o", str(profile_to), "-m", "rasa", *args]


def action_server_command(port: int, profile_to: Optional[Path] = None) -> list[str]:
    """Our action server (rasa_sdk's, on 127.0.0.1, asking for Rasa's token) as every profile
    and the benchmark start it; under cProfile like rasa_command."""
    module = ["-m", "rasa_plugins.action_server", "--port", str(port)]
    if profile_to is None:
        return [sys.executable, *module]
    return [sys.executable, "-m", "cProfile", "-o", str(profile_to), *module]


def action_endpoint(url: str) -> dict[str, Any]:
    """endpoints.yml's action_endpoint for the action server at `url`: Rasa sends the token
    from its environment (TELECOM_ACTION_SERVER_TOKEN, which server_environment sets)."""
    return {"url": url, "headers": {ACTION_TOKEN_HEADER: "${%s}" % ACTION_SERVER_TOKEN.variable}}


def rasa_server_args(model: Path, port: int, endpoints: Path | str,
                     credentials: Path | str) -> list[str]:
    """`rasa run` with the REST channels of credentials.yml, on 127.0.0.1: only the channel
    programs and local scripts may reach it (SECURITY.md)."""
    # No --enable-api: Rasa's HTTP API could rewrite a conversation's slots, including the
    # ones that grant access to account data.
    return ["run", "--model", str(model), "--interface", "127.0.0.1",
            "--port", str(port), "--credentials", str(credentials), "--endpoints", str(endpoints)]


def start_action_server(workdir: Path, env: dict[str, str],
                        profile_to: Optional[Path] = None) -> Server:
    """The action server, as `telecom run` starts it; its log is workdir/actions.log."""
    port = free_port()
    return spawn(
        ACTION_SERVER,
        action_server_command(port, profile_to),
        f"http://127.0.0.1:{port}", "/health",
        cwd=PROJECT_ROOT, env=env, log=workdir / "actions.log",
    )


def start_rasa(model: Path, workdir: Path, env: dict[str, str], endpoints: Path, *,
               project: Path = PROJECT_ROOT, extra_args: Sequence[str] = (),
               profile_to: Optional[Path] = None, name: str = RASA) -> Server:
    """`rasa run` with the REST channel (no --enable-api, as in production); its log is
    workdir/rasa.log. Rasa's root answers only once the model is loaded."""
    port = free_port()
    return spawn(
        name,
        rasa_command(*rasa_server_args(model, port, endpoints, project / "credentials.yml"),
                     *extra_args, profile_to=profile_to),
        f"http://127.0.0.1:{port}", "/",
        cwd=project, env=env, log=workdir / "rasa.log",
    )


def write_endpoints(workdir: Path, action_url: str) -> Path:
    """workdir/endpoints.yml with only the action server at `action_url`: conversations in
    Rasa's memory, each test's or run's own."""
    path = workdir / "endpoints.yml"
    endpoints = {"action_endpoint": action_endpoint(f"{action_url}/webhook")}
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return path


def production_endpoints(workdir: Path, action_url: str) -> Path:
    """The project's endpoints.yml (tracker store and all) with the action server at
    `action_url` and a SQLite tracker store kept in `workdir`, written to workdir."""
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    endpoints["action_endpoint"] = action_endpoint(f"{action_url}/webhook")
    tracker_store = endpoints.get("tracker_store") or {}
    if "db" in tracker_store and tracker_store.get("dialect", "sqlite") == "sqlite":
        tracker_store["db"] = str(workdir / "tracker.db")
    path = workdir / "endpoints.yml"
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return path


def start_production_servers(model: Path, workdir: Path, settings: ProductionSettings,
                             nginx: str, environment: Optional[dict[str, str]] = None
                             ) -> list[Server]:
    """What `telecom run --profile production` starts, with one action server and on free
    ports: the action server, `settings.rasa_servers` Rasa servers ("Rasa 1", ...) loading
    their model at the same time, and last nginx in front of both kinds."""
    # As in production, Rasa's REST channel asks for the channel secret.
    env = {**server_environment(settings.database_url), "TELECOM_PROFILE": "production",
           **(environment or {})}
    actions = start_action_server(workdir, env)
    actions_door = free_port()
    env.update(settings.rasa_environment(f"http://127.0.0.1:{actions_door}/webhook"))
    with ThreadPoolExecutor(settings.rasa_servers) as pool:
        starting = []
        for number in range(1, settings.rasa_servers + 1):
            (workdir / f"rasa-{number}").mkdir()
            starting.append(pool.submit(start_rasa, model, workdir / f"rasa-{number}", env,
                                        PRODUCTION_ENDPOINTS, name=f"{RASA} {number}"))
    # Every start has ended here: the ones that succeeded are stopped if another failed.
    started = [actions, *(future.result() for future in starting if future.exception() is None)]
    try:
        rasa = [future.result() for future in starting]
        balancer = LoadBalancer(f"127.0.0.1:{free_port()}", [server.port for server in rasa],
                                f"127.0.0.1:{actions_door}", [actions.port])
        config = balancer.write_config(workdir / "nginx")
        door = spawn(LOAD_BALANCER, nginx_command(nginx, config),
                     f"http://{balancer.rasa_listen}", "/",
                     cwd=PROJECT_ROOT, env=env, log=workdir / "nginx.log")
    except Exception:
        stop_all(started)
        raise
    return [actions, *rasa, door]


def stop_all(servers: Sequence[Server]) -> None:
    for server in servers:
        if server.process.poll() is None:
            server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
