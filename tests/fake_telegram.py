"""A fake Telegram Bot API for tests, offline: a small aiohttp server on 127.0.0.1 that plays
the customers (updates for getUpdates) and records what the bot sends.

    telegram = FakeBotApi()
    api_url = await telegram.start()   # build_application(TOKEN, rasa_url, api_url, ...)
    telegram.write(42, "what is my balance")
    await telegram.wait_for_text(42, "...")

Customers write in private chats (whose id is the customer's own) unless a test says
`chat_type="group"` (or "supergroup"), with the `member` of the group who writes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

TOKEN = "123456:TEST-TOKEN"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Assistant", "username": "assistant_bot"}
WAIT_SECONDS = 5.0
# Telegram's answer to a message for a customer who blocked the bot.
BLOCKED_BY_USER = {
    "ok": False,
    "error_code": 403,
    "description": "Forbidden: bot was blocked by the user",
}
BAD_GATEWAY = {"ok": False, "error_code": 502, "description": "Bad Gateway"}
MESSAGE_TOO_LONG = {
    "ok": False,
    "error_code": 400,
    "description": "Bad Request: message is too long",
}
QUERY_TOO_OLD = {
    "ok": False,
    "error_code": 400,
    "description": "Bad Request: query is too old and response timeout expired or query ID is invalid",
}
# Telegram's limit on a message's text, in UTF-16 code units.
MESSAGE_LIMIT = 4096
PRIVATE = "private"

T = TypeVar("T")


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


async def wait_until(found: Callable[[], T | None], failure: Callable[[], str]) -> T:
    """found()'s first truthy value, looked for over WAIT_SECONDS; else fails with failure()."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(failure())


def customer(user_id: int, language_code: str = "en") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Li", "language_code": language_code}


def chat(chat_id: int, chat_type: str) -> dict[str, Any]:
    if chat_type == PRIVATE:
        return {"id": chat_id, "type": PRIVATE, "first_name": "Li"}
    return {"id": chat_id, "type": chat_type, "title": f"The {chat_type} {chat_id}"}


def sender(
    chat_id: int, chat_type: str, member: int | None, language_code: str = "en"
) -> dict[str, Any]:
    """Who writes: in a private chat the chat id is the user's id; in a group, a member."""
    if chat_type == PRIVATE:
        return customer(chat_id, language_code)
    assert member is not None, "say which member of the group writes"
    return customer(member, language_code)


