"""The domain, the data and the actions agree: every response an action names exists, every
response exists for a reason, and Rasa's own validator is clean."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from actions.conversation import CLARIFIABLE_INTENTS
from actions.escalation import Trigger
from telecom_assistant.accounts.service import (
    BillStatus,
    ChargeCategory,
    FiveGSupport,
    IndoorCoverage,
    OutdoorCoverage,
    PortabilityBlocker,
)
from telecom_assistant.tickets.model import NetworkIssue, Status
from tests.actions_support import DOMAIN, PROJECT_ROOT

# Responses whose names actions build from a value: f"utter_bill_line_{category}" and so on.
DYNAMIC_FAMILIES = {
    "utter_usage_warning_": ["data", "minutes", "sms"],
    "utter_bill_line_": [c.value for c in ChargeCategory],
    "utter_explain_": [c.value for c in ChargeCategory],
    "utter_bill_": [s.value for s in BillStatus],
    "utter_5g_device_": [s.value for s in FiveGSupport],
    "utter_5g_outdoor_": [c.value for c in OutdoorCoverage],
    "utter_5g_indoor_": [c.value for c in IndoorCoverage],
    "utter_port_blocked_": [b.value for b in PortabilityBlocker],
    "utter_label_": sorted(CLARIFIABLE_INTENTS),
    "utter_escalation_intro_": [t.value for t in Trigger],
    "utter_ticket_status_": [s.value for s in Status],
    "utter_troubleshoot_": [i.value for i in NetworkIssue],
}
# An intent no customer types: a program runs it (Rasa's external events, as reminders are).
EXTERNAL = "EXTERNAL_"
EXTERNAL_INTENT_NOT_IN_NLU = re.compile(
    rf"The intent '{EXTERNAL}\w+' is listed in the domain file, but is not found in the NLU"
)
SOURCES = [
    *Path(PROJECT_ROOT, "actions").glob("*.py"),
    *Path(PROJECT_ROOT, "rasa_plugins").glob("*.py"),
]


def named_in_code() -> set[str]:
    names = set()
    for path in SOURCES:
        names |= set(re.findall(r'"(utter_[a-z0-9_]+)"', path.read_text(encoding="utf-8")))
    return names


def named_in_rules() -> set[str]:
    rules = yaml.safe_load((PROJECT_ROOT / "data" / "rules.yml").read_text(encoding="utf-8"))
    return {step["action"] for rule in rules["rules"] for step in rule["steps"] if "action" in step}


def dynamic_names() -> set[str]:
    return {prefix + value for prefix, values in DYNAMIC_FAMILIES.items() for value in values}


def test_every_response_an_action_names_exists():
    missing = (named_in_code() | dynamic_names()) - set(DOMAIN["responses"])
    assert not missing


def test_every_response_is_used():
    used = (
        named_in_code()
        | named_in_rules()
        | dynamic_names()
        | {
            f"utter_ask_{slot}"
            for form in DOMAIN["forms"].values()
            for slot in form["required_slots"]
            if f"action_ask_{slot}" not in DOMAIN["actions"]
        }
    )
    assert set(DOMAIN["responses"]) - used == set()


def test_every_action_in_the_domain_is_implemented():
    implemented = set()
    for path in Path(PROJECT_ROOT, "actions").glob("*.py"):
        implemented |= set(
            re.findall(r'return "((?:action|validate)_[a-z0-9_]+)"', path.read_text())
        )
    assert set(DOMAIN["actions"]) == implemented


def test_rasa_data_validate_is_clean():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), "data", "validate", "--fail-on-warnings"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Responses used only by actions are reported as unused in stories, and intents that no
    # customer types (EXTERNAL_*, run by a program) as missing from the NLU data; nothing else
    # may warn.
    warnings = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if "UserWarning" in line
        and "is not used in any story or rule" not in line
        and not EXTERNAL_INTENT_NOT_IN_NLU.search(line)
    ]
    assert warnings == []


def test_enough_varied_examples_per_intent():
    counts = {}
    for path in Path(PROJECT_ROOT, "data", "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if "intent" in block:
                examples = [line for line in block["examples"].splitlines() if line.strip()]
                counts[block["intent"]] = counts.get(block["intent"], 0) + len(examples)
    intents = {
        intent
        for intent in DOMAIN["intents"]
        if intent != "nlu_fallback" and not intent.startswith(EXTERNAL)
    }
    assert set(counts) == intents
    assert min(counts.values()) >= 30, counts
