"""Live chat with agents on the ticket desk's tables (telecom_assistant/tickets/sql_live.py), on
SQLite and PostgreSQL: who waits, taking a conversation, what each side is told, what is kept
with the ticket (masked); the desk's own notices with buttons; the migration that adds the
tables; and Rasa's channels routing a live chat's messages to the agent instead of the
assistant."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from channels.rasa_client import RasaClient
from telecom_assistant.clock import operator_now
from telecom_assistant.schema import Area, alembic_config
from telecom_assistant.tickets.live import (
    TYPING_SECONDS,
    EndReason,
    LiveState,
    NoLiveChannel,
    NotLive,
    NotYours,
)
from telecom_assistant.tickets.model import Delivery, Status
from telecom_assistant.tickets.replies import (
    TELEGRAM,
    WEBCHAT,
    RefusalReason,
    ReplyButton,
    ReplyKind,
    ReplyRefused,
)
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.tickets.sql_live import SqlLiveDesk
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from telecom_assistant.tickets.tables import AgentReplyRow, TicketFollowUpRow
from tests.conftest import FakeClock
from tests.integration.test_migrations import empty_engine  # noqa: F401 - a fixture
from tests.integration.test_tickets import new_ticket
from tests.scripted_rasa import ScriptedRasa

AGENT, AGENT_NAME = "li.na", "Li Na"
OTHER_AGENT = "wang.fang"
ID_CARD = "我的身份证号是11010519491231002X"
ID_CARD_MASKED = "我的身份证号是******************"
BANK_CARD = "my card is 6222 0212 3456 7890 128"
BANK_CARD_MASKED = "my card is **** **** **** **** ***"
JOINED = "Li Na from our customer service team has joined the chat."
HANDED_BACK = "Li Na has left the chat. The assistant is back: ask me anything."
CLOSED = "Li Na has closed the chat. Thank you for talking to us."
CHANNEL_SECRET = "the-live-chat-tests-channel-secret-0123456789"


@pytest.fixture
def tickets(engine, clock) -> SqlTicketService:
    return SqlTicketService(engine, clock=clock)


@pytest.fixture
def desk(engine, clock) -> SqlLiveDesk:
    return SqlLiveDesk(engine, clock=clock)


@pytest.fixture
def outbox(engine, clock) -> SqlReplyOutbox:
    return SqlReplyOutbox(engine, clock=clock)


def file(
    tickets: SqlTicketService,
    conversation: str,
    channel: str = WEBCHAT,
    language: str = "en",
) -> str:
    """A ticket filed from the conversation (at the clock's now); its id."""
    filing = tickets.file(
        new_ticket(
            channel=channel,
            conversation_id=conversation,
            language=language,
            idempotency_key=f"{conversation}:{uuid.uuid4().hex}",
        )
    )
    return filing.ticket.id


def told(outbox: SqlReplyOutbox, channel: str, conversation: str) -> list[tuple[str, str]]:
    """What waits in the outbox for the conversation, as (kind, text)."""
    return [(reply.kind.value, reply.text) for reply in outbox.pending(channel, conversation)]


def said_since_filing(tickets: SqlTicketService, ticket_id: str) -> list[tuple[str, str]]:
    """The ticket's transcript after the three turns of the filing, as (speaker, text)."""
    return [(turn.speaker, turn.text) for turn in tickets.get(ticket_id).transcript[3:]]


def live_ticket(
    tickets: SqlTicketService, desk: SqlLiveDesk, conversation: str, channel: str = WEBCHAT
) -> str:
    """A ticket whose customer asked for a person and whom Li Na took."""
    ticket_id = file(tickets, conversation, channel)
    desk.request_person(ticket_id)
    desk.take(ticket_id, AGENT, AGENT_NAME)
    return ticket_id


# ---- waiting for a person


@pytest.mark.parametrize("channel", [WEBCHAT, TELEGRAM])
def test_a_customer_on_a_chat_channel_is_put_in_line_once(tickets, desk, clock, channel):
    ticket_id = file(tickets, "conversation-1", channel)

    chat = desk.request_person(ticket_id)
    clock.advance(minutes=1)
    again = desk.request_person(ticket_id)

    assert again == chat  # the same open chat, not a second place in line
    assert (chat.state, chat.ticket_id, chat.channel, chat.agent) == (
        LiveState.WAITING,
        ticket_id,
        channel,
        None,
    )
    assert chat.requested_at == clock() - timedelta(minutes=1)
    assert desk.open_chat("conversation-1") == chat
    assert desk.chat_of_ticket(ticket_id) == chat
    assert [ticket.id for ticket in tickets.waiting_for_person()] == [chat.ticket_id]
    assert [ticket.id for ticket in tickets.waiting_for_person()] == [ticket_id]


@pytest.mark.parametrize("channel", ["rest", "sms"])
def test_nobody_can_chat_live_over_the_bare_rest_api_or_sms(tickets, desk, channel):
    """SMS carries an agent's letters (channels/sms/agent_replies.py), not a live chat."""
    ticket_id = file(tickets, "script-1", channel=channel)
    with pytest.raises(NoLiveChannel):
        desk.request_person(ticket_id)
    with pytest.raises(NoLiveChannel):
        desk.take(ticket_id, AGENT, AGENT_NAME)
    assert tickets.waiting_for_person() == [] and desk.chat_of_ticket(ticket_id) is None


def test_the_longest_waiting_customer_comes_first(tickets, desk, clock):
    first, second, third = (file(tickets, f"conversation-{n}") for n in (1, 2, 3))
    for ticket_id in (second, first, third):
        desk.request_person(ticket_id)
        clock.advance(minutes=2)

    assert [ticket.id for ticket in tickets.waiting_for_person()] == [second, first, third]
    assert [ticket.id for ticket in tickets.waiting_for_person()] == [second, first, third]

    desk.take(first, AGENT, AGENT_NAME)
    assert [ticket.id for ticket in tickets.waiting_for_person()] == [second, third]
    assert [ticket.id for ticket in tickets.waiting_for_person()] == [second, third]


def test_nobody_waits_without_asking(tickets, desk):
    file(tickets, "conversation-1")
    assert tickets.waiting_for_person() == []
    assert desk.open_chat("conversation-1") is None


# ---- taking a conversation


@pytest.mark.parametrize(
    "language, joined",
    [("en", JOINED), ("zh", "客服 李娜 已加入对话。")],
)
def test_taking_the_conversation_tells_the_customer_in_their_language(
    tickets, desk, outbox, clock, language, joined
):
    ticket_id = file(tickets, "conversation-1", language=language)
    desk.request_person(ticket_id)
    clock.advance(minutes=3)
    name = AGENT_NAME if language == "en" else "李娜"

    chat = desk.take(ticket_id, AGENT, name)

    assert (chat.state, chat.agent, chat.agent_name, chat.taken_at) == (
        LiveState.LIVE,
        AGENT,
        name,
        clock(),
    )
    assert tickets.get(ticket_id).assigned_to == AGENT
    assert told(outbox, WEBCHAT, "conversation-1") == [("notice", joined)]
    [notice] = outbox.pending(WEBCHAT, "conversation-1")
    assert (notice.author_name, notice.language, notice.buttons) == (None, language, ())
    assert said_since_filing(tickets, ticket_id) == []  # the desk's word is no turn
    assert tickets.waiting_for_person() == []


def test_an_agent_may_start_a_chat_the_customer_did_not_ask_for(tickets, desk, outbox):
    ticket_id = file(tickets, "conversation-1", TELEGRAM)
    chat = desk.take(ticket_id, AGENT, AGENT_NAME)
    assert chat.state is LiveState.LIVE and desk.open_chat("conversation-1") == chat
    assert told(outbox, TELEGRAM, "conversation-1") == [("notice", JOINED)]


def test_taking_twice_is_one_take(tickets, desk, outbox):
    ticket_id = live_ticket(tickets, desk, "conversation-1")
    again = desk.take(ticket_id, AGENT, AGENT_NAME)
    assert again == desk.open_chat("conversation-1")
    assert told(outbox, WEBCHAT, "conversation-1") == [("notice", JOINED)]


def test_another_agents_conversation_is_not_yours(tickets, desk, outbox):
    ticket_id = live_ticket(tickets, desk, "conversation-1")

    with pytest.raises(NotYours):
        desk.take(ticket_id, OTHER_AGENT, "Wang Fang")
    with pytest.raises(NotYours):
        desk.say(ticket_id, OTHER_AGENT, "Hello, I am here too")
    with pytest.raises(NotYours):
        desk.agent_typing(ticket_id, OTHER_AGENT)
    with pytest.raises(NotYours):
        desk.end(ticket_id, OTHER_AGENT, EndReason.CLOSED)

    chat = desk.open_chat("conversation-1")
    assert (chat.state, chat.agent) == (LiveState.LIVE, AGENT)
    ticket = tickets.get(ticket_id)
    assert (ticket.assigned_to, ticket.status) == (AGENT, Status.OPEN)
    assert told(outbox, WEBCHAT, "conversation-1") == [("notice", JOINED)]


def test_nothing_can_be_said_before_the_conversation_is_taken(tickets, desk, outbox):
    never_asked = file(tickets, "conversation-1")
    waiting = file(tickets, "conversation-2")
    desk.request_person(waiting)
    for ticket_id in (never_asked, waiting):
        with pytest.raises(NotLive):
            desk.say(ticket_id, AGENT, "Hello")
        with pytest.raises(NotLive):
            desk.agent_typing(ticket_id, AGENT)
    with pytest.raises(NotLive):
        desk.end(never_asked, AGENT, EndReason.HANDED_BACK)
    assert outbox.pending(WEBCHAT) == []


def test_taking_a_newer_ticket_of_the_conversation_brings_the_chat_to_it(tickets, desk, clock):
    """The customer asked for a person with a first ticket, then filed a second; the agent
    who takes the second talks in the one chat, and the customer's words reach that ticket."""
    first = file(tickets, "conversation-1")
    desk.request_person(first)
    clock.advance(minutes=1)
    second = file(tickets, "conversation-1")

    desk.take(second, AGENT, AGENT_NAME)
    clock.advance(minutes=1)
    assert desk.take_customer_message("conversation-1", "Are you there?")

    assert desk.chat_of_ticket(second).state is LiveState.LIVE
    assert said_since_filing(tickets, second) == [("customer", "Are you there?")]
    assert said_since_filing(tickets, first) == []


# ---- talking


def test_the_agents_message_goes_out_at_once_signed_and_joins_the_transcript(
    tickets, desk, outbox, clock
):
    ticket_id = live_ticket(tickets, desk, "conversation-1")
    desk.agent_typing(ticket_id, AGENT)
    clock.advance(minutes=2)

    desk.say(ticket_id, AGENT, "  Let me look at your bill.  ")

    [_joined, message] = outbox.pending(WEBCHAT, "conversation-1")
    assert (message.kind, message.text, message.author, message.author_name) == (
        ReplyKind.LIVE,
        "Let me look at your bill.",
        AGENT,
        AGENT_NAME,
    )
    assert message.for_customer() == "Let me look at your bill."  # no letter's heading
    ticket = tickets.get(ticket_id)
    assert ticket.responded_at == clock()
    [turn] = ticket.transcript[3:]
    assert (turn.speaker, turn.text, turn.author, turn.delivery) == (
        "agent",
        "Let me look at your bill.",
        AGENT,
        Delivery.PENDING,
    )
    assert desk.open_chat("conversation-1").agent_typing_at is None  # the message is sent


def test_an_empty_message_is_refused(tickets, desk, outbox):
    ticket_id = live_ticket(tickets, desk, "conversation-1")
    with pytest.raises(ReplyRefused) as refused:
        desk.say(ticket_id, AGENT, "  \n ")
    assert refused.value.reason is RefusalReason.EMPTY
    assert told(outbox, WEBCHAT, "conversation-1") == [("notice", JOINED)]


def test_the_customers_message_goes_to_the_agent_only_while_live(tickets, desk, clock):
    ticket_id = file(tickets, "conversation-1")
    desk.request_person(ticket_id)
    assert not desk.take_customer_message("conversation-1", "hello? anyone?")  # waiting

    desk.take(ticket_id, AGENT, AGENT_NAME)
    desk.customer_typing("conversation-1")
    clock.advance(seconds=10)
    assert desk.take_customer_message("conversation-1", ID_CARD)
    clock.advance(seconds=10)
    assert desk.take_customer_message("conversation-1", BANK_CARD)
    assert desk.open_chat("conversation-1").customer_typing_at is None  # the message came

    desk.end(ticket_id, AGENT, EndReason.HANDED_BACK)
    assert not desk.take_customer_message("conversation-1", "thanks, bye")
    assert not desk.take_customer_message("someone-else", "hello")

    assert said_since_filing(tickets, ticket_id) == [
        ("customer", ID_CARD_MASKED),
        ("customer", BANK_CARD_MASKED),
    ]


def test_the_conversation_reads_in_time_order(tickets, desk, clock):
    ticket_id = live_ticket(tickets, desk, "conversation-1")
    clock.advance(seconds=5)
    desk.say(ticket_id, AGENT, "How can I help?")
    clock.advance(seconds=5)
    desk.take_customer_message("conversation-1", "My bill is too high")
    clock.advance(seconds=5)
    desk.say(ticket_id, AGENT, "I see a roaming charge.")
    assert said_since_filing(tickets, ticket_id) == [
        ("agent", "How can I help?"),
        ("customer", "My bill is too high"),
        ("agent", "I see a roaming charge."),
    ]


def test_a_quick_exchange_within_one_second_keeps_its_order(tickets, desk):
    """The clock says the same second for all of it: the order is still who spoke first."""
    ticket_id = live_ticket(tickets, desk, "conversation-1")
    desk.take_customer_message("conversation-1", "Thanks, tomorrow morning is fine")
    desk.say(ticket_id, AGENT, "An engineer will call you at 9.")
    desk.take_customer_message("conversation-1", "Great")
    assert said_since_filing(tickets, ticket_id) == [
        ("customer", "Thanks, tomorrow morning is fine"),
        ("agent", "An engineer will call you at 9."),
        ("customer", "Great"),
    ]
    [live_message] = [turn for turn in tickets.get(ticket_id).transcript if turn.author == AGENT]
    assert live_message.delivery is Delivery.PENDING  # read from the outbox that carries it


# ---- the assistant's turns after a filing


def test_a_turn_after_the_filing_is_kept_with_the_ticket_masked(tickets, desk, clock):
    ticket_id = file(tickets, "conversation-1")
    filed_at = clock()

    desk.record_turn("conversation-1", "I'm filing", ["Filed."], turn_started_at=filed_at)
    desk.record_turn(
        "conversation-1",
        "earlier",
        ["Filed."],
        turn_started_at=filed_at - timedelta(seconds=1),
    )
    clock.advance(minutes=1)
    desk.record_turn(
        "conversation-1",
        BANK_CARD,
        ["I can't take card numbers here.", "Anything else?"],
        turn_started_at=clock(),
    )

    assert said_since_filing(tickets, ticket_id) == [
        ("customer", BANK_CARD_MASKED),
        ("assistant", "I can't take card numbers here."),
        ("assistant", "Anything else?"),
    ]


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED])
def test_a_turn_is_not_kept_with_a_ticket_that_is_done(tickets, desk, clock, status):
    ticket_id = file(tickets, "conversation-1")
    tickets.change_status(ticket_id, Status.RESOLVED, by=AGENT)
    if status is Status.CLOSED:
        tickets.change_status(ticket_id, Status.CLOSED, by=AGENT)
    clock.advance(minutes=1)
    desk.record_turn("conversation-1", "one more thing", ["Sure."], turn_started_at=clock())
    assert said_since_filing(tickets, ticket_id) == []


