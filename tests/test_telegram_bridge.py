"""The Telegram bridge end to end, offline: the real python-telegram-bot Application polls a
fake Bot API and talks to a fake Rasa, both small aiohttp servers on 127.0.0.1."""
from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from typing import Any, Awaitable, Callable

import pytest
from aiohttp import web

from telegram_bridge import RasaClient, RasaUnavailable, build_application
from telegram_bridge.bridge import TokenBucket
from telegram_bridge.texts import CHINESE, ENGLISH, TEXTS

TOKEN = "123456:TEST-TOKEN"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Assistant", "username": "assistant_bot"}
LONG_PAYLOAD = '/inform{"plan_name": "' + "Unlimited Family Share Premium " * 3 + '"}'
WAIT_SECONDS = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


class FakeBotApi:
    """Just the Bot API methods the bridge and PTB's polling call."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.answered_callbacks: list[str] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner, url = await serve(app)
        return url

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        assert request.match_info["token"] == TOKEN
        # PTB posts form fields (reply_markup as a JSON string); be ready for JSON too.
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await request.post())
        method = request.match_info["method"]
        if method == "getMe":
            result: Any = BOT_USER
        elif method == "getUpdates":
            offset = int(body.get("offset") or 0)
            result = [update for update in self.updates if update["update_id"] >= offset]
        elif method == "sendMessage":
            if isinstance(body.get("reply_markup"), str):
                body["reply_markup"] = json.loads(body["reply_markup"])
            body["chat_id"] = int(body["chat_id"])
            self.sent.append(body)
            result = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": body["chat_id"], "type": "private"},
                "from": BOT_USER,
                "text": body["text"],
            }
        elif method == "answerCallbackQuery":
            self.answered_callbacks.append(body["callback_query_id"])
            result = True
        elif method in {"deleteWebhook", "setMyCommands"}:
            result = True
        else:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": f"fake has no {method}"},
                status=404,
            )
        return web.json_response({"ok": True, "result": result})

    # --- What a customer does ----------------------------------------------------------

    def _queue(self, **content: Any) -> None:
        self.updates.append({"update_id": next(self._update_ids), **content})

    def _message(self, chat_id: int, user: dict[str, Any], **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": user,
            **content,
        }

    def write(self, chat_id: int, message: str, language_code: str = "en") -> None:
        user = customer(chat_id, language_code)
        entities = []
        if message.startswith("/"):
            command_length = len(message.split()[0])
            entities = [{"type": "bot_command", "offset": 0, "length": command_length}]
        self._queue(message=self._message(chat_id, user, text=message, entities=entities))

    def share_contact(self, chat_id: int, contact_user_id: int, phone_number: str) -> None:
        contact = {"phone_number": phone_number, "first_name": "Li", "user_id": contact_user_id}
        self._queue(message=self._message(chat_id, customer(chat_id), contact=contact))

    def press(self, chat_id: int, callback_data: str) -> None:
        self._queue(
            callback_query={
                "id": f"callback-{len(self.updates)}",
                "from": customer(chat_id),
                "chat_instance": f"instance-{chat_id}",
                "data": callback_data,
                "message": self._message(chat_id, BOT_USER, text="(buttons)"),
            }
        )

    # --- What the bridge said ----------------------------------------------------------

    def texts_to(self, chat_id: int) -> list[str]:
        return [sent["text"] for sent in self.sent if sent["chat_id"] == chat_id]

    async def wait_for_text(self, chat_id: int, expected: str) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            for sent in self.sent:
                if sent["chat_id"] == chat_id and sent["text"] == expected:
                    return sent
            await asyncio.sleep(0.02)
        sent_texts = self.texts_to(chat_id)
        raise AssertionError(f"{expected!r} never sent to {chat_id}; sent: {sent_texts}")


def customer(chat_id: int, language_code: str = "en") -> dict[str, Any]:
    """In a private chat the chat id is the user's id."""
    return {"id": chat_id, "is_bot": False, "first_name": "Li", "language_code": language_code}


