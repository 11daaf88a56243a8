"""The assistant's servers for the benchmark and the end-to-end tests: each on a free port with
its log in a working directory of its own, started by the launcher (ops/launcher.py), which
times each from spawn until its health check answers; optionally under cProfile; and the
endpoints files that point Rasa at them."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from ops import parts
from ops.launcher import Part, Running, free_port, start, stop
from ops.production import PRODUCTION_ENDPOINTS
from ops.production.nginx import LoadBalancer
from telecom_assistant.database import PROJECT_ROOT
from telecom_assistant.settings import PRODUCTION, Settings, local_url
from telecom_assistant.trust import ACTION_SERVER_TOKEN, ACTION_TOKEN_HEADER, with_secrets

# The servers' names in the benchmark's figures.
ACTION_SERVER, RASA, LOAD_BALANCER = "action server", "Rasa", "nginx"


def server_environment(database_url: str | None = None) -> dict[str, str]:
    """This process's environment for a server, with the secrets every server of one
    assistant shares (telecom_assistant/trust.py)."""
    secrets = with_secrets(Settings.from_environment()).secrets
    # Rasa phones home at start-up and retries forever without internet.
    environment = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", **secrets.environment()}
    if database_url:
        environment["DATABASE_URL"] = database_url
    return environment


def profiled(part: Part, profile_to: Path | None) -> Part:
    """The part's Python program under cProfile, which writes to `profile_to` when the process
    exits, to see where its time goes; the part as it is without `profile_to`."""
    if profile_to is None:
        return part
    interpreter, *program = part.command
    if interpreter != sys.executable or program[0] != "-m":
        raise ValueError(f"{part.name} is not a Python module run by this interpreter")
    return replace(part, command=(interpreter, "-m", "cProfile", "-o", str(profile_to), *program))


def action_server_part(workdir: Path, env: dict[str, str], profile_to: Path | None = None) -> Part:
    """The action server on a free port, as `telecom run` starts it; its log is
    workdir/actions.log."""
    return profiled(
        parts.action_server(
            free_port(), name=ACTION_SERVER, environment=env, log=workdir / "actions.log"
        ),
        profile_to,
    )


def rasa_part(
    model: Path,
    workdir: Path,
    env: dict[str, str],
    endpoints: Path,
    *,
    project: Path = PROJECT_ROOT,
    extra_args: Sequence[str] = (),
    profile_to: Path | None = None,
    name: str = RASA,
) -> Part:
    """`rasa run` with the REST channel (no --enable-api, as in production) on a free port; its
    log is workdir/rasa.log."""
    return profiled(
        parts.rasa_server(
            model,
            free_port(),
            endpoints,
            name=name,
            credentials=project / "credentials.yml",
            extra_args=extra_args,
            environment=env,
            log=workdir / "rasa.log",
            cwd=project,
        ),
        profile_to,
    )


def action_endpoint(url: str) -> dict[str, Any]:
    """endpoints.yml's action_endpoint for the action server at `url`: Rasa sends the token
    from its environment (TELECOM_ACTION_SERVER_TOKEN, which server_environment sets)."""
    return {"url": url, "headers": {ACTION_TOKEN_HEADER: f"${{{ACTION_SERVER_TOKEN.variable}}}"}}


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


def start_production_servers(
    model: Path,
    workdir: Path,
    settings: Settings,
    nginx: str,
    environment: dict[str, str] | None = None,
) -> list[Running]:
    """What `telecom run --profile production` starts, with one action server and on free
    ports: the action server, `settings.production.rasa_servers` Rasa servers ("Rasa 1", ...)
    loading their model at the same time, and last nginx in front of both kinds."""
    actions_door = free_port()
    # As in production: Rasa's REST channel asks for the channel secret, and the Rasa servers
    # reach the action server through nginx.
    settings = replace(
        settings, profile=PRODUCTION, action_server_url=f"{local_url(actions_door)}/webhook"
    )
    env = {**server_environment(), **settings.environment(), **(environment or {})}
    actions = start(action_server_part(workdir, env))
    rasa_servers = settings.production.rasa_servers
    with ThreadPoolExecutor(rasa_servers) as pool:
        starting = []
        for number in range(1, rasa_servers + 1):
            (workdir / f"rasa-{number}").mkdir()
            part = rasa_part(
                model,
                workdir / f"rasa-{number}",
                env,
                PRODUCTION_ENDPOINTS,
                name=f"{RASA} {number}",
            )
            starting.append(pool.submit(start, part))
    # Every start has ended here: the ones that succeeded are stopped if another failed.
    started = [actions, *(future.result() for future in starting if future.exception() is None)]
    try:
        servers = [future.result() for future in starting]
        rasa_door = free_port()
        balancer = LoadBalancer(
            f"127.0.0.1:{rasa_door}",
            [server.port for server in servers],
            f"127.0.0.1:{actions_door}",
            [actions.port],
        )
        door = start(
            parts.load_balancer(
                nginx,
                balancer.write_config(workdir / "nginx"),
                rasa_door,
                actions_door,
                name=LOAD_BALANCER,
                environment=env,
                log=workdir / "nginx.log",
            )
        )
    except Exception:
        stop(started)
        raise
    return [actions, *servers, door]
