"""Agents' replies to tickets filed from Telegram, sent from the outbox to the customer's chat.

A reply names its conversation; the chat directory (conversations.py) says which chat that is.

The bridge polls the outbox: the agent console is another process, and the database is all
the two share. Delivery is at least once: a reply that went out but could not be marked
delivered (the database went away in between) goes out again at a later poll. The same poll
carries live chats (telecom_assistant/tickets/live.py): an agent's live message goes out under
the agent's name, the desk's notices as they are, buttons as an inline keyboard; and while an
agent types, the chat shows "typing…".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from channels.telegram.conversations import ChatDirectory
from channels.telegram.sending import send_text
from telecom_assistant.tickets.live import LiveDesk
from telecom_assistant.tickets.replies import TELEGRAM, AgentReply, ReplyKind, ReplyOutbox

# Telegram shows "typing…" for about five seconds after each chat action.
TYPING_EVERY_SECONDS = 4.0

logger = logging.getLogger(__name__)


class AgentReplySender:
    """Sends the outbox's Telegram replies every `poll_seconds`, from start() until stop()."""

    def __init__(
        self,
        outbox: ReplyOutbox,
        chats: ChatDirectory,
        poll_seconds: float = 0.25,
        live_desk: LiveDesk | None = None,
    ) -> None:
        self._outbox = outbox
        self._chats = chats
        self._poll_seconds = poll_seconds
        self._live_desk = live_desk
        # Conversation -> when its chat was last shown "typing…".
        self._typing_shown: dict[str, float] = {}
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
                await self._show_agents_typing(bot)
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
            await send_text(bot, chat_id, _as_sent(reply), _keyboard(reply))
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

    async def _show_agents_typing(self, bot: Bot) -> None:
        if self._live_desk is None:
            return
        typing = await asyncio.to_thread(self._live_desk.agents_typing, TELEGRAM)
        now = asyncio.get_running_loop().time()
        for conversation_id in typing:
            if now - self._typing_shown.get(conversation_id, -TYPING_EVERY_SECONDS) < (
                TYPING_EVERY_SECONDS
            ):
                continue
            chat_id = await asyncio.to_thread(self._chats.chat_of, conversation_id)
            if chat_id is not None:
                with contextlib.suppress(TelegramError):  # a hint, not a message
                    await bot.send_chat_action(chat_id, ChatAction.TYPING)
            self._typing_shown[conversation_id] = now
        for conversation_id in set(self._typing_shown) - set(typing):
            del self._typing_shown[conversation_id]

    async def _fail(self, reply: AgentReply, reason: str) -> None:
        logger.warning("Reply %s cannot be delivered: %s", reply.id, reason)
        await asyncio.to_thread(self._outbox.mark_failed, reply.id, reason)


def _as_sent(reply: AgentReply) -> str:
    """A live message under its agent's name (Telegram shows every message as the bot's)."""
    if reply.kind is ReplyKind.LIVE and reply.author_name:
        return f"{reply.author_name}: {reply.for_customer()}"
    return reply.for_customer()


def _keyboard(reply: AgentReply) -> InlineKeyboardMarkup | None:
    """The reply's buttons; pressing one sends its payload to the assistant, like a button of
    the assistant's own (Bridge.on_button)."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button.title, callback_data=button.payload)]
            for button in reply.buttons
        ]
    )
