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
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence

from channels.telegram.webhook import WebhookMisconfigured, webhook_settings
from ops.benchmark.options import DEFAULT_POSTGRES_ADMIN_URL, concurrency_levels, rasa_server_count
from ops.benchmark.servers import action_server_command, rasa_command, rasa_server_args
from ops.production import (
    PRODUCTION,
    PRODUCTION_ENDPOINTS,
    PROFILES,
    ProductionSettings,
    SettingsError,
    selected_profile,
)
from ops.production.nginx import LoadBalancer, PublicDoor, nginx_binary, nginx_command
from ops.training import latest_model, train
from telecom_assistant.clock import operator_now
from telecom_assistant.database import PROJECT_ROOT, database_url, make_engine
from telecom_assistant.retention import EMBEDDED_TRACKER_DATABASE, RetentionError, retention_days
from telecom_assistant.schema import create_schema
from telecom_assistant.trust import SecretMissing, secrets_environment
from telecom_assistant.web import port_in_use

# Rasa phones home at start-up and retries forever without internet.
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

RASA_PORT = 5005
ACTIONS_PORT = 5055
CONSOLE_PORT = 5002
WEBCHAT_PORT = 5003
TELEGRAM_BRIDGE_HEALTH_PORT = 5004
LOOPBACK = "127.0.0.1"
# The production profile's servers listen on 127.0.0.1 only, from these ports up; nginx takes
# RASA_PORT and ACTIONS_PORT, on 127.0.0.1 too, to spread their requests.
INTERNAL_RASA_PORTS_FROM = 5110
INTERNAL_ACTIONS_PORTS_FROM = 5160
RETENTION_INTERVAL_SECONDS = 24 * 3600


def seed(_args: argparse.Namespace) -> int:
    from demo.seed import DEMO_LINES, reset_database
    from demo.tickets import seed_demo_tickets

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
    from telecom_assistant.agents.accounts import AccountRefused, AgentAccounts

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


def otp(args: argparse.Namespace) -> int:
    from telecom_assistant.accounts.msisdn import normalise_msisdn
    from telecom_assistant.accounts.sql import SqlAccountService

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
    from ops.evaluation import evaluate_nlu, external

    if args.conversations is not None:
        from telecom_assistant import conversations

        if train(args) != 0:
            return 1
        return conversations.evaluate(latest_model(), [Path(p) for p in args.conversations])
    return external() if args.external_only else evaluate_nlu(folds=args.folds)


def benchmark(args: argparse.Namespace) -> int:
    from ops.benchmark.options import BenchmarkOptions, Settings
    from ops.benchmark.runner import run_benchmark

    model = latest_model()
    if model is None:
        print("No trained model in models/: run `telecom train` first.", file=sys.stderr)
        return 1
    if args.profile:
        from ops.benchmark.profiling import profile_assistant

        return profile_assistant(model, args.conversations)
    settings = Settings(args.concurrency, args.think_time,
                        None if args.conversations else args.duration, args.conversations)
    return run_benchmark(BenchmarkOptions(model, settings, args.skip_baseline, args.skip_training,
                                          args.production, args.postgres_admin_url))


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    ports: tuple[int, ...]
    # Added to this process's environment for the command.
    environment: Mapping[str, str] = field(default_factory=dict)
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


def action_server(port: int, name: str = "action server",
                  environment: Optional[Mapping[str, str]] = None) -> Service:
    return Service(
        name,
        action_server_command(port),
        f"http://127.0.0.1:{port}/health",
        (port,),
        environment or {},
    )


def rasa_server(model: Path, port: int, endpoints: str, name: str = "Rasa server (REST channel)",
                environment: Optional[Mapping[str, str]] = None) -> Service:
    """Rasa on 127.0.0.1: only the channel programs and local scripts reach it."""
    return Service(
        name,
        rasa_command(*rasa_server_args(model, port, endpoints, "credentials.yml")),
        f"http://127.0.0.1:{port}/",
        (port,),
        environment or {},
    )


def embedded_servers(model: Path) -> tuple[list[Service], list[Service]]:
    """The action servers and the Rasa side of the embedded profile: one of each on the public
    ports; endpoints.yml keeps conversations in var/tracker.db, wherever DATABASE_URL points."""
    return ([action_server(ACTIONS_PORT)],
            [rasa_server(model, RASA_PORT, "endpoints.yml")])