def test_a_turn_without_a_ticket_is_kept_nowhere(tickets, desk, clock, engine):
    desk.record_turn("conversation-1", "hello", ["Hi!"], turn_started_at=clock())
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(TicketFollowUpRow)) == 0


# ---- ending


def test_handing_back_tells_the_customer_and_the_assistant_answers_again(
    tickets, desk, outbox, clock
):
    ticket_id = live_ticket(tickets, desk, "conversation-1")
    clock.advance(minutes=5)

    ended = desk.end(ticket_id, AGENT, EndReason.HANDED_BACK)

    assert (ended.state, ended.end_reason, ended.ended_at) == (
        LiveState.ENDED,
        EndReason.HANDED_BACK,
        clock(),
    )
    assert told(outbox, WEBCHAT, "conversation-1") == [
        ("notice", JOINED),
        ("notice", HANDED_BACK),
    ]
    assert desk.open_chat("conversation-1") is None
    assert desk.chat_of_ticket(ticket_id) == ended  # the console still shows how it ended
    assert not desk.take_customer_message("conversation-1", "and another thing")
    assert tickets.get(ticket_id).status is Status.OPEN
    with pytest.raises(NotLive):
        desk.say(ticket_id, AGENT, "one more thing")


def test_closing_tells_the_customer_and_resolves_the_ticket(tickets, desk, outbox, clock):
    ticket_id = live_ticket(tickets, desk, "conversation-1")
    clock.advance(minutes=5)

    desk.end(ticket_id, AGENT, EndReason.CLOSED)

    assert told(outbox, WEBCHAT, "conversation-1")[-1] == ("notice", CLOSED)
    ticket = tickets.get(ticket_id)
    assert ticket.status is Status.RESOLVED
    last = ticket.history[-1]
    assert (last.from_status, last.to_status, last.by, last.at) == (
        Status.OPEN,
        Status.RESOLVED,
        AGENT,
        clock(),
    )
    assert desk.chat_of_ticket(ticket_id).end_reason is EndReason.CLOSED


