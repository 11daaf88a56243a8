"""Relays private Telegram chats to Rasa over HTTP, one Rasa conversation per chat.

Rasa answers on its "telegram" channel (channels/rasa_client.py), which behaves like Rasa's
REST channel: the request carries a sender id and a text, the response is the list of the
bot's messages for that turn. Every request carries the channel secret, and the sender id is
the chat's conversation id (conversations.py), which only the bridge can make.

Only private chats reach Rasa: in a group, what the assistant tells a verified customer about
their account would be read by every member. A group is told once to write privately instead.

Every update comes in through `receive` (updates.py takes them from Telegram), which hands it
to python-telegram-bot's handlers below. A message for Rasa is not sent from a handler: it is
stored in the inbox (inbox.py) before its update is confirmed to Telegram, then joins the
chat's queue, and one delivery task per chat sends the queue to Rasa in order. So a chat
waiting for Rasa does not hold up the other chats; when Rasa is down the queue waits, with
exponential backoff, until Rasa is back; and when the bridge stops or dies, the next start
finds the queue in the inbox: nothing the customer wrote is dropped. Each message goes with
its key, so Rasa never runs its turn twice, however often the bridge has to send it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from channels.rasa_client import BotMessage, RasaClient, RasaUnavailable
from channels.telegram.conversations import ChatDirectory, rasa_sender_id
from channels.telegram.inbox import Inbox, WaitingMessage
from channels.telegram.sending import send_text
from telecom_assistant.language import ENGLISH, LANGUAGES
from telecom_assistant.text import clean_message
from telecom_assistant.texts import language_of_tag, text
from telecom_assistant.tickets.replies import TELEGRAM

logger = logging.getLogger(__name__)

# A shared contact asks to verify that number, in one turn: the intent and the number as its
# entity, as a button would send them (json.dumps: the number is digits only anyway).
VERIFY_IDENTITY_INTENT = "/verify_identity"
# Telegram refuses callback data longer than this many bytes.
CALLBACK_DATA_LIMIT = 64
# Callback data the bridge makes up itself starts with this; a Rasa payload that happens to
# start with it too is sent through the per-chat payload map, so the two never mix.
BRIDGE_CALLBACK_PREFIX = "tgb:"
LANGUAGE_CALLBACK_PREFIX = BRIDGE_CALLBACK_PREFIX + "lang:"
PAYLOAD_CALLBACK_PREFIX = BRIDGE_CALLBACK_PREFIX + "p:"
# Handlers of this group run before the others, and may stop them.
GATE_GROUP = -1


def language_from_telegram(language_code: str | None) -> str:
    """The language a Telegram user's app is set to: zh, zh-hans, zh-hant… are Chinese."""
    return language_of_tag(language_code) or ENGLISH


# Messages a chat may have waiting for Rasa during an outage, beyond the rate limit.
MAX_BACKLOG = 50
# Every so many updates, the inbox forgets the long-answered ones.
UPDATES_BETWEEN_CLEAN_UPS = 1000
# How long a stop waits for answers on their way to Telegram.
STOP_GRACE_SECONDS = 10.0


