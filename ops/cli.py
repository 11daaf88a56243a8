"""`telecom`: the one entry point to run, seed, train, evaluate and inspect the assistant."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import re
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.engine import Engine

from ops import parts
from ops.benchmark.options import (
    DEFAULT_POSTGRES_ADMIN_URL,
    DEFAULT_REMINDER_LINES,
    concurrency_levels,
    line_count,
    rasa_server_count,
)
from ops.launcher import Part
from ops.production import PRODUCTION_ENDPOINTS, problems, shown
from ops.production.nginx import LoadBalancer, PublicDoor, nginx_binary
from ops.supervisor import stop_on_signals, supervise
from ops.training import latest_model, train
from telecom_assistant.clock import operator_now
from telecom_assistant.database import PROJECT_ROOT, make_engine
from telecom_assistant.retention import REMINDERS_KEPT_AT_LEAST, tracker_database_url
from telecom_assistant.settings import (
    LOOPBACK,
    PRODUCTION,
    PROFILES,
    Settings,
    SettingsError,
    local_url,
)
from telecom_assistant.sms.gateway import Direction, Purpose, Sms, SmsGateway
from telecom_assistant.trust import with_secrets
from telecom_assistant.web import port_in_use

# Rasa phones home at start-up and retries forever without internet.
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

# The production profile's servers listen on 127.0.0.1 only, from these ports up; nginx takes
# the Rasa and action server ports of the settings, on 127.0.0.1 too, to spread their requests.
INTERNAL_RASA_PORTS_FROM = 5110
INTERNAL_ACTIONS_PORTS_FROM = 5160
RETENTION_INTERVAL_SECONDS = 24 * 3600
# `telecom sms`: how long to wait for the SMS hall's answer, and for its further parts.
SMS_ANSWER_SECONDS = 20.0
SMS_MORE_SECONDS = 1.0
SMS_WAITING_LOOKED_AT = 1000
# How many of a line's latest SMS `telecom sms PHONE` shows.
PHONE_SHOWS = 10


def seed(args: argparse.Namespace) -> int:
    from demo.satisfaction import seed_demo_ratings
    from demo.seed import DEMO_LINES, reset_database
    from demo.tickets import seed_demo_tickets

    engine, today = make_engine(args.settings.database_url), operator_now().date()
    reset_database(engine, today)
    tickets = seed_demo_tickets(engine, today)
    seed_demo_ratings(engine, today)
    print(
        f"Seeded {shown(args.settings.database_url)} with {len(DEMO_LINES)} demo lines and "
        f"{tickets} tickets."
    )
    return 0


def ensure_database(settings: Settings) -> None:
    """Seed the database on first use (no demo line yet, though `telecom migrate` may have
    made the tables); never wipe one with data, but migrate every area to its newest revision."""
    from telecom_assistant.schema import migrate

    engine = make_engine(settings.database_url)
    if not has_demo_lines(engine):
        # Filing the demo tickets masks them with spaCy: by a process of its own, so that
        # `telecom run`, which stays up supervising the others, does not keep spaCy loaded.
        subprocess.run(
            [sys.executable, "-m", "ops.cli", "seed"],
            cwd=PROJECT_ROOT,
            check=True,
            env={**os.environ, **settings.environment()},
        )
    migrate(engine)


def has_demo_lines(engine: Engine) -> bool:
    from sqlalchemy import func, inspect, select

    from telecom_assistant.accounts.tables import LineRow

    if not inspect(engine).has_table(LineRow.__tablename__):
        return False
    with engine.connect() as connection:
        return bool(connection.scalar(select(func.count()).select_from(LineRow)))


def migrate_database(args: argparse.Namespace) -> int:
    """`telecom migrate`: the areas asked for (default: all) to their newest revision; with
    --new, write one area's next revision instead."""
    from telecom_assistant.schema import Area, migrate, new_revision

    names = args.area or [area.value for area in Area]
    unknown = sorted(set(names) - {area.value for area in Area})
    if unknown:
        print(
            f"No such area: {', '.join(unknown)} (the areas: "
            f"{', '.join(area.value for area in Area)}).",
            file=sys.stderr,
        )
        return 2
    areas = [Area(name) for name in names]
    engine = make_engine(args.settings.database_url)
    if args.new:
        if len(areas) != 1:
            print("--new writes the revision of one area: name it with --area.", file=sys.stderr)
            return 2
        for path in new_revision(engine, areas[0], args.new):
            print(
                f"Wrote {path}: read it and complete it (autogenerate misses renames and "
                "data changes), then test it (tests/integration/test_migrations.py)."
            )
        return 0
    migrate(engine, areas)
    print(f"Migrated to the newest revision: {', '.join(names)}.")
    return 0


