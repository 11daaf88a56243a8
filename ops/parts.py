"""The assistant's programs as launcher parts (ops/launcher.py), the same for `telecom run`,
the benchmark and the tests: the action server, Rasa, the agent console, the web chat, the
Telegram bridge, the reminder scheduler, the SMS business hall and nginx. Each listens on
127.0.0.1 only (SECURITY.md); the caller picks the ports, the environment and where the output
goes."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ops.launcher import Part
from ops.production.nginx import nginx_command
from telecom_assistant.database import PROJECT_ROOT
from telecom_assistant.settings import LOOPBACK, local_url

# The virtual environment's programs (`telecom`, `rasa`).
BIN = Path(sys.executable).parent

# What the dependencies say at start-up that nobody running the assistant can act on:
# deprecation notices (TensorFlow, Rasa, sanic_cors, pyparsing, click, pkg_resources),
# TensorFlow's notes on CUDA and CPU instructions, and Rasa's note on slot auto-fill that it
# prints for every domain. Under the caller's own settings: an operator's PYTHONWARNINGS or
# TF_CPP_MIN_LOG_LEVEL wins. Our own code's deprecations fail the tests instead (pyproject.toml).
QUIET_DEPENDENCIES = {
    "PYTHONWARNINGS": ",".join(
        (
            "ignore::DeprecationWarning",
            "ignore::PendingDeprecationWarning",
            "ignore::FutureWarning",
            "ignore:Slot auto-fill has been removed:UserWarning",
        )
    ),
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def python_module(module: str, *args: str) -> tuple[str, ...]:
    """`python -m module args` with this interpreter (the virtual environment's)."""
    return (sys.executable, "-m", module, *args)


def rasa_command(*args: str) -> tuple[str, ...]:
    return python_module("rasa", *args)


def action_server(
    port: int,
    *,
    name: str = "action server",
    environment: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> Part:
    """Our action server (rasa_sdk's), asking for Rasa's token."""
    return Part(
        name,
        python_module("rasa_plugins.action_server", "--port", str(port)),
        local_url(port),
        environment=environment,
        log=log,
    )


def rasa_server(
    model: Path,
    port: int,
    endpoints: Path | str,
    *,
    name: str = "Rasa server (REST channel)",
    credentials: Path | str = PROJECT_ROOT / "credentials.yml",
    extra_args: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
    log: Path | None = None,
    cwd: Path = PROJECT_ROOT,
) -> Part:
    """`rasa run` with the REST channels of `credentials`: only the channel programs and local
    scripts reach it. Its root answers only once the model is loaded."""
    # No --enable-api: Rasa's HTTP API could rewrite a conversation's slots, including the
    # ones that grant access to account data.
    command = rasa_command(
        "run",
        "--model",
        str(model),
        "--interface",
        LOOPBACK,
        "--port",
        str(port),
        "--credentials",
        str(credentials),
        "--endpoints",
        str(endpoints),
        *extra_args,
    )
    return Part(
        name, command, local_url(port), health_path="/", environment=environment, log=log, cwd=cwd
    )


def console(
    port: int, *, environment: Mapping[str, str] | None = None, log: Path | None = None
) -> Part:
    return Part(
        "agent console",
        python_module("console", "--port", str(port)),
        local_url(port),
        environment=environment,
        log=log,
    )


def webchat(
    port: int,
    rasa_url: str,
    *,
    environment: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> Part:
    return Part(
        "web chat",
        python_module("channels.webchat", "--port", str(port), "--rasa-url", rasa_url),
        local_url(port),
        environment=environment,
        log=log,
    )


def telegram_bridge(
    health_port: int, *, environment: Mapping[str, str] | None = None, log: Path | None = None
) -> Part:
    """The bridge; its health check answers once Telegram has accepted the token (getMe)."""
    return Part(
        "Telegram bridge",
        python_module("channels.telegram"),
        local_url(health_port),
        environment=environment,
        log=log,
    )


def scheduler(
    health_port: int, *, environment: Mapping[str, str] | None = None, log: Path | None = None
) -> Part:
    """The reminder scheduler; one per server, one of them scanning at a time (a lease)."""
    return Part(
        "reminder scheduler",
        python_module("scheduler"),
        local_url(health_port),
        environment=environment,
        log=log,
    )


def sms_hall(
    health_port: int, *, environment: Mapping[str, str] | None = None, log: Path | None = None
) -> Part:
    """The SMS business hall (channels/sms/), answering the service number; several may run,
    each message is answered by one."""
    return Part(
        "SMS business hall",
        python_module("channels.sms", "--health-port", str(health_port)),
        local_url(health_port),
        environment=environment,
        log=log,
    )


def load_balancer(
    nginx: str,
    config: Path,
    rasa_door: int,
    actions_door: int,
    *,
    name: str = "load balancer (nginx)",
    environment: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> Part:
    """nginx in front of the Rasa servers (on `rasa_door`) and the action servers (on
    `actions_door`); healthy once a Rasa server answers through it."""
    return Part(
        name,
        tuple(nginx_command(nginx, config)),
        local_url(rasa_door),
        health_path="/",
        other_ports=(actions_door,),
        environment=environment,
        log=log,
    )
