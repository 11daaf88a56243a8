"""The reminder scan over the demo database, with the clock moved by hand: each reminder goes
out once at the right moment, by SMS and to the customer's chat, never in quiet hours unless
urgent, never of a kind the customer turned off; two schedulers never send one twice."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from demo.events import order_addon, use_allowance
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.accounts.tables import SmsOutboxRow
from telecom_assistant.database import make_engine
from telecom_assistant.reminders.model import ChatAddress, Reminder, ReminderKind, SentReminder
from telecom_assistant.reminders.render import SmsHint
from telecom_assistant.reminders.scan import (
    ChatDelivery,
    ChatUnreachable,
    ReminderPolicy,
    ReminderScan,
)
from telecom_assistant.reminders.sql import SqlReminderStore
from telecom_assistant.reminders.tables import ReminderRow
from telecom_assistant.schema import Area, migrate
from telecom_assistant.service_hours import ServiceHours
from telecom_assistant.sms.sql import SqlSmsGateway
from telecom_assistant.tickets.model import Status
from telecom_assistant.tickets.sql import SqlTicketService
from tests.conftest import TODAY, FakeClock
from tests.integration.test_tickets import new_ticket

# Basic 4G 39 (10 GB, 100 minutes), about 7 GB a month, two add-ons from long ago.
LINE = "13800000004"
POLICY = ReminderPolicy(
    sending_hours=ServiceHours.parse("08:00-22:00"),
    low_balance=1000,
    booster_addon="data_booster",
    sms_hints={ReminderKind.USAGE: SmsHint("reminder.stop_by_sms", "QXLLTX")},
)


class RecordingChat(ChatDelivery):
    """A chat that takes reminders, or is out of reach while `reachable` is False."""

    def __init__(self) -> None:
        self.delivered: list[SentReminder] = []
        self.reachable = True

    def deliver(self, reminder: SentReminder) -> None:
        if not self.reachable:
            raise ChatUnreachable("Rasa is restarting")
        self.delivered.append(reminder)


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    migrate(engine, [Area.REMINDERS])
    return engine


@pytest.fixture
def store(migrated, clock) -> SqlReminderStore:
    return SqlReminderStore(migrated, clock)


@pytest.fixture
def chat() -> RecordingChat:
    return RecordingChat()


@pytest.fixture
def scan(migrated, clock, store, chat) -> ReminderScan:
    return ReminderScan(
        SqlAccountService(migrated, clock),
        store,
        SqlSmsGateway(migrated, clock),
        POLICY,
        chat=chat,
        tickets=SqlTicketService(migrated, clock),
        clock=clock,
    )


def reminder_sms(engine: Engine, msisdn: str = LINE) -> list[str]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(SmsOutboxRow.body)
                .where(SmsOutboxRow.msisdn == msisdn, SmsOutboxRow.purpose == "reminder")
                .order_by(SmsOutboxRow.id)
            )
        )


def events(engine: Engine, msisdn: str = LINE) -> list[str]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(ReminderRow.event)
                .where(ReminderRow.msisdn == msisdn)
                .order_by(ReminderRow.id)
            )
        )


def at(clock: FakeClock, day: date, hour: int, minute: int = 0) -> None:
    clock.now = datetime(day.year, day.month, day.day, hour, minute)


def test_the_demo_base_gets_its_reminders_once_however_often_the_scan_runs(scan, migrated):
    first = scan.run()
    assert first.lines == 22 and first.sent >= 5
    assert first.sent_by_kind.keys() >= {"usage", "balance", "contract"}
    again = scan.run()
    assert (again.sent, again.already_sent) == (0, first.sent)
    with Session(migrated) as session:
        sms = session.scalar(select(func.count()).where(SmsOutboxRow.purpose == "reminder"))
    assert sms == first.sent


def test_an_older_bill_still_overdue_is_reminded_once_whatever_the_age_of_its_reminder(
    scan, migrated
):
    """Two bills unpaid: the older overdue, the latest not due yet. A scan looks up only the
    last weeks' reminders as sent; an older one that still holds is refused by its claim."""
    arrears = "13800000005"
    scan.run()
    assert events(migrated, arrears) == ["bill:overdue:2026-09-01"]
    (sms,) = reminder_sms(migrated, arrears)
    assert "2026-10-25" in sms and "¥59.00" in sms
    with Session(migrated) as session, session.begin():
        session.execute(
            update(ReminderRow)
            .where(ReminderRow.msisdn == arrears)
            .values(created_at=ReminderRow.created_at - timedelta(days=100))
        )
    again = scan.run()
    assert again.sent == 0 and again.already_sent >= 1
    assert len(reminder_sms(migrated, arrears)) == 1