@pytest.mark.parametrize("reason", [EndReason.HANDED_BACK, EndReason.CLOSED])
def test_a_wait_nobody_answered_cannot_be_handed_back_or_closed(tickets, desk, outbox, reason):
    """A page left open from before must not end a wait silently, nor resolve its ticket."""
    ticket_id = file(tickets, "conversation-1")
    desk.request_person(ticket_id)
    with pytest.raises(NotLive):
        desk.end(ticket_id, AGENT, reason)
    assert desk.chat_of_ticket(ticket_id).state is LiveState.WAITING
    assert tickets.get(ticket_id).status is Status.OPEN
    assert told(outbox, WEBCHAT, "conversation-1") == []


def test_a_new_request_after_the_end_is_a_new_chat(tickets, desk):
    ticket_id = live_ticket(tickets, desk, "conversation-1")
    ended = desk.end(ticket_id, AGENT, EndReason.HANDED_BACK)
    again = desk.request_person(ticket_id)
    assert again.id != ended.id and again.state is LiveState.WAITING


@pytest.mark.parametrize(
    "taken, reason",
    [(False, EndReason.CANCELLED), (True, EndReason.CUSTOMER_LEFT)],
    ids=["waiting", "live"],
)
def test_a_customer_who_leaves_ends_their_open_chat(tickets, desk, outbox, clock, taken, reason):
    ticket_id = file(tickets, "conversation-1")
    desk.request_person(ticket_id)
    if taken:
        desk.take(ticket_id, AGENT, AGENT_NAME)
    clock.advance(minutes=1)

    desk.customer_left("conversation-1")

    chat = desk.chat_of_ticket(ticket_id)
    assert (chat.state, chat.end_reason, chat.ended_at) == (LiveState.ENDED, reason, clock())
    assert tickets.waiting_for_person() == [] and desk.open_chat("conversation-1") is None
    # Nobody is left to read a goodbye.
    assert told(outbox, WEBCHAT, "conversation-1") == ([("notice", JOINED)] if taken else [])
    desk.customer_left("conversation-1")  # again, or without a chat: nothing happens
    assert desk.chat_of_ticket(ticket_id) == chat