def add_agent(args: argparse.Namespace) -> int:
    """Agents' passwords come from the environment or a prompt, never from a file here."""
    from telecom_assistant.agents.accounts import AccountRefused, AgentAccounts

    ensure_database(args.settings)
    password = args.settings.agent_password
    if not password:
        password = getpass.getpass(f"Password for {args.username} (10 characters or more): ")
        if getpass.getpass("Again: ") != password:
            print("The two passwords differ; nothing was created.", file=sys.stderr)
            return 1
    try:
        AgentAccounts(make_engine(args.settings.database_url)).create(
            args.username, args.name or args.username, password
        )
    except AccountRefused as refusal:
        print(f"Not created: {refusal}", file=sys.stderr)
        return 1
    print(f"Agent {args.username} can now sign in to the console.")
    return 0


def demo_order(args: argparse.Namespace) -> int:
    from demo.events import UnknownAddOn, order_addon

    def happen(engine: Engine, msisdn: str) -> str:
        try:
            order_addon(engine, msisdn, args.addon, operator_now().date())
        except UnknownAddOn:
            raise ValueError(
                f"the catalogue has no add-on {args.addon!r} (demo/catalogue.py)"
            ) from None
        return f"{args.addon} started on {msisdn} today; the scheduler reminds the customer soon."

    return _on_demo_line(args, happen)


def demo_use(args: argparse.Namespace) -> int:
    from demo.events import use_allowance

    def happen(engine: Engine, msisdn: str) -> str:
        today = operator_now().date()
        use_allowance(engine, msisdn, today, args.percent / 100, args.abroad_mb)
        return f"{msisdn} has used {args.percent:g}% of its data this cycle."

    return _on_demo_line(args, happen)


def _on_demo_line(args: argparse.Namespace, happen: Callable[[Engine, str], str]) -> int:
    """`happen` on the line `args.phone` names; prints what it says, or why it refused (a
    ValueError)."""
    from telecom_assistant.accounts.msisdn import normalise_msisdn
    from telecom_assistant.accounts.service import UnknownLine

    msisdn = normalise_msisdn(args.phone)
    try:
        if msisdn is None:
            raise UnknownLine(args.phone)
        print(happen(make_engine(args.settings.database_url), msisdn))
    except UnknownLine:
        print(f"Nothing done: {args.phone} is not a demo line (telecom seed).", file=sys.stderr)
        return 1
    except ValueError as refused:
        print(f"Nothing done: {refused}.", file=sys.stderr)
        return 1
    return 0


def otp(args: argparse.Namespace) -> int:
    from telecom_assistant.accounts.msisdn import normalise_msisdn
    from telecom_assistant.accounts.sql import SqlAccountService

    msisdn = normalise_msisdn(args.phone)
    if msisdn is None:
        print(f"{args.phone!r} is not a mainland mobile number.", file=sys.stderr)
        return 2
    body = SqlAccountService(make_engine(args.settings.database_url)).latest_sms(msisdn)
    if body is None:
        print(f"No SMS has been sent to {msisdn}.", file=sys.stderr)
        return 1
    code = re.search(r"\b\d{6}\b", body)
    print(code.group() if code else body)
    return 0


