"""Demo tickets for the agent console: two weeks of escalations, so the queue has work in
every state and the hot-spot chart has something to show (5G complaints rising this week, as
the regulator saw after the 5G launch). Filed through the ticket service with a clock set to
each ticket's time, so ids, priorities and deadlines follow the real rules.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy.engine import Engine

from telecom_assistant.clock import Clock
from telecom_assistant.tickets.model import (
    Category,
    Kind,
    NetworkIssue,
    NewTicket,
    Status,
    TranscriptTurn,
)
from telecom_assistant.tickets.sql import SqlTicketService

DEMO_AGENT = "demo-agent"
# (category, customer's words, language): what each kind of complaint sounds like.
COMPLAINTS = {
    Category.BILLING: [
        ("My bill is 80 yuan higher than my plan and nobody can tell me why", "en"),
        ("这个月账单多扣了30元，我要求退还", "zh"),
    ],
    Category.UNAUTHORISED_ADDON: [
        ("I never ordered Music Pack but I pay for it every month", "en"),
        ("视频会员我从来没订过，却每月扣费", "zh"),
    ],
    Category.NETWORK: [("Calls drop every evening at home", "en"), ("家里手机经常没信号", "zh")],
    Category.FIVE_G: [
        ("My phone shows 5G but the speed is worse than 4G", "en"),
        ("办了5G套餐，小区里根本没有5G信号", "zh"),
    ],
    Category.BROADBAND: [
        ("Broadband has been down since yesterday", "en"),
        ("宽带晚上特别卡，看视频一直缓冲", "zh"),
    ],
    Category.TARIFF_MARKETING: [
        ("The ad said unlimited data but I was slowed down at 20GB", "en"),
        ("营业厅说的优惠到账后根本没有", "zh"),
    ],
    Category.PRIVACY: [("Someone knew my plan and address when they called me", "en")],
    Category.SPAM_FRAUD: [
        ("Caller said he was from the police and asked me to transfer money", "en"),
        ("收到冒充客服的短信要我点链接退款", "zh"),
    ],
    Category.OTHER: [("I want to talk about my account with a person", "en")],
}
# Tickets per category in the last 7 days and the 7 before: 5G is the one rising.
WEEKLY_COUNTS = {
    Category.BILLING: (6, 7),
    Category.UNAUTHORISED_ADDON: (4, 5),
    Category.NETWORK: (3, 3),
    Category.FIVE_G: (9, 2),
    Category.BROADBAND: (3, 4),
    Category.TARIFF_MARKETING: (2, 2),
    Category.PRIVACY: (1, 1),
    Category.SPAM_FRAUD: (3, 2),
    Category.OTHER: (1, 1),
}
CHANNELS = ("rest", "webchat", "telegram")
DEMO_MSISDNS = [f"138000000{number:02d}" for number in range(1, 23)]


def stopped_clock(moment: datetime) -> Clock:
    """A clock that always says `moment`: each demo ticket is filed and worked at its own time."""
    return lambda: moment


def seed_demo_tickets(engine: Engine, today: date) -> int:
    """File the demo tickets (the same ``today`` always gives the same tickets)."""
    rng = random.Random(today.toordinal())
    filings = []
    for category, (this_week, last_week) in WEEKLY_COUNTS.items():
        for week, count in ((0, this_week), (1, last_week)):
            for _ in range(count):
                day = today - timedelta(days=week * 7 + rng.randrange(7))
                at = datetime.combine(day, time(rng.randrange(8, 22), rng.randrange(60)))
                filings.append((at, category))
    for number, (at, category) in enumerate(sorted(filings)):
        service = SqlTicketService(engine, clock=stopped_clock(at))
        ticket = service.file(_demo_ticket(rng, number, at, category)).ticket
        # Agents pick tickets up a few hours after they arrive.
        worker = SqlTicketService(engine, clock=stopped_clock(at + timedelta(hours=3)))
        _work_on(worker, ticket.id, age=datetime.combine(today, time(12)) - at, rng=rng)
    return len(filings)


def _demo_ticket(rng: random.Random, number: int, at: datetime, category: Category) -> NewTicket:
    words, language = rng.choice(COMPLAINTS[category])
    verified = rng.random() < 0.6
    msisdn = rng.choice(DEMO_MSISDNS) if verified else None
    reply = (
        "我来为您登记投诉，处理人员会看到我们的完整对话。"
        if language == "zh"
        else "I'll file a complaint for you; the colleague who handles it will see our "
        "whole conversation."
    )
    issue = {
        Category.NETWORK: NetworkIssue.DROPPED_CALLS,
        Category.BROADBAND: NetworkIssue.BROADBAND_DOWN,
    }.get(category)
    kind = (
        Kind.FAULT
        if issue
        else Kind.SPAM_REPORT
        if category is Category.SPAM_FRAUD
        else Kind.COMPLAINT
    )
    return NewTicket(
        kind=kind,
        category=category,
        description=words,
        contact_number=msisdn or f"139{rng.randrange(10**8):08d}",
        channel=rng.choice(CHANNELS),
        conversation_id=f"demo-{number:03d}",
        language=language,
        transcript=(
            TranscriptTurn("customer", words, at - timedelta(minutes=2)),
            TranscriptTurn("assistant", reply, at - timedelta(minutes=1)),
        ),
        idempotency_key=f"demo-{number:03d}",
        msisdn=msisdn,
        network_issue=issue,
        fraud=category is Category.SPAM_FRAUD and "police" in words,
    )


def _work_on(service: SqlTicketService, ticket_id: str, age: timedelta, rng: random.Random) -> None:
    """Older tickets have been worked on; the newest are still waiting in the queue."""
    if age < timedelta(days=1) or rng.random() < 0.25:
        return
    service.change_status(ticket_id, Status.IN_PROGRESS, DEMO_AGENT)
    if age > timedelta(days=4) and rng.random() < 0.7:
        service.change_status(ticket_id, Status.RESOLVED, DEMO_AGENT)
        if age > timedelta(days=8):
            service.change_status(ticket_id, Status.CLOSED, DEMO_AGENT)
