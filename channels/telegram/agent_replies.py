"""Agents' replies to tickets filed from Telegram, sent from the outbox to the customer's chat.

A reply names its conversation; the chat directory (conversations.py) says which chat that is.

The bridge polls the outbox: the agent console is another process, and the database is all
the two share. Delivery is at least once: a reply that went out but could not be marked
delivered (the database went away in between) goes out again at a later poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from channels.telegram.conversations import ChatDirectory
from channels.telegram.sending import send_text
from telecom_assistant.tickets.replies import TELEGRAM, AgentReply, ReplyOutbox

logger = logging.getLogger(__name__)


class AgentReplySender:
    """Sends the outbox's Telegram replies every `poll_seconds`, from start() until stop()."""

    def __init__(
        self, outbox: ReplyOutbox, chats: ChatDirectory, poll_seconds: float = 1.0
    ) -> None:
        self._outbox = outbox
        self._chats = chats
        self._poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None
        # So that an outage of the database is logged when it starts and ends, not every poll.
        self._outbox_down = False

    def start(self, bot: Bot) -> None:
        self._task = asyncio.create_task(self._poll_forever(bot))

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _poll_forever(self, bot: Bot) -> None:
        while True:
            try:
                await self._send_pending(bot)
            except SQLAlchemyError as error:
                # The replies are safe in the database; they go out once it answers again.
                if not self._outbox_down:
                    logger.warning(
                        "Cannot reach the reply outbox (%s); trying again every %.1f s",
                        error,
                        self._poll_seconds,
                    )
                self._outbox_down = True
            except Exception:
                logger.exception("Sending agents' replies failed; trying again at the next poll")
            else:
                if self._outbox_down:
                    logger.info("The reply outbox answers again")
                self._outbox_down = False
            await asyncio.sleep(self._poll_seconds)

    async def _send_pending(self, bot: Bot) -> None:
        # The outbox's calls block (SQL): in a thread, so the chats are not held up meanwhile.
        replies = await asyncio.to_thread(self._outbox.pending, TELEGRAM)
        for reply in replies:
            if not await self._send(bot, reply):
                # Telegram cannot take messages now: the rest wait, in order, for the next poll.
                return

    async def _send(self, bot: Bot, reply: AgentReply) -> bool:
        """Sends the reply and records how it went; False if Telegram could not take it now."""
        chat_id = await asyncio.to_thread(self._chats.chat_of, reply.conversation_id)
        if chat_id is None:
            await self._fail(
                reply, f"no Telegram chat has the conversation {reply.conversation_id}"
            )
            return True
        try:
            await send_text(bot, chat_id, reply.for_customer())
        except (Forbidden, BadRequest) as refusal:
            # Refused for good: the customer blocked the bot, no such chat.
            await self._fail(reply, str(refusal))
            return True
        except RetryAfter as flood_control:
            logger.warning(
                "Telegram asks to wait %s s before sending more", flood_control.retry_after
            )
            await asyncio.sleep(flood_control.retry_after)
            return False
        except TelegramError as error:  # network trouble, time-outs, Telegram's own 5xx
            logger.warning("Reply %s waits: Telegram did not take it (%s)", reply.id, error)
            return False
        await asyncio.to_thread(self._outbox.mark_delivered, [reply.id], reply.conversation_id)
        return True

    async def _fail(self, reply: AgentReply, reason: str) -> None:
        logger.warning("Reply %s cannot be delivered: %s", reply.id, reason)
        await asyncio.to_thread(self._outbox.mark_failed, reply.id, reason)