# ---- typing and presence


def test_telegram_shows_typing_for_live_chats_whose_agent_types(tickets, desk, clock):
    typing = live_ticket(tickets, desk, "telegram-1", TELEGRAM)
    live_ticket(tickets, desk, "telegram-2", TELEGRAM)  # live, its agent quiet
    on_the_web = live_ticket(tickets, desk, "webchat-1", WEBCHAT)
    desk.request_person(file(tickets, "telegram-3", TELEGRAM))
    desk.agent_typing(typing, AGENT)
    desk.agent_typing(on_the_web, AGENT)

    assert desk.agents_typing(TELEGRAM) == ["telegram-1"]
    assert desk.agents_typing(WEBCHAT) == ["webchat-1"]
    clock.advance(seconds=TYPING_SECONDS + 1)
    assert desk.agents_typing(TELEGRAM) == []

    desk.agent_typing(typing, AGENT)
    desk.say(typing, AGENT, "Here is what I found")
    assert desk.agents_typing(TELEGRAM) == []  # the message came


def test_the_customers_typing_and_presence_are_kept_on_the_open_chat(tickets, desk, clock):
    ticket_id = live_ticket(tickets, desk, "conversation-1")
    desk.customer_here("conversation-1")
    desk.customer_typing("conversation-1")
    chat = desk.open_chat("conversation-1")
    assert (chat.customer_seen_at, chat.customer_typing_at) == (clock(), clock())
    assert chat.customer_present(clock()) and chat.customer_typing(clock())

    desk.end(ticket_id, AGENT, EndReason.HANDED_BACK)
    desk.customer_typing("conversation-1")  # nobody to show it to: nothing kept
    assert desk.chat_of_ticket(ticket_id).customer_typing_at is None


