"""Demo ratings, so that the console's satisfaction report has something to show on a fresh
`telecom run`: the resolved demo tickets rated by most of their customers (5G, the category
whose complaints are rising, rated worst), and two weeks of conversations the assistant closed
alone, a third of them rated. Written through the satisfaction service with a clock set to each
moment, so that they are what the real flow would have stored.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy.engine import Engine

from demo.tickets import stopped_clock
from telecom_assistant.satisfaction.model import (
    ConversationEnd,
    RatingRequest,
    Subject,
    conversation_key,
    is_low,
)
from telecom_assistant.satisfaction.sql import SqlSatisfactionService
from telecom_assistant.schema import Area, drop_areas, migrate
from telecom_assistant.tickets.model import Category, QueueFilter, Status, Ticket
from telecom_assistant.tickets.sql import SqlTicketService

# How likely each score is, 1 to 5.
USUAL_SCORES = (5, 8, 15, 35, 37)
FIVE_G_SCORES = (20, 25, 25, 20, 10)
ASSISTANT_SCORES = (4, 6, 12, 33, 45)
TICKETS_RATED = 0.7
CONVERSATIONS_PER_DAY = range(6, 14)
CONVERSATIONS_RATED = 0.35
COMMENTED = 0.7
DAYS = 14
COMMENTS = {
    Subject.TICKET: [
        ("It took three days and nobody called me back.", "en"),
        ("The 5G at home is still slower than 4G.", "en"),
        ("问题是解决了，但是等了太久。", "zh"),
        ("5G信号还是不好，工单就被关了。", "zh"),
    ],
    Subject.CONVERSATION: [
        ("It kept asking for my number again.", "en"),
        ("I wanted a person, not a list of plans.", "en"),
        ("没听懂我的问题，绕了半天。", "zh"),
    ],
}


def seed_demo_ratings(engine: Engine, today: date) -> int:
    """Replace the satisfaction area's data with the demo's (the same ``today`` always gives
    the same ratings); returns how many ratings were given."""
    drop_areas(engine, [Area.SATISFACTION])
    migrate(engine, [Area.SATISFACTION])
    rng = random.Random(today.toordinal())
    resolved = SqlTicketService(engine).queue(
        QueueFilter(statuses=(Status.RESOLVED, Status.CLOSED), sort="oldest")
    )
    given = sum(_rate_ticket(engine, ticket, rng) for ticket in resolved)
    for days_ago in range(DAYS - 1, -1, -1):
        day = today - timedelta(days=days_ago)
        for number in range(rng.choice(CONVERSATIONS_PER_DAY)):
            given += _closed_alone(engine, f"demo-chat-{day:%m%d}-{number:02d}", day, rng)
    return given


def _rate_ticket(engine: Engine, ticket: Ticket, rng: random.Random) -> int:
    resolved_at = next(
        change.at for change in reversed(ticket.history) if change.to_status is Status.RESOLVED
    )
    request = RatingRequest(
        Subject.TICKET,
        ticket.id,
        ticket.conversation_id,
        ticket.channel,
        ticket.language,
        ticket.category,
    )
    SqlSatisfactionService(engine, clock=stopped_clock(resolved_at)).ask(request)
    if rng.random() > TICKETS_RATED:
        return 0
    weights = FIVE_G_SCORES if ticket.category is Category.FIVE_G else USUAL_SCORES
    answered_at = resolved_at + timedelta(minutes=rng.randrange(5, 600))
    _answer(engine, request, answered_at, weights, rng)
    return 1


def _closed_alone(engine: Engine, conversation_id: str, day: date, rng: random.Random) -> int:
    """A conversation the assistant handled alone, closed with thanks or a goodbye."""
    ended_at = datetime.combine(day, time(rng.randrange(8, 22), rng.randrange(60)))
    started_at = ended_at - timedelta(minutes=rng.randrange(2, 15))
    language = rng.choice(("en", "zh"))
    channel = rng.choice(("webchat", "telegram"))
    key = conversation_key(conversation_id, started_at)
    service = SqlSatisfactionService(engine, clock=stopped_clock(ended_at))
    service.record_end(
        ConversationEnd(key, conversation_id, started_at, ended_at, channel, language, False)
    )
    request = RatingRequest(Subject.CONVERSATION, key, conversation_id, channel, language)
    service.ask(request)
    if rng.random() > CONVERSATIONS_RATED:
        return 0
    _answer(engine, request, ended_at + timedelta(seconds=30), ASSISTANT_SCORES, rng)
    return 1


def _answer(
    engine: Engine,
    request: RatingRequest,
    at: datetime,
    weights: tuple[int, ...],
    rng: random.Random,
) -> None:
    service = SqlSatisfactionService(engine, clock=stopped_clock(at))
    score = rng.choices(range(1, 6), weights=weights)[0]
    service.rate(request.subject, request.subject_id, request.conversation_id, score)
    if is_low(score) and rng.random() < COMMENTED:
        comment, _language = rng.choice(
            [said for said in COMMENTS[request.subject] if said[1] == request.language]
            or COMMENTS[request.subject]
        )
        service.comment(request.subject, request.subject_id, request.conversation_id, comment)
