"""Where the bridge takes its updates from Telegram: long polling (getUpdates), or a webhook
Telegram posts them to (webhook.py has its settings). Either way an update is confirmed to
Telegram only once the bridge has received it (Bridge.receive), what it asks of Rasa stored:

- polling confirms an update by asking for the ones after it, which it does only then;
  python-telegram-bot's own Updater confirms a batch as soon as it has fetched it, before
  any handler has seen it, so the bridge does not use it;
- the webhook answers Telegram's POST with 200 only then, and with 500 when the inbox could not
  store the update, so that Telegram sends it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, Update
from telegram.error import TelegramError

from channels.telegram.webhook import WEBHOOK_LISTEN, WebhookSettings
from telecom_assistant.trust import same_secret

logger = logging.getLogger(__name__)

Receive = Callable[[Update], Awaitable[None]]

# How long one getUpdates waits for an update before asking again.
LONG_POLL_SECONDS = 10
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def poll(
    bot: Bot,
    receive: Receive,
    stopping: asyncio.Event,
    *,
    long_poll_seconds: int = LONG_POLL_SECONDS,
    first_retry_seconds: float = FIRST_RETRY_SECONDS,
) -> None:
    """Receives updates by long polling until `stopping` is set."""
    # A webhook left set from webhook mode would make getUpdates fail.
    await bot.delete_webhook()
    offset: int | None = None
    retry_seconds = first_retry_seconds
    while not stopping.is_set():
        fetching = asyncio.ensure_future(
            bot.get_updates(
                offset=offset, timeout=long_poll_seconds, allowed_updates=Update.ALL_TYPES
            )
        )
        stopped = asyncio.ensure_future(stopping.wait())
        await asyncio.wait({fetching, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not fetching.done():
            fetching.cancel()  # stopping: the updates not received come again next start
            await asyncio.gather(fetching, return_exceptions=True)
            break
        try:
            updates = fetching.result()
            for update in updates:
                await receive(update)
                offset = update.update_id + 1
        except (TelegramError, SQLAlchemyError) as error:
            # Telegram or the database is away: the updates not received come again.
            logger.warning(
                "Cannot take updates (%s); trying again in %.0f s",
                type(error).__name__,
                retry_seconds,
            )
            await _sleep_unless_stopping(stopping, retry_seconds)
            retry_seconds = min(retry_seconds * 2, MAX_RETRY_SECONDS)
            continue
        retry_seconds = first_retry_seconds
    await _confirm(bot, offset)


async def _confirm(bot: Bot, offset: int | None) -> None:
    """At a stop, tell Telegram the updates received so far are handled (the next request
    would have): they are in the inbox, and would otherwise be sent again at the next start."""
    if offset is None:
        return
    with contextlib.suppress(TelegramError):
        await bot.get_updates(offset=offset, timeout=0, limit=1)


async def _sleep_unless_stopping(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)


class WebhookReceiver:
    """Takes the updates Telegram posts to the webhook, on 127.0.0.1 behind the TLS proxy.
    Anyone who finds the URL can post to it: an update without the webhook's secret token is
    refused (403)."""

    def __init__(self, bot: Bot, receive: Receive, settings: WebhookSettings) -> None:
        self._bot = bot
        self._receive = receive
        self._settings = settings
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/" + self._settings.path, self._take)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, WEBHOOK_LISTEN, self._settings.port).start()
        await self._bot.set_webhook(
            self._settings.url,
            secret_token=self._settings.secret_token,
            allowed_updates=Update.ALL_TYPES,
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _take(self, request: web.Request) -> web.Response:
        secret = request.headers.get(TELEGRAM_SECRET_HEADER)
        if not same_secret(secret, self._settings.secret_token):
            logger.warning("Refused an update posted without the webhook's secret token")
            return web.Response(status=403)
        try:
            update = Update.de_json(await request.json(), self._bot)
        except (ValueError, TypeError, KeyError):  # not JSON, or not an update
            return web.Response(status=400)
        if update is None:
            return web.Response(status=400)
        try:
            await self._receive(update)
        except SQLAlchemyError as error:
            logger.warning(
                "Cannot store an update (%s): Telegram sends it again", type(error).__name__
            )
            return web.Response(status=500)
        return web.Response()
