"""`telecom benchmark --recovery`: how long customers wait when the action server dies.

The assistant runs under the supervisor, as `telecom run` starts it (on free ports, over a
scratch database). A customer verifies their line and asks for their usage; the action server
is killed (SIGKILL, as a crash would); the customer asks again, is told to try again shortly,
and asks once more as soon as the supervisor has the action server back: the figure is the
seconds from the kill to that real answer. tests/e2e/test_supervisor_heals.py checks the same
story's answers.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from demo.seed import reset_database
from ops.benchmark.load import MESSAGE_TIMEOUT_SECONDS, REST_WEBHOOK
from ops.benchmark.servers import (
    ACTION_SERVER,
    action_server_part,
    production_endpoints,
    rasa_part,
    server_environment,
)
from ops.launcher import POLL_SECONDS, answers
from ops.supervisor import Supervisor
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.clock import operator_now
from telecom_assistant.database import PROJECT_ROOT, make_engine
from telecom_assistant.language import ENGLISH, response_text

# A demo line, and a question only the action server can answer, once the line is verified.
PHONE = "13800000018"
QUESTION = "how much data do i have left"
ONE_TIME_CODE = re.compile(r"\b\d{6}\b")
RASA_SERVER = "Rasa server"
# Longer than a restart ever takes: the supervisor's first pause and the action server's start.
RECOVERY_TIMEOUT_SECONDS = 120


@dataclass
class SupervisedAssistant:
    """The action server and Rasa (with the project's tracker store, in the working directory)
    looked after by a supervisor."""

    rasa_url: str
    database_url: str
    supervisor: Supervisor

    def say(self, sender: str, text: str) -> list[str]:
        answer = httpx.post(
            f"{self.rasa_url}{REST_WEBHOOK}",
            json={"sender": sender, "message": text},
            timeout=MESSAGE_TIMEOUT_SECONDS,
        )
        answer.raise_for_status()
        return [reply.get("text", "") for reply in answer.json()]

    def latest_code(self, msisdn: str) -> str:
        body = SqlAccountService(make_engine(self.database_url)).latest_sms(msisdn)
        found = ONE_TIME_CODE.search(body or "")
        if found is None:
            raise AssertionError(f"no one-time code was sent to {msisdn}")
        return found.group()


@contextmanager
def supervised_assistant(model: Path, workdir: Path) -> Iterator[SupervisedAssistant]:
    database_url = f"sqlite:///{workdir / 'telecom.db'}"
    reset_database(make_engine(database_url), operator_now().date())
    env = server_environment(database_url)
    actions = action_server_part(workdir, env)
    rasa = rasa_part(
        model, workdir, env, production_endpoints(workdir, actions.url), name=RASA_SERVER
    )
    supervisor = Supervisor([actions, rasa])
    done = threading.Event()
    watcher = threading.Thread(target=supervisor.watch, args=(done,), daemon=True)
    try:
        supervisor.start()
        watcher.start()
        yield SupervisedAssistant(rasa.url, database_url, supervisor)
    finally:
        done.set()
        if watcher.is_alive():
            watcher.join()
        supervisor.stop()


@dataclass
class Recovery:
    """What the customer was told along the way, and the figure."""

    verified: list[str]
    while_down: list[str]
    back: list[str]
    # From the kill to the answer in `back`.
    seconds: float


def kill_the_action_server_mid_conversation(assistant: SupervisedAssistant) -> Recovery:
    sender = f"recovery-{uuid.uuid4().hex[:8]}"
    assistant.say(sender, QUESTION)
    assistant.say(sender, PHONE)
    verified = assistant.say(sender, assistant.latest_code(PHONE))
    action_server = assistant.supervisor.current(ACTION_SERVER)
    killed_at = time.monotonic()
    action_server.process.kill()
    action_server.process.wait()
    while_down = assistant.say(sender, QUESTION)
    deadline = killed_at + RECOVERY_TIMEOUT_SECONDS
    while not answers(action_server.part):
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the {ACTION_SERVER} was not back within {RECOVERY_TIMEOUT_SECONDS} s"
            )
        time.sleep(POLL_SECONDS)
    back = assistant.say(sender, QUESTION)
    return Recovery(verified, while_down, back, time.monotonic() - killed_at)


def unavailable_text() -> str:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return response_text(domain, "utter_assistant_unavailable", ENGLISH) or ""


def measure_recovery(model: Path) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="telecom-recovery-") as temporary,
        supervised_assistant(model, Path(temporary)) as assistant,
    ):
        recovery = kill_the_action_server_mid_conversation(assistant)
    unavailable = unavailable_text()
    if recovery.while_down != [unavailable] or unavailable in recovery.back:
        print(
            f"The story did not go as expected: while the {ACTION_SERVER} was down the "
            f"customer read {recovery.while_down}, once it was back {recovery.back}."
        )
        return 1
    print(
        f"The {ACTION_SERVER} was killed mid-conversation: real answers again "
        f"{recovery.seconds:.1f} s later."
    )
    return 0