class FakeRasa:
    """Rasa's REST channel at /webhooks/telegram/webhook: echoes, offers buttons, or is down."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        self.up = True

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/webhooks/telegram/webhook", self._handle)
        self._runner, url = await serve(app)
        return url

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        if not self.up:
            return web.Response(status=503, text="action server unreachable")
        body = await request.json()
        sender, message = body["sender"], body["message"]
        self.received.append((sender, message))
        if message == "silence":
            return web.json_response([])
        reply: dict[str, Any] = {"recipient_id": sender, "text": f"echo: {message}"}
        if message == "offer buttons":
            reply["buttons"] = [
                {"title": "Yes", "payload": "/affirm"},
                {"title": "Family plan", "payload": LONG_PAYLOAD},
            ]
        return web.json_response([reply])

    def messages_from(self, chat_id: int) -> list[str]:
        return [message for sender, message in self.received if sender == f"telegram-{chat_id}"]


Scenario = Callable[[FakeBotApi, FakeRasa], Awaitable[None]]


def run_bridge(scenario: Scenario) -> None:
    """Runs the real Application against both fakes, as run_polling would, around scenario."""

    async def main() -> None:
        telegram, rasa = FakeBotApi(), FakeRasa()
        telegram_url, rasa_url = await telegram.start(), await rasa.start()
        application = build_application(TOKEN, rasa_url, telegram_url, first_retry_delay=0.05)
        try:
            async with application:
                await application.start()
                await application.updater.start_polling(poll_interval=0.05)
                try:
                    await scenario(telegram, rasa)
                finally:
                    await application.updater.stop()
                    await application.stop()
        finally:
            await application.post_shutdown(application)
            await telegram.stop()
            await rasa.stop()

    asyncio.run(main())


def en(key: str) -> str:
    return TEXTS[ENGLISH][key]


def zh(key: str) -> str:
    return TEXTS[CHINESE][key]


def test_a_text_goes_to_rasa_as_the_chats_conversation_and_the_reply_comes_back():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(42, "what is my balance")
        await telegram.wait_for_text(42, "echo: what is my balance")
        assert rasa.received == [("telegram-42", "what is my balance")]

    run_bridge(scenario)


def test_rasa_buttons_become_an_inline_keyboard_and_a_press_sends_the_payload():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(42, "offer buttons")
        offer = await telegram.wait_for_text(42, "echo: offer buttons")
        rows = offer["reply_markup"]["inline_keyboard"]
        assert [[button["text"] for button in row] for row in rows] == [["Yes"], ["Family plan"]]
        yes, family_plan = rows[0][0]["callback_data"], rows[1][0]["callback_data"]
        assert yes == "/affirm"
        # Too long for Telegram's 64 bytes: a short key stands in for the payload.
        assert len(family_plan.encode()) <= 64 and family_plan != LONG_PAYLOAD

        telegram.press(42, yes)
        await telegram.wait_for_text(42, "echo: /affirm")
        telegram.press(42, family_plan)
        await telegram.wait_for_text(42, f"echo: {LONG_PAYLOAD}")
        assert rasa.messages_from(42) == ["offer buttons", "/affirm", LONG_PAYLOAD]
        assert len(telegram.answered_callbacks) == 2

    run_bridge(scenario)


def test_start_offers_to_share_the_phone_number_and_help_explains():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(42, "/start")
        greeting = await telegram.wait_for_text(42, en("start"))
        (row,) = greeting["reply_markup"]["keyboard"]
        assert row == [{"text": en("share_contact"), "request_contact": True}]
        telegram.write(42, "/help")
        await telegram.wait_for_text(42, en("help"))
        assert rasa.received == []

    run_bridge(scenario)


def test_the_customers_own_contact_starts_verification_with_the_number():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.share_contact(42, contact_user_id=42, phone_number="+86 138-0013-8000")
        thanks = await telegram.wait_for_text(42, en("contact_received"))
        assert thanks["reply_markup"] == {"remove_keyboard": True}
        await telegram.wait_for_text(42, "echo: 8613800138000")
        assert rasa.messages_from(42) == ["/verify_identity", "8613800138000"]
        assert telegram.texts_to(42)[1:] == ["echo: /verify_identity", "echo: 8613800138000"]

    run_bridge(scenario)


def test_someone_elses_contact_is_refused():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.share_contact(42, contact_user_id=777, phone_number="+8613800138000")
        await telegram.wait_for_text(42, en("contact_not_yours"))
        assert rasa.received == []

    run_bridge(scenario)


def test_language_follows_telegram_and_can_be_switched():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(7, "/help", language_code="zh-hans")
        await telegram.wait_for_text(7, zh("help"))

        telegram.write(42, "/language")
        choice = await telegram.wait_for_text(42, en("choose_language"))
        buttons = [row[0] for row in choice["reply_markup"]["inline_keyboard"]]
        assert [button["text"] for button in buttons] == ["English", "中文"]
        telegram.press(42, buttons[1]["callback_data"])
        await telegram.wait_for_text(42, zh("language_set"))
        telegram.write(42, "/help")
        await telegram.wait_for_text(42, zh("help"))
        assert rasa.received == []

    run_bridge(scenario)


def test_a_flood_is_cut_after_the_burst_with_one_request_to_slow_down():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        for number in range(8):
            telegram.write(42, f"message {number}")
        await telegram.wait_for_text(42, "echo: message 4")
        await telegram.wait_for_text(42, en("slow_down"))
        await asyncio.sleep(0.2)
        assert rasa.messages_from(42) == [f"message {number}" for number in range(5)]
        assert telegram.texts_to(42).count(en("slow_down")) == 1

    run_bridge(scenario)


def test_the_token_bucket_refills_over_time():
    now = [0.0]
    bucket = TokenBucket(capacity=2, refill_per_second=1.0, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] = 1.0
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] = 100.0  # a long pause refills only up to the burst
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_while_rasa_is_down_messages_wait_and_are_answered_in_order_when_it_is_back():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        rasa.up = False
        telegram.write(42, "first")
        await telegram.wait_for_text(42, en("unavailable"))
        telegram.write(42, "second")
        telegram.write(42, "silence")  # answered with nothing: nothing extra is sent
        while telegram.texts_to(42).count(en("unavailable")) < 3:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # a few retries with backoff
        assert rasa.received == []

        rasa.up = True
        await telegram.wait_for_text(42, "echo: second")
        await asyncio.sleep(0.1)
        assert rasa.messages_from(42) == ["first", "second", "silence"]
        assert telegram.texts_to(42) == [en("unavailable")] * 3 + ["echo: first", "echo: second"]

    run_bridge(scenario)


def test_two_chats_keep_separate_conversations():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(1, "I am chat one")
        telegram.write(2, "I am chat two")
        await telegram.wait_for_text(1, "echo: I am chat one")
        await telegram.wait_for_text(2, "echo: I am chat two")
        assert rasa.messages_from(1) == ["I am chat one"]
        assert rasa.messages_from(2) == ["I am chat two"]
        assert telegram.texts_to(1) == ["echo: I am chat one"]
        assert telegram.texts_to(2) == ["echo: I am chat two"]

    run_bridge(scenario)


def test_rasa_client_reports_a_closed_port_as_unavailable():
    async def main() -> None:
        client = RasaClient(f"http://127.0.0.1:{free_port()}", timeout=2.0)
        try:
            with pytest.raises(RasaUnavailable):
                await client.send("telegram-42", "hello")
        finally:
            await client.close()

    asyncio.run(main())