# ---- the desk's notices with buttons


def test_a_notice_with_buttons_goes_out_and_stays_out_of_the_transcript(tickets, outbox):
    ticket_id = file(tickets, "conversation-1", TELEGRAM)
    buttons = [
        ReplyButton("👍 Helpful", '/rate{"score": 5}'),
        ReplyButton("👎 Not helpful", '/rate{"score": 1}'),
    ]

    tickets.notify(ticket_id, "  How did we do?  ", buttons)

    [notice] = outbox.pending(TELEGRAM, "conversation-1")
    assert (notice.kind, notice.text, notice.author, notice.author_name) == (
        ReplyKind.NOTICE,
        "How did we do?",
        "desk",
        None,
    )
    assert notice.buttons == tuple(buttons)
    assert notice.for_customer() == "How did we do?"
    assert said_since_filing(tickets, ticket_id) == []
    assert tickets.get(ticket_id).responded_at is None  # the desk is not an agent answering


def test_a_notice_to_a_ticket_nobody_can_reach_is_refused(tickets, outbox):
    ticket_id = file(tickets, "script-1", channel="rest")
    with pytest.raises(ReplyRefused) as refused:
        tickets.notify(ticket_id, "How did we do?")
    assert refused.value.reason is RefusalReason.CHANNEL


