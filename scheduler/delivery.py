"""How a reminder reaches a chat: Rasa runs the reminder's turn in the customer's conversation
(an external event, rasa_plugins/channels.py), so that the customer can answer it ("cancel
it"), and what Rasa said waits in the reply outbox for the channel, which sends it at once
(Telegram) or when the customer's page is open or next opened (web chat)."""

from __future__ import annotations

import asyncio
import logging

from channels.rasa_client import RasaClient, RasaUnavailable
from telecom_assistant.reminders.model import SentReminder
from telecom_assistant.reminders.scan import ChatDelivery, ChatUnreachable
from telecom_assistant.tickets.replies import ReplyButton, ReplyOutbox

# Rasa's turn for a reminder runs one action; a minute covers a Rasa that is busy.
REMIND_TIMEOUT_SECONDS = 60.0

logger = logging.getLogger(__name__)


class RasaChatDelivery(ChatDelivery):
    """Called from the scan's worker thread; the Rasa client lives on the program's loop."""

    def __init__(
        self, rasa: RasaClient, outbox: ReplyOutbox, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._rasa = rasa
        self._outbox = outbox
        self._loop = loop

    def deliver(self, reminder: SentReminder) -> None:
        chat = reminder.chat
        if chat is None:
            return
        asking = self._rasa.remind(chat.channel, chat.conversation_id, reminder.id)
        try:
            messages = asyncio.run_coroutine_threadsafe(asking, self._loop).result(
                REMIND_TIMEOUT_SECONDS
            )
        except (RasaUnavailable, TimeoutError) as unavailable:
            raise ChatUnreachable(str(unavailable) or "Rasa took too long") from unavailable
        said = [
            (
                message.text,
                [ReplyButton(button.title, button.payload) for button in message.buttons],
            )
            for message in messages
            if message.text
        ]
        if not said:
            # The turn ran and chose to say nothing (the conversation is no longer this
            # line's): trying again would run it again.
            logger.warning("Rasa said nothing for reminder %s", reminder.id)
            return
        self._outbox.post_reminder(chat.channel, chat.conversation_id, chat.language, said)
