"""The test stories: every flow, happy and unhappy, in English, Chinese and mixed. `rasa test`
checks the dialogue (the next action after each turn); the NLU check below checks that the
model reads each customer message of the stories as the story's intent."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.actions_support import PROJECT_ROOT

pytestmark = pytest.mark.model


@pytest.mark.parametrize(
    "stories, minimum",
    [
        ("tests/test_stories.yml", 25),  # English
        ("tests/test_stories_zh.yml", 20),  # Chinese and mixed, and switching language
    ],
)
def test_every_story_is_predicted_exactly(model, tmp_path, stories, minimum):
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "rasa"),
            "test",
            "core",
            "--model",
            str(model),
            "--stories",
            stories,
            "--out",
            str(tmp_path),
            "--fail-on-prediction-errors",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = (
        failed.read_text() if failed.exists() else result.stdout[-3000:] + result.stderr[-3000:]
    )
    assert result.returncode == 0, details
    correct, total = map(
        int,
        re.search(
            r"CONVERSATION level:.*?Correct:\s+(\d+) / (\d+)",
            result.stdout + result.stderr,
            re.DOTALL,
        ).groups(),
    )
    assert correct == total >= minimum


# Answers to these form questions are taken as free text whatever the model reads them as.
FREE_TEXT_SLOTS = {"complaint_description", "spam_sender", "spam_content"}


def story_turns(path: str) -> list[tuple[str, str]]:
    """(text, intent) of the story messages whose intent matters: not the free-text answers,
    and not nlu_fallback (the absence of an intent, decided by a threshold, not learned)."""
    stories = yaml.safe_load((PROJECT_ROOT / path).read_text(encoding="utf-8"))["stories"]
    turns = []
    for story in stories:
        requested = None
        for step in story["steps"]:
            for slots in step.get("slot_was_set", []):
                requested = slots.get("requested_slot", requested)
            if (
                "user" in step
                and step["intent"] != "nlu_fallback"
                and requested not in FREE_TEXT_SLOTS
            ):
                text = re.sub(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})", r"\1", step["user"]).strip()
                turns.append((text, step["intent"]))
    return turns


# A message close to the line between two intents may flip when the training data grows. On
# 2026-12-06 the model read 211 of these 216 messages right (97.7 %); the bar leaves room for
# such flips, and the misread messages are listed when it is not met.
MIN_STORY_NLU_ACCURACY = 0.95


def test_the_model_reads_the_story_messages_as_their_intents(model):
    from rasa.core.agent import Agent

    async def predictions() -> list[tuple[str, str, str]]:
        agent = Agent.load(str(model))
        return [
            (text, intent, (await agent.parse_message(text))["intent"]["name"])
            for path in ("tests/test_stories.yml", "tests/test_stories_zh.yml")
            for text, intent in story_turns(path)
        ]

    results = asyncio.run(predictions())
    misread = [result for result in results if result[1] != result[2]]
    assert 1 - len(misread) / len(results) >= MIN_STORY_NLU_ACCURACY, misread
