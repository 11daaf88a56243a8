"""A customer's message is answered once, however often a channel program sends it.

A channel program that must not lose messages (the Telegram bridge) sends a message again when
it is not sure Rasa took it: Rasa did not answer in time, or the program was restarted while
Rasa was at it. Run twice, the turn would do twice what it does: a second code by SMS, a
second ticket. So such a program gives each message a key (`message_id` in the request body,
which Rasa records with the message in the conversation) and Rasa answers a key it knows
without running the turn again:

- while the turn with that key is still running here, the request waits for it and gets its
  answer (the turn runs on even when the first request gave up waiting);
- when the request says it is a retry (`"retry": true`), the conversation is looked up for a
  message with the key, and the bot's messages that followed it are the answer. Only retries
  pay for that look-up.

A turn still running on another Rasa server (several behind one lock store, docs/scaling-up.md)
is not seen: a retry that reaches another server while the first is still at the message can
run the turn again.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered

# Keys are the channel programs' own (a UUID's hex, say): short, and safe to log.
MESSAGE_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")

Turn = Callable[[UserMessage], Awaitable[None]]


class InvalidMessageKey(ValueError):
    pass


def message_key(body: Any) -> str | None:
    """The request's message key, if it has one."""
    key = body.get("message_id") if isinstance(body, dict) else None
    if key is None:
        return None
    if not isinstance(key, str) or not MESSAGE_KEY.fullmatch(key):
        raise InvalidMessageKey("message_id must be 8 to 64 letters, digits, '-' or '_'")
    return key


class AnsweredOnce:
    def __init__(self) -> None:
        # (conversation, key) -> the turn running for it, whose result is its answer.
        self._running: dict[tuple[str, str], asyncio.Task[list[dict[str, Any]]]] = {}

    async def answer(
        self, message: UserMessage, run_turn: Turn, agent: Any, *, retry: bool
    ) -> list[dict[str, Any]]:
        """The answer to `message` (whose message_id is its key): the turn's, run now by
        run_turn unless it ran before (agent: Rasa's, whose tracker store is looked in)."""
        running_key = (message.sender_id, message.message_id)
        running = self._running.get(running_key)
        if running is None and retry and agent is not None:
            recorded = await recorded_answer(agent.tracker_store, message)
            if recorded is not None:
                return recorded
            running = self._running.get(running_key)  # started while we looked
        if running is None:
            running = asyncio.create_task(_collect(message, run_turn))
            self._running[running_key] = running
            running.add_done_callback(lambda _done: self._running.pop(running_key, None))
        # Shielded: a request that gives up (its client went away) leaves the turn running.
        return await asyncio.shield(running)


async def _collect(message: UserMessage, run_turn: Turn) -> list[dict[str, Any]]:
    await run_turn(message)
    assert isinstance(message.output_channel, CollectingOutputChannel)
    return message.output_channel.messages


async def recorded_answer(tracker_store: Any, message: UserMessage) -> list[dict[str, Any]] | None:
    """The bot's messages that followed the message with `message`'s key in its conversation,
    as the REST channel answers them; None if the conversation has no message with the key."""
    tracker = await tracker_store.retrieve(message.sender_id)
    if tracker is None:
        return None
    events = list(tracker.events)
    for position, event in enumerate(events):
        if isinstance(event, UserUttered) and event.message_id == message.message_id:
            collector = CollectingOutputChannel()
            for later in events[position + 1 :]:
                if isinstance(later, UserUttered):
                    break
                if isinstance(later, BotUttered):
                    await collector.send_response(message.sender_id, later.message())
            return collector.messages
    return None