def sms(args: argparse.Namespace) -> int:
    """`telecom sms PHONE TEXT`: the line sends TEXT to the service number (the demo gateway
    takes it in); the SMS business hall's answers are printed as they come. The hall answers,
    never this command: without it running, nobody does. `telecom sms PHONE`: the line's
    latest SMS both ways, as its phone shows them."""
    from telecom_assistant.accounts.msisdn import normalise_msisdn
    from telecom_assistant.sms.sql import SqlSmsGateway

    msisdn = normalise_msisdn(args.phone)
    if msisdn is None:
        print(f"{args.phone!r} is not a mainland mobile number.", file=sys.stderr)
        return 2
    gateway = SqlSmsGateway(make_engine(args.settings.database_url))
    if args.text is None:
        return show_phone(gateway, msisdn)
    sent = gateway.receive(msisdn, args.text)
    answers = hall_answers(gateway, msisdn, sent)
    if answers:
        print("\n\n".join(answers))
        return 0
    if any(waiting.id == sent for waiting in gateway.waiting(limit=SMS_WAITING_LOOKED_AT)):
        print(
            f"No answer within {SMS_ANSWER_SECONDS:g} s: the SMS hall is not running "
            "(`telecom run` starts it).",
            file=sys.stderr,
        )
    else:
        print("The SMS hall took the message and sent no answer.", file=sys.stderr)
    return 1


def show_phone(gateway: SmsGateway, msisdn: str) -> int:
    # The gateway lists a line's messages oldest first, a page at a time: the last page shown.
    messages: list[Sms] = []
    while page := gateway.messages(msisdn, after_id=messages[-1].id if messages else 0):
        messages = [*messages, *page][-PHONE_SHOWS:]
    if not messages:
        print(f"No SMS to or from {msisdn} yet.", file=sys.stderr)
        return 1
    for message in messages:
        who = "you" if message.direction is Direction.IN else f"us ({message.purpose.value})"
        print(f"{message.at:%Y-%m-%d %H:%M}  {who}:\n{message.body}\n")
    return 0


def hall_answers(gateway: SmsGateway, msisdn: str, after_id: int) -> list[str]:
    """The SMS hall's answers to the line after the message `after_id`: waited for up to
    SMS_ANSWER_SECONDS, then for more parts until none has come for SMS_MORE_SECONDS."""
    answers: list[str] = []
    deadline = time.monotonic() + SMS_ANSWER_SECONDS
    while time.monotonic() < deadline:
        new = [
            message.body
            for message in gateway.messages(msisdn, after_id=after_id)
            if message.direction is Direction.OUT and message.purpose is Purpose.HALL
        ]
        if len(new) > len(answers):
            answers = new
            deadline = time.monotonic() + SMS_MORE_SECONDS
        time.sleep(0.2)
    return answers


def evaluate(args: argparse.Namespace) -> int:
    from ops.evaluation import evaluate_nlu, external

    if args.conversations is not None:
        from ops import conversations

        model = latest_model() if train(args) == 0 else None
        if model is None:
            return 1
        return conversations.evaluate(model, [Path(p) for p in args.conversations])
    return external() if args.external_only else evaluate_nlu(folds=args.folds)


def benchmark(args: argparse.Namespace) -> int:
    if args.reminders:
        from ops.benchmark.reminders import measure_reminders

        return measure_reminders(args.settings, args.lines, args.million, args.postgres_admin_url)
    from ops.benchmark.options import BenchmarkOptions, LoadSettings
    from ops.benchmark.runner import run_benchmark

    model = latest_model()
    if model is None:
        print("No trained model in models/: run `telecom train` first.", file=sys.stderr)
        return 1
    if args.profile:
        from ops.benchmark.profiling import profile_assistant

        return profile_assistant(model, args.conversations)
    if args.recovery:
        from ops.benchmark.recovery import measure_recovery

        return measure_recovery(model)
    if args.live_chat:
        from ops.benchmark.live_chat import measure_live_chat

        return measure_live_chat(model)
    load = LoadSettings(
        args.concurrency,
        args.think_time,
        None if args.conversations else args.duration,
        args.conversations,
    )
    return run_benchmark(
        BenchmarkOptions(
            model,
            load,
            args.skip_baseline,
            args.skip_training,
            args.production,
            args.postgres_admin_url,
        )
    )


def embedded_servers(
    model: Path, settings: Settings, environment: Mapping[str, str]
) -> tuple[list[Part], list[Part]]:
    """The action servers and the Rasa side of the embedded profile: one of each on the
    settings' ports; endpoints.yml keeps conversations in var/tracker.db, wherever
    DATABASE_URL points."""
    return (
        [parts.action_server(settings.ports.action_server, environment=environment)],
        [parts.rasa_server(model, settings.ports.rasa, "endpoints.yml", environment=environment)],
    )