def test_data_use_is_reminded_at_80_then_100_percent_and_again_in_the_next_cycle(
    scan, migrated, clock
):
    use_allowance(migrated, LINE, TODAY, 0.70)
    scan.run()
    assert events(migrated) == []

    clock.advance(days=1)
    use_allowance(migrated, LINE, TODAY, 0.85)
    scan.run()
    scan.run()
    assert events(migrated) == ["usage:data:80:2026-11-01"]
    (sms,) = reminder_sms(migrated)
    # The line's language is not known yet: both languages, with the SMS hall's stop keyword.
    assert "85%" in sms and "Reply QXLLTX to stop these reminders." in sms and "流量" in sms

    clock.advance(days=1)
    use_allowance(migrated, LINE, TODAY, 1.01)
    scan.run()
    clock.advance(days=1)
    scan.run()
    assert events(migrated)[1:] == ["usage:data:100:2026-11-01"]

    at(clock, date(2026, 12, 1), 9)
    scan.run()  # the new cycle has no use yet
    use_allowance(migrated, LINE, date(2026, 12, 1), 0.82)
    clock.advance(hours=2)
    scan.run()
    assert events(migrated)[2:] == ["usage:data:80:2026-12-01"]


def test_quiet_hours_hold_what_can_wait_until_morning_but_not_a_new_charge(scan, migrated, clock):
    at(clock, TODAY, 23, 30)
    use_allowance(migrated, LINE, TODAY, 0.85)
    order_addon(migrated, LINE, "game_pack", TODAY)
    report = scan.run()
    assert "usage:data:80:2026-11-01" not in events(migrated)
    assert any(event.startswith("addon:") for event in events(migrated))
    assert report.held_for_morning >= 1

    at(clock, TODAY + timedelta(days=1), 7, 59)
    scan.run()
    assert "usage:data:80:2026-11-01" not in events(migrated)
    at(clock, TODAY + timedelta(days=1), 8, 0)
    scan.run()
    assert "usage:data:80:2026-11-01" in events(migrated)


def test_a_kind_turned_off_is_not_sent_until_turned_back_on(scan, migrated, store):
    store.set_opt_out(LINE, [ReminderKind.USAGE], out=True)
    use_allowance(migrated, LINE, TODAY, 0.9)
    order_addon(migrated, LINE, "music_pack", TODAY)
    report = scan.run()
    assert [event.split(":")[0] for event in events(migrated)] == ["addon"]
    assert report.opted_out >= 1
    assert store.opted_out(LINE) == {ReminderKind.USAGE}

    store.set_opt_out(LINE, [ReminderKind.USAGE], out=False)
    scan.run()
    assert events(migrated)[-1] == "usage:data:80:2026-11-01"


def test_a_new_add_on_reaches_the_customers_chat_in_its_language_and_by_sms(
    scan, migrated, store, chat
):
    store.remember_chat(ChatAddress(LINE, "telegram", "telegram-abc", "zh"))
    subscription = order_addon(migrated, LINE, "ringback_tone", TODAY)
    scan.run()
    (delivered,) = [sent for sent in chat.delivered if sent.msisdn == LINE]
    assert delivered.event == f"addon:{subscription}" and delivered.subject == "ringback_tone"
    assert delivered.chat == ChatAddress(LINE, "telegram", "telegram-abc", "zh")
    (sms,) = reminder_sms(migrated)
    # The language of the chat, only: the customer's language is known.
    assert "彩铃" in sms and "[Demo Telecom]" not in sms
    (sent,) = store.sent_to(LINE)
    assert sent.sms_at is not None and sent.chat_at is not None


def test_a_chat_out_of_reach_gets_the_reminder_at_a_later_scan_and_never_twice(
    scan, migrated, store, chat, clock
):
    store.remember_chat(ChatAddress(LINE, "webchat", "webchat-xyz", "en"))
    order_addon(migrated, LINE, "ringback_tone", TODAY)
    chat.reachable = False
    first = scan.run()
    assert first.chats_missed == 1 and chat.delivered == []

    chat.reachable = True
    clock.advance(minutes=1)
    scan.run()
    scan.run()
    assert [sent.msisdn for sent in chat.delivered] == [LINE]
    assert len(reminder_sms(migrated)) == 1


