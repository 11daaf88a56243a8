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
from sanic import Sanic

from rasa_plugins.channels import AssistantRestInput, TelegramBridgeInput, WebChatInput
from telecom_assistant.trust import CHANNEL_SECRET_HEADER

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
