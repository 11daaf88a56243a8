"""`telecom`: the one entry point to run, seed, train, evaluate and inspect the assistant."""
from __future__ import annotations

import argparse
import getpass
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from .backend.clock import operator_now
from .backend.database import PROJECT_ROOT, create_schema, database_url, make_engine
from .web import port_in_use

# Rasa phones home at start-up and retries forever without internet.
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

RASA_PORT = 5005
ACTIONS_PORT = 5055
CONSOLE_PORT = 5002
WEBCHAT_PORT = 5003
TELEGRAM_BRIDGE_HEALTH_PORT = 5004
MODELS_DIR = PROJECT_ROOT / "models"
KEEP_MODELS = 3
BIN = Path(sys.executable).parent


def rasa(*args: str) -> list[str]:
    return [str(BIN / "rasa"), *args]


def seed(_args: argparse.Namespace) -> int:
    from .backend.seed import DEMO_LINES, reset_database
    from .tickets.demo import seed_demo_tickets

    engine, today = make_engine(), operator_now().date()
    reset_database(engine, today)
    tickets = seed_demo_tickets(engine, today)
    print(f"Seeded {database_url()} with {len(DEMO_LINES)} demo lines and {tickets} tickets.")
    return 0


def ensure_database() -> None:
    """Create and seed the database on first use; never wipe an existing one (tables added by
    a newer version are created)."""
    from sqlalchemy import inspect

    engine = make_engine()
    if not inspect(engine).has_table("lines"):
        seed(argparse.Namespace())
    create_schema(engine)


def add_agent(args: argparse.Namespace) -> int:
    """Agents' passwords come from the environment or a prompt, never from a file here."""
    from console.accounts import AccountRefused, AgentAccounts

    ensure_database()
    password = os.environ.get("TELECOM_AGENT_PASSWORD")
    if not password:
        password = getpass.getpass(f"Password for {args.username} (10 characters or more): ")
        if getpass.getpass("Again: ") != password:
            print("The two passwords differ; nothing was created.", file=sys.stderr)
            return 1
    try:
        AgentAccounts(make_engine()).create(args.username, args.name or args.username, password)
    except AccountRefused as refusal:
        print(f"Not created: {refusal}", file=sys.stderr)
        return 1
    print(f"Agent {args.username} can now sign in to the console.")
    return 0