def production_servers(
    model: Path, settings: Settings, environment: Mapping[str, str]
) -> tuple[list[Part], list[Part]]:
    """The production profile's action servers and Rasa side: N of each on 127.0.0.1, nginx in
    front of the Rasa servers and of the action servers on the settings' ports for them (both
    on 127.0.0.1), and nginx's public door to the web chat and the Telegram webhook.
    nginx comes last: its health check is a Rasa server's, through nginx. The Rasa servers
    reach the action servers through nginx, like everything else (TELECOM_ACTION_SERVER_URL)."""
    ports, production = settings.ports, settings.production
    action_ports = [INTERNAL_ACTIONS_PORTS_FROM + n for n in range(production.action_servers)]
    rasa_ports = [INTERNAL_RASA_PORTS_FROM + n for n in range(production.rasa_servers)]
    public = PublicDoor(
        f"{production.public_address}:{production.public_port}",
        f"{LOOPBACK}:{ports.webchat}",
        telegram_webhook(settings),
    )
    balancer = LoadBalancer(
        f"{LOOPBACK}:{ports.rasa}",
        rasa_ports,
        f"{LOOPBACK}:{ports.action_server}",
        action_ports,
        public,
    )
    config = balancer.write_config(PROJECT_ROOT / "var" / "nginx")
    nginx = nginx_binary()
    assert nginx is not None, "ops.production.problems() says when nginx is missing"
    return (
        [
            parts.action_server(port, name=f"action server {n + 1}", environment=environment)
            for n, port in enumerate(action_ports)
        ],
        [
            *(
                parts.rasa_server(
                    model,
                    port,
                    PRODUCTION_ENDPOINTS.name,
                    name=f"Rasa server {n + 1}",
                    environment=environment,
                )
                for n, port in enumerate(rasa_ports)
            ),
            parts.load_balancer(
                nginx, config, ports.rasa, ports.action_server, environment=environment
            ),
        ],
    )


def telegram_webhook(settings: Settings) -> tuple[str, str] | None:
    """The path Telegram posts to and the bridge's local webhook address, when the bridge runs
    in webhook mode; None: long polling, nothing to expose."""
    telegram = settings.telegram
    if not telegram.bot_token or not telegram.webhook_url:
        return None
    path = urllib.parse.urlsplit(telegram.webhook_url).path or "/"
    return path, f"{LOOPBACK}:{telegram.webhook_port}"