class Killed(Exception):
    """The scheduler dies here (SIGKILL): nothing after this point of the scan happens."""


def dying_at(line: str, method):  # type: ignore[no-untyped-def]
    """`method`, but the scheduler dies when it gets to `line`'s reminder."""

    def die_at_the_line(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        msisdn = args[0] if isinstance(args[0], str) else self.get(args[0]).msisdn
        if msisdn == line:
            raise Killed
        return method(self, *args, **kwargs)

    return die_at_the_line


def test_a_scheduler_killed_before_the_sms_went_out_has_it_sent_by_the_next_scan(
    scan, migrated, store, chat, clock, monkeypatch
):
    store.remember_chat(ChatAddress(LINE, "telegram", "telegram-abc", "en"))
    order_addon(migrated, LINE, "ringback_tone", TODAY)
    with monkeypatch.context() as dying:
        dying.setattr(SqlSmsGateway, "send", dying_at(LINE, SqlSmsGateway.send))
        with pytest.raises(Killed):
            scan.run()
    assert len(events(migrated)) == 1 and reminder_sms(migrated) == []

    clock.advance(minutes=1)
    report = scan.run()
    assert report.sms_finished == 1
    (sms,) = reminder_sms(migrated)
    assert "ringback" in sms.lower()
    assert [sent.msisdn for sent in chat.delivered] == [LINE]
    scan.run()
    assert len(reminder_sms(migrated)) == 1 and len(chat.delivered) == 1


def test_a_scheduler_killed_after_the_sms_went_out_does_not_send_it_again(
    scan, migrated, store, clock, monkeypatch
):
    order_addon(migrated, LINE, "ringback_tone", TODAY)
    with monkeypatch.context() as dying:
        dying.setattr(
            SqlReminderStore, "mark_sms_sent", dying_at(LINE, SqlReminderStore.mark_sms_sent)
        )
        with pytest.raises(Killed):
            scan.run()
    assert len(reminder_sms(migrated)) == 1

    clock.advance(minutes=1)
    scan.run()
    scan.run()
    assert len(reminder_sms(migrated)) == 1
    (sent,) = store.sent_to(LINE)
    assert sent.sms_at is not None


def test_a_reminder_claimed_by_a_scan_that_died_a_day_ago_is_given_up(
    scan, migrated, clock, monkeypatch
):
    order_addon(migrated, LINE, "ringback_tone", TODAY)
    with monkeypatch.context() as dying:
        dying.setattr(SqlSmsGateway, "send", dying_at(LINE, SqlSmsGateway.send))
        with pytest.raises(Killed):
            scan.run()
    clock.advance(days=1, minutes=1)
    assert scan.run().sms_finished == 0
    assert reminder_sms(migrated) == []


def test_a_chat_out_of_reach_for_a_day_is_given_up(scan, migrated, store, chat, clock):
    store.remember_chat(ChatAddress(LINE, "webchat", "webchat-xyz", "en"))
    order_addon(migrated, LINE, "ringback_tone", TODAY)
    chat.reachable = False
    scan.run()
    chat.reachable = True
    clock.advance(days=1, minutes=1)
    scan.run()
    assert [sent for sent in chat.delivered if sent.msisdn == LINE] == []


def test_a_signed_out_chat_gets_no_more_reminders(scan, migrated, store, chat):
    store.remember_chat(ChatAddress(LINE, "telegram", "telegram-abc", "en"))
    store.forget_chat(LINE, "telegram-abc")
    order_addon(migrated, LINE, "ringback_tone", TODAY)
    scan.run()
    assert [sent for sent in chat.delivered if sent.msisdn == LINE] == []
    assert len(reminder_sms(migrated)) == 1


def test_an_answered_and_a_resolved_complaint_are_told_by_sms_once_each(
    scan, migrated, store, chat, clock
):
    tickets = SqlTicketService(migrated, clock)
    ticket = tickets.file(new_ticket(msisdn=LINE, contact_number=LINE, channel="telegram")).ticket
    store.remember_chat(ChatAddress(LINE, "telegram", "conversation-1", "en"))
    scan.run()
    assert not any(event.startswith("ticket:") for event in events(migrated))

    clock.advance(minutes=5)
    tickets.reply(ticket.id, "agent", "We refunded the second charge.")
    scan.run()
    clock.advance(minutes=5)
    tickets.change_status(ticket.id, Status.RESOLVED, "agent")
    scan.run()
    scan.run()
    ticket_events = [event for event in events(migrated) if event.startswith("ticket:")]
    assert [event.split(":")[2] for event in ticket_events] == ["reply", "resolved"]
    assert all(ticket.id in body for body in reminder_sms(migrated))
    # The ticket's own chat has the letter already: no reminder there.
    assert [sent for sent in chat.delivered if sent.kind is ReminderKind.TICKET] == []


@pytest.mark.postgres
def test_two_schedulers_scanning_at_once_never_send_the_same_reminder(postgres_engine):
    migrate(postgres_engine, [Area.REMINDERS])
    url = postgres_engine.url.render_as_string(hide_password=False)
    order_addon(postgres_engine, LINE, "ringback_tone", TODAY)
    now = datetime.combine(TODAY, datetime.min.time()) + timedelta(hours=10)
    engines = [make_engine(url) for _ in range(2)]
    scans = [
        ReminderScan(
            SqlAccountService(engine, lambda: now),
            SqlReminderStore(engine, lambda: now),
            SqlSmsGateway(engine, lambda: now),
            POLICY,
            clock=lambda: now,
            batch=3,  # many small batches: the two scans interleave
        )
        for engine in engines
    ]
    start = threading.Barrier(2)
    reports = []

    def run(scan: ReminderScan) -> None:
        start.wait()
        reports.append(scan.run())

    threads = [threading.Thread(target=run, args=(scan,)) for scan in scans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    with Session(postgres_engine) as session:
        sms = session.execute(
            select(SmsOutboxRow.msisdn, SmsOutboxRow.body).where(SmsOutboxRow.purpose == "reminder")
        ).all()
        reminders = session.scalar(select(func.count()).select_from(ReminderRow))
    assert len(sms) == len(set(sms)) == reminders > 0
    assert sum(report.sent for report in reports) == reminders
    assert sum(report.already_sent for report in reports) == reminders


def test_one_scheduler_holds_the_lease_until_it_stops_renewing_it(store, clock):
    now = clock()
    assert store.hold_lease("server-a", now, 180)
    assert not store.hold_lease("server-b", now + timedelta(seconds=60), 180)
    assert store.hold_lease("server-a", now + timedelta(seconds=60), 180)
    # Server a died after its last renewal: b takes over once the lease ran out.
    assert not store.hold_lease("server-b", now + timedelta(seconds=200), 180)
    assert store.hold_lease("server-b", now + timedelta(seconds=241), 180)
    assert not store.hold_lease("server-a", now + timedelta(seconds=250), 180)


def test_the_first_use_abroad_is_reminded_at_once_even_at_night(scan, migrated, clock):
    at(clock, TODAY, 2, 30)
    use_allowance(migrated, LINE, TODAY, 0.3, roaming_mb=40)
    scan.run()
    clock.advance(hours=1)
    use_allowance(migrated, LINE, TODAY, 0.3, roaming_mb=90)
    scan.run()
    assert events(migrated) == ["roaming:2026-11-01"]
    (sms,) = reminder_sms(migrated)
    assert "¥25.00" in sms and "Data roaming" in sms


def test_weekly_volumes_count_each_kind_per_iso_week(store, clock):
    """Counted by the database per day, folded into weeks (Monday to Sunday)."""
    sunday = datetime(2026, 11, 22, 23, 30)
    sent = [
        (sunday, ReminderKind.USAGE),
        (sunday + timedelta(hours=1), ReminderKind.USAGE),  # Monday 00:30: the next week
        (sunday + timedelta(days=1), ReminderKind.USAGE),
        (sunday + timedelta(days=3), ReminderKind.BILL),
    ]
    for number, (at, kind) in enumerate(sent):
        clock.now = at
        store.claim(Reminder(LINE, kind, f"event-{number}", "usage_80"), "en", None)
    volumes = store.weekly_volumes(since=sunday - timedelta(days=7))
    assert [(v.week, v.kind, v.count) for v in volumes] == [
        ("2026-11-16", ReminderKind.USAGE, 1),
        ("2026-11-23", ReminderKind.BILL, 1),
        ("2026-11-23", ReminderKind.USAGE, 2),
    ]