class FakeBotApi:
    """Just the Bot API methods the bridge and PTB's polling call."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        # The updates the bot confirmed, which Telegram no longer sends.
        self.forgotten: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        # Messages refused with an error, as (chat id, text, HTTP status).
        self.refused: list[tuple[int, str, int]] = []
        self.answered_callbacks: list[str] = []
        # Chat actions the bot showed ("typing"), as (chat id, action).
        self.chat_actions: list[tuple[int, str]] = []
        # Chats whose customer blocked the bot: messages to them are refused with 403.
        self.blocked_chats: set[int] = set()
        # While set, every message is refused with 502, as when Telegram is in trouble.
        self.sending_fails = False
        # Chat id -> how many of its next messages get "429 Too Many Requests" (flood control).
        self.flooded: dict[int, int] = {}
        self.retry_after_seconds = 1
        # While set, button presses are answered too late, as Telegram refuses them after 15 s.
        self.queries_too_old = False
        # What the bot last set with setWebhook (url, secret_token...).
        self.webhook: dict[str, Any] = {}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        # Requests being handled, long polls aside (they wait by design).
        self._requests_in_progress = 0

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner, url = await serve(app)
        return url

    async def stop(self) -> None:
        await self._runner.cleanup()

    def idle(self) -> bool:
        """No client is connected and no request is being handled: whatever a client wrote
        before it went away has been taken (in `sent`) or dropped. Called in the fake's loop."""
        server = self._runner.server
        return self._requests_in_progress == 0 and (server is None or not server.connections)

    async def _handle(self, request: web.Request) -> web.Response:
        assert request.match_info["token"] == TOKEN
        if request.match_info["method"] == "getUpdates":
            return await self._respond(request)
        self._requests_in_progress += 1
        try:
            return await self._respond(request)
        finally:
            self._requests_in_progress -= 1

    async def _respond(self, request: web.Request) -> web.Response:
        # PTB posts form fields (reply_markup as a JSON string); be ready for JSON too.
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await request.post())
        method = request.match_info["method"]
        if method == "getMe":
            result: Any = BOT_USER
        elif method == "getUpdates":
            result = await self._get_updates(body)
        elif method == "sendMessage":
            return self._send_message(body)
        elif method == "answerCallbackQuery":
            if self.queries_too_old:
                return web.json_response(QUERY_TOO_OLD, status=400)
            self.answered_callbacks.append(body["callback_query_id"])
            result = True
        elif method == "setWebhook":
            self.webhook = body
            result = True
        elif method == "deleteWebhook":
            self.webhook = {}
            result = True
        elif method == "setMyCommands":
            result = True
        elif method == "sendChatAction":
            self.chat_actions.append((int(body["chat_id"]), body["action"]))
            result = True
        else:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": f"fake has no {method}"},
                status=404,
            )
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Like Telegram: asking from an offset confirms, and forgets, the updates before it;
        with nothing new, the request waits up to its timeout for an update."""
        offset = int(body.get("offset") or 0)
        if offset:
            self.forgotten += [update for update in self.updates if update["update_id"] < offset]
            self.updates = [update for update in self.updates if update["update_id"] >= offset]
        deadline = time.monotonic() + float(body.get("timeout") or 0)
        while not self.updates and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return list(self.updates)

    def _send_message(self, body: dict[str, Any]) -> web.Response:
        if isinstance(body.get("reply_markup"), str):
            body["reply_markup"] = json.loads(body["reply_markup"])
        body["chat_id"] = int(body["chat_id"])
        if self.sending_fails:
            return self._refuse(body, BAD_GATEWAY)
        if body["chat_id"] in self.blocked_chats:
            return self._refuse(body, BLOCKED_BY_USER)
        if self.flooded.get(body["chat_id"]):
            self.flooded[body["chat_id"]] -= 1
            too_many = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {self.retry_after_seconds}",
                "parameters": {"retry_after": self.retry_after_seconds},
            }
            return self._refuse(body, too_many)
        if len(body["text"].encode("utf-16-le")) // 2 > MESSAGE_LIMIT:
            return self._refuse(body, MESSAGE_TOO_LONG)
        self.sent.append(body)
        result = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": body["chat_id"], "type": "private"},
            "from": BOT_USER,
            "text": body["text"],
        }
        return web.json_response({"ok": True, "result": result})

    def _refuse(self, body: dict[str, Any], error: dict[str, Any]) -> web.Response:
        self.refused.append((body["chat_id"], body["text"], error["error_code"]))
        return web.json_response(error, status=error["error_code"])

    # --- What a customer does ----------------------------------------------------------

    def _queue(self, **content: Any) -> None:
        self.updates.append({"update_id": next(self._update_ids), **content})

    def _message(
        self, chat_id: int, chat_type: str, user: dict[str, Any] | None, **content: Any
    ) -> dict[str, Any]:
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat(chat_id, chat_type),
            **content,
        }
        if user is not None:  # a channel's posts have no sender
            message["from"] = user
        return message

    @staticmethod
    def _text(message: str) -> dict[str, Any]:
        entities = []
        if message.startswith("/"):
            command_length = len(message.split()[0])
            entities = [{"type": "bot_command", "offset": 0, "length": command_length}]
        return {"text": message, "entities": entities}

    def write(
        self,
        chat_id: int,
        message: str,
        language_code: str = "en",
        chat_type: str = PRIVATE,
        member: int | None = None,
    ) -> None:
        user = sender(chat_id, chat_type, member, language_code)
        self._queue(message=self._message(chat_id, chat_type, user, **self._text(message)))

    def edit(self, chat_id: int, message: str, language_code: str = "en") -> None:
        """The customer corrects a message they sent earlier."""
        user = sender(chat_id, PRIVATE, None, language_code)
        edited = self._message(chat_id, PRIVATE, user, **self._text(message))
        self._queue(edited_message={**edited, "edit_date": int(time.time())})

    def send_photo(self, chat_id: int, caption: str, language_code: str = "en") -> None:
        user = sender(chat_id, PRIVATE, None, language_code)
        photo = [{"file_id": "photo-1", "file_unique_id": "p1", "width": 90, "height": 90}]
        self._queue(message=self._message(chat_id, PRIVATE, user, photo=photo, caption=caption))

    def post_in_channel(self, chat_id: int, message: str) -> None:
        self._queue(channel_post=self._message(chat_id, "channel", None, **self._text(message)))

    def share_contact(
        self,
        chat_id: int,
        contact_user_id: int,
        phone_number: str,
        chat_type: str = PRIVATE,
        member: int | None = None,
    ) -> None:
        contact = {"phone_number": phone_number, "first_name": "Li", "user_id": contact_user_id}
        user = sender(chat_id, chat_type, member)
        self._queue(message=self._message(chat_id, chat_type, user, contact=contact))

    def press(
        self, chat_id: int, callback_data: str, chat_type: str = PRIVATE, member: int | None = None
    ) -> None:
        self._queue(
            callback_query={
                "id": f"callback-{next(self._message_ids)}",
                "from": sender(chat_id, chat_type, member),
                "chat_instance": f"instance-{chat_id}",
                "data": callback_data,
                "message": self._message(chat_id, chat_type, BOT_USER, text="(buttons)"),
            }
        )

    # --- What the bridge said ----------------------------------------------------------

    def texts_to(self, chat_id: int) -> list[str]:
        return [sent["text"] for sent in self.sent if sent["chat_id"] == chat_id]

    async def wait_for_text(self, chat_id: int, expected: str) -> dict[str, Any]:
        return await wait_until(
            lambda: next(
                (
                    sent
                    for sent in self.sent
                    if sent["chat_id"] == chat_id and sent["text"] == expected
                ),
                None,
            ),
            lambda: f"{expected!r} never sent to {chat_id}; sent: {self.texts_to(chat_id)}",
        )
