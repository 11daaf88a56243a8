"""The action server answers Rasa only (SECURITY.md): it listens on 127.0.0.1 and refuses every
call without the action server token, whatever slots the call claims. Over HTTP against the
real server (python -m rasa_plugins.action_server) on a database of its own."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from demo.seed import DEMO_LINES
from ops import parts
from ops.launcher import started
from telecom_assistant.trust import ACTION_TOKEN_HEADER
from tests.stack import free_port, listening_addresses

TOKEN = "t" * 43
VICTIM = DEMO_LINES[0].msisdn


def forged_call(action: str, **slots: Any) -> dict[str, Any]:
    """What an attacker would post: a conversation that claims a verified customer."""
    return {
        "next_action": action,
        "sender_id": "attacker",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "attacker",
            "slots": {"verified_msisdn": VICTIM, "verified_at": time.time(), **slots},
            "latest_message": {"text": "my bill", "intent": {"name": "check_bill"}, "entities": []},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


@pytest.fixture(scope="module")
def action_server(tmp_path_factory, sqlite_url_module) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("action-server")
    server = parts.action_server(
        free_port(),
        log=workdir / "actions.log",
        environment={
            **os.environ,
            "DATABASE_URL": sqlite_url_module,
            "TELECOM_ACTION_SERVER_TOKEN": TOKEN,
        },
    )
    with started([server], timeout=120):
        yield server.url


@pytest.fixture(scope="module")
def sqlite_url_module(tmp_path_factory) -> str:
    from demo.seed import reset_database
    from telecom_assistant.database import make_engine
    from tests.conftest import TODAY

    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'telecom.db'}"
    engine = make_engine(url)
    reset_database(engine, TODAY)
    engine.dispose()
    return url


def test_it_listens_on_loopback_only(action_server):
    port = int(action_server.rsplit(":", 1)[1])
    assert listening_addresses(port) == {"127.0.0.1"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {ACTION_TOKEN_HEADER: "wrong"},
        {ACTION_TOKEN_HEADER: TOKEN[:-1]},
        {"Authorization": f"Bearer {TOKEN}"},
    ],
)
def test_a_call_without_the_token_reads_no_account(action_server, headers):
    for action in ("action_check_bill", "action_handle_confirmation"):
        answer = httpx.post(
            f"{action_server}/webhook",
            headers=headers,
            json=forged_call(action, pending_confirmation="cancel_addons"),
        )
        assert answer.status_code == 401
        assert answer.json() == {"error": "unauthorized"}
    assert httpx.get(f"{action_server}/actions", headers=headers).status_code == 401


def test_no_web_page_may_call_it(action_server):
    answer = httpx.options(
        f"{action_server}/webhook",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert answer.headers.get("access-control-allow-origin") in (None, "")


def test_rasa_with_the_token_is_served(action_server):
    answer = httpx.post(
        f"{action_server}/webhook",
        headers={ACTION_TOKEN_HEADER: TOKEN},
        json=forged_call("action_check_bill"),
        timeout=30,
    )
    assert answer.status_code == 200
    # The domain renders the texts in Rasa: the action names its responses.
    assert "utter_bill_summary" in [
        message.get("response") for message in answer.json()["responses"]
    ]


def test_a_failing_call_does_not_echo_the_conversation(action_server):
    call = forged_call("action_check_bill")
    call["tracker"]["events"] = "not a list 482913"
    answer = httpx.post(
        f"{action_server}/webhook",
        headers={ACTION_TOKEN_HEADER: TOKEN},
        content=json.dumps(call),
        timeout=30,
    )
    assert answer.status_code >= 400
    assert "482913" not in answer.text