class TokenBucket:
    """Allows bursts of `capacity` messages, then `refill_per_second` on average."""

    def __init__(
        self,
        capacity: float,
        refill_per_second: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._capacity = capacity
        self._refill_per_second = refill_per_second
        self._clock = clock
        self._tokens = capacity
        self._updated = clock()

    def take(self) -> bool:
        now = self._clock()
        elapsed = now - self._updated
        self._tokens = min(self._capacity, self._tokens + elapsed * self._refill_per_second)
        self._updated = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


@dataclass
class ChatState:
    conversation_id: str
    language: str
    rate_limiter: TokenBucket
    # Whether the chat directory has this chat (then an agent's reply can find it).
    in_directory: bool = False
    # Messages for Rasa not answered yet, oldest first; the head is the one being sent.
    pending: deque[WaitingMessage] = field(default_factory=deque)
    delivery: asyncio.Task[None] | None = None
    rasa_unavailable: bool = False
    # While Rasa's answer to the head of the queue goes out to Telegram: a stop waits for it.
    answering: bool = False
    # Set once the customer has been asked to slow down, so a flood gets one notice, not many.
    told_to_slow_down: bool = False
    # Callback data key -> Rasa payload, for payloads that do not fit in callback data.
    long_payloads: dict[str, str] = field(default_factory=dict)


async def log_failed_update(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """PTB's last resort for an exception a handler let through: logged by its type and where
    it was raised, never with the update or the exception's text (both may quote the customer)."""
    error = context.error
    where = ""
    if error is not None and error.__traceback__ is not None:
        frame = error.__traceback__
        while frame.tb_next is not None:
            frame = frame.tb_next
        where = f" at {frame.tb_frame.f_code.co_filename}:{frame.tb_lineno}"
    logger.error("An update could not be handled: %s%s", type(error).__name__, where)


def chat_of(update: Update) -> int:
    """The chat of an update the bridge handles: each handler is registered for messages or
    button presses in a chat (build_application), which always have one."""
    assert update.effective_chat is not None
    return update.effective_chat.id


def message_of(update: Update) -> Message:
    assert update.effective_message is not None
    return update.effective_message


class Bridge:
    def __init__(
        self,
        rasa: RasaClient,
        conversation_key: str,
        inbox: Inbox,
        *,
        chats: ChatDirectory | None = None,
        burst: int = 5,
        refill_per_second: float = 1.0,
        first_retry_delay: float = 1.0,
        max_retry_delay: float = 30.0,
    ) -> None:
        self._rasa = rasa
        self._conversation_key = conversation_key
        self._inbox = inbox
        self._chats = chats
        self._burst = burst
        self._refill_per_second = refill_per_second
        self._first_retry_delay = first_retry_delay
        self._max_retry_delay = max_retry_delay
        self._chat_states: dict[int, ChatState] = {}
        # Groups (and supergroups) already told that the bot talks in private chats only.
        self._groups_told: set[int] = set()
        # Update id -> the text its handler wants Rasa to read, until `receive` stores it.
        self._for_rasa: dict[int, str] = {}
        self._updates_received = 0
        self._stopping = False

    @property
    def queued_messages(self) -> int:
        """Customers' messages Rasa has not answered yet, over all chats."""
        return sum(len(state.pending) for state in self._chat_states.values())

    def register(self, application: Application) -> None:
        application.add_handler(TypeHandler(Update, self.keep_to_private_chats), GATE_GROUP)
        application.add_handler(CommandHandler("start", self.on_start))
        application.add_handler(CommandHandler("help", self.on_help))
        application.add_handler(CommandHandler("language", self.on_language))
        application.add_handler(CommandHandler("cancel", self.on_cancel))
        application.add_handler(CallbackQueryHandler(self.on_button))
        # A command the bridge does not know is answered here: typed into Rasa, "/cancel" or
        # "/deny" would be read as an intent and do something the customer never asked for.
        # An edited message is answered as a new one: the customer corrected what they said.
        new_message = filters.UpdateType.MESSAGE
        new_or_edited = new_message | filters.UpdateType.EDITED_MESSAGE
        application.add_handler(MessageHandler(new_or_edited & filters.COMMAND, self.on_command))
        application.add_handler(MessageHandler(new_or_edited & filters.TEXT, self.on_text))
        application.add_handler(MessageHandler(new_message & filters.CONTACT, self.on_contact))
        application.add_handler(MessageHandler(new_message & filters.CAPTION, self.on_caption))
        application.add_handler(MessageHandler(new_message, self.on_other_message))
        application.add_error_handler(log_failed_update)

    async def receive(self, application: Application, update: Update) -> None:
        """Handles one update from Telegram. Once this returns, the update may be confirmed:
        what it asks of Rasa is in the inbox. Raises SQLAlchemyError when the inbox cannot be
        read or written: then the update must come again (not be confirmed), and is handled
        then as if for the first time."""
        if await asyncio.to_thread(self._inbox.seen, update.update_id):
            # Handled before the bridge last stopped, which was before it could confirm it.
            return
        try:
            await application.process_update(update)
            text_for_rasa = self._for_rasa.get(update.update_id)
        finally:
            self._for_rasa.pop(update.update_id, None)
        chat = update.effective_chat
        if chat is None:
            return
        if text_for_rasa is None:
            language = (
                self._chat_states[chat.id].language if chat.id in self._chat_states else ENGLISH
            )
            await asyncio.to_thread(self._inbox.handled, update.update_id, chat.id, language)
        else:
            state = self._chat_states[chat.id]
            message = await asyncio.to_thread(
                self._inbox.take, update.update_id, chat.id, text_for_rasa, state.language
            )
            if message is not None:
                await self._enqueue(application.bot, state, message)
        self._updates_received += 1
        if self._updates_received % UPDATES_BETWEEN_CLEAN_UPS == 0:
            await asyncio.to_thread(self._inbox.forget_old_updates)

    async def resume(self, bot: Bot) -> None:
        """Sends on what the inbox holds for Rasa from before the bridge (re)started."""
        await asyncio.to_thread(self._inbox.forget_old_updates)
        waiting = await asyncio.to_thread(self._inbox.waiting)
        for message in waiting:
            state = self._state_of_chat(message.chat_id, message.language)
            await self._enqueue(bot, state, message)
        if waiting:
            logger.info("Resuming %d message(s) that wait for Rasa", len(waiting))

    async def close(self) -> None:
        """Stops the delivery tasks; what they had not delivered waits in the inbox.

        A delivery waiting for Rasa stops at once: Rasa knows the message by its key, so the
        next start gets the answer without the turn running again. One whose answer is on its
        way to Telegram stops once the answer is out and recorded: cut short, the answer would
        go out again after the restart (Telegram cannot tell a message sent twice)."""
        self._stopping = True
        deliveries = [state.delivery for state in self._chat_states.values() if state.delivery]
        for state in self._chat_states.values():
            if state.delivery is not None and not state.answering:
                state.delivery.cancel()
        if deliveries:
            await asyncio.wait(deliveries, timeout=STOP_GRACE_SECONDS)
        for delivery in deliveries:
            delivery.cancel()
        await asyncio.gather(*deliveries, return_exceptions=True)
        if self.queued_messages:
            logger.info(
                "Stopping with %d message(s) waiting for Rasa: the next start sends them",
                self.queued_messages,
            )
        await self._rasa.close()

    # --- Telegram update handlers -------------------------------------------------------

    async def keep_to_private_chats(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE
    ) -> None:
        """Lets updates from private chats through to the other handlers, and nothing else."""
        chat = update.effective_chat
        if chat is None or chat.type == ChatType.PRIVATE:
            return
        # Once per group, and only when someone wrote or pressed there: not on being added or
        # removed. A channel has nobody to talk to, so it is not told.
        if (
            chat.type != ChatType.CHANNEL
            and update.effective_message is not None
            and chat.id not in self._groups_told
        ):
            self._groups_told.add(chat.id)
            user = update.effective_user
            language = language_from_telegram(user.language_code if user else None)
            notice = text("telegram.private_only", language, bot_username=context.bot.username)
            await self._send(context.bot, chat.id, notice, None)
        raise ApplicationHandlerStop

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        state = self._chat_state(update)
        share_contact = KeyboardButton(
            text("telegram.share_contact", state.language), request_contact=True
        )
        keyboard = ReplyKeyboardMarkup(
            [[share_contact]], resize_keyboard=True, one_time_keyboard=True
        )
        await self._say(context.bot, chat_of(update), state, "telegram.start", keyboard)

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        state = self._chat_state(update)
        await self._say(context.bot, chat_of(update), state, "telegram.help")

    async def on_language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        state = self._chat_state(update)
        choices = [
            [
                InlineKeyboardButton(
                    text("language.name", language),
                    callback_data=LANGUAGE_CALLBACK_PREFIX + language,
                )
            ]
            for language in LANGUAGES
        ]
        await self._say(
            context.bot,
            chat_of(update),
            state,
            "telegram.choose_language",
            InlineKeyboardMarkup(choices),
        )

    async def on_cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/cancel says what a customer types to stop what is under way, in their language."""
        state = self._chat_state(update)
        chat_id = chat_of(update)
        if await self._admit(context.bot, chat_id, state):
            await self._relay_text(
                context.bot, update, state, text("telegram.cancel_says", state.language)
            )

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        state = self._chat_state(update)
        command = (message_of(update).text or "").split()[0]
        notice = text("telegram.unknown_command", state.language, command=command[:64])
        await self._send(context.bot, chat_of(update), notice, None)

    async def on_caption(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A picture's caption ("my bill is wrong, see the screenshot") is the message."""
        state = self._chat_state(update)
        chat_id = chat_of(update)
        await self._say(context.bot, chat_id, state, "telegram.picture_not_read")
        if await self._admit(context.bot, chat_id, state):
            await self._relay_text(context.bot, update, state, message_of(update).caption or "")

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        state = self._chat_state(update)
        chat_id = chat_of(update)
        if await self._admit(context.bot, chat_id, state):
            await self._relay_text(context.bot, update, state, message_of(update).text or "")

    async def on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        state = self._chat_state(update)
        chat_id = chat_of(update)
        contact = message_of(update).contact
        user = update.effective_user
        # Anyone can share someone else's contact card; only one's own number proves anything.
        if contact is None or user is None or contact.user_id != user.id:
            await self._say(context.bot, chat_id, state, "telegram.contact_not_yours")
            return
        if not await self._admit(context.bot, chat_id, state):
            return
        await self._say(
            context.bot, chat_id, state, "telegram.contact_received", ReplyKeyboardRemove()
        )
        digits = "".join(character for character in contact.phone_number if character.isdigit())
        self._for_rasa[update.update_id] = VERIFY_IDENTITY_INTENT + json.dumps(
            {"phone_number": digits}
        )

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:  # registered for callback queries only
            return
        # Telegram shows a spinner on the button until the query is answered. A press answered
        # late ("query is too old") still counts: the customer pressed it.
        try:
            await query.answer()
        except TelegramError as late:
            logger.info("A button's spinner could not be stopped (%s)", type(late).__name__)
        if update.effective_chat is None:  # the message with the button is too old to reach
            return
        state = self._chat_state(update)
        chat_id = chat_of(update)
        data = query.data or ""
        if data.startswith(LANGUAGE_CALLBACK_PREFIX):
            chosen = data.removeprefix(LANGUAGE_CALLBACK_PREFIX)
            if chosen in LANGUAGES:
                state.language = chosen
                await self._say(context.bot, chat_id, state, "telegram.language_set")
            return
        if data.startswith(PAYLOAD_CALLBACK_PREFIX):
            payload = state.long_payloads.get(data)
            if payload is None:  # made before the bridge restarted
                await self._say(context.bot, chat_id, state, "telegram.button_expired")
                return
        else:
            payload = data
        if await self._admit(context.bot, chat_id, state):
            # Any Telegram client can send any callback data, not just the buttons' own.
            await self._relay_text(context.bot, update, state, payload)

    async def on_other_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        state = self._chat_state(update)
        await self._say(context.bot, chat_of(update), state, "telegram.text_only")

    # --- Per-chat state, rate limit and delivery -----------------------------------------

    def _chat_state(self, update: Update) -> ChatState:
        user = update.effective_user
        language = language_from_telegram(user.language_code if user else None)
        return self._state_of_chat(chat_of(update), language)

    def _state_of_chat(self, chat_id: int, language: str) -> ChatState:
        """The chat's state; a chat new to this process starts in `language`."""
        state = self._chat_states.get(chat_id)
        if state is None:
            state = ChatState(
                conversation_id=rasa_sender_id(chat_id, self._conversation_key),
                language=language,
                rate_limiter=TokenBucket(self._burst, self._refill_per_second),
            )
            self._chat_states[chat_id] = state
        return state

    async def _admit(self, bot: Bot, chat_id: int, state: ChatState) -> bool:
        # While Rasa is away, what the customer types waits in the chat's queue, which goes to
        # Rasa one message at a time anyway: a customer who keeps writing into the silence is
        # not flooding anybody, and nothing of it may be dropped (up to a bound, for memory).
        if state.rasa_unavailable and len(state.pending) < MAX_BACKLOG:
            return True
        if state.rate_limiter.take():
            state.told_to_slow_down = False
            return True
        if not state.told_to_slow_down:
            state.told_to_slow_down = True
            await self._say(bot, chat_id, state, "telegram.slow_down")
        return False

    async def _relay_text(self, bot: Bot, update: Update, state: ChatState, message: str) -> None:
        """Leaves the text for `receive` to store and send to Rasa."""
        cleaned = clean_message(message)
        if cleaned.strip():
            self._for_rasa[update.update_id] = cleaned
        else:  # nothing but invisible characters
            await self._say(bot, chat_of(update), state, "telegram.nothing_to_read")

    async def _enqueue(self, bot: Bot, state: ChatState, message: WaitingMessage) -> None:
        await self._enter_in_directory(message.chat_id, state)
        state.pending.append(message)
        # Queued behind an outage, the message needs no notice of its own: the customer was
        # told once, when the outage began, that every message will be answered.
        if state.delivery is None:
            state.delivery = asyncio.create_task(self._deliver(bot, message.chat_id, state))

    async def _enter_in_directory(self, chat_id: int, state: ChatState) -> None:
        """Records the chat before its first message reaches Rasa, which may file a ticket."""
        if self._chats is None or state.in_directory:
            return
        try:
            # SQL blocks: in a thread, so the other chats are not held up meanwhile.
            await asyncio.to_thread(self._chats.remember, state.conversation_id, chat_id)
        except SQLAlchemyError as error:
            # The chat goes on; the next message tries again.
            logger.warning(
                "Chat %s: cannot record it in the chat directory (%s); agents' replies cannot "
                "reach it until it is",
                chat_id,
                error,
            )
            return
        state.in_directory = True

    async def _deliver(self, bot: Bot, chat_id: int, state: ChatState) -> None:
        """Sends the chat's queue to Rasa in order, waiting out Rasa's outages."""
        retry_delay = self._first_retry_delay
        try:
            # No await between the last look at the queue and clearing `delivery` (finally),
            # so a message queued meanwhile always finds either this task or none.
            while state.pending and not self._stopping:
                message = state.pending[0]
                try:
                    replies = await self._rasa.send(
                        TELEGRAM,
                        state.conversation_id,
                        message.text,
                        message_key=message.key,
                        retry=message.maybe_sent,
                    )
                except RasaUnavailable as error:
                    logger.warning(
                        "Chat %s: %s; retrying in %.1f s (%d message(s) queued)",
                        chat_id,
                        error,
                        retry_delay,
                        len(state.pending),
                    )
                    if not state.rasa_unavailable:
                        state.rasa_unavailable = True
                        await self._say(bot, chat_id, state, "telegram.unavailable")
                    # Rasa may have taken it before failing to answer (a timeout, say).
                    state.pending[0] = replace(message, maybe_sent=True)
                    await asyncio.sleep(retry_delay)
                    retry_delay = min(retry_delay * 2, self._max_retry_delay)
                    continue
                state.rasa_unavailable = False
                retry_delay = self._first_retry_delay
                state.answering = True
                try:
                    for reply in replies:
                        await self._send_reply(bot, chat_id, state, reply)
                    await self._mark_answered(message)
                finally:
                    state.answering = False
                state.pending.popleft()
        finally:
            state.delivery = None

    async def _mark_answered(self, message: WaitingMessage) -> None:
        try:
            await asyncio.to_thread(self._inbox.answered, message.update_id)
        except SQLAlchemyError as error:
            # The answer went out; the worst that can come of it is the answer again, after a
            # restart (Rasa answers it from the conversation without running the turn).
            logger.warning(
                "Chat %s: cannot record that Rasa answered a message (%s)",
                message.chat_id,
                type(error).__name__,
            )

    async def _send_reply(
        self, bot: Bot, chat_id: int, state: ChatState, reply: BotMessage
    ) -> None:
        if not reply.text:
            logger.warning("Chat %s: skipping a Rasa message without text: %r", chat_id, reply)
            return
        keyboard = None
        if reply.buttons:
            keyboard = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            button.title,
                            callback_data=self._callback_data(state, button.payload),
                        )
                    ]
                    for button in reply.buttons
                ]
            )
        await self._send(bot, chat_id, reply.text, keyboard)

    @staticmethod
    def _callback_data(state: ChatState, payload: str) -> str:
        fits = len(payload.encode("utf-8")) <= CALLBACK_DATA_LIMIT
        if fits and not payload.startswith(BRIDGE_CALLBACK_PREFIX):
            return payload
        for key, known_payload in state.long_payloads.items():
            if known_payload == payload:
                return key
        key = f"{PAYLOAD_CALLBACK_PREFIX}{len(state.long_payloads)}"
        state.long_payloads[key] = payload
        return key

    async def _say(
        self, bot: Bot, chat_id: int, state: ChatState, key: str, reply_markup: Any = None
    ) -> None:
        await self._send(bot, chat_id, text(key, state.language), reply_markup)

    @staticmethod
    async def _send(bot: Bot, chat_id: int, message: str, reply_markup: Any) -> None:
        # A message Telegram refuses must not stop the rest of the chat's replies. What the
        # message said stays out of the log: it is the customer's conversation.
        try:
            await send_text(bot, chat_id, message, reply_markup)
        except TelegramError as refusal:
            logger.error(
                "Chat %s: Telegram refused a message (%s)", chat_id, type(refusal).__name__
            )
