"""Rasa's real channels (rasa_plugins/channels.py) served by Sanic on 127.0.0.1, with a scripted
turn in place of the model and the actions. A turn answers "echo: <text>", takes as long as a
test says, and is recorded in an in-memory tracker store as Rasa records it (the message with
its key, then the bot's messages), so that a retry finds what an earlier request's turn said.

    rasa = ScriptedRasa(CHANNEL_SECRET)
    rasa_url = await rasa.start()
    ...
    assert rasa.turns_of("a message") == 1
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections import Counter
from types import SimpleNamespace
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from sanic import Sanic

from rasa_plugins.channels import (
    AssistantRestInput,
    SmsInput,
    TelegramBridgeInput,
    WebChatInput,
)
from telecom_assistant.settings import Settings
from telecom_assistant.tickets.live import LiveDesk

CHANNELS = (AssistantRestInput, TelegramBridgeInput, WebChatInput, SmsInput)


class ScriptedRasa:
    def __init__(self, channel_secret: str, live_desk: LiveDesk | None = None) -> None:
        """With a live desk, the channels route a live chat's messages to it, as in Rasa."""
        self._settings = Settings.from_environment({"TELECOM_CHANNEL_SECRET": channel_secret})
        self._live_desk = live_desk
        self.tracker_store = InMemoryTrackerStore(Domain.empty())
        # Every turn run, as (conversation, text, key); and its message as the channel made
        # it (its channel, its metadata).
        self.turns: list[tuple[str, str | None, str | None]] = []
        self.messages: list[UserMessage] = []
        # Text -> the buttons its answer offers.
        self.buttons: dict[str, list[dict[str, str]]] = {}
        # Text -> seconds its turn takes; other turns take turn_seconds.
        self.slow: dict[str, float] = {}
        self.turn_seconds = 0.0
        # Every external event triggered, as (conversation, intent, entities).
        self.external_events: list[tuple[str, str, dict[str, str]]] = []
        # While set, the reminder's action fails as with its server down: Rasa records the
        # action without its events, and says nothing.
        self.reminder_action_fails = False
        self._server: Any = None

    async def start(self) -> str:
        # Sanic rewrites its request handler at a server's start-up, which breaks the next
        # server of the process; in test mode it keeps the original.
        Sanic.test_mode = True
        app = Sanic(f"rasa{uuid.uuid4().hex}")
        app.ctx.agent = SimpleNamespace(
            tracker_store=self.tracker_store,
            lock_store=SimpleNamespace(lock=lambda _sender: contextlib.nullcontext()),
            processor=SimpleNamespace(fetch_tracker_and_update_session=self._tracker),
            trigger_intent=self._trigger_intent,
        )
        for channel in CHANNELS:
            blueprint = channel(self._settings, self._live_desk).blueprint(self._turn)
            app.blueprint(blueprint, url_prefix=f"/webhooks/{channel.name()}")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self._server = await app.create_server(
            sock=sock, return_asyncio_server=True, access_log=False
        )
        await self._server.startup()
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _turn(self, message: UserMessage) -> None:
        self.turns.append((message.sender_id, message.text, message.message_id))
        self.messages.append(message)
        await asyncio.sleep(self.slow.get(message.text or "", self.turn_seconds))
        answer = f"echo: {message.text}"
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, message_id=message.message_id))
        tracker.update(BotUttered(answer))
        await self.tracker_store.save(tracker)
        buttons = self.buttons.get(message.text or "")
        if buttons:
            await message.output_channel.send_text_with_buttons(message.sender_id, answer, buttons)
        else:
            await message.output_channel.send_text_message(message.sender_id, answer)

    async def _tracker(self, sender_id: str, _output_channel: Any = None) -> Any:
        return await self.tracker_store.get_or_create_tracker(sender_id)

    async def _trigger_intent(
        self, intent_name: str, entities: dict[str, str], output_channel: Any, tracker: Any
    ) -> None:
        """An external event (the scheduler's reminders): recorded, and answered with a button
        by an action that sets a slot, as actions/reminders.py does."""
        self.external_events.append((tracker.sender_id, intent_name, dict(entities)))
        tracker.update(UserUttered(intent={"name": intent_name}))
        tracker.update(ActionExecuted("action_remind"))
        if not self.reminder_action_fails:
            tracker.update(SlotSet("reminder_topic", "addon"))
        await self.tracker_store.save(tracker)
        if self.reminder_action_fails:
            return
        await output_channel.send_text_with_buttons(
            tracker.sender_id,
            f"{intent_name}: {entities}",
            [{"title": "Cancel it", "payload": "/unsubscribe"}],
        )

    def turns_of(self, text: str) -> int:
        return Counter(turn_text for _, turn_text, _ in self.turns)[text]