def production_servers(model: Path,
                       settings: ProductionSettings) -> tuple[list[Service], list[Service]]:
    """The production profile's action servers and Rasa side: N of each on 127.0.0.1, nginx in
    front of the Rasa servers on RASA_PORT and of the action servers on ACTIONS_PORT (both
    on 127.0.0.1), and nginx's public door to the web chat and the Telegram webhook.
    nginx comes last: its health check is a Rasa server's, through nginx."""
    action_ports = [INTERNAL_ACTIONS_PORTS_FROM + n for n in range(settings.action_servers)]
    rasa_ports = [INTERNAL_RASA_PORTS_FROM + n for n in range(settings.rasa_servers)]
    # The Rasa servers reach the action servers through nginx, like everything else.
    rasa_environment = settings.rasa_environment(f"http://127.0.0.1:{ACTIONS_PORT}/webhook")
    public = PublicDoor(f"{settings.public_address}:{settings.public_port}",
                        f"{LOOPBACK}:{WEBCHAT_PORT}", telegram_webhook())
    balancer = LoadBalancer(f"{LOOPBACK}:{RASA_PORT}", rasa_ports, f"{LOOPBACK}:{ACTIONS_PORT}",
                            action_ports, public)
    config = balancer.write_config(PROJECT_ROOT / "var" / "nginx")
    nginx = Service("load balancer (nginx)", nginx_command(nginx_binary(), config),
                    f"http://127.0.0.1:{RASA_PORT}/", (RASA_PORT, ACTIONS_PORT))
    return (
        [action_server(port, f"action server {n + 1}") for n, port in enumerate(action_ports)],
        [*(rasa_server(model, port, PRODUCTION_ENDPOINTS.name, f"Rasa server {n + 1}",
                       rasa_environment)
           for n, port in enumerate(rasa_ports)),
         nginx],
    )


def telegram_webhook() -> Optional[tuple[str, str]]:
    """The path Telegram posts to and the bridge's local webhook address, when the bridge runs
    in webhook mode; None: long polling, nothing to expose (or webhook mode misconfigured,
    which the bridge itself refuses to start with, saying what to set)."""
    if not os.environ.get("TELEGRAM_BOT_TOKEN"):
        return None
    try:
        settings = webhook_settings(os.environ)
    except WebhookMisconfigured:
        return None
    if settings is None:
        return None
    return urllib.parse.urlsplit(settings.url).path or "/", f"{LOOPBACK}:{settings.port}"


def production_settings() -> Optional[ProductionSettings]:
    """The production profile's settings, or None after saying what is wrong or missing."""
    try:
        settings = ProductionSettings.from_environment()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return None
    problems = settings.problems()
    for problem in problems:
        print(problem, file=sys.stderr)
    return None if problems else settings


