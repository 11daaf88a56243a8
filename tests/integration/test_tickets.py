"""The ticket desk: lifecycle, priorities, deadlines, idempotency, masking, the queue and hot
spots, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from telecom_assistant.tickets.model import (
    TRANSITIONS,
    Category,
    IllegalTransition,
    Kind,
    NetworkIssue,
    NewTicket,
    Priority,
    QueueFilter,
    Status,
    TranscriptTurn,
    UnknownTicket,
    check_transition,
    decide_priority,
    format_ticket_id,
    hotspots,
    is_fraud,
    normalise_ticket_id,
)
from telecom_assistant.tickets.sql import SqlTicketService
from tests.conftest import TODAY


def new_ticket(**changes) -> NewTicket:
    at = datetime(2026, 11, 23, 9, 58)
    ticket = NewTicket(
        kind=Kind.COMPLAINT,
        category=Category.BILLING,
        description="Charged twice for my plan, call me on 13800000002",
        contact_number="13800000002",
        channel="rest",
        conversation_id="conversation-1",
        language="en",
        transcript=(
            TranscriptTurn("customer", "I was charged twice", at),
            TranscriptTurn("assistant", "Please type the code we sent you.", at),
            TranscriptTurn("customer", "482913", at),
        ),
        idempotency_key="conversation-1:billing",
        msisdn="13800000002",
    )
    return replace(ticket, **changes)


@pytest.fixture
def tickets(engine, clock) -> SqlTicketService:
    return SqlTicketService(engine, clock=clock)


# ---- rules ------------------------------------------------------------------------------------

ALL_MOVES = [(current, wanted) for current in Status for wanted in Status]


@pytest.mark.parametrize("current, wanted", ALL_MOVES)
def test_lifecycle_allows_exactly_the_listed_moves(current, wanted):
    legal = {
        (Status.OPEN, Status.IN_PROGRESS),
        (Status.OPEN, Status.WAITING_FOR_CUSTOMER),
        (Status.OPEN, Status.RESOLVED),
        (Status.IN_PROGRESS, Status.WAITING_FOR_CUSTOMER),
        (Status.IN_PROGRESS, Status.RESOLVED),
        (Status.WAITING_FOR_CUSTOMER, Status.IN_PROGRESS),
        (Status.WAITING_FOR_CUSTOMER, Status.RESOLVED),
        (Status.RESOLVED, Status.CLOSED),
        (Status.RESOLVED, Status.OPEN),
    }
    assert (wanted in TRANSITIONS[current]) == ((current, wanted) in legal)
    if (current, wanted) in legal:
        check_transition(current, wanted)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(current, wanted)


@pytest.mark.parametrize(
    "category, flags, expected",
    [
        (Category.PRIVACY, {}, Priority.URGENT),
        (Category.SPAM_FRAUD, {"fraud": True}, Priority.URGENT),
        (Category.SPAM_FRAUD, {}, Priority.NORMAL),
        (Category.BILLING, {"repeat": True}, Priority.HIGH),
        (Category.BROADBAND, {"outage": True}, Priority.HIGH),
        (Category.PRIVACY, {"repeat": True}, Priority.URGENT),
        (Category.BILLING, {}, Priority.NORMAL),
        (Category.FIVE_G, {}, Priority.NORMAL),
    ],
)
def test_priority_rules(category, flags, expected):
    assert decide_priority(category, **flags) is expected


@pytest.mark.parametrize(
    "report, fraud",
    [
        ("He said he was the police and I must transfer money to a safe account", True),
        ("冒充客服让我点链接退款", True),
        ("Ads for a gym every day from 10690001", False),
        ("每天都有推销保险的骚扰电话", False),
    ],
)
def test_fraud_is_told_from_plain_spam(report, fraud):
    assert is_fraud(report) is fraud


@pytest.mark.parametrize(
    "typed", ["TK-261123-0007", "tk2611230007", "TK 261123 0007", " tk-261123-0007 "]
)
def test_ticket_ids_are_read_however_they_are_typed(typed):
    assert normalise_ticket_id(typed) == "TK-261123-0007"


@pytest.mark.parametrize("typed", ["TK-2611-0007", "13800000001", "TK-26112A-0007", ""])
def test_what_is_not_a_ticket_id_is_refused(typed):
    assert normalise_ticket_id(typed) is None


def test_hotspots_name_the_category_that_rose_most_this_week():
    today = date(2026, 11, 23)
    created = (
        [(today - timedelta(days=1), Category.FIVE_G)] * 5
        + [(today - timedelta(days=9), Category.BILLING)] * 6
        + [(today, Category.BILLING)] * 4
        + [(today - timedelta(days=20), Category.FIVE_G)] * 9
    )
    report = hotspots(created, today)
    assert report.days[0] == today - timedelta(days=13) and report.days[-1] == today
    assert report.counts[Category.FIVE_G][-2] == 5 and report.counts[Category.BILLING][-1] == 4
    assert report.this_week[Category.BILLING] == 4 and report.last_week[Category.BILLING] == 6
    assert report.rising is Category.FIVE_G


def test_no_category_is_rising_when_none_grew():
    today = date(2026, 11, 23)
    report = hotspots([(today - timedelta(days=10), Category.BILLING)], today)
    assert report.rising is None


# ---- the SQL ticket desk ----------------------------------------------------------------------


def test_filing_gives_a_readable_id_deadline_and_open_status(tickets, clock):
    filing = tickets.file(new_ticket())
    ticket = filing.ticket
    assert filing.created
    assert ticket.id == format_ticket_id(TODAY, 1) == "TK-261123-0001"
    assert ticket.status is Status.OPEN and ticket.priority is Priority.NORMAL
    assert ticket.response_due == clock.now + timedelta(hours=24)
    assert ticket.repair_due is None
    assert [(h.from_status, h.to_status, h.by) for h in ticket.history] == [
        (None, Status.OPEN, "assistant")
    ]
    assert tickets.file(new_ticket(idempotency_key="other")).ticket.id == "TK-261123-0002"


def test_personal_data_is_masked_before_it_is_stored(tickets):
    ticket = tickets.file(new_ticket()).ticket
    stored = tickets.get(ticket.id)
    assert stored.description == "Charged twice for my plan, call me on *******0002"
    assert [turn.text for turn in stored.transcript] == [
        "I was charged twice",
        "Please type the code we sent you.",
        "******",
    ]


def test_retrying_an_escalation_never_creates_a_second_ticket(tickets):
    first = tickets.file(new_ticket())
    longer = (
        *new_ticket().transcript,
        TranscriptTurn("customer", "hello?", datetime(2026, 11, 23, 10)),
    )
    again = tickets.file(new_ticket(transcript=longer))
    assert not again.created and again.ticket.id == first.ticket.id
    assert len(tickets.get(first.ticket.id).transcript) == 4
    assert len(tickets.queue(QueueFilter())) == 1


def test_concurrent_filings_of_one_escalation_make_one_ticket(engine, clock):
    results, errors = [], []

    def file_once() -> None:
        try:
            results.append(SqlTicketService(engine, clock=clock).file(new_ticket()))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=file_once) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len({filing.ticket.id for filing in results}) == 1
    assert sum(filing.created for filing in results) == 1


def test_a_repeat_complaint_within_30_days_is_high_priority(tickets, clock):
    tickets.file(new_ticket())
    clock.advance(days=29)
    assert tickets.file(new_ticket(idempotency_key="b")).ticket.priority is Priority.HIGH
    clock.advance(days=31)
    assert tickets.file(new_ticket(idempotency_key="c")).ticket.priority is Priority.NORMAL


def test_privacy_and_fraud_are_urgent_with_a_two_hour_deadline(tickets, clock):
    privacy = tickets.file(
        new_ticket(
            category=Category.PRIVACY,
            contact_number="13900000001",
            msisdn=None,
            idempotency_key="p",
        )
    ).ticket
    fraud = tickets.file(
        new_ticket(
            category=Category.SPAM_FRAUD,
            kind=Kind.SPAM_REPORT,
            fraud=True,
            contact_number="13900000002",
            msisdn=None,
            idempotency_key="f",
        )
    ).ticket
    for ticket in (privacy, fraud):
        assert ticket.priority is Priority.URGENT
        assert ticket.response_due == clock.now + timedelta(hours=2)


@pytest.mark.parametrize(
    "issue, repair_hours, priority",
    [
        (NetworkIssue.BROADBAND_DOWN, 24, Priority.HIGH),
        (NetworkIssue.BROADBAND_SLOW, 24, Priority.NORMAL),
        (NetworkIssue.NO_SIGNAL, 48, Priority.HIGH),
        (NetworkIssue.DROPPED_CALLS, 48, Priority.NORMAL),
    ],
)
def test_faults_carry_a_repair_deadline(tickets, clock, issue, repair_hours, priority):
    ticket = tickets.file(
        new_ticket(kind=Kind.FAULT, category=Category.NETWORK, network_issue=issue)
    ).ticket
    assert ticket.repair_due == clock.now + timedelta(hours=repair_hours)
    assert ticket.due == ticket.repair_due
    assert ticket.priority is priority


def test_status_changes_are_recorded_and_illegal_ones_refused(tickets, clock):
    ticket_id = tickets.file(new_ticket()).ticket.id
    clock.advance(hours=1)
    tickets.change_status(ticket_id, Status.IN_PROGRESS, "agent.chen")
    with pytest.raises(IllegalTransition):
        tickets.change_status(ticket_id, Status.CLOSED, "agent.chen")
    tickets.change_status(ticket_id, Status.RESOLVED, "agent.chen")
    tickets.change_status(ticket_id, Status.OPEN, "agent.chen")  # reopened
    ticket = tickets.get(ticket_id)
    assert ticket.status is Status.OPEN
    assert [(h.from_status, h.to_status) for h in ticket.history][1:] == [
        (Status.OPEN, Status.IN_PROGRESS),
        (Status.IN_PROGRESS, Status.RESOLVED),
        (Status.RESOLVED, Status.OPEN),
    ]
    assert ticket.history[1].by == "agent.chen" and ticket.history[1].at == clock.now
    assert ticket.responded_at == clock.now


def test_overdue_until_an_agent_answers(tickets, clock):
    ticket_id = tickets.file(new_ticket()).ticket.id
    clock.advance(hours=25)
    assert tickets.get(ticket_id).is_overdue(clock.now)
    assert [t.id for t in tickets.queue(QueueFilter(overdue_only=True))] == [ticket_id]
    tickets.add_note(ticket_id, "agent.chen", "Called the customer, refund requested")
    ticket = tickets.get(ticket_id)
    assert not ticket.is_overdue(clock.now)
    assert [(n.author, n.text) for n in ticket.notes] == [
        ("agent.chen", "Called the customer, refund requested")
    ]


def test_assign(tickets):
    ticket_id = tickets.file(new_ticket()).ticket.id
    assert tickets.assign(ticket_id, "agent.chen").assigned_to == "agent.chen"


def test_unknown_tickets_are_reported(tickets):
    with pytest.raises(UnknownTicket):
        tickets.get("TK-261123-9999")
    with pytest.raises(UnknownTicket):
        tickets.change_status("TK-261123-9999", Status.RESOLVED, "agent.chen")


def test_queue_filters_and_sorts(tickets, clock):
    billing = tickets.file(new_ticket()).ticket
    clock.advance(minutes=5)
    privacy = tickets.file(
        new_ticket(
            category=Category.PRIVACY,
            channel="telegram",
            idempotency_key="p",
            contact_number="13900000009",
            msisdn=None,
        )
    ).ticket
    tickets.change_status(billing.id, Status.IN_PROGRESS, "agent.chen")

    def ids(**wanted) -> list[str]:
        return [ticket.id for ticket in tickets.queue(QueueFilter(**wanted))]

    assert ids(statuses=[Status.OPEN]) == [privacy.id]
    assert ids(categories=[Category.BILLING]) == [billing.id]
    assert ids(priorities=[Priority.URGENT]) == [privacy.id]
    assert ids(channels=["telegram"]) == [privacy.id]
    assert ids(sort="due") == [privacy.id, billing.id]
    assert ids(sort="newest") == [privacy.id, billing.id]
    assert ids(sort="oldest") == [billing.id, privacy.id]


def test_the_lines_tickets_newest_first(tickets, clock):
    first = tickets.file(new_ticket()).ticket
    clock.advance(hours=1)
    second = tickets.file(new_ticket(idempotency_key="later")).ticket
    tickets.file(new_ticket(idempotency_key="x", msisdn=None, contact_number="13900000001"))
    assert [t.id for t in tickets.tickets_for_line("13800000002")] == [second.id, first.id]


def test_hotspots_count_stored_tickets(tickets, clock):
    tickets.file(new_ticket(category=Category.FIVE_G))
    report = tickets.hotspots()
    assert report.days[-1] == TODAY
    assert report.counts[Category.FIVE_G][-1] == 1
    assert report.rising is Category.FIVE_G


def test_complaints_are_counted_per_iso_week_and_category(tickets, clock):
    monday = datetime.combine(TODAY - timedelta(days=TODAY.weekday()), datetime.min.time())

    def file_at(at: datetime, category: Category, kind: Kind = Kind.COMPLAINT) -> None:
        clock.now = at
        key = f"{at.isoformat()}:{category.value}:{kind.value}"
        tickets.file(new_ticket(category=category, kind=kind, idempotency_key=key))

    file_at(monday - timedelta(weeks=2), Category.BILLING)  # before `since`
    file_at(monday - timedelta(minutes=1), Category.BILLING)  # last Sunday 23:59
    file_at(monday, Category.BILLING)
    file_at(monday + timedelta(days=6, hours=23), Category.BILLING)
    file_at(monday + timedelta(hours=1), Category.UNAUTHORISED_ADDON)
    file_at(monday + timedelta(hours=2), Category.NETWORK, Kind.FAULT)  # not a complaint

    counted = [
        (weekly.week, weekly.category, weekly.count)
        for weekly in tickets.weekly_complaints(monday - timedelta(weeks=1))
    ]
    assert counted == [
        (monday.date() - timedelta(weeks=1), Category.BILLING, 1),
        (monday.date(), Category.BILLING, 2),
        (monday.date(), Category.UNAUTHORISED_ADDON, 1),
    ]


# ---- odd text never stops a filing ------------------------------------------------------------

CONTROL_CHARACTERS = "\x00\x01\x07\x1b\x7f\u200b\ufeff"


def test_control_characters_emoji_and_over_long_fields_are_filed_and_readable(tickets):
    at = datetime(2026, 11, 23, 9, 58)
    filing = tickets.file(
        new_ticket(
            description=f"Charged\x00 twice 😡{CONTROL_CHARACTERS} 扣了两次\x00钱",
            contact_number="138\x000013\x008000",
            channel="telegram\x00",
            conversation_id="conversation-\x00odd",
            language="zh\x00",
            transcript=(
                TranscriptTurn("customer\x00", "验证码\x00是 482\u200b913 👨‍👩‍👧", at),
                TranscriptTurn("assistant", "\x00" * 50, at),
                TranscriptTurn("customer", "I'm angry 😤\x1b[31m", at),
            ),
            idempotency_key="conversation-\x00odd:billing",
        )
    )
    stored = tickets.get(filing.ticket.id)
    assert stored.description == "Charged twice 😡 扣了两次钱"
    assert stored.contact_number == "13800138000"
    assert (stored.channel, stored.conversation_id, stored.language) == (
        "telegram",
        "conversation-odd",
        "zh",
    )
    assert [(turn.speaker, turn.text) for turn in stored.transcript] == [
        ("customer", "验证码是 ****** 👨‍👩‍👧"),
        ("assistant", ""),
        ("customer", "I'm angry 😤[31m"),
    ]
    # The retry sends the same odd key and finds the same ticket.
    again = tickets.file(
        new_ticket(
            conversation_id="conversation-\x00odd", idempotency_key="conversation-\x00odd:billing"
        )
    )
    assert not again.created and again.ticket.id == filing.ticket.id


def test_a_channel_no_channel_has_is_filed_as_unknown(tickets):
    long_name = tickets.file(new_ticket(channel="telegram-" + "x" * 40)).ticket
    empty = tickets.file(new_ticket(channel="\x00 ", idempotency_key="empty-channel")).ticket
    assert tickets.get(long_name.id).channel == tickets.get(empty.id).channel == "unknown"
    assert {t.id for t in tickets.queue(QueueFilter(channels=["unknown"]))} == {
        long_name.id,
        empty.id,
    }


def test_over_long_fields_are_fitted_to_their_columns(tickets):
    at = datetime(2026, 11, 23, 9, 58)
    long_conversation = "c" * 250
    first = tickets.file(
        new_ticket(
            description="扣费" * 6000 + " call 13800138000",
            contact_number="+86 138 0013 8000 ext. 1234 (evenings only)",
            conversation_id=long_conversation,
            idempotency_key=long_conversation + ":billing",
            language="english-please",
            transcript=(TranscriptTurn("customer-of-the-year", "x" * 20_000 + " 13800138000", at),),
        )
    ).ticket
    # Conversations and keys that differ only past the column's length stay different.
    second = tickets.file(
        new_ticket(
            conversation_id=long_conversation + "2", idempotency_key=long_conversation + "2:billing"
        )
    ).ticket
    assert first.id != second.id
    stored = tickets.get(first.id)
    assert stored.description == ("扣费" * 5000)[:9_999] + "…"
    assert stored.contact_number == "+86 138 0013 8000 ex"
    assert len(stored.conversation_id) == 200 and stored.conversation_id != second.conversation_id
    assert stored.language == "engli"
    (turn,) = stored.transcript
    assert turn.speaker == "customer-o" and len(turn.text) <= 10_000
    assert "13800138" not in turn.text and turn.text.endswith("x…")


def test_agents_notes_and_replies_with_control_characters_are_kept(tickets):
    ticket_id = tickets.file(new_ticket(channel="telegram")).ticket.id
    tickets.add_note(ticket_id, "agent.chen", "Called\x00 back 📞")
    tickets.reply(ticket_id, "agent.chen", "\x00Refund issued\u200b, sorry 🙏")
    ticket = tickets.get(ticket_id)
    assert [note.text for note in ticket.notes] == ["Called back 📞"]
    assert ticket.transcript[-1].text == "Refund issued, sorry 🙏"


def test_the_verified_number_is_masked_in_any_form(tickets):
    at = datetime(2026, 11, 23, 9, 58)
    ticket = tickets.file(
        new_ticket(
            transcript=(
                TranscriptTurn("customer", "我的是幺三八零零零零零零零二，昨天打过", at),
                TranscriptTurn(
                    "customer", "my line, 138 0000 0002, was charged twice last month", at
                ),
            )
        )
    ).ticket
    assert [turn.text for turn in tickets.get(ticket.id).transcript] == [
        "我的是*******零零零二，昨天打过",
        "my line, *** **** 0002, was charged twice last month",
    ]
