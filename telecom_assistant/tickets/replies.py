"""Agents' replies to customers, and the outbox the channels deliver them from.

An agent answers a ticket in the console (:meth:`TicketService.reply`); the reply waits in an
outbox until the customer's channel takes it: the Telegram bridge sends it at once, the web
chat shows it at once when the customer's page is open and otherwise at their next visit.
Replies are part of the ticket's transcript, with where each stands.

Channels see only :class:`ReplyOutbox`, which knows nothing of the rest of the ticket desk.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from telecom_assistant.language import ENGLISH, LANGUAGES
from telecom_assistant.texts import text
from telecom_assistant.tickets.model import Delivery, TicketError

# The channels that can carry a reply back, by the channel name a ticket records. A ticket
# opened over the bare REST API (a test, a script) has nobody to answer.
TELEGRAM = "telegram"
WEBCHAT = "webchat"
SMS = "sms"  # the SMS business hall (channels/sms/)
REPLY_CHANNELS = frozenset({TELEGRAM, WEBCHAT, SMS})
# The channels that hold a chat: an agent can talk live there, a customer press buttons, a
# reminder open the conversation. SMS carries letters only.
CHAT_CHANNELS = frozenset({TELEGRAM, WEBCHAT})
# Telegram takes 4,096 characters per message; leave room for the heading.
REPLY_MAX_LENGTH = 2000


class ReplyKind(str, enum.Enum):
    LETTER = "letter"  # an agent's answer to the ticket, read whenever: under a heading
    LIVE = "live"  # an agent's message in a live chat (tickets/live.py): as it is, signed
    NOTICE = "notice"  # the desk's own word: an agent joined or left, a request for a rating
    REMINDER = "reminder"  # the assistant's own word outside a turn (telecom_assistant/reminders/)


# Telegram carries a button's payload as its callback data, 64 bytes at most.
BUTTON_PAYLOAD_LIMIT = 64


@dataclass(frozen=True)
class ReplyButton:
    """A button under a message; pressing it sends `payload` as the customer's message."""

    title: str
    payload: str

    def __post_init__(self) -> None:
        if len(self.payload.encode("utf-8")) > BUTTON_PAYLOAD_LIMIT:
            raise ValueError(
                f"a button's payload takes at most {BUTTON_PAYLOAD_LIMIT} bytes (Telegram's "
                f"limit): {self.payload[:80]!r}"
            )


class RefusalReason(str, enum.Enum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    CHANNEL = "channel"  # the ticket's channel cannot carry a reply


class ReplyRefused(TicketError):
    """The reply cannot be sent; ``reason`` lets the console say why in the agent's language."""

    def __init__(self, reason: RefusalReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class AgentReply:
    id: int
    ticket_id: str | None  # None: a reminder, which belongs to no ticket
    channel: str
    conversation_id: str
    language: str  # the ticket's, so a channel that never saw the customer still knows it
    author: str
    text: str
    at: datetime
    delivery: Delivery = Delivery.PENDING
    delivered_at: datetime | None = None
    kind: ReplyKind = ReplyKind.LETTER
    # The agent's name as the customer reads it; None for the desk's notices.
    author_name: str | None = None
    buttons: tuple[ReplyButton, ...] = ()

    def for_customer(self) -> str:
        """The words the customer reads, the same on every channel: a letter under its
        heading, with how to answer; a live message and a notice as they are."""
        if self.kind is not ReplyKind.LETTER:
            return self.text
        language = self.language if self.language in LANGUAGES else ENGLISH
        heading = text("reply.heading", language, ticket_id=self.ticket_id)
        return f"{heading}\n\n{self.text}\n\n{text('reply.how_to_answer', language)}"


def check_reply(channel: str, text: str) -> str:
    """The reply's text, trimmed; raises ReplyRefused when it cannot go out."""
    if channel not in REPLY_CHANNELS:
        raise ReplyRefused(RefusalReason.CHANNEL, f"the {channel!r} channel cannot take replies")
    text = text.strip()
    if not text:
        raise ReplyRefused(RefusalReason.EMPTY, "the reply is empty")
    if len(text) > REPLY_MAX_LENGTH:
        raise ReplyRefused(
            RefusalReason.TOO_LONG, f"the reply is longer than {REPLY_MAX_LENGTH} characters"
        )
    return text


class ReplyOutbox(abc.ABC):
    """What a channel needs: the replies waiting for it, and a way to say they went out."""

    @abc.abstractmethod
    def pending(
        self, channel: str, conversation_id: str | None = None, limit: int = 50
    ) -> Sequence[AgentReply]:
        """Undelivered replies on this channel (for one conversation if given), oldest first."""

    @abc.abstractmethod
    def mark_delivered(self, reply_ids: Iterable[int], conversation_id: str) -> int:
        """Marks those of the replies that belong to the conversation; returns how many.

        The conversation id guards the web chat, where the ids come from a browser."""

    @abc.abstractmethod
    def mark_failed(self, reply_id: int, reason: str) -> None:
        """The channel refused the reply for good (a blocked bot, a deleted chat)."""

    @abc.abstractmethod
    def post_reminder(
        self,
        channel: str,
        conversation_id: str,
        language: str,
        texts: Sequence[tuple[str, Sequence[ReplyButton]]],
    ) -> Sequence[int]:
        """Queue the assistant's messages (each a text and its buttons) for a conversation
        outside any turn, in order: a reminder, as the conversation's Rasa turn wrote it."""