def run(args: argparse.Namespace) -> int:
    # A shell that starts a command in the background (`make run &`, a CI script's `&`) leaves
    # SIGINT ignored, and every service would inherit that: Ctrl-C, and the SIGINT with which
    # `stop` asks each service to finish, would then do nothing. Ctrl-C means stop, whoever
    # started us; the services get the default back, since a handler does not survive exec.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.profile not in PROFILES:
        print(f"Profile {args.profile!r} (from TELECOM_PROFILE?) is unknown: choose one of "
              f"{', '.join(PROFILES)}.", file=sys.stderr)
        return 1
    settings = None
    if args.profile == PRODUCTION:
        settings = production_settings()
        if settings is None:
            return 1
    # Every service learns the profile and the same secrets (SECURITY.md).
    profile_environment = {**os.environ, "TELECOM_PROFILE": args.profile}
    try:
        shared_environment = {**secrets_environment(profile_environment),
                              "TELECOM_PROFILE": args.profile}
        days = retention_days()
    except (SecretMissing, RetentionError) as problem:
        print(problem, file=sys.stderr)
        return 1
    ensure_database()
    (PROJECT_ROOT / "var").mkdir(exist_ok=True)
    retention = Retention(days, settings.database_url if settings else EMBEDDED_TRACKER_DATABASE)
    retention.apply()
    if not args.skip_train and train(args) != 0:
        return 1
    model = latest_model()
    if model is None:
        print("No trained model in models/: run `telecom train` first.", file=sys.stderr)
        return 1
    action_servers, rasa_servers = (production_servers(model, settings) if settings
                                    else embedded_servers(model))
    services = [
        *action_servers,
        Service(
            "agent console",
            [sys.executable, "-m", "console", "--port", str(CONSOLE_PORT)],
            f"http://127.0.0.1:{CONSOLE_PORT}/health",
            (CONSOLE_PORT,),
        ),
        Service(
            "web chat",
            [sys.executable, "-m", "channels.webchat", "--port", str(WEBCHAT_PORT),
             "--rasa-url", f"http://127.0.0.1:{RASA_PORT}"],
            f"http://127.0.0.1:{WEBCHAT_PORT}/health",
            (WEBCHAT_PORT,),
        ),
        *rasa_servers,
    ]
    if os.environ.get("TELEGRAM_BOT_TOKEN"):
        # Its health check answers once Telegram has accepted the token (getMe).
        health_port = int(os.environ.get("TELEGRAM_BRIDGE_HEALTH_PORT", TELEGRAM_BRIDGE_HEALTH_PORT))
        services.append(Service(
            "Telegram bridge",
            [sys.executable, "-m", "channels.telegram"],
            f"http://127.0.0.1:{health_port}/health",
            (health_port,),
        ))
    taken = [(service, port) for service in services for port in service.ports
             if port_in_use(port)]
    for service, port in taken:
        print(f"Port {port} is already in use, so the {service.name} cannot start. "
              f"Stop whatever uses it (`lsof -i :{port}`) and try again.", file=sys.stderr)
    if taken:
        return 1
    try:
        for service in services:
            print(f"Starting the {service.name}…", flush=True)
            service.process = subprocess.Popen(
                service.command, cwd=PROJECT_ROOT,
                env={**os.environ, **shared_environment, **service.environment})
            if not wait_until_healthy(service, timeout=args.start_timeout):
                print(f"The {service.name} did not become healthy; see its log above.",
                      file=sys.stderr)
                return 1
        telegram = ("  Telegram bridge polling Telegram for the bot's messages\n"
                    if os.environ.get("TELEGRAM_BOT_TOKEN")
                    else "  (set TELEGRAM_BOT_TOKEN to start the Telegram bridge too)\n")
        profile_note = (
            f"  production profile: nginx in front of {settings.rasa_servers} Rasa servers and "
            f"{settings.action_servers} action servers;\n"
            "  conversations, accounts and tickets in PostgreSQL, conversation locks in Redis;\n"
            f"  public door (web chat, Telegram webhook) on "
            f"{settings.public_address}:{settings.public_port}, everything else on 127.0.0.1\n"
            if settings else "  everything listens on 127.0.0.1 only (SECURITY.md)\n"
        )
        print(
            "\nThe assistant is up:\n"
            f"  web chat      http://localhost:{WEBCHAT_PORT}/\n"
            f"  REST channel  http://localhost:{RASA_PORT}/webhooks/rest/webhook"
            f"{' (needs the channel secret)' if settings else ''}\n"
            f"  action server http://localhost:{ACTIONS_PORT}/health\n"
            f"  agent console http://localhost:{CONSOLE_PORT}/  "
            "(create an agent first: telecom agent add <username>)\n"
            f"{telegram}"
            f"{profile_note}"
            "One-time codes appear in this console as the demo SMS gateway sends them\n"
            "(or: telecom otp <phone>). Press Ctrl-C to stop.",
            flush=True,
        )
        while all(service.process.poll() is None for service in services):
            time.sleep(1)
            retention.apply_when_due()
        print("A service stopped unexpectedly; shutting down.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        stop(services)


@dataclass
class Retention:
    """Conversations and demo SMS older than `days` deleted now and once a day."""

    days: int
    tracker_database_url: str
    last_applied: float = 0.0

    def apply(self) -> None:
        from telecom_assistant.retention import apply_retention

        self.last_applied = time.monotonic()
        try:
            forgotten = apply_retention(make_engine(), make_engine(self.tracker_database_url),
                                        self.days)
        except Exception as error:  # noqa: BLE001 - retention must not stop the assistant
            logging.getLogger(__name__).warning("Retention failed, tried again tomorrow: %s",
                                                type(error).__name__)
            return
        if forgotten.conversations or forgotten.sms:
            print(f"Retention ({self.days} days): deleted {forgotten.conversations} "
                  f"conversations and {forgotten.sms} demo SMS.", flush=True)

    def apply_when_due(self) -> None:
        if time.monotonic() - self.last_applied >= RETENTION_INTERVAL_SECONDS:
            self.apply()


def retention(args: argparse.Namespace) -> int:
    """`telecom retention`: what `telecom run` does at start-up and once a day."""
    try:
        days = retention_days({"TELECOM_RETENTION_DAYS": str(args.days)} if args.days is not None
                              else os.environ)
    except RetentionError as problem:
        print(problem, file=sys.stderr)
        return 1
    url = (os.environ.get("DATABASE_URL") if selected_profile() == PRODUCTION
           else EMBEDDED_TRACKER_DATABASE)
    Retention(days, url).apply()
    print(f"Conversations and demo SMS older than {days} days are deleted.")
    return 0


def stop(services: Sequence[Service], grace_seconds: float = 20.0) -> None:
    """Ctrl-C to every service at once, then one shared grace period: a service that has not
    stopped by then is killed (and named), so stopping never takes much longer than that."""
    running = [s for s in services if s.process is not None and s.process.poll() is None]
    for service in reversed(running):
        service.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace_seconds
    for service in running:
        try:
            service.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"The {service.name} did not stop within {grace_seconds:.0f} s; killed.",
                  file=sys.stderr, flush=True)
            service.process.kill()
            service.process.wait()


