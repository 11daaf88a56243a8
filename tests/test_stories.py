"""`rasa test` on the test stories: every flow, happy and unhappy, from the customer's words
(NLU) to the assistant's next action (dialogue policy)."""
from __future__ import annotations

import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .actions_support import PROJECT_ROOT

pytestmark = pytest.mark.model


def test_every_story_is_predicted_exactly(model, tmp_path):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), "test", "core", "--model", str(model),
         "--stories", "tests/test_stories.yml", "--out", str(tmp_path),
         "--fail-on-prediction-errors"],
        cwd=PROJECT_ROOT, capture_output=True, text=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, details
    correct, total = map(int, re.search(
        r"CONVERSATION level:.*?Correct:\s+(\d+) / (\d+)", result.stdout + result.stderr, re.DOTALL
    ).groups())
    assert correct == total >= 25