def test_a_letter_without_buttons_reads_back_without_buttons(tickets, outbox):
    ticket_id = file(tickets, "conversation-1")
    tickets.reply(ticket_id, AGENT, "We refunded you.")
    [letter] = outbox.pending(WEBCHAT, "conversation-1")
    assert (letter.kind, letter.buttons, letter.author_name) == (ReplyKind.LETTER, (), None)


# ---- the migration


def migrate_tickets(engine: Engine, revision: str, *, down: bool = False) -> None:
    with engine.connect() as connection:
        config = alembic_config(Area.TICKETS, connection)
        (command.downgrade if down else command.upgrade)(config, revision)
        connection.commit()


def columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_the_live_chat_migration_goes_down_and_up_again_keeping_the_replies(empty_engine):  # noqa: F811
    migrate_tickets(empty_engine, "tickets_0002")
    clock = FakeClock()
    tickets, desk = SqlTicketService(empty_engine, clock), SqlLiveDesk(empty_engine, clock)
    ticket_id = file(tickets, "conversation-1")
    tickets.reply(ticket_id, AGENT, "We refunded you.")
    desk.take(ticket_id, AGENT, AGENT_NAME)
    desk.take_customer_message("conversation-1", "Thank you!")

    migrate_tickets(empty_engine, "tickets_0001", down=True)

    assert not {"live_chats", "ticket_follow_ups"} & set(inspect(empty_engine).get_table_names())
    assert not {"kind", "author_name", "buttons"} & columns(empty_engine, "agent_replies")
    with empty_engine.connect() as connection:
        kept = connection.exec_driver_sql("SELECT text FROM agent_replies ORDER BY id")
        assert kept.scalars().all() == ["We refunded you.", JOINED]

    migrate_tickets(empty_engine, "tickets_0002")

    # What was written before the live chat reads as letters, as everything then was.
    with Session(empty_engine) as session:
        replies = session.scalars(select(AgentReplyRow).order_by(AgentReplyRow.id)).all()
        assert [(reply.kind, reply.author_name, reply.buttons) for reply in replies] == [
            ("letter", None, None),
            ("letter", None, None),
        ]
    assert desk.request_person(ticket_id).state is LiveState.WAITING


# ---- Rasa's channels


@pytest.fixture
def real_time_desk(sqlite_engine) -> SqlLiveDesk:
    """The desk as Rasa's channels use it: on the operator's clock, which they read too."""
    return SqlLiveDesk(sqlite_engine)


@pytest.fixture
def filed_a_minute_ago(sqlite_engine) -> SqlTicketService:
    """Tickets filed a minute before the turns the test runs (the channels read the real
    clock to tell the filing's turn from later ones)."""
    return SqlTicketService(sqlite_engine, clock=lambda: operator_now() - timedelta(minutes=1))