def test(args: argparse.Namespace) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", *args.pytest_args], cwd=PROJECT_ROOT)


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="telecom", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    command = commands.add_parser("run", help="seed if needed, train if changed, start everything")
    command.add_argument("--skip-train", action="store_true", help="use the newest model as is")
    command.add_argument("--start-timeout", type=float, default=300, help="seconds per service")
    command.add_argument(
        "--profile", default=selected_profile(), metavar="|".join(PROFILES),
        help="embedded: SQLite, one server of each (default); production: PostgreSQL, Redis, "
        "TELECOM_RASA_SERVERS Rasa servers and TELECOM_ACTION_SERVERS action servers behind "
        "nginx (default: TELECOM_PROFILE)",
    )
    command.set_defaults(handler=run)

    commands.add_parser("seed", help="reset the account database to the demo data").set_defaults(
        handler=seed
    )
    commands.add_parser("train", help="train the model if data changed").set_defaults(handler=train)

    command = commands.add_parser("evaluate", help="NLU cross-validation and external test sets")
    command.add_argument("--folds", type=int, default=5)
    command.add_argument("--external-only", action="store_true",
                         help="only the external data sets, on the newest model")
    command.add_argument("--conversations", nargs="*", metavar="FILE",
                         help="the conversation suite (default: tests/conversations/*.yml) "
                         "against the trained assistant: success per language, and failures")
    command.set_defaults(handler=evaluate)

    command = commands.add_parser(
        "benchmark", help="message latency, throughput, CPU and memory under simulated "
        "customers, beside Rasa's starter bot; writes docs/benchmarks.md"
    )
    command.add_argument("--concurrency", type=concurrency_levels, default=[1, 10, 50],
                         help="customers talking at once, one level each (default: 1,10,50)")
    length = command.add_mutually_exclusive_group()
    length.add_argument("--duration", type=float, default=60, help="seconds per level")
    length.add_argument("--conversations", type=int,
                        help="whole conversations per customer per level, instead of a duration")
    command.add_argument("--think-time", type=float, default=1.0,
                         help="mean pause in seconds between an answer and the next message")
    command.add_argument("--skip-baseline", action="store_true",
                         help="do not create, train and load Rasa's starter bot")
    command.add_argument("--skip-training", action="store_true",
                         help="do not time a training from scratch (the last figure is kept)")
    command.add_argument("--profile", action="store_true",
                         help="instead: one customer, both servers under cProfile; prints "
                         "action-server requests, SQL statements and tracker size per message")
    command.add_argument("--production", type=rasa_server_count, metavar="RASA_SERVERS",
                         help="measure the production profile with this many Rasa servers "
                         "behind nginx (PostgreSQL, Redis at REDIS_URL); figures to "
                         "docs/benchmarks/production.json, not the report")
    command.add_argument("--postgres-admin-url",
                         default=DEFAULT_POSTGRES_ADMIN_URL,
                         help="--production: where to create (and drop) the benchmark's database")
    command.set_defaults(handler=benchmark)

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

    command = commands.add_parser(
        "retention", help="delete conversations and demo SMS older than TELECOM_RETENTION_DAYS "
        "(default 90); `telecom run` does it at start-up and daily")
    command.add_argument("--days", type=int, help="this many days instead")
    command.set_defaults(handler=retention)

    command = commands.add_parser("test", help="run the whole test suite (pytest)")
    command.add_argument("pytest_args", nargs=argparse.REMAINDER)
    command.set_defaults(handler=test)

    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
