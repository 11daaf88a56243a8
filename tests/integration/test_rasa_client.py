"""The channels' Rasa client (channels/rasa_client.py) against a small fake Rasa: an aiohttp
server on 127.0.0.1 with the REST channels' webhooks and Rasa's hello at /."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from channels.rasa_client import BotMessage, Button, RasaClient, RasaUnavailable
from telecom_assistant.trust import CHANNEL_SECRET_HEADER
from tests.fake_telegram import free_port, serve

CHANNEL_SECRET = "the-rasa-client-tests-channel-secret-0123456789"
CONVERSATION = "webchat-0123456789abcdef0123456789abcdef"
# What the customer wrote: no error may quote it (the channels log the errors).
CUSTOMER_TEXT = "my number is 13800138000"


class FakeRasa:
    """Answers each message with `answer(request)`; keeps what each request came with."""

    def __init__(self) -> None:
        self.answer: Callable[[web.Request], Awaitable[web.StreamResponse]] = echo
        self.received: list[dict[str, Any]] = []
        self.paths: list[str] = []
        # The channel secret header of every request, GET / included (None: not sent).
        self.secrets_sent: list[str | None] = []
        # The client's port of every request: one port, one connection.
        self.client_ports: list[int] = []
        self.hello_status = 200

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/", self._hello)
        app.router.add_post("/webhooks/{channel}/webhook", self._message)
        self._runner, url = await serve(app)
        return url

    async def stop(self) -> None:
        await self._runner.cleanup()

    def _note(self, request: web.Request) -> None:
        self.paths.append(request.path)
        self.secrets_sent.append(request.headers.get(CHANNEL_SECRET_HEADER))
        self.client_ports.append(request.transport.get_extra_info("peername")[1])

    async def _hello(self, request: web.Request) -> web.Response:
        self._note(request)
        return web.Response(text="Hello from Rasa: 3.6.21", status=self.hello_status)

    async def _message(self, request: web.Request) -> web.StreamResponse:
        self._note(request)
        self.received.append(await request.json())
        return await self.answer(request)


async def echo(request: web.Request) -> web.Response:
    body = await request.json()
    return web.json_response([{"recipient_id": body["sender"], "text": f"echo: {body['message']}"}])


def answering(status: int, body: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def answer(_request: web.Request) -> web.Response:
        return web.Response(status=status, text=body, content_type="application/json")

    return answer


async def too_slowly(_request: web.Request) -> web.Response:
    await asyncio.sleep(2)
    return web.json_response([])


Scenario = Callable[[FakeRasa, RasaClient], Awaitable[None]]


def with_fake_rasa(scenario: Scenario, timeout_seconds: float = 5.0) -> None:
    async def main() -> None:
        rasa = FakeRasa()
        client = RasaClient(await rasa.start(), CHANNEL_SECRET, timeout_seconds=timeout_seconds)
        try:
            await scenario(rasa, client)
        finally:
            await client.close()
            await rasa.stop()

    asyncio.run(main())


def test_a_message_goes_to_the_channels_webhook_with_the_channel_secret():
    async def scenario(rasa: FakeRasa, client: RasaClient) -> None:
        replies = await client.send("telegram", CONVERSATION, CUSTOMER_TEXT)
        assert replies == [BotMessage(text=f"echo: {CUSTOMER_TEXT}")]
        assert rasa.paths == ["/webhooks/telegram/webhook"]
        assert rasa.received == [{"sender": CONVERSATION, "message": CUSTOMER_TEXT}]
        assert rasa.secrets_sent == [CHANNEL_SECRET]

    with_fake_rasa(scenario)


def test_metadata_goes_with_the_message():
    async def scenario(rasa: FakeRasa, client: RasaClient) -> None:
        await client.send("webchat", CONVERSATION, "hi", metadata={"language": "zh"})
        assert rasa.received == [
            {"sender": CONVERSATION, "message": "hi", "metadata": {"language": "zh"}}
        ]

    with_fake_rasa(scenario)


def test_texts_images_buttons_and_custom_payloads_are_read():
    answer = [
        {
            "recipient_id": CONVERSATION,
            "text": "Which plan?",
            "buttons": [
                {"title": "Family", "payload": '/inform{"plan": "family"}'},
                {"payload": "/deny"},  # no title: the payload is shown
                {"title": "Yes"},  # no payload: the title is sent
                {"title": "", "payload": ""},  # nothing to show or send: left out
            ],
        },
        {"recipient_id": CONVERSATION, "image": "https://example.com/coverage.png"},
        {"recipient_id": CONVERSATION, "custom": {"kind": "map", "cells": [1, 2]}},
    ]

    async def scenario(rasa: FakeRasa, client: RasaClient) -> None:
        rasa.answer = answering(200, json.dumps(answer))
        replies = await client.send("webchat", CONVERSATION, "hi")
        assert replies == [
            BotMessage(
                text="Which plan?",
                buttons=(
                    Button("Family", '/inform{"plan": "family"}'),
                    Button("/deny", "/deny"),
                    Button("Yes", "Yes"),
                ),
            ),
            BotMessage(image="https://example.com/coverage.png"),
            BotMessage(custom={"kind": "map", "cells": [1, 2]}),
        ]
        # The web chat hands the page the parts each message has, in Rasa's shape.
        assert [reply.as_json() for reply in replies] == [
            {
                "text": "Which plan?",
                "buttons": [
                    {"title": "Family", "payload": '/inform{"plan": "family"}'},
                    {"title": "/deny", "payload": "/deny"},
                    {"title": "Yes", "payload": "Yes"},
                ],
            },
            {"image": "https://example.com/coverage.png"},
            {"custom": {"kind": "map", "cells": [1, 2]}},
        ]

    with_fake_rasa(scenario)


@pytest.mark.parametrize(
    "answer, complaint",
    [
        (answering(503, '{"error": "action server unreachable"}'), "Rasa answered HTTP 503"),
        (answering(500, "Internal Server Error"), "Rasa answered HTTP 500"),
        # The channel is not registered (yet): the message waits rather than being dropped.
        (answering(404, '{"error": "not found"}'), "Rasa answered HTTP 404"),
        (answering(401, '{"error": "unauthorized"}'), "Rasa refused the channel secret (HTTP 401)"),
        (
            answering(200, "<html>a proxy's error page</html>"),
            "Rasa answered something that is not JSON",
        ),
        (answering(200, '{"text": "hello"}'), "Rasa answered JSON that is not a list of messages"),
        (answering(200, '["hello"]'), "Rasa answered JSON that is not a list of messages"),
        (too_slowly, "Rasa did not answer within 0.3 s"),
    ],
)
def test_every_failure_is_rasa_unavailable_and_never_quotes_the_customer(answer, complaint):
    async def scenario(rasa: FakeRasa, client: RasaClient) -> None:
        rasa.answer = answer
        with pytest.raises(RasaUnavailable) as failure:
            await client.send("webchat", CONVERSATION, CUSTOMER_TEXT)
        assert complaint in str(failure.value)
        assert CUSTOMER_TEXT not in str(failure.value)

    with_fake_rasa(scenario, timeout_seconds=0.3)


def test_nothing_listening_is_rasa_unavailable():
    async def main() -> None:
        url = f"http://127.0.0.1:{free_port()}"
        client = RasaClient(url, CHANNEL_SECRET)
        try:
            with pytest.raises(RasaUnavailable, match=f"cannot reach Rasa at {url}/webhooks/"):
                await client.send("telegram", CONVERSATION, CUSTOMER_TEXT)
            assert not await client.is_reachable()
        finally:
            await client.close()

    asyncio.run(main())


def test_reachable_when_rasa_says_hello_with_the_channel_secret():
    async def scenario(rasa: FakeRasa, client: RasaClient) -> None:
        assert await client.is_reachable()
        assert (rasa.paths, rasa.secrets_sent) == (["/"], [CHANNEL_SECRET])
        rasa.hello_status = 500
        assert not await client.is_reachable()

    with_fake_rasa(scenario)


def test_one_connection_serves_one_message_after_another():
    async def scenario(rasa: FakeRasa, client: RasaClient) -> None:
        for number in range(3):
            await client.send("webchat", f"{CONVERSATION}-{number}", "hi")
        await client.is_reachable()
        await client.send("telegram", CONVERSATION, "hi")
        assert len(rasa.client_ports) == 5
        assert len(set(rasa.client_ports)) == 1

    with_fake_rasa(scenario)