def latest_model() -> Optional[Path]:
    models = sorted(MODELS_DIR.glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    return models[-1] if models else None


def train(_args: argparse.Namespace) -> int:
    """Train only when data, domain or config changed (Rasa compares fingerprints)."""
    from nlu_components.spacy_pipeline import ensure_pipeline

    started = time.monotonic()
    # Rasa fingerprints the spaCy pipeline by its path only: a rebuilt pipeline (new names,
    # new segmentation) must retrain everything that depends on its tokens.
    rebuilt = ensure_pipeline()
    result = subprocess.run(
        rasa("train", "--out", str(MODELS_DIR), *(["--force"] if rebuilt else [])),
        cwd=PROJECT_ROOT,
    )
    print(f"Training step took {time.monotonic() - started:.0f} s.")
    models = sorted(MODELS_DIR.glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    for old_model in models[:-KEEP_MODELS]:
        old_model.unlink()
    return result.returncode


def otp(args: argparse.Namespace) -> int:
    from .backend.msisdn import normalise_msisdn
    from .backend.sql import SqlAccountService

    msisdn = normalise_msisdn(args.phone)
    if msisdn is None:
        print(f"{args.phone!r} is not a mainland mobile number.", file=sys.stderr)
        return 2
    body = SqlAccountService(make_engine()).latest_sms(msisdn)
    if body is None:
        print(f"No SMS has been sent to {msisdn}.", file=sys.stderr)
        return 1
    code = re.search(r"\b\d{6}\b", body)
    print(code.group() if code else body)
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate_nlu, external

    return external() if args.external_only else evaluate_nlu(folds=args.folds)


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    port: int
    process: Optional[subprocess.Popen] = None


def wait_until_healthy(service: Service, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process is not None and service.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(service.health_url, timeout=2):
                return True
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(1)
    return False


def run(args: argparse.Namespace) -> int:
    ensure_database()
    # endpoints.yml keeps conversations in var/tracker.db, wherever DATABASE_URL points.
    (PROJECT_ROOT / "var").mkdir(exist_ok=True)
    if not args.skip_train and train(args) != 0:
        return 1
    model = latest_model()
    if model is None:
        print("No trained model in models/: run `telecom train` first.", file=sys.stderr)
        return 1
    services = [
        Service(
            "action server",
            rasa("run", "actions", "--actions", "actions", "--port", str(ACTIONS_PORT)),
            f"http://127.0.0.1:{ACTIONS_PORT}/health",
            ACTIONS_PORT,
        ),
        Service(
            "agent console",
            [sys.executable, "-m", "console", "--port", str(CONSOLE_PORT)],
            f"http://127.0.0.1:{CONSOLE_PORT}/health",
            CONSOLE_PORT,
        ),
        Service(
            "web chat",
            [sys.executable, "-m", "webchat", "--port", str(WEBCHAT_PORT),
             "--rasa-url", f"http://127.0.0.1:{RASA_PORT}"],
            f"http://127.0.0.1:{WEBCHAT_PORT}/health",
            WEBCHAT_PORT,
        ),
        Service(
            "Rasa server (REST channel)",
            # No --enable-api: Rasa's HTTP API could rewrite a conversation's slots,
            # including the ones that grant access to account data.
            rasa("run", "--model", str(model), "--port", str(RASA_PORT),
                 "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"),
            f"http://127.0.0.1:{RASA_PORT}/",
            RASA_PORT,
        ),
    ]
    if os.environ.get("TELEGRAM_BOT_TOKEN"):
        # Its health check answers once Telegram has accepted the token (getMe).
        health_port = int(os.environ.get("TELEGRAM_BRIDGE_HEALTH_PORT", TELEGRAM_BRIDGE_HEALTH_PORT))
        services.append(Service(
            "Telegram bridge",
            [sys.executable, "-m", "telegram_bridge"],
            f"http://127.0.0.1:{health_port}/health",
            health_port,
        ))
    taken = [service for service in services if port_in_use(service.port)]
    for service in taken:
        print(f"Port {service.port} is already in use, so the {service.name} cannot start. "
              f"Stop whatever uses it (`lsof -i :{service.port}`) and try again.", file=sys.stderr)
    if taken:
        return 1
    try:
        for service in services:
            print(f"Starting the {service.name}…", flush=True)
            service.process = subprocess.Popen(service.command, cwd=PROJECT_ROOT)
            if not wait_until_healthy(service, timeout=args.start_timeout):
                print(f"The {service.name} did not become healthy; see its log above.",
                      file=sys.stderr)
                return 1
        telegram = ("  Telegram bridge polling Telegram for the bot's messages\n"
                    if os.environ.get("TELEGRAM_BOT_TOKEN")
                    else "  (set TELEGRAM_BOT_TOKEN to start the Telegram bridge too)\n")
        print(
            "\nThe assistant is up:\n"
            f"  web chat      http://localhost:{WEBCHAT_PORT}/\n"
            f"  REST channel  http://localhost:{RASA_PORT}/webhooks/rest/webhook\n"
            f"  action server http://localhost:{ACTIONS_PORT}/health\n"
            f"  agent console http://localhost:{CONSOLE_PORT}/  "
            "(create an agent first: telecom agent add <username>)\n"
            f"{telegram}"
            "One-time codes appear in this console as the demo SMS gateway sends them\n"
            "(or: telecom otp <phone>). Press Ctrl-C to stop.",
            flush=True,
        )
        while all(service.process.poll() is None for service in services):
            time.sleep(1)
        print("A service stopped unexpectedly; shutting down.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…")
        return 0
    finally:
        stop(services)


def stop(services: Sequence[Service]) -> None:
    for service in reversed(services):
        if service.process is not None and service.process.poll() is None:
            service.process.send_signal(signal.SIGINT)
    for service in services:
        if service.process is not None:
            try:
                service.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                service.process.kill()


def test(args: argparse.Namespace) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", *args.pytest_args], cwd=PROJECT_ROOT)


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="telecom", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    command = commands.add_parser("run", help="seed if needed, train if changed, start everything")
    command.add_argument("--skip-train", action="store_true", help="use the newest model as is")
    command.add_argument("--start-timeout", type=float, default=300, help="seconds per service")
    command.set_defaults(handler=run)

    commands.add_parser("seed", help="reset the account database to the demo data").set_defaults(
        handler=seed
    )
    commands.add_parser("train", help="train the model if data changed").set_defaults(handler=train)

    command = commands.add_parser("evaluate", help="NLU cross-validation and external test sets")
    command.add_argument("--folds", type=int, default=5)
    command.add_argument("--external-only", action="store_true",
                         help="only the external data sets, on the newest model")
    command.set_defaults(handler=evaluate)

    command = commands.add_parser("otp", help="print the newest one-time code sent to a number")
    command.add_argument("phone")
    command.set_defaults(handler=otp)

    command = commands.add_parser("agent", help="manage agent console accounts")
    agent_commands = command.add_subparsers(dest="agent_command", required=True)
    command = agent_commands.add_parser(
        "add", help="create an agent (password from TELECOM_AGENT_PASSWORD or a prompt)"
    )
    command.add_argument("username")
    command.add_argument("--name", help="the name shown in the console (default: username)")
    command.set_defaults(handler=add_agent)

    command = commands.add_parser("test", help="run the whole test suite (pytest)")
    command.add_argument("pytest_args", nargs=argparse.REMAINDER)
    command.set_defaults(handler=test)

    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
