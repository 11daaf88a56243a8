"""The bots under test, each started on free ports in a directory of its own: the assistant
as `telecom run` starts it (embedded profile) or its production profile, and Rasa's starter
bot made by `rasa init` (the baseline)."""
from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from demo.seed import reset_database
from ops.benchmark.load import CodeReader
from ops.benchmark.servers import (
    ACTION_SERVER,
    BIN,
    RASA,
    Server,
    production_endpoints,
    server_environment,
    start_action_server,
    start_production_servers,
    start_rasa,
    stop_all,
)
from ops.production import DEFAULT_REDIS_URL, ProductionSettings
from ops.production.nginx import nginx_binary
from rasa_plugins.lock_store import delete_locks
from telecom_assistant.accounts.sql import LIMIT_VARIABLES, SqlAccountService
from telecom_assistant.clock import operator_now
from telecom_assistant.database import PROJECT_ROOT, make_engine, scratch_postgres_database

ASSISTANT = "telecom assistant"
PRODUCTION_ASSISTANT = "telecom assistant, production profile"
BASELINE = "rasa init bot"
# The baseline has no verification: its customers type a code all the same.
BASELINE_CODE = "246810"
ONE_TIME_CODE_IN_SMS = re.compile(r"\b\d{6}\b")
# The benchmark's few demo customers verify thousands of times a run, far beyond what the
# verification throttles allow one phone: lifted for its servers, still counted.
LOAD_TEST_LIMITS = {variable: "1000000" for variable in LIMIT_VARIABLES.values()}
PROFILES = {ACTION_SERVER: "actions.prof", RASA: "rasa.prof"}


@dataclass
class RunningBot:
    name: str
    servers: list[Server]
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
        return ONE_TIME_CODE_IN_SMS.search(body).group()

    return read_code


@contextmanager
def assistant(model: Path, workdir: Path,
              profile_dir: Optional[Path] = None) -> Iterator[RunningBot]:
    """The action server and Rasa with the project's endpoints (its tracker store kept in
    workdir) over a freshly seeded SQLite database in workdir; under cProfile when given a
    `profile_dir` (PROFILES names the files each server writes there as it stops)."""
    database_url = f"sqlite:///{workdir / 'telecom.db'}"
    reset_database(make_engine(database_url), operator_now().date())
    env = {**server_environment(database_url), **LOAD_TEST_LIMITS}
    profiles = {name: profile_dir / file for name, file in PROFILES.items()} if profile_dir else {}
    servers = [start_action_server(workdir, env, profiles.get(ACTION_SERVER))]
    try:
        endpoints = production_endpoints(workdir, servers[0].url)
        servers.append(start_rasa(model, workdir, env, endpoints, profile_to=profiles.get(RASA)))
        yield RunningBot(ASSISTANT, servers, outbox_reader(database_url))
    finally:
        stop_all(servers)


@contextmanager
def production_assistant(model: Path, workdir: Path, postgres_admin_url: str,
                         rasa_servers: int) -> Iterator[RunningBot]:
    """The production profile: `rasa_servers` Rasa servers and an action server behind nginx,
    over a freshly seeded PostgreSQL database of its own (made through `postgres_admin_url`,
    dropped afterwards) and lock keys of its own in Redis (REDIS_URL, deleted afterwards)."""
    nginx = nginx_binary()
    if nginx is None:
        raise RuntimeError("nginx is not installed: scripts/bootstrap.sh --with-nginx")
    with scratch_postgres_database(postgres_admin_url, "telecom_benchmark") as database_url:
        reset_database(make_engine(database_url), operator_now().date())
        settings = ProductionSettings(
            database_url, redis_url=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
            lock_key_prefix=f"benchmark{uuid.uuid4().hex[:12]}", rasa_servers=rasa_servers,
            action_servers=1)
        problems = settings.problems()
        if problems:
            raise RuntimeError("\n".join(problems))
        servers = start_production_servers(model, workdir, settings, nginx, LOAD_TEST_LIMITS)
        try:
            yield RunningBot(f"{PRODUCTION_ASSISTANT} ({rasa_servers} Rasa servers)", servers,
                             outbox_reader(database_url))
        finally:
            stop_all(servers)
            delete_locks(settings.redis_url, settings.lock_key_prefix)


def train_baseline(workdir: Path) -> tuple[Path, float]:
    """`rasa init --no-prompt` in workdir/project, which trains the starter bot with Rasa's
    default config; the model and the seconds it took (scaffolding is a file copy)."""
    project = workdir / "project"
    project.mkdir(parents=True)
    started = time.monotonic()
    run_quietly([str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(project)],
                cwd=workdir, log=workdir / "init.log")
    seconds = time.monotonic() - started
    return next((project / "models").glob("*.tar.gz")), seconds


@contextmanager
def baseline(model: Path, workdir: Path) -> Iterator[RunningBot]:
    """The starter bot as `rasa init` leaves it: no action server, in-memory tracker store."""
    project = model.parents[1]
    server = start_rasa(model, workdir, server_environment(), project / "endpoints.yml",
                        project=project)
    try:
        async def read_code(_msisdn: str) -> str:
            return BASELINE_CODE

        yield RunningBot(BASELINE, [server], read_code)
    finally:
        stop_all([server])


def train_assistant(workdir: Path) -> float:
    """Seconds for `rasa train --force` of the project into workdir, with an empty cache of
    its own so that nothing trained before is reused."""
    from rasa_plugins.nlu.spacy_pipeline import ensure_pipeline

    ensure_pipeline()  # the spaCy pipeline the config names; built once, not part of training
    started = time.monotonic()
    run_quietly([str(BIN / "rasa"), "train", "--force", "--out", str(workdir / "models")],
                cwd=PROJECT_ROOT, log=workdir / "train.log",
                env={"RASA_CACHE_DIRECTORY": str(workdir / "cache")})
    return time.monotonic() - started


def run_quietly(command: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> None:
    with log.open("w") as output:
        result = subprocess.run(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT,
                                env={**server_environment(), **(env or {})})
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed; see {log}")
