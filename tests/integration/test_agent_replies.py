"""Agents' replies: stored with the ticket, in its transcript, and an outbox the customer's
channel delivers from, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from channels.telegram.conversations import rasa_sender_id
from telecom_assistant.texts import text
from telecom_assistant.tickets.model import Delivery, Status
from telecom_assistant.tickets.replies import (
    REPLY_MAX_LENGTH,
    AgentReply,
    RefusalReason,
    ReplyRefused,
)
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from tests.integration.test_tickets import new_ticket

# A Telegram chat's conversation, as the bridge names it.
TELEGRAM_CONVERSATION = rasa_sender_id(42, "the-tests-conversation-key-0123456789abcdef")


@pytest.fixture
def tickets(engine, clock) -> SqlTicketService:
    return SqlTicketService(engine, clock=clock)


@pytest.fixture
def outbox(engine, clock) -> SqlReplyOutbox:
    return SqlReplyOutbox(engine, clock=clock)


def file(
    tickets: SqlTicketService, conversation: str, channel: str = "webchat", language: str = "en"
) -> str:
    filing = tickets.file(
        new_ticket(
            channel=channel,
            conversation_id=conversation,
            language=language,
            idempotency_key=f"{conversation}:billing",
        )
    )
    return filing.ticket.id


def test_a_reply_joins_the_transcript_and_waits_in_the_outbox(tickets, outbox, clock):
    ticket_id = file(tickets, "browser-1")
    clock.advance(minutes=5)

    ticket = tickets.reply(ticket_id, "wang", "  We refunded the double charge.  ")

    last = ticket.transcript[-1]
    assert (last.speaker, last.text, last.author, last.delivery) == (
        "agent",
        "We refunded the double charge.",
        "wang",
        Delivery.PENDING,
    )
    assert len(ticket.transcript) == 4 and ticket.responded_at == clock()
    assert ticket.status is Status.OPEN  # answering does not decide the ticket's status
    [pending] = outbox.pending("webchat", "browser-1")
    assert (pending.ticket_id, pending.text, pending.language) == (
        ticket_id,
        "We refunded the double charge.",
        "en",
    )
    assert outbox.pending("telegram") == []


def test_delivery_is_recorded_once_and_only_for_the_replys_own_conversation(tickets, outbox, clock):
    mine, theirs = file(tickets, "browser-1"), file(tickets, "browser-2")
    tickets.reply(mine, "wang", "For you")
    tickets.reply(theirs, "wang", "For someone else")
    [reply] = outbox.pending("webchat", "browser-1")
    [other] = outbox.pending("webchat", "browser-2")

    # A page can only acknowledge its own replies, whatever ids it sends.
    assert outbox.mark_delivered([reply.id, other.id], "browser-1") == 1
    assert outbox.mark_delivered([reply.id], "browser-1") == 0  # already delivered
    assert outbox.pending("webchat", "browser-1") == []
    assert [r.id for r in outbox.pending("webchat")] == [other.id]
    assert tickets.get(mine).transcript[-1].delivery is Delivery.DELIVERED
    assert tickets.get(theirs).transcript[-1].delivery is Delivery.PENDING


def test_a_failed_delivery_is_shown_and_leaves_the_outbox(tickets, outbox):
    ticket_id = file(tickets, TELEGRAM_CONVERSATION, channel="telegram")
    tickets.reply(ticket_id, "wang", "Hello")
    [reply] = outbox.pending("telegram")

    outbox.mark_failed(reply.id, "Forbidden: bot was blocked by the user")

    assert outbox.pending("telegram") == []
    assert tickets.get(ticket_id).transcript[-1].delivery is Delivery.FAILED


def test_replies_come_out_oldest_first(tickets, outbox, clock):
    ticket_id = file(tickets, TELEGRAM_CONVERSATION, channel="telegram")
    for words in ("first", "second", "third"):
        tickets.reply(ticket_id, "wang", words)
        clock.advance(seconds=1)
    assert [r.text for r in outbox.pending("telegram")] == ["first", "second", "third"]
    assert [t.text for t in tickets.get(ticket_id).transcript[-3:]] == ["first", "second", "third"]


def test_a_retried_filing_keeps_the_agents_replies(tickets, clock):
    """A retry rewrites the transcript snapshot; replies are stored apart and survive it."""
    ticket_id = file(tickets, "browser-1")
    tickets.reply(ticket_id, "wang", "We are on it")
    first = new_ticket(
        channel="webchat", conversation_id="browser-1", idempotency_key="browser-1:billing"
    )
    tickets.file(replace(first, transcript=(*first.transcript, *first.transcript)))
    speakers = [turn.speaker for turn in tickets.get(ticket_id).transcript]
    assert speakers.count("agent") == 1 and len(speakers) == 7


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", RefusalReason.EMPTY),
        ("   \n ", RefusalReason.EMPTY),
        ("x" * (REPLY_MAX_LENGTH + 1), RefusalReason.TOO_LONG),
    ],
)
def test_empty_or_overlong_replies_are_refused(tickets, outbox, text, reason):
    ticket_id = file(tickets, "browser-1")
    with pytest.raises(ReplyRefused) as refused:
        tickets.reply(ticket_id, "wang", text)
    assert refused.value.reason is reason
    assert outbox.pending("webchat") == []


def test_a_ticket_from_a_channel_without_a_way_back_refuses_replies(tickets, outbox):
    ticket_id = file(tickets, "script-1", channel="rest")
    with pytest.raises(ReplyRefused) as refused:
        tickets.reply(ticket_id, "wang", "Hello")
    assert refused.value.reason is RefusalReason.CHANNEL
    assert outbox.pending("rest") == []


@pytest.mark.parametrize(
    "language, heading",
    [
        ("en", "Message from our customer service team about ticket TK-261123-0001:"),
        ("zh", "客服人员就工单 TK-261123-0001 给您的留言："),
    ],
)
def test_the_customer_reads_the_reply_under_a_heading_in_their_language(language, heading):
    reply = AgentReply(
        1,
        "TK-261123-0001",
        "webchat",
        "browser-1",
        language,
        "wang",
        "Refunded.",
        datetime(2026, 11, 23, 10, 0),
    )
    lines = reply.for_customer().split("\n\n")
    assert (
        lines[0] == heading
        and lines[1] == "Refunded."
        and lines[2] == text("reply.how_to_answer", language)
    )
