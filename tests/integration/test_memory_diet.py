"""What each program loads: the embedded profile fits in 2 GB only if the programs that need
no NLU leave TensorFlow and spaCy alone (docs/architecture.md, the memory table). Each check runs
in a fresh interpreter, as the program would start. `telecom run` itself, which supervises
the others, is checked in test_supervisor.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from telecom_assistant.database import PROJECT_ROOT

HEAVY = ("tensorflow", "spacy", "rasa", "torch", "matplotlib")


def loaded_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps([name for name in {HEAVY!r} if sys.modules.get(name) is not None]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "program",
    [
        "console.__main__",  # the agent console
        "channels.webchat.__main__",  # the web chat
        "channels.telegram.__main__",  # the Telegram bridge
        "channels.sms.__main__",  # the SMS business hall
        "scheduler.__main__",  # the reminder scheduler
    ],
)
def test_programs_without_nlu_load_no_tensorflow_spacy_or_rasa(program):
    assert loaded_after(f"import {program}") == []


def test_the_action_server_masks_transcripts_with_spacy_but_without_tensorflow():
    loaded = loaded_after(
        "from rasa_plugins.action_server import keep_tensorflow_out\n"
        "keep_tensorflow_out()\n"
        "import actions\n"
        "from telecom_assistant.tickets.redaction import redact\n"
        "assert redact('the code is 482913', known_codes=['482913'], known_numbers=[])"
        " == 'the code is ******'\n"
    )
    assert loaded == ["spacy"]
