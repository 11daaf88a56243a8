"""Live chat: a person on the line, in the customer's own chat.

A customer whose case is escalated during service hours is put in line for an agent (the
ticket's conversation becomes a *waiting* live chat); an agent takes it from the console (it is
*live*), they talk, and the agent hands the conversation back to the assistant or closes it (it
has *ended*). Outside service hours nobody is put in line: the customer is told when the desk
opens, and the ticket is answered as a letter.

Where the messages go while a chat is live is decided in one place, Rasa's channels
(rasa_plugins/channels.py), which every customer message passes through, web chat and Telegram
alike: the customer's message is kept with the ticket (masked, as the transcript is) for the
agent, and the assistant does not run a turn, so it says nothing and its conversation stays as
it was until the agent hands back. (Rasa's own pause would keep the message in the tracker and
answer nothing, but it has no way to carry the agent's words back, and resuming it needs a
second event per chat; the channel programs already deliver agents' replies.) The agent's
messages, and the desk's notices ("Li Na has joined the chat"), go through the reply outbox
like agents' letters, to whichever channel the customer uses.

Everything here is the rules; the SQL implementation is sql_live.py.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from telecom_assistant.clock import Clock, operator_now
from telecom_assistant.service_hours import ServiceHours
from telecom_assistant.tickets.model import TicketError

# A side is shown as typing for this long after its last keystroke was reported.
TYPING_SECONDS = 6
# The web chat reports an open page every few seconds; longer silence means the customer left.
PRESENCE_SECONDS = 30


class LiveState(str, enum.Enum):
    WAITING = "waiting"  # the customer waits for an agent
    LIVE = "live"  # an agent talks with the customer
    ENDED = "ended"


class EndReason(str, enum.Enum):
    HANDED_BACK = "handed_back"  # the agent gave the conversation back to the assistant
    CLOSED = "closed"  # the agent closed the conversation (and resolved the ticket)
    CUSTOMER_LEFT = "customer_left"  # the customer ended the chat
    CANCELLED = "cancelled"  # the customer stopped waiting, or an agent turned the wait down


class LiveChatError(TicketError):
    """An agent's action on a live chat that does not fit its state."""


class NotYours(LiveChatError):
    """Another agent has this conversation."""


class NotLive(LiveChatError):
    """The chat is not live (still waiting, or over): nothing can be said in it."""


class NoLiveChannel(LiveChatError):
    """The ticket came over a channel nobody can chat on (the bare REST API)."""


@dataclass(frozen=True)
class LiveChat:
    id: int
    ticket_id: str
    conversation_id: str
    channel: str
    language: str
    state: LiveState
    requested_at: datetime
    agent: str | None = None
    agent_name: str | None = None
    taken_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    customer_typing_at: datetime | None = None
    agent_typing_at: datetime | None = None
    customer_seen_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.state is not LiveState.ENDED

    def customer_typing(self, now: datetime) -> bool:
        return _recent(self.customer_typing_at, now, TYPING_SECONDS)

    def agent_typing(self, now: datetime) -> bool:
        return _recent(self.agent_typing_at, now, TYPING_SECONDS)

    def customer_present(self, now: datetime) -> bool | None:
        """Whether the customer's page is open; None where the channel cannot tell (Telegram)."""
        if self.customer_seen_at is None:
            return None
        return _recent(self.customer_seen_at, now, PRESENCE_SECONDS)


def _recent(moment: datetime | None, now: datetime, seconds: float) -> bool:
    return moment is not None and now - moment <= timedelta(seconds=seconds)


class LiveDesk(abc.ABC):
    """Live chats, for the assistant (put a customer in line), Rasa's channels (route the
    customer's messages), the channel programs (typing, leaving) and the console (take, talk,
    hand back, close)."""

    # --- the assistant and the customer's side ---------------------------------------------

    @abc.abstractmethod
    def request_person(self, ticket_id: str) -> LiveChat:
        """Puts the ticket's customer in line for an agent; the chat already open if there is
        one. Raises NoLiveChannel when the ticket's channel cannot carry a chat."""

    @abc.abstractmethod
    def open_chat(self, conversation_id: str) -> LiveChat | None:
        """The conversation's waiting or live chat, if it has one."""

    @abc.abstractmethod
    def take_customer_message(self, conversation_id: str, text: str) -> bool:
        """While an agent talks with the customer: keeps the message for the agent (masked)
        and returns True; the assistant must not answer it. False otherwise."""

    @abc.abstractmethod
    def record_turn(
        self,
        conversation_id: str,
        customer: str,
        assistant: Sequence[str],
        turn_started_at: datetime,
    ) -> None:
        """A turn the assistant answered, kept with the conversation's open ticket (masked) so
        that the agent reads what happened after the filing; nothing without an open ticket,
        nor for the turn that filed it (turn_started_at: the operator's time as it began)."""

    @abc.abstractmethod
    def customer_typing(self, conversation_id: str) -> None: ...

    @abc.abstractmethod
    def customer_here(self, conversation_id: str) -> None:
        """The customer's page is open (the web chat says so every few seconds)."""

    @abc.abstractmethod
    def customer_left(self, conversation_id: str) -> None:
        """The customer ended the chat: an open live chat ends, and the agent sees it (a wait
        that no agent took yet ends as cancelled)."""

    # --- the console -----------------------------------------------------------------------

    @abc.abstractmethod
    def chat_of_ticket(self, ticket_id: str) -> LiveChat | None:
        """The ticket's latest live chat, open or ended."""

    @abc.abstractmethod
    def take(self, ticket_id: str, agent: str, agent_name: str) -> LiveChat:
        """The agent joins the ticket's conversation (the customer is told), waiting or not;
        the ticket is assigned to them. Raises NotYours if another agent has it."""

    @abc.abstractmethod
    def say(self, ticket_id: str, agent: str, text: str) -> None:
        """The agent's message to the customer, at once. Raises NotLive, NotYours."""

    @abc.abstractmethod
    def agent_typing(self, ticket_id: str, agent: str) -> None: ...

    @abc.abstractmethod
    def end(self, ticket_id: str, agent: str, reason: EndReason) -> LiveChat:
        """The agent hands the conversation back to the assistant or closes it (the customer
        is told which); closing also resolves the ticket."""

    @abc.abstractmethod
    def agents_typing(self, channel: str) -> Sequence[str]:
        """The conversations on `channel` whose agent is typing now (for Telegram's "typing…")."""


@dataclass(frozen=True)
class LiveChats:
    """Where an escalated customer is put in line for an agent, and when agents are in."""

    desk: LiveDesk
    hours: ServiceHours
    clock: Clock = operator_now
