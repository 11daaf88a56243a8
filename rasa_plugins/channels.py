"""Rasa's REST channel with promises added.

- Every message gets an answer. When Rasa cannot run an action (the action server or the
  database is down), it logs the error and carries on without a word to the customer. Every
  turn of this assistant says something, so a turn that produced no reply at all means
  something failed: the customer is told so, instead of waiting in silence. A turn that
  fails altogether is logged without the message, and every log record is redacted
  (log_redaction.py).
- Only the channel programs talk to it (SECURITY.md): the "webchat", "telegram" and "sms"
  channels refuse a message without the channel secret; so does the plain REST channel in the
  production profile (in the embedded one it stays open to local scripts and tests, on
  127.0.0.1). Refusals are logged.
- The channel is the one the message came through: Rasa's REST channel would take
  `input_channel` from the request body, and a ticket's channel decides where an agent's
  reply goes.
- The text is cleaned of control and invisible characters before anything reads it.
- While an agent talks with the customer (a live chat, telecom_assistant/tickets/live.py), the
  customer's message goes to the agent (kept with the ticket, masked) and the assistant runs no
  turn and says nothing; while a ticket is open, each turn the assistant answers is kept with it
  too, so the agent reads what the customer said after the filing.
- A message sent again is answered, not run again (answered_once.py): a channel program that
  gives each message a key (`message_id` in the body) may send it again after a timeout or a
  restart of its own, and gets the turn's answer without the turn (its actions: a second code
  by SMS, a second ticket) running twice.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import ActionExecuted, Event, SlotSet
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response
from sqlalchemy.exc import SQLAlchemyError

from rasa_plugins import speedups
from rasa_plugins.answered_once import AnsweredOnce, InvalidMessageKey, message_key
from rasa_plugins.log_redaction import redact_logs
from telecom_assistant.clock import operator_now
from telecom_assistant.database import make_engine
from telecom_assistant.language import (
    ENGLISH,
    LANGUAGES,
    detect_language,
    response_text,
)
from telecom_assistant.settings import PRODUCTION, Settings
from telecom_assistant.text import clean_message
from telecom_assistant.tickets.live import LiveDesk
from telecom_assistant.tickets.sql_live import SqlLiveDesk
from telecom_assistant.trust import CHANNEL_SECRET, CHANNEL_SECRET_HEADER, same_secret

DOMAIN_FILE = Path(__file__).resolve().parents[1] / "domain.yml"
UNAVAILABLE_RESPONSE = "utter_assistant_unavailable"
# The external event that opens a conversation with a reminder (actions/reminders.py).
REMINDER_INTENT = "EXTERNAL_reminder"
REMINDER_ENTITY = "reminder"
REMINDER_ACTION = "action_remind"

logger = logging.getLogger(__name__)

# Rasa imports this module (credentials.yml) in the process that runs the conversations,
# before it answers any message: Rasa's own per-message work is made cheaper from then on.
speedups.install()


def unavailable_texts() -> dict[str, str]:
    domain: dict[str, Any] = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
    return {
        language: response_text(domain, UNAVAILABLE_RESPONSE, language) or ""
        for language in LANGUAGES
    }


class AssistantRestInput(RestInput):
    def __init__(self, settings: Settings | None = None, live_desk: LiveDesk | None = None) -> None:
        """Without a live desk, every message goes to the assistant (tests of the channel)."""
        super().__init__()
        self._settings = settings or Settings.from_environment()
        self._live_desk = live_desk

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> AssistantRestInput:
        """How Rasa builds the channel (credentials.yml), once, at start-up: the settings are
        read then, and the live desk is the assistant's database."""
        settings = Settings.from_environment()
        return cls(settings, _live_desk_on(settings.database_url))

    @classmethod
    def name(cls) -> str:
        return "rest"

    def requires_secret(self) -> bool:
        return self._settings.profile == PRODUCTION

    def _extract_input_channel(self, request: Request) -> str:
        return self.name()

    def _extract_message(self, request: Request) -> str | None:
        text = super()._extract_message(request)
        return clean_message(text) if isinstance(text, str) else text

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        texts = unavailable_texts()
        secret = CHANNEL_SECRET.value(self._settings) if self.requires_secret() else None
        answered_once = AnsweredOnce()

        live_desk = self._live_desk

        async def run_turn(message: UserMessage) -> None:
            """The assistant's turn, or the agent's message; always an answer, unless an agent
            has the conversation."""
            if live_desk is not None and await _to_the_agent(live_desk, message):
                return
            started_at = operator_now()
            collector = message.output_channel
            assert isinstance(collector, CollectingOutputChannel)
            try:
                await on_new_message(message)
            except Exception as failure:
                # Only the kind of failure: a database error's text quotes the statement's
                # parameters, which hold the message.
                logger.error(
                    "A turn of conversation %s failed: %s",
                    message.sender_id,
                    type(failure).__name__,
                )
            if not collector.messages:
                # The tracker may be out of reach too: judge the language by the message.
                language = detect_language(message.text or "") or ENGLISH
                await collector.send_text_message(message.sender_id, texts[language])
            elif live_desk is not None:
                await _keep_with_open_ticket(live_desk, message, collector.messages, started_at)

        async def receive(request: Request) -> HTTPResponse:
            try:
                key = message_key(request.json)
            except InvalidMessageKey as invalid:
                return json_response({"error": str(invalid)}, status=400)
            collector = CollectingOutputChannel()
            message = UserMessage(
                self._extract_message(request),
                collector,
                await self._extract_sender(request),
                input_channel=self._extract_input_channel(request),
                metadata=self.get_metadata(request),
                message_id=key,
            )
            if key is None:
                await run_turn(message)
                return json_response(collector.messages)
            agent = getattr(request.app.ctx, "agent", None)
            retry = request.json.get("retry") is True
            return json_response(await answered_once.answer(message, run_turn, agent, retry=retry))

        async def remind(request: Request) -> HTTPResponse:
            """The scheduler opens the conversation with a reminder: Rasa's external event
            EXTERNAL_reminder, whose action reads the reminder from the store and says it;
            the answer goes back to the scheduler, which queues it for the channel. The channel
            secret is asked for in every profile: this door writes into any conversation."""
            if not same_secret(
                request.headers.get(CHANNEL_SECRET_HEADER), CHANNEL_SECRET.value(self._settings)
            ):
                return json_response({"error": "unauthorized"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            sender, reminder = body.get("sender"), body.get("reminder")
            if (
                not (isinstance(sender, str) and 0 < len(sender) <= 200)
                or type(reminder) is not int
            ):
                return json_response({"error": "give sender and reminder (an id)"}, status=400)
            agent = request.app.ctx.agent
            collector = CollectingOutputChannel()
            async with agent.lock_store.lock(sender):
                tracker = await agent.processor.fetch_tracker_and_update_session(sender, collector)
                await agent.trigger_intent(
                    REMINDER_INTENT, {REMINDER_ENTITY: str(reminder)}, collector, tracker
                )
                after = await agent.tracker_store.retrieve(sender)
            if after is None or not reminder_turn_ran(after.events):
                # The action server down, or its database: Rasa carries on without the
                # action's events. The scheduler tries again at a later scan.
                return json_response({"error": "the reminder's action did not run"}, status=503)
            return json_response(collector.messages)

        blueprint = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        blueprint.route("/", methods=["GET"])(self._health)
        blueprint.route("/webhook", methods=["POST"])(receive)
        blueprint.route("/reminder", methods=["POST"])(remind)
        blueprint.listener("after_server_start")(speedups.freeze_start_up_objects)
        blueprint.listener("before_server_start")(lambda _app, _loop: redact_logs())
        if secret is not None:
            blueprint.middleware("request")(self._secret_check(secret))
        return blueprint

    @staticmethod
    async def _health(_request: Request) -> HTTPResponse:
        return json_response({"status": "ok"})

    def _secret_check(self, secret: str) -> Callable[[Request], Awaitable[HTTPResponse | None]]:
        async def refuse_without_secret(request: Request) -> HTTPResponse | None:
            if request.method != "POST" or same_secret(
                request.headers.get(CHANNEL_SECRET_HEADER), secret
            ):
                return None
            logger.warning(
                "Refused a message to the %s channel from %s: no valid channel secret",
                self.name(),
                request.ip,
            )
            return json_response({"error": "unauthorized"}, status=401)

        return refuse_without_secret


@functools.cache
def _live_desk_on(database_url: str) -> LiveDesk:
    """One live desk (one engine and its pool) for the three channels of the process."""
    return SqlLiveDesk(make_engine(database_url))


async def _to_the_agent(live_desk: LiveDesk, message: UserMessage) -> bool:
    """Whether an agent has the conversation, who then has the message. The live desk's
    database out of reach: the assistant answers, rather than nobody."""
    try:
        return await asyncio.to_thread(
            live_desk.take_customer_message, message.sender_id, message.text or ""
        )
    except SQLAlchemyError as failure:
        logger.error("Cannot reach the live desk: %s", type(failure).__name__)
        return False


async def _keep_with_open_ticket(
    live_desk: LiveDesk, message: UserMessage, answer: list[dict[str, Any]], started_at: datetime
) -> None:
    said = [entry["text"] for entry in answer if entry.get("text")]
    try:
        await asyncio.to_thread(
            live_desk.record_turn, message.sender_id, message.text or "", said, started_at
        )
    except SQLAlchemyError as failure:
        logger.error("Cannot keep a turn with its ticket: %s", type(failure).__name__)


class TelegramBridgeInput(AssistantRestInput):
    """The Telegram bridge's door into Rasa (POST /webhooks/telegram/webhook): the same channel
    under its own name, so that a ticket records that the customer wrote on Telegram. Only
    the bridge may use it, in every profile: an agent's reply to its tickets goes to a chat."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    def requires_secret(self) -> bool:
        return True


class SmsInput(AssistantRestInput):
    """The SMS business hall's door into Rasa (POST /webhooks/sms/webhook): a customer's free
    text to the service number, with the line it came from in the message's metadata, which
    the actions take as the line's verification (actions/common.py, `verified_number`). Only
    the hall (channels/sms/) may use it, in every profile."""

    @classmethod
    def name(cls) -> str:
        return "sms"

    def requires_secret(self) -> bool:
        return True


class WebChatInput(AssistantRestInput):
    """The web chat's door into Rasa (POST /webhooks/webchat/webhook), so that a ticket
    records the web chat, which can carry an agent's reply back. Only the web chat's server
    may use it, in every profile."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    def requires_secret(self) -> bool:
        return True


def reminder_turn_ran(events: Iterable[Event]) -> bool:
    """Did the latest run of the reminder's action (actions/reminders.py) complete? It always
    sets a slot; Rasa records a failed action (its server down, an exception) without any of
    its events."""
    ran = after_reminder_action = False
    for event in events:
        if isinstance(event, ActionExecuted):
            after_reminder_action = event.action_name == REMINDER_ACTION
            if after_reminder_action:
                ran = False  # the latest run decides
        elif after_reminder_action and isinstance(event, SlotSet):
            ran = True
    return ran
