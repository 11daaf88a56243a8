"""Building trackers and running actions without a Rasa server or a trained model."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


def make_tracker(
    text: str = "",
    intent: str = "inform",
    entities: dict[str, Any] | None = None,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    intent_ranking: list[dict[str, Any]] | None = None,
    sender_id: str = "test-conversation",
    input_channel: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker whose latest message is `text`, sent on `input_channel` with `metadata`. A
    customer given a `verified_msisdn` slot verified just now, unless the test sets
    `verified_at` itself."""
    latest_message = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "intent_ranking": intent_ranking or [{"name": intent, "confidence": 0.9}],
        "entities": [
            {"entity": name, "value": value}
            for name, values in (entities or {}).items()
            for value in (values if isinstance(values, list) else [values])
        ],
        "metadata": metadata or {},
    }
    history = list(events or [])
    history.append(
        {
            "event": "user",
            "text": text,
            "parse_data": latest_message,
            "timestamp": time.time(),
            "input_channel": input_channel,
            "metadata": metadata or {},
        }
    )
    slots = dict(slots or {})
    if slots.get("verified_msisdn"):
        slots.setdefault("verified_at", time.time())
    return Tracker(
        sender_id=sender_id,
        slots=slots,
        latest_message=latest_message,
        events=history,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run_action(
    action: Action, tracker: Tracker
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run an action; return (messages sent, events returned)."""
    dispatcher = CollectingDispatcher()
    result = action.run(dispatcher, tracker, DOMAIN)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return dispatcher.messages, result


def responses(messages: list[dict[str, Any]]) -> list[str]:
    return [message["response"] for message in messages]


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event["event"] == "slot"}


def handoffs(events: list[dict[str, Any]]) -> list[str]:
    """The actions an action hands over to (see actions.common.hand_over)."""
    return [
        event["value"]
        for event in events
        if event["event"] == "slot" and event["name"] == "handoff" and event["value"]
    ]


def parked(action_name: str, text: str, entities: dict[str, list[str]]) -> str:
    return json.dumps({"action": action_name, "text": text, "entities": entities})


def text_of(response_name: str, language: str = "en", **variables: str) -> str:
    """A response's text as Rasa renders it for a customer writing in `language`."""
    variants = DOMAIN["responses"][response_name]
    wanted = [v for v in variants if bool(v.get("condition")) == (language == "zh")]
    text = wanted[0]["text"]
    return text.format(**variables) if variables else text
