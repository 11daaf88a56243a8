"""Rasa's per-message work made cheaper (rasa_plugins/speedups.py) gives Rasa's results: the
same action server answers pass and fail, with Rasa's own explanation, and every event name
finds the class Rasa's own lookup finds; what is loaded at start-up is out of the garbage
collector's reach, in Rasa and in the action server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.utils.common import all_subclasses

import rasa_plugins.channels  # noqa: F401 - installs the speed-ups, as Rasa's import of it does
from rasa_plugins.speedups import _rasa_event_class, _rasa_validation, action_response_validator

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ANSWER = {
    "events": [{"event": "slot", "timestamp": None, "name": "handoff", "value": None}],
    "responses": [{"response": "utter_bill_summary", "total": "¥149.00", "buttons": []}],
}
BROKEN = {"events": [{"event": "slot", "name": "handoff"}, "not an event"], "responses": {}}


def test_rasa_checks_answers_with_the_schema_checked_once():
    assert RemoteAction._validate_action_result is not _rasa_validation
    assert RemoteAction("action_check_bill", None)._validate_action_result(ANSWER) is True
    assert RemoteAction("action_check_bill", None)._validate_action_result({}) is True
    # Rasa's own check takes about 30 ms an answer, most of it checking the schema again.
    assert action_response_validator() is action_response_validator()


def test_a_broken_answer_fails_with_rasas_own_explanation():
    with pytest.raises(ValidationError) as ours:
        RemoteAction("action_check_bill", None)._validate_action_result(BROKEN)
    with pytest.raises(ValidationError) as rasas:
        _rasa_validation(RemoteAction("action_check_bill", None), BROKEN)
    assert ours.value.message == rasas.value.message
    assert "Failed to validate Action server response" in ours.value.message


def test_every_event_name_finds_the_class_rasa_finds_every_time():
    names = {event_class.type_name for event_class in all_subclasses(Event)}
    for _ in range(2):  # the second time from memory
        for name in names:
            assert Event.resolve_by_type(name) is _rasa_event_class(name)
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.from_parameters({"event": "slot", "name": "handoff", "value": None}) == SlotSet(
        "handoff", None
    )


def test_unknown_event_names_are_answered_as_rasa_answers_them():
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", default=ActionExecuted) is ActionExecuted
    assert Event.resolve_by_type("topic") is None
    # A default is never remembered as the class of a name it does not have.
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")


# Each in a process of its own: freezing is for the life of the process.
RASA_CHANNEL_STARTED = """
import gc
from sanic import Sanic
from rasa_plugins.channels import AssistantRestInput
from ops.launcher import free_port

async def ignore(message):
    pass

app = Sanic("frozen")
app.blueprint(AssistantRestInput().blueprint(ignore))

@app.listener("after_server_start")
async def report_and_stop(app, loop):
    print("frozen objects:", gc.get_freeze_count(), flush=True)
    app.stop()

app.run(host="127.0.0.1", port=free_port(), access_log=False)
"""


def frozen_objects(code: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        text=True,
        capture_output=True,
        timeout=240,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    found = re.search(r"frozen objects: (\d+)", result.stdout)
    assert found, result.stderr[-2000:]
    return int(found.group(1))


def test_rasa_s_objects_are_out_of_the_collector_s_reach_once_started():
    assert frozen_objects(RASA_CHANNEL_STARTED) > 100_000


def test_the_action_server_s_objects_are_out_of_the_collector_s_reach_once_imported():
    code = "import gc, actions; print('frozen objects:', gc.get_freeze_count())"
    assert frozen_objects(code) > 100_000
