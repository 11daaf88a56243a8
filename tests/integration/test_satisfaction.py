"""Satisfaction over SQL (SQLite and PostgreSQL) and in the agent console over real HTTP:
a rating request is stored once, answered once and only by the conversation asked, a
comment is taken once after a low score; a ticket resolved in the console sends its customer
a rating request with buttons through the reply outbox, in the ticket's language, once; and
the console's report shows CSAT, the times and the share the assistant resolved alone, per
week and per category, in both languages."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime, timedelta

import pytest
from sanic import Sanic

from console.app import create_app
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.agents.accounts import AgentAccounts
from telecom_assistant.satisfaction.model import (
    AlreadyRated,
    CommentRefused,
    ConversationEnd,
    NotAsked,
    RatingRequest,
    Subject,
    conversation_key,
)
from telecom_assistant.satisfaction.sql import SqlSatisfactionService
from telecom_assistant.satisfaction.surveys import TicketSurveys
from telecom_assistant.schema import Area, migrate
from telecom_assistant.tickets.model import Category, Status
from telecom_assistant.tickets.replies import ReplyButton, ReplyKind
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from tests.conftest import FakeClock
from tests.integration.test_console import AGENT, AGENT_NAME, PASSWORD, Client, Console
from tests.integration.test_tickets import new_ticket

EVER = datetime(2000, 1, 1)
CONVERSATION = "webchat-4f1c"


@pytest.fixture
def satisfaction(engine, clock) -> SqlSatisfactionService:
    migrate(engine, [Area.SATISFACTION])
    return SqlSatisfactionService(engine, clock)


def request(subject_id: str = "chat-1", conversation_id: str = CONVERSATION) -> RatingRequest:
    return RatingRequest(Subject.CONVERSATION, subject_id, conversation_id, "webchat", "en")


# ---- the store


def test_a_conversation_is_asked_once(satisfaction):
    assert satisfaction.ask(request())
    assert not satisfaction.ask(request())
    assert satisfaction.ask(request("chat-2"))
    survey = satisfaction.survey(Subject.CONVERSATION, "chat-1")
    assert survey.request == request() and survey.score is None


def test_a_rating_is_taken_once_and_only_from_the_conversation_asked(satisfaction, clock):
    satisfaction.ask(request())
    with pytest.raises(NotAsked):
        satisfaction.rate(Subject.CONVERSATION, "chat-1", "someone-else", 5)
    with pytest.raises(NotAsked):
        satisfaction.rate(Subject.CONVERSATION, "never-asked", CONVERSATION, 5)
    clock.advance(minutes=1)
    rated = satisfaction.rate(Subject.CONVERSATION, "chat-1", CONVERSATION, 4)
    assert (rated.score, rated.answered_at) == (4, clock.now)
    with pytest.raises(AlreadyRated):
        satisfaction.rate(Subject.CONVERSATION, "chat-1", CONVERSATION, 1)
    assert satisfaction.survey(Subject.CONVERSATION, "chat-1").score == 4
    with pytest.raises(ValueError):
        satisfaction.rate(Subject.CONVERSATION, "chat-2", CONVERSATION, 6)


def test_two_answers_at_once_give_one_rating(satisfaction):
    satisfaction.ask(request())

    def rate(score: int) -> int | None:
        try:
            return satisfaction.rate(Subject.CONVERSATION, "chat-1", CONVERSATION, score).score
        except AlreadyRated:
            return None

    with ThreadPoolExecutor(4) as pool:
        taken = [score for score in pool.map(rate, [1, 2, 4, 5]) if score is not None]
    assert len(taken) == 1
    assert satisfaction.survey(Subject.CONVERSATION, "chat-1").score == taken[0]


def test_a_comment_only_after_a_low_score_and_once(satisfaction):
    for subject_id, score in (("low", 2), ("high", 5)):
        satisfaction.ask(request(subject_id))
        satisfaction.rate(Subject.CONVERSATION, subject_id, CONVERSATION, score)
    with pytest.raises(CommentRefused):
        satisfaction.comment(Subject.CONVERSATION, "high", CONVERSATION, "great")
    with pytest.raises(CommentRefused):
        satisfaction.comment(Subject.CONVERSATION, "low", CONVERSATION, "   ")
    with pytest.raises(NotAsked):
        satisfaction.comment(Subject.CONVERSATION, "low", "someone-else", "spam")
    commented = satisfaction.comment(Subject.CONVERSATION, "low", CONVERSATION, "too slow\x00")
    assert commented.comment == "too slow"
    with pytest.raises(CommentRefused):
        satisfaction.comment(Subject.CONVERSATION, "low", CONVERSATION, "and another thing")
    assert [s.request.subject_id for s in satisfaction.answered_since(EVER)] == ["low", "high"]


def test_a_conversation_end_is_recorded_once(satisfaction, clock):
    started = clock.now - timedelta(minutes=5)
    end = ConversationEnd(
        conversation_key(CONVERSATION, started),
        CONVERSATION,
        started,
        clock.now,
        "telegram",
        "zh",
        filed_ticket=False,
    )
    assert satisfaction.record_end(end)
    assert not satisfaction.record_end(end)
    assert satisfaction.ends_since(EVER) == [end]
    assert satisfaction.ends_since(clock.now + timedelta(seconds=1)) == []


# ---- asking the customer of a resolved ticket


@pytest.fixture
def tickets(engine, clock) -> SqlTicketService:
    return SqlTicketService(engine, clock=clock)


def filed(tickets: SqlTicketService, channel: str = "webchat", language: str = "en") -> str:
    conversation = f"{channel}-{uuid.uuid4().hex[:8]}"
    return tickets.file(
        new_ticket(
            channel=channel,
            conversation_id=conversation,
            language=language,
            idempotency_key=conversation,
            category=Category.FIVE_G,
        )
    ).ticket.id


def resolve(tickets: SqlTicketService, surveys: TicketSurveys, ticket_id: str) -> bool:
    return surveys.status_changed(tickets.change_status(ticket_id, Status.RESOLVED, "li.na"))


def test_a_resolved_ticket_s_customer_gets_the_rating_buttons_once(
    tickets, satisfaction, engine, clock
):
    surveys = TicketSurveys(tickets, satisfaction)
    ticket_id = filed(tickets, "telegram", "zh")
    assert not surveys.status_changed(tickets.change_status(ticket_id, Status.IN_PROGRESS, "li"))
    assert resolve(tickets, surveys, ticket_id)
    [notice] = SqlReplyOutbox(engine, clock).pending("telegram")
    assert notice.kind is ReplyKind.NOTICE
    assert notice.for_customer().startswith(f"您的工单 {ticket_id} 已处理完毕")
    assert notice.buttons[4] == ReplyButton(
        "5", f'/rate{{"ticket_id":"{ticket_id}","csat_score":"5"}}'
    )
    survey = satisfaction.survey(Subject.TICKET, ticket_id)
    assert survey.request.category is Category.FIVE_G
    assert survey.request.conversation_id == tickets.get(ticket_id).conversation_id
    # Reopened and resolved again: not asked twice.
    tickets.change_status(ticket_id, Status.OPEN, "li.na")
    assert not resolve(tickets, surveys, ticket_id)
    assert len(SqlReplyOutbox(engine, clock).pending("telegram")) == 1


def test_a_ticket_from_the_bare_rest_api_has_nobody_to_ask(tickets, satisfaction):
    surveys = TicketSurveys(tickets, satisfaction)
    ticket_id = filed(tickets, "rest")
    assert not resolve(tickets, surveys, ticket_id)
    assert satisfaction.survey(Subject.TICKET, ticket_id) is None


# ---- the console


@pytest.fixture
def console_parts(sqlite_engine, clock) -> tuple[SqlTicketService, SqlSatisfactionService]:
    migrate(sqlite_engine, [Area.SATISFACTION])
    return SqlTicketService(sqlite_engine, clock), SqlSatisfactionService(sqlite_engine, clock)


@pytest.fixture
def agents(sqlite_engine, clock) -> AgentAccounts:
    accounts = AgentAccounts(sqlite_engine, clock)
    accounts.create(AGENT, AGENT_NAME, PASSWORD)
    return accounts


@pytest.fixture
def start_console(
    sqlite_engine, console_parts, agents, clock, monkeypatch
) -> Iterator[Callable[..., Console]]:
    """A console with a satisfaction store, as `python -m console` makes it."""
    monkeypatch.setattr(Sanic, "test_mode", True)
    tickets, satisfaction = console_parts
    with ExitStack() as running:

        def start(**options: object) -> Console:
            app = create_app(
                tickets,
                SqlAccountService(sqlite_engine, clock),
                agents,
                clock=clock,
                name=f"console_test_{uuid.uuid4().hex}",
                **{"satisfaction": satisfaction, **options},
            )
            return running.enter_context(Console(app))

        yield start


@pytest.fixture
def agent(start_console) -> Client:
    client = start_console().client()
    assert client.sign_in(AGENT, PASSWORD).status_code == 303
    return client


def cells(page: str, table_class: str) -> list[list[str]]:
    """The rows of a table of the page, as the text of their cells."""
    table = re.search(rf'<table[^>]*class="{table_class}"[^>]*>(.*?)</table>', page, re.DOTALL)
    assert table, f"no {table_class} table"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.DOTALL)
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)
        ]
        for row in rows
    ]


def a_week_of_work(
    tickets: SqlTicketService, satisfaction: SqlSatisfactionService, clock: FakeClock
) -> str:
    """This week (2026-W48; "now" is Monday 23 November, 10:00): a 5G ticket answered after
    two hours and resolved after six, rated 2 with a comment; two conversations the assistant
    closed alone, rated 5 and 4; one conversation that filed a ticket and said goodbye."""
    surveys = TicketSurveys(tickets, satisfaction)
    clock.now -= timedelta(hours=8)
    ticket_id = filed(tickets, "webchat")
    clock.advance(hours=2)
    tickets.reply(ticket_id, AGENT, "We are checking the cell near you.")
    clock.advance(hours=4)
    resolve(tickets, surveys, ticket_id)
    conversation_id = tickets.get(ticket_id).conversation_id
    satisfaction.rate(Subject.TICKET, ticket_id, conversation_id, 2)
    satisfaction.comment(Subject.TICKET, ticket_id, conversation_id, "Still slow at home")
    for number, score in ((1, 5), (2, 4)):
        sender = f"webchat-alone-{number}"
        key = conversation_key(sender, clock.now - timedelta(minutes=3))
        satisfaction.record_end(
            ConversationEnd(
                key,
                sender,
                clock.now - timedelta(minutes=3),
                clock.now,
                "webchat",
                "en",
                filed_ticket=False,
            )
        )
        satisfaction.ask(RatingRequest(Subject.CONVERSATION, key, sender, "webchat", "en"))
        satisfaction.rate(Subject.CONVERSATION, key, sender, score)
    clock.advance(hours=2)
    return ticket_id


def test_the_report_shows_the_week_by_category(agent, console_parts, clock):
    ticket_id = a_week_of_work(*console_parts, clock)
    page = agent.get("/reports")
    assert page.status_code == 200
    assert '<a href="/reports" aria-current="page">Satisfaction</a>' in page.text
    weeks = cells(page.text, "weeks")
    assert weeks[0][0] == "Week"
    this_week = weeks[1]
    assert this_week[0].startswith("2026-W48")
    # Conversations: the two the assistant closed alone, and the one that filed the ticket.
    assert this_week[1:] == ["3", "67% (2 of 3)", "3", "67%", "3.7", "2.0 h", "6.0 h"]
    assert len(weeks) == 1 + 8 and weeks[2][0].startswith("2026-W47")
    by_category = {row[0]: row[1:] for row in cells(page.text, "by-category")[1:]}
    assert by_category == {
        "The assistant alone": ["2", "100%", "4.5", "—", "—"],
        "5G": ["1", "0%", "2.0", "2.0 h", "6.0 h"],
    }
    [comment] = cells(page.text, "comments")[1:]
    assert comment[1:] == [ticket_id, "2", "Still slow at home"]


def test_another_week_is_picked_by_its_link(agent, console_parts, clock):
    a_week_of_work(*console_parts, clock)
    page = agent.get("/reports?week=2026-W47").text
    assert '<a href="/reports?week=2026-W47" aria-current="true">' in page
    assert "Nothing to show for this week." in page
    # A week outside the report shows this one.
    page = agent.get("/reports?week=1999-W01").text
    assert '<a href="/reports?week=2026-W48" aria-current="true">' in page


def test_the_report_in_chinese(agent, console_parts, clock):
    a_week_of_work(*console_parts, clock)
    agent.get("/lang/zh?next=/reports")
    page = agent.get("/reports").text
    assert "<h1>满意度</h1>" in page
    assert "67%（3 个中的 2 个）" in page
    assert "2.0 小时" in page and "智能助手独立处理" in page


def test_resolving_a_ticket_in_the_console_asks_its_customer_to_rate_it(
    agent, console_parts, sqlite_engine, clock
):
    tickets, satisfaction = console_parts
    ticket_id = filed(tickets, "webchat", "en")
    agent.submit(f"/tickets/{ticket_id}/status", status=Status.RESOLVED.value)
    conversation_id = tickets.get(ticket_id).conversation_id
    [notice] = SqlReplyOutbox(sqlite_engine, clock).pending("webchat", conversation_id)
    assert notice.text == (
        f"Your ticket {ticket_id} is resolved. How well did we handle it? "
        "Tap 1 (very poor) to 5 (excellent)."
    )
    assert [button.title for button in notice.buttons] == ["1", "2", "3", "4", "5"]
    assert satisfaction.survey(Subject.TICKET, ticket_id) is not None


def test_without_a_satisfaction_store_the_console_has_no_report(start_console):
    client = start_console(satisfaction=None).client()
    client.sign_in(AGENT, PASSWORD)
    assert client.get("/reports").status_code == 404
