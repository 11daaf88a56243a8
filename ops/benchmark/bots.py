"""The bots under test, each started on free ports in a directory of its own: the assistant
as `telecom run` starts it (embedded profile) or its production profile, and Rasa's starter
bot made by `rasa init` (the baseline)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path

from demo.seed import reset_database
from ops import launcher
from ops.benchmark.load import CodeReader
from ops.benchmark.servers import (
    ACTION_SERVER,
    RASA,
    action_server_part,
    production_endpoints,
    rasa_part,
    server_environment,
    start_production_servers,
)
from ops.parts import rasa_command
from ops.production import problems
from ops.production.nginx import nginx_binary
from rasa_plugins.lock_store import delete_locks
from telecom_assistant.accounts.sql import SqlAccountService, VerificationThrottles
from telecom_assistant.clock import operator_now
from telecom_assistant.database import PROJECT_ROOT, make_engine, scratch_postgres_database
from telecom_assistant.settings import Settings, Verification, variable_name

ASSISTANT = "telecom assistant"
PRODUCTION_ASSISTANT = "telecom assistant, production profile"
BASELINE = "rasa init bot"
# The baseline has no verification: its customers type a code all the same.
BASELINE_CODE = "246810"
ONE_TIME_CODE_IN_SMS = re.compile(r"\b\d{6}\b")
# The benchmark's few demo customers verify thousands of times a run, far beyond what the
# verification throttles allow one phone: lifted for its servers, still counted.
LOAD_TEST_LIMITS = {
    variable_name(Verification, throttle.name): "1000000"
    for throttle in fields(VerificationThrottles)
}
PROFILES = {ACTION_SERVER: "actions.prof", RASA: "rasa.prof"}


@dataclass
class RunningBot:
    name: str
    servers: list[launcher.Running]
    read_code: CodeReader

    @property
    def url(self) -> str:
        return self.servers[-1].url  # Rasa, or nginx in front of the Rasa servers: started last


def outbox_reader(database_url: str) -> CodeReader:
    """Customers read their one-time code from the demo SMS outbox, as `telecom otp` does."""
    accounts = SqlAccountService(make_engine(database_url))

    async def read_code(msisdn: str) -> str:
        # Off the event loop: the other customers keep talking meanwhile.
        body = await asyncio.to_thread(accounts.latest_sms, msisdn)
        code = ONE_TIME_CODE_IN_SMS.search(body or "")
        if code is None:
            raise RuntimeError(f"no one-time code in the SMS outbox for {msisdn}")
        return code.group()

    return read_code


@contextmanager
def assistant(model: Path, workdir: Path, profile_dir: Path | None = None) -> Iterator[RunningBot]:
    """The action server and Rasa with the project's endpoints (its tracker store kept in
    workdir) over a freshly seeded SQLite database in workdir; under cProfile when given a
    `profile_dir` (PROFILES names the files each server writes there as it stops)."""
    database_url = f"sqlite:///{workdir / 'telecom.db'}"
    reset_database(make_engine(database_url), operator_now().date())
    env = {**server_environment(database_url), **LOAD_TEST_LIMITS}
    profiles = {name: profile_dir / file for name, file in PROFILES.items()} if profile_dir else {}
    actions = action_server_part(workdir, env, profiles.get(ACTION_SERVER))
    rasa = rasa_part(
        model,
        workdir,
        env,
        production_endpoints(workdir, actions.url),
        profile_to=profiles.get(RASA),
    )
    with launcher.started([actions, rasa]) as servers:
        yield RunningBot(ASSISTANT, servers, outbox_reader(database_url))


@contextmanager
def production_assistant(
    model: Path, workdir: Path, postgres_admin_url: str, rasa_servers: int
) -> Iterator[RunningBot]:
    """The production profile: `rasa_servers` Rasa servers and an action server behind nginx,
    over a freshly seeded PostgreSQL database of its own (made through `postgres_admin_url`,
    dropped afterwards) and lock keys of its own in Redis (the settings' REDIS_URL, deleted
    afterwards)."""
    nginx = nginx_binary()
    if nginx is None:
        raise RuntimeError("nginx is not installed: scripts/bootstrap.sh --with-nginx")
    with scratch_postgres_database(postgres_admin_url, "telecom_benchmark") as database_url:
        reset_database(make_engine(database_url), operator_now().date())
        settings = Settings.from_environment()
        settings = replace(
            settings,
            database_url=database_url,
            production=replace(
                settings.production,
                lock_key_prefix=f"benchmark{uuid.uuid4().hex[:12]}",
                rasa_servers=rasa_servers,
                action_servers=1,
            ),
        )
        found = problems(settings)
        if found:
            raise RuntimeError("\n".join(found))
        servers = start_production_servers(model, workdir, settings, nginx, LOAD_TEST_LIMITS)
        try:
            yield RunningBot(
                f"{PRODUCTION_ASSISTANT} ({rasa_servers} Rasa servers)",
                servers,
                outbox_reader(database_url),
            )
        finally:
            launcher.stop(servers)
            delete_locks(settings.production.redis_url, settings.production.lock_key_prefix)


def train_baseline(workdir: Path) -> tuple[Path, float]:
    """`rasa init --no-prompt` in workdir/project, which trains the starter bot with Rasa's
    default config; the model and the seconds it took (scaffolding is a file copy)."""
    project = workdir / "project"
    project.mkdir(parents=True)
    started = time.monotonic()
    run_quietly(
        rasa_command("init", "--no-prompt", "--init-dir", str(project)),
        cwd=workdir,
        log=workdir / "init.log",
    )
    seconds = time.monotonic() - started
    return next((project / "models").glob("*.tar.gz")), seconds


@contextmanager
def baseline(model: Path, workdir: Path) -> Iterator[RunningBot]:
    """The starter bot as `rasa init` leaves it: no action server, in-memory tracker store."""
    project = model.parents[1]

    async def read_code(_msisdn: str) -> str:
        return BASELINE_CODE

    rasa = rasa_part(
        model, workdir, server_environment(), project / "endpoints.yml", project=project
    )
    with launcher.started([rasa]) as servers:
        yield RunningBot(BASELINE, servers, read_code)


def train_assistant(workdir: Path) -> float:
    """Seconds for `rasa train --force` of the project into workdir, with an empty cache of
    its own so that nothing trained before is reused."""
    from rasa_plugins.nlu.spacy_pipeline import ensure_pipeline

    ensure_pipeline()  # the spaCy pipeline the config names; built once, not part of training
    started = time.monotonic()
    run_quietly(
        rasa_command("train", "--force", "--out", str(workdir / "models")),
        cwd=PROJECT_ROOT,
        log=workdir / "train.log",
        env={"RASA_CACHE_DIRECTORY": str(workdir / "cache")},
    )
    return time.monotonic() - started


def run_quietly(
    command: Sequence[str], cwd: Path, log: Path, env: dict[str, str] | None = None
) -> None:
    with log.open("w") as output:
        result = subprocess.run(
            list(command),
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**server_environment(), **(env or {})},
        )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed; see {log}")
