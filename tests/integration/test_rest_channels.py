"""Rasa's channels as the project configures them (rasa_plugins/channels.py), served by Sanic on a
free port with a stand-in for Rasa's message handler: the channel programs' doors need the
channel secret, the plain REST door only in the production profile; the channel is the
door's, never the body's; text arrives clean; a failed turn is answered and logged without
what the customer wrote."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from sanic import Sanic

from rasa_plugins.channels import (
    AssistantRestInput,
    TelegramBridgeInput,
    WebChatInput,
    reminder_turn_ran,
)
from telecom_assistant.trust import CHANNEL_SECRET_HEADER
from tests.scripted_rasa import ScriptedRasa

SECRET = "s" * 40
CHANNELS = (AssistantRestInput, TelegramBridgeInput, WebChatInput)


def post_to_channels(
    handler: Callable[[UserMessage], Awaitable[None]],
    requests: list[tuple[str, dict[str, Any], dict[str, str]]],
) -> list[httpx.Response]:
    """Serves the three channels with `handler` as Rasa, posts each (channel, body, headers)."""

    async def serve_and_post() -> list[httpx.Response]:
        app = Sanic(f"channels{uuid.uuid4().hex}")
        for channel in CHANNELS:
            app.blueprint(channel().blueprint(handler), url_prefix=f"/webhooks/{channel.name()}")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            server = await app.create_server(
                sock=sock, return_asyncio_server=True, access_log=False
            )
            await server.startup()
            try:
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{sock.getsockname()[1]}"
                ) as client:
                    return [
                        await client.post(f"/webhooks/{name}/webhook", json=body, headers=headers)
                        for name, body, headers in requests
                    ]
            finally:
                server.close()
                await server.wait_closed()

    return asyncio.run(serve_and_post())


@pytest.fixture(autouse=True)
def sanic_keeps_its_handlers(monkeypatch):
    # Sanic rewrites its request handler at a server's start-up, which breaks the next server
    # of the process; in test mode it keeps the original.
    monkeypatch.setattr(Sanic, "test_mode", True)


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv("TELECOM_CHANNEL_SECRET", SECRET)
    monkeypatch.delenv("TELECOM_PROFILE", raising=False)


def recording(received: list[UserMessage]) -> Callable[[UserMessage], Awaitable[None]]:
    async def handle(message: UserMessage) -> None:
        received.append(message)
        await message.output_channel.send_text_message(message.sender_id, "answer")

    return handle


@pytest.mark.parametrize("channel", ["webchat", "telegram"])
def test_the_channel_programs_doors_need_the_secret_in_every_profile(secret, channel):
    received: list[UserMessage] = []
    body = {"sender": "someone", "message": "my bill"}
    refused, wrong, accepted = post_to_channels(
        recording(received),
        [
            (channel, body, {}),
            (channel, body, {CHANNEL_SECRET_HEADER: SECRET[:-1] + "x"}),
            (channel, body, {CHANNEL_SECRET_HEADER: SECRET}),
        ],
    )
    assert (refused.status_code, wrong.status_code) == (401, 401)
    assert accepted.status_code == 200 and accepted.json()[0]["text"] == "answer"
    assert len(received) == 1


def test_the_rest_door_is_open_locally_and_closed_in_production(secret, monkeypatch):
    body = {"sender": "script", "message": "hello"}
    assert post_to_channels(recording([]), [("rest", body, {})])[0].status_code == 200
    monkeypatch.setenv("TELECOM_PROFILE", "production")
    refused, accepted = post_to_channels(
        recording([]), [("rest", body, {}), ("rest", body, {CHANNEL_SECRET_HEADER: SECRET})]
    )
    assert (refused.status_code, accepted.status_code) == (401, 200)


def test_the_channel_is_the_doors_whatever_the_body_says(secret):
    received: list[UserMessage] = []
    post_to_channels(
        recording(received),
        [
            ("rest", {"sender": "a", "message": "hi", "input_channel": "telegram"}, {}),
            (
                "webchat",
                {"sender": "b", "message": "hi", "input_channel": "telegram"},
                {CHANNEL_SECRET_HEADER: SECRET},
            ),
        ],
    )
    assert [message.input_channel for message in received] == ["rest", "webchat"]


def test_control_and_invisible_characters_never_reach_the_assistant(secret):
    received: list[UserMessage] = []
    post_to_channels(
        recording(received),
        [("rest", {"sender": "a", "message": "13800\u200b000\x00001 \U0001f600"}, {})],
    )
    assert received[0].text == "13800000001 \U0001f600"


def test_a_failed_turn_is_answered_and_logged_without_the_message(secret, caplog):
    async def failing(message: UserMessage) -> None:
        raise RuntimeError(f"database said no to {message.text}")

    with caplog.at_level(logging.INFO):
        (answer,) = post_to_channels(
            failing, [("rest", {"sender": "a", "message": "my code is 482913"}, {})]
        )
    assert answer.status_code == 200
    assert "can't" in answer.json()[0]["text"] or "reach" in answer.json()[0]["text"]
    assert "RuntimeError" in caplog.text
    assert "482913" not in caplog.text


# --- A message sent again with its key ------------------------------------------------------

KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def post_with_key(scenario: Callable[[httpx.AsyncClient, ScriptedRasa], Awaitable[None]]) -> None:
    """Runs scenario with a client for the Telegram channel of a ScriptedRasa."""

    async def main() -> None:
        rasa = ScriptedRasa(SECRET)
        url = await rasa.start()
        try:
            async with httpx.AsyncClient(
                base_url=f"{url}/webhooks/telegram", headers={CHANNEL_SECRET_HEADER: SECRET}
            ) as client:
                await scenario(client, rasa)
        finally:
            await rasa.stop()

    asyncio.run(main())


def test_a_message_sent_again_with_its_key_is_answered_without_running_its_turn_again():
    body = {"sender": "c1", "message": "13800000018", "message_id": KEY}
    answer = [{"recipient_id": "c1", "text": "echo: 13800000018"}]

    async def scenario(client: httpx.AsyncClient, rasa: ScriptedRasa) -> None:
        rasa.slow["13800000018"] = 0.6  # as a turn waits for the conversation's lock
        # The first request gives up waiting; the turn runs on.
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/webhook", json=body, timeout=0.2)
        # Sent again while the turn runs: answered when it ends.
        while_running = await client.post("/webhook", json={**body, "retry": True})
        # Sent again after it ended (by a channel program restarted meanwhile, say): answered
        # from the conversation.
        after = await client.post("/webhook", json={**body, "retry": True})
        assert while_running.json() == after.json() == answer
        assert rasa.turns == [("c1", "13800000018", KEY)]

    post_with_key(scenario)


def test_the_same_words_under_another_key_are_a_new_message():
    async def scenario(client: httpx.AsyncClient, rasa: ScriptedRasa) -> None:
        for key in (KEY, KEY[::-1]):
            body = {"sender": "c1", "message": "yes", "message_id": key, "retry": True}
            assert (await client.post("/webhook", json=body)).json()[0]["text"] == "echo: yes"
        assert rasa.turns_of("yes") == 2

    post_with_key(scenario)


@pytest.mark.parametrize("key", ["short", "x" * 65, "a key with spaces", 12345678])
def test_a_key_that_is_not_one_is_refused(key):
    async def scenario(client: httpx.AsyncClient, rasa: ScriptedRasa) -> None:
        body = {"sender": "c1", "message": "hi", "message_id": key}
        refused = await client.post("/webhook", json=body)
        assert refused.status_code == 400
        assert "message_id must be" in refused.json()["error"]
        assert rasa.turns == []

    post_with_key(scenario)


def test_the_reminder_door_answers_503_when_the_reminders_action_did_not_run():
    """The action server down (or its database): Rasa records the action without its events
    and says nothing. The scheduler must hear that the chat did not get the reminder."""
    body = {"sender": "c1", "reminder": 7}

    async def scenario(client: httpx.AsyncClient, rasa: ScriptedRasa) -> None:
        rasa.reminder_action_fails = True
        failed = await client.post("/reminder", json=body)
        assert failed.status_code == 503
        rasa.reminder_action_fails = False
        said = await client.post("/reminder", json=body)
        assert said.status_code == 200 and said.json()[0]["text"].startswith("EXTERNAL_reminder")

    post_with_key(scenario)


def test_a_reminder_turn_ran_when_its_action_set_a_slot_however_quiet():
    remind, listen = ActionExecuted("action_remind"), ActionExecuted("action_listen")
    topic = SlotSet("reminder_topic", None)
    assert reminder_turn_ran([UserUttered("hi"), remind, topic, listen])
    assert not reminder_turn_ran([UserUttered("hi"), remind, listen])
    # The latest run decides: an earlier one that ran says nothing of it.
    assert not reminder_turn_ran([remind, topic, listen, remind, listen])
    # A slot set by another action after the reminder's does not count.
    assert not reminder_turn_ran([remind, listen, ActionExecuted("action_greet"), topic])
