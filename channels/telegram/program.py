"""The bridge as one program: the bot, the bridge's handlers, where its updates come from
(polling or a webhook, updates.py), agents' replies (agent_replies.py) and GET /health
(health.py), started and stopped together."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from channels.health import HealthServer
from channels.rasa_client import RasaClient
from channels.telegram.agent_replies import AgentReplySender
from channels.telegram.bridge import Bridge
from channels.telegram.conversations import ChatDirectory
from channels.telegram.health import bridge_health
from channels.telegram.inbox import Inbox
from channels.telegram.updates import WebhookReceiver, poll
from channels.telegram.webhook import WebhookSettings
from telecom_assistant.tickets.live import LiveDesk
from telecom_assistant.tickets.replies import ReplyOutbox

logger = logging.getLogger(__name__)


class BridgeProgram:
    def __init__(
        self,
        application: Application,
        bridge: Bridge,
        *,
        reply_sender: AgentReplySender | None,
        health_server: HealthServer | None,
        webhook: WebhookSettings | None,
        long_poll_seconds: int,
    ) -> None:
        self.application = application
        self.bridge = bridge
        self._reply_sender = reply_sender
        self._health_server = health_server
        self._webhook = webhook
        self._long_poll_seconds = long_poll_seconds
        # Set once the bridge takes updates (and serves its webhook, in webhook mode).
        self.started = asyncio.Event()

    async def run(self, stopping: asyncio.Event) -> None:
        """Runs until `stopping` is set. Fails (TelegramError) if Telegram refuses the token."""
        bot = self.application.bot

        async def receive(update: Update) -> None:
            await self.bridge.receive(self.application, update)

        # initialize() asks Telegram who the bot is (getMe): the token is good past this line.
        async with self.application:
            await self.bridge.resume(bot)
            if self._reply_sender is not None:
                self._reply_sender.start(bot)
            if self._health_server is not None:
                await self._health_server.start()
            webhook = (
                None if self._webhook is None else WebhookReceiver(bot, receive, self._webhook)
            )
            try:
                if webhook is None:
                    self.started.set()
                    await poll(bot, receive, stopping, long_poll_seconds=self._long_poll_seconds)
                else:
                    await webhook.start()
                    self.started.set()
                    await stopping.wait()
            finally:
                if webhook is not None:
                    await webhook.stop()
                if self._health_server is not None:
                    await self._health_server.stop()
                if self._reply_sender is not None:
                    await self._reply_sender.stop()
                await self.bridge.close()


def build_bridge(
    token: str,
    rasa: RasaClient,
    api_url: str | None = None,
    *,
    conversation_key: str,
    inbox: Inbox,
    chats: ChatDirectory | None = None,
    outbox: ReplyOutbox | None = None,
    live_desk: LiveDesk | None = None,
    reply_poll_seconds: float = 0.25,
    health_port: int | None = None,
    webhook: WebhookSettings | None = None,
    first_retry_delay: float = 1.0,
    long_poll_seconds: int = 10,
) -> BridgeProgram:
    """The bridge, ready to run.

    rasa takes the customers' messages to Rasa, and is closed when the bridge stops.
    api_url stands in for https://api.telegram.org (a local Bot API server, or a fake in tests).
    conversation_key makes the conversation ids; the inbox keeps the messages for Rasa.
    With chats, each chat is recorded there when it first talks; with an outbox too, agents'
    replies to Telegram tickets are sent from it to those chats, looked for every
    reply_poll_seconds, and with a live_desk the chat shows when an agent is typing. With a health_port, GET /health is served on 127.0.0.1 there. With
    webhook settings, Telegram posts the updates; without, the bridge polls for them.
    """
    if outbox is not None and chats is None:
        raise ValueError("agents' replies need the chat directory to find their chats")
    # The bridge takes its own updates (updates.py) and schedules its own retries with
    # asyncio: no Updater, no job queue (nor APScheduler).
    builder = ApplicationBuilder().token(token).updater(None).job_queue(None)
    if api_url:
        api_url = api_url.rstrip("/")
        builder = builder.base_url(f"{api_url}/bot").base_file_url(f"{api_url}/file/bot")
    application = builder.build()
    bridge = Bridge(rasa, conversation_key, inbox, chats=chats, first_retry_delay=first_retry_delay)
    bridge.register(application)
    return BridgeProgram(
        application,
        bridge,
        reply_sender=(
            None
            if outbox is None or chats is None
            else AgentReplySender(outbox, chats, reply_poll_seconds, live_desk)
        ),
        health_server=None if health_port is None else bridge_health(bridge, rasa, health_port),
        webhook=webhook,
        long_poll_seconds=long_poll_seconds,
    )