@contextlib.asynccontextmanager
async def rasa_with(desk: SqlLiveDesk) -> AsyncIterator[tuple[ScriptedRasa, RasaClient]]:
    """Rasa's channels with the live desk, and a channel program's client to them."""
    rasa = ScriptedRasa(CHANNEL_SECRET, live_desk=desk)
    client = RasaClient(await rasa.start(), CHANNEL_SECRET)
    try:
        yield rasa, client
    finally:
        await client.close()
        await rasa.stop()


def texts(answer) -> list[str]:
    return [message.text for message in answer]


@pytest.mark.parametrize("channel", [WEBCHAT, TELEGRAM])
def test_while_live_the_customers_message_goes_to_the_agent_not_the_assistant(
    filed_a_minute_ago, real_time_desk, channel
):
    tickets, desk = filed_a_minute_ago, real_time_desk
    ticket_id = file(tickets, "conversation-1", channel)
    desk.request_person(ticket_id)

    async def scenario() -> None:
        async with rasa_with(desk) as (rasa, client):
            waiting = await client.send(channel, "conversation-1", "still there?")
            await asyncio.to_thread(desk.take, ticket_id, AGENT, AGENT_NAME)
            live = await client.send(channel, "conversation-1", ID_CARD)
            keyed = await client.send(channel, "conversation-1", "and", message_key="k" * 16)
            await asyncio.to_thread(desk.end, ticket_id, AGENT, EndReason.HANDED_BACK)
            back = await client.send(channel, "conversation-1", "thanks")

            assert texts(waiting) == ["echo: still there?"]  # nobody took it yet
            assert live == [] and keyed == []  # the assistant says nothing
            assert texts(back) == ["echo: thanks"]
            assert [text for _, text, _ in rasa.turns] == ["still there?", "thanks"]

    asyncio.run(scenario())

    assert said_since_filing(tickets, ticket_id) == [
        ("customer", "still there?"),
        ("assistant", "echo: still there?"),
        ("customer", ID_CARD_MASKED),
        ("customer", "and"),
        ("customer", "thanks"),
        ("assistant", "echo: thanks"),
    ]


def test_another_conversations_live_chat_leaves_this_one_to_the_assistant(
    filed_a_minute_ago, real_time_desk
):
    live_ticket(filed_a_minute_ago, real_time_desk, "conversation-1")

    async def scenario() -> None:
        async with rasa_with(real_time_desk) as (rasa, client):
            answer = await client.send(WEBCHAT, "conversation-2", "hello")
            assert texts(answer) == ["echo: hello"]

    asyncio.run(scenario())


def test_the_turn_that_files_the_ticket_is_not_kept_twice(sqlite_engine, real_time_desk):
    """The ticket is filed while its turn runs: its transcript already has the turn."""
    tickets = SqlTicketService(sqlite_engine)

    async def scenario() -> str:
        async with rasa_with(real_time_desk) as (rasa, client):
            rasa.slow["file a complaint"] = 0.5
            turn = asyncio.create_task(client.send(WEBCHAT, "conversation-1", "file a complaint"))
            while not rasa.turns_of("file a complaint"):
                await asyncio.sleep(0.01)
            ticket_id = await asyncio.to_thread(file, tickets, "conversation-1")
            assert texts(await turn) == ["echo: file a complaint"]
            # The clock counts whole seconds: the next turn begins in the one after the filing.
            filed_at = tickets.get(ticket_id).created_at
            while operator_now() <= filed_at:
                await asyncio.sleep(0.05)
            await client.send(WEBCHAT, "conversation-1", "what happens now?")
            return ticket_id

    ticket_id = asyncio.run(scenario())

    assert said_since_filing(tickets, ticket_id) == [
        ("customer", "what happens now?"),
        ("assistant", "echo: what happens now?"),
    ]


def test_without_a_database_the_assistant_answers_rather_than_nobody(tmp_path):
    """The live desk's database out of reach: the customer still gets the assistant."""
    from telecom_assistant.database import make_engine

    missing = tmp_path / "gone" / "telecom.db"
    engine = make_engine(f"sqlite:///{missing}")
    missing.parent.rmdir()  # SQLite cannot even create the file

    async def scenario() -> None:
        async with rasa_with(SqlLiveDesk(engine)) as (_rasa, client):
            assert texts(await client.send(WEBCHAT, "conversation-1", "hello")) == ["echo: hello"]

    asyncio.run(scenario())
    engine.dispose()