def run_settings(args: argparse.Namespace) -> Settings | None:
    """What every part gets (Settings.environment): the settings read at start, for the
    profile asked for, with the secrets filled in (SECURITY.md), the programs pointed at each
    other on this machine; None after saying what is wrong or missing."""
    if args.profile not in PROFILES:
        print(
            f"Profile {args.profile!r} (from TELECOM_PROFILE?) is unknown: choose one of "
            f"{', '.join(PROFILES)}.",
            file=sys.stderr,
        )
        return None
    ports = args.settings.ports
    settings = replace(
        args.settings,
        profile=args.profile,
        rasa_url=local_url(ports.rasa),
        action_server_url=f"{local_url(ports.action_server)}/webhook",
    )
    found = problems(settings) if settings.profile == PRODUCTION else []
    for problem in found:
        print(problem, file=sys.stderr)
    try:
        return None if found else with_secrets(settings)
    except SettingsError as missing:
        print(missing, file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    stop_on_signals()
    settings = run_settings(args)
    if settings is None:
        return 1
    environment = {**parts.QUIET_DEPENDENCIES, **os.environ, **settings.environment()}
    ensure_database(settings)
    (PROJECT_ROOT / "var").mkdir(exist_ok=True)
    retention = Retention(
        settings.retention_days, settings.database_url, tracker_database_url(settings)
    )
    retention.apply()
    # Training loads spaCy and TensorFlow: done by a process of its own, so that this one,
    # which stays up supervising the others, stays small.
    if (
        not args.skip_train
        and subprocess.call([sys.executable, "-m", "ops.cli", "train"], cwd=PROJECT_ROOT) != 0
    ):
        return 1
    model = latest_model()
    if model is None:
        print("No trained model in models/: run `telecom train` first.", file=sys.stderr)
        return 1
    assistant = assistant_parts(model, settings, environment)
    taken = [(part, port) for part in assistant for port in part.ports if port_in_use(port)]
    for part, port in taken:
        print(
            f"Port {port} is already in use, so the {part.name} cannot start. "
            f"Stop whatever uses it (`lsof -i :{port}`) and try again.",
            file=sys.stderr,
        )
    if taken:
        return 1
    return supervise(
        assistant,
        start_timeout=args.start_timeout,
        when_up=lambda: print_summary(settings),
        every_round=retention.apply_when_due,
    )


def assistant_parts(model: Path, settings: Settings, environment: Mapping[str, str]) -> list[Part]:
    """Everything `telecom run` starts, in the order it starts them; the Telegram bridge when
    TELEGRAM_BOT_TOKEN is set."""
    ports = settings.ports
    action_servers, rasa_servers = (
        production_servers(model, settings, environment)
        if settings.profile == PRODUCTION
        else embedded_servers(model, settings, environment)
    )
    assistant = [
        *action_servers,
        parts.console(ports.console, environment=environment),
        parts.webchat(ports.webchat, settings.rasa_url, environment=environment),
        *rasa_servers,
        # After Rasa: a reminder reaches a chat through it, free text by SMS too.
        parts.sms_hall(ports.sms_hall_health, environment=environment),
        parts.scheduler(ports.scheduler_health, environment=environment),
    ]
    if settings.telegram.bot_token:
        assistant.append(
            parts.telegram_bridge(ports.telegram_bridge_health, environment=environment)
        )
    return assistant


def print_summary(settings: Settings) -> None:
    ports, production = settings.ports, settings.production
    in_production = settings.profile == PRODUCTION
    telegram = (
        "  Telegram bridge polling Telegram for the bot's messages\n"
        if settings.telegram.bot_token
        else "  (set TELEGRAM_BOT_TOKEN to start the Telegram bridge too)\n"
    )
    profile_note = (
        f"  production profile: nginx in front of {production.rasa_servers} Rasa servers and "
        f"{production.action_servers} action servers;\n"
        "  conversations, accounts and tickets in PostgreSQL, conversation locks in Redis;\n"
        f"  public door (web chat, Telegram webhook) on "
        f"{production.public_address}:{production.public_port}, everything else on 127.0.0.1\n"
        if in_production
        else "  everything listens on 127.0.0.1 only (SECURITY.md)\n"
    )
    print(
        "\nThe assistant is up:\n"
        f"  web chat      http://localhost:{ports.webchat}/\n"
        f"  REST channel  http://localhost:{ports.rasa}/webhooks/rest/webhook"
        f"{' (needs the channel secret)' if in_production else ''}\n"
        f"  action server http://localhost:{ports.action_server}/health\n"
        f"  agent console http://localhost:{ports.console}/  "
        "(create an agent first: telecom agent add <username>)\n"
        "  SMS hall      play a customer: telecom sms 13800000004 0000\n"
        f"  reminders     scanned every {settings.reminders.scan_seconds:g} s "
        f"(scheduler health http://localhost:{ports.scheduler_health}/health)\n"
        f"{telegram}"
        f"{profile_note}"
        "One-time codes appear in this console as the demo SMS gateway sends them\n"
        "(or: telecom otp <phone>). Press Ctrl-C to stop.",
        flush=True,
    )


@dataclass
class Retention:
    """Conversations and demo SMS older than `days` deleted now and once a day."""

    days: int
    database_url: str
    tracker_database_url: str
    last_applied: float = 0.0

    def apply(self) -> None:
        from telecom_assistant.retention import apply_retention

        self.last_applied = time.monotonic()
        try:
            forgotten = apply_retention(
                make_engine(self.database_url), make_engine(self.tracker_database_url), self.days
            )
        except Exception as error:  # retention must not stop the assistant
            logging.getLogger(__name__).warning(
                "Retention failed, tried again tomorrow: %s", type(error).__name__
            )
            return
        if forgotten.conversations or forgotten.sms or forgotten.reminders:
            print(
                f"Retention ({self.days} days): deleted {forgotten.conversations} "
                f"conversations, {forgotten.sms} demo SMS and {forgotten.reminders} reminders.",
                flush=True,
            )

    def apply_when_due(self) -> None:
        if time.monotonic() - self.last_applied >= RETENTION_INTERVAL_SECONDS:
            self.apply()


def retention(args: argparse.Namespace) -> int:
    """`telecom retention`: what `telecom run` does at start-up and once a day."""
    settings = args.settings
    days = settings.retention_days if args.days is None else args.days
    if days < 1:
        print(f"--days {days}: give a number of days, 1 or more.", file=sys.stderr)
        return 1
    Retention(days, settings.database_url, tracker_database_url(settings)).apply()
    print(
        f"Conversations and demo SMS older than {days} days are deleted, and reminders older "
        f"than {max(days, REMINDERS_KEPT_AT_LEAST.days)} days."
    )
    return 0


def test(args: argparse.Namespace) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", *args.pytest_args], cwd=PROJECT_ROOT)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        settings = Settings.from_environment()
    except SettingsError as problem:
        print(problem, file=sys.stderr)
        return 1
    parser = argparse.ArgumentParser(prog="telecom", description=__doc__)
    # Every command's settings, read once.
    parser.set_defaults(settings=settings)
    commands = parser.add_subparsers(dest="command", required=True)

    command = commands.add_parser(
        "run",
        help="seed if needed, train if changed, start everything and restart a part that stops",
    )
    command.add_argument("--skip-train", action="store_true", help="use the newest model as is")
    command.add_argument("--start-timeout", type=float, default=300, help="seconds per service")
    command.add_argument(
        "--profile",
        default=settings.profile,
        metavar="|".join(PROFILES),
        help="embedded: SQLite, one server of each (default); production: PostgreSQL, Redis, "
        "TELECOM_RASA_SERVERS Rasa servers and TELECOM_ACTION_SERVERS action servers behind "
        "nginx (default: TELECOM_PROFILE)",
    )
    command.set_defaults(handler=run)

    commands.add_parser("seed", help="reset the account database to the demo data").set_defaults(
        handler=seed
    )
    command = commands.add_parser(
        "migrate",
        help="bring the database's tables to the newest revision (`telecom run` and "
        "every program do it at start-up)",
    )
    command.add_argument(
        "--area",
        action="append",
        metavar="AREA",
        help="accounts, tickets, agents or telegram (repeatable; default: all)",
    )
    command.add_argument(
        "--new",
        metavar="MESSAGE",
        help="instead: write the area's next revision, generated from the "
        "difference between its tables and a database at its newest revision",
    )
    command.set_defaults(handler=migrate_database)

    commands.add_parser("train", help="train the model if data changed").set_defaults(handler=train)

    command = commands.add_parser("evaluate", help="NLU cross-validation and external test sets")
    command.add_argument("--folds", type=int, default=5)
    command.add_argument(
        "--external-only",
        action="store_true",
        help="only the external data sets, on the newest model",
    )
    command.add_argument(
        "--conversations",
        nargs="*",
        metavar="FILE",
        help="the conversation suite (default: tests/conversations/*.yml) "
        "against the trained assistant: success per language, and failures",
    )
    command.set_defaults(handler=evaluate)

    command = commands.add_parser(
        "benchmark",
        help="message latency, throughput, CPU and memory under simulated "
        "customers, beside Rasa's starter bot; writes docs/benchmarks.md",
    )
    command.add_argument(
        "--concurrency",
        type=concurrency_levels,
        default=[1, 10, 50],
        help="customers talking at once, one level each (default: 1,10,50)",
    )
    length = command.add_mutually_exclusive_group()
    length.add_argument("--duration", type=float, default=60, help="seconds per level")
    length.add_argument(
        "--conversations",
        type=int,
        help="whole conversations per customer per level, instead of a duration",
    )
    command.add_argument(
        "--think-time",
        type=float,
        default=1.0,
        help="mean pause in seconds between an answer and the next message",
    )
    command.add_argument(
        "--skip-baseline",
        action="store_true",
        help="do not create, train and load Rasa's starter bot",
    )
    command.add_argument(
        "--skip-training",
        action="store_true",
        help="do not time a training from scratch (the last figure is kept)",
    )
    command.add_argument(
        "--profile",
        action="store_true",
        help="instead: one customer, both servers under cProfile; prints "
        "action-server requests, SQL statements and tracker size per message",
    )
    command.add_argument(
        "--recovery",
        action="store_true",
        help="instead: kill the action server mid-conversation under the "
        "supervisor; prints the seconds until real answers come back",
    )
    command.add_argument(
        "--live-chat",
        action="store_true",
        help="instead: a web chat customer and a console agent talk live; prints how long "
        "a message takes each way",
    )
    command.add_argument(
        "--reminders",
        action="store_true",
        help="instead: the reminder scan over the demo base and generated lines, on SQLite "
        "and on PostgreSQL if it answers at --postgres-admin-url; prints its cost per line and "
        "the estimate for 1,000,000 lines (no model needed)",
    )
    command.add_argument(
        "--lines",
        type=line_count,
        default=DEFAULT_REMINDER_LINES,
        help=f"--reminders: how many lines to generate (default: {DEFAULT_REMINDER_LINES:,})",
    )
    command.add_argument(
        "--million",
        action="store_true",
        help="--reminders: grow PostgreSQL's generated lines to 1,000,000 and scan them too",
    )
    command.add_argument(
        "--production",
        type=rasa_server_count,
        metavar="RASA_SERVERS",
        help="measure the production profile with this many Rasa servers "
        "behind nginx (PostgreSQL, Redis at REDIS_URL); figures to "
        "docs/benchmarks/production.json, not the report",
    )
    command.add_argument(
        "--postgres-admin-url",
        default=DEFAULT_POSTGRES_ADMIN_URL,
        help="--production, --reminders: where to create (and drop) the benchmark's database",
    )
    command.set_defaults(handler=benchmark)

    command = commands.add_parser("otp", help="print the newest one-time code sent to a number")
    command.add_argument("phone")
    command.set_defaults(handler=otp)

    command = commands.add_parser(
        "sms",
        help="send an SMS from a line to the service number and print the SMS hall's answer",
    )
    command.add_argument("phone", help="the customer's line, e.g. 13800000004")
    command.add_argument(
        "text",
        nargs="?",
        help='what the customer sends, e.g. "0000" or "CXLL"; left out: show the SMS the line '
        "exchanged lately (reminders, agents' replies, the hall's answers), as its phone would",
    )
    command.set_defaults(handler=sms)

    command = commands.add_parser(
        "demo", help="make something happen on a demo line, for the reminders to notice"
    )
    demo_commands = command.add_subparsers(dest="demo_command", required=True)
    command = demo_commands.add_parser(
        "order", help="start a paid add-on on the line today, as a sales call would"
    )
    command.add_argument("phone", help="the demo line, e.g. 13800000004")
    command.add_argument("addon", help="the add-on's id in demo/catalogue.py, e.g. game_pack")
    command.set_defaults(handler=demo_order)
    command = demo_commands.add_parser(
        "use", help="set the line's data use this cycle, as a share of its allowance"
    )
    command.add_argument("phone")
    command.add_argument("percent", type=float, help="e.g. 85 or 101")
    command.add_argument("--abroad-mb", type=int, default=0, help="of which used abroad, in MB")
    command.set_defaults(handler=demo_use)

    command = commands.add_parser("agent", help="manage agent console accounts")
    agent_commands = command.add_subparsers(dest="agent_command", required=True)
    command = agent_commands.add_parser(
        "add", help="create an agent (password from TELECOM_AGENT_PASSWORD or a prompt)"
    )
    command.add_argument("username")
    command.add_argument("--name", help="the name shown in the console (default: username)")
    command.set_defaults(handler=add_agent)

    command = commands.add_parser(
        "retention",
        help="delete conversations, demo SMS and reminders older than TELECOM_RETENTION_DAYS "
        "(default 90; reminders 100 at the least); `telecom run` does it at start-up and daily",
    )
    command.add_argument("--days", type=int, help="this many days instead")
    command.set_defaults(handler=retention)

    command = commands.add_parser("test", help="run the whole test suite (pytest)")
    command.add_argument("pytest_args", nargs=argparse.REMAINDER)
    command.set_defaults(handler=test)

    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
