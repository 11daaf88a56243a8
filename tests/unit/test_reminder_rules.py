"""Which reminders a line is due (telecom_assistant/reminders/rules.py) and what they say in
both languages (render.py): the rules on their own, from hand-made lines."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from demo.catalogue import ADDONS, PLANS
from telecom_assistant.accounts.service import (
    AddOn,
    Bill,
    BillStatus,
    CycleUsage,
    LineSnapshot,
    Plan,
    PlanKind,
    Subscription,
)
from telecom_assistant.accounts.tariffs import ROAMING_RATES
from telecom_assistant.reminders import rules
from telecom_assistant.reminders.model import Reminder, ReminderKind
from telecom_assistant.reminders.render import SmsHint, render, sms_text
from telecom_assistant.texts import catalogue

TODAY = date(2026, 11, 20)


def fields_of(kind: type, row: dict) -> dict:
    return {name: row.get(name, 0) for name in kind.__dataclass_fields__}


PLANS_BY_ID = {
    row["id"]: Plan(**{**fields_of(Plan, row), "kind": PlanKind(row["kind"])}) for row in PLANS
}
BASIC = PLANS_BY_ID["basic_4g_39"]
ADDON_ROWS = {row["id"]: AddOn(**fields_of(AddOn, row)) for row in ADDONS}
CATALOGUE = rules.Catalogue(
    plans=list(PLANS_BY_ID.values()),
    booster=ADDON_ROWS["data_booster"],
    roaming=ROAMING_RATES,
    low_balance=1000,
)


def usage(data_share: float = 0.1, minutes_share: float = 0.1, sms_share: float = 0.1, **roaming):
    return CycleUsage(
        cycle_start=date(2026, 11, 1),
        cycle_end=date(2026, 11, 30),
        data_used_mb=round(BASIC.data_mb * data_share),
        minutes_used=round(BASIC.minutes * minutes_share),
        sms_used=round(BASIC.sms * sms_share),
        roaming_data_mb=roaming.get("data", 0),
        roaming_minutes=roaming.get("minutes", 0),
    )


def line(**changes) -> LineSnapshot:
    quiet = LineSnapshot(
        msisdn="13800000099",
        plan=BASIC,
        contract_end=None,
        prepaid_balance=None,
        usage=usage(),
        recent_bills=(),
        subscriptions=(),
    )
    return replace(quiet, **changes)


def subscription(addon_id: str, started_on: date, sub_id: int = 7) -> Subscription:
    return Subscription(
        id=sub_id,
        addon=ADDON_ROWS[addon_id],
        started_on=started_on,
        ordering_channel="outbound sales call",
        ordering_channel_zh="外呼营销",
        consent_recorded=False,
        cancelled_at=None,
        consent_disputed=False,
    )


def bill(status: BillStatus, cycle_end: date) -> Bill:
    return Bill(
        cycle_start=cycle_end.replace(day=1),
        cycle_end=cycle_end,
        total=5900,
        amount_paid=0 if status is not BillStatus.PAID else 5900,
        due_date=cycle_end + timedelta(days=25),
        status=status,
        paid_on=None,
    )


def due(snapshot: LineSnapshot, today: date = TODAY) -> list[Reminder]:
    return rules.due(snapshot, today, CATALOGUE)


def test_a_line_well_within_everything_is_due_nothing():
    assert due(line()) == []


@pytest.mark.parametrize(
    ("share", "expected"),
    [(0.79, []), (0.80, ["usage:data:80:2026-11-01"]), (1.0, ["usage:data:100:2026-11-01"])],
)
def test_data_use_is_reminded_at_80_and_100_percent(share, expected):
    assert [reminder.event for reminder in due(line(usage=usage(data_share=share)))] == expected


def test_past_100_percent_only_the_100_percent_reminder_is_due_and_it_is_urgent():
    (reminder,) = due(line(usage=usage(data_share=1.3)))
    assert reminder.topic == "usage_100" and reminder.urgent
    assert reminder.details["percent"] == 130


def test_the_80_percent_reminder_waits_for_the_morning():
    (reminder,) = due(line(usage=usage(minutes_share=0.85)))
    assert reminder.event == "usage:minutes:80:2026-11-01" and not reminder.urgent


def test_every_allowance_is_reminded_on_its_own():
    reminders = due(line(usage=usage(data_share=0.9, minutes_share=1.1, sms_share=0.95)))
    assert sorted(reminder.event for reminder in reminders) == [
        "usage:data:80:2026-11-01",
        "usage:minutes:100:2026-11-01",
        "usage:sms:80:2026-11-01",
    ]


def test_a_data_reminder_names_the_booster_and_a_cheaper_plan_that_fits():
    # 20 days into the month at 95 %: the month ends near 143 % of 10 GB, ¥25 of overage on
    # top of the ¥39 fee.
    snapshot = line(usage=usage(data_share=0.95))
    (reminder,) = due(snapshot)
    fitting = rules.plan_that_fits(snapshot, TODAY, CATALOGUE.plans)
    assert fitting is not None and fitting.data_mb >= BASIC.data_mb * 1.4
    assert reminder.details["booster"] == "Data Booster 5GB"
    assert reminder.details["fitting_plan"] == fitting.name
    assert fitting.kind == BASIC.kind and fitting.monthly_fee > BASIC.monthly_fee


def test_no_plan_is_suggested_when_the_current_one_is_the_cheapest_fit():
    assert rules.plan_that_fits(line(usage=usage(data_share=0.5)), TODAY, CATALOGUE.plans) is None


def test_a_low_prepaid_balance_is_reminded_once_a_month_and_is_urgent():
    (reminder,) = due(line(prepaid_balance=350))
    assert (reminder.kind, reminder.event, reminder.urgent) == (
        ReminderKind.BALANCE,
        "balance:low:2026-11-01",
        True,
    )
    assert due(line(prepaid_balance=1000)) == []
    assert due(line(prepaid_balance=350), date(2026, 12, 2))[0].event == "balance:low:2026-12-01"


def test_a_bill_is_announced_in_the_days_after_its_cycle_closes_only():
    issued = line(recent_bills=(bill(BillStatus.UNPAID, date(2026, 10, 31)),))
    assert [r.event for r in due(issued, date(2026, 11, 2))] == ["bill:issued:2026-10-01"]
    assert due(issued, date(2026, 11, 5)) == []


def test_an_overdue_bill_is_reminded():
    overdue = line(recent_bills=(bill(BillStatus.OVERDUE, date(2026, 9, 30)),))
    (reminder,) = due(overdue)
    assert reminder.event == "bill:overdue:2026-09-01" and reminder.details["owed"] == "¥59.00"


def test_an_overdue_bill_is_reminded_when_a_later_one_is_not_due_yet():
    """Two bills unpaid: the older one overdue, the latest just issued. Both are news."""
    arrears = line(
        recent_bills=(
            bill(BillStatus.PAID, date(2026, 8, 31)),
            bill(BillStatus.OVERDUE, date(2026, 9, 30)),
            bill(BillStatus.UNPAID, date(2026, 10, 31)),
        )
    )
    assert [r.event for r in due(arrears, date(2026, 11, 2))] == [
        "bill:overdue:2026-09-01",
        "bill:issued:2026-10-01",
    ]
    assert [r.event for r in due(arrears, date(2026, 11, 20))] == ["bill:overdue:2026-09-01"]


@pytest.mark.parametrize(
    ("days_left", "event"),
    [(31, None), (30, "contract:30:"), (8, "contract:30:"), (7, "contract:7:"), (0, "contract:7:")],
)
def test_a_contract_end_is_reminded_30_and_7_days_before(days_left, event):
    end = TODAY + timedelta(days=days_left)
    reminders = due(line(contract_end=end))
    if event is None:
        assert reminders == []
    else:
        assert [r.event for r in reminders] == [event + end.isoformat()]
        assert reminders[0].details["termination_fee"]


def test_the_first_use_abroad_is_reminded_with_the_prices_and_is_urgent():
    (reminder,) = due(line(usage=usage(data=12)))
    assert reminder.event == "roaming:2026-11-01" and reminder.urgent
    assert reminder.details["day_pass_fee"] == "¥25.00"
    assert reminder.details["data_per_mb"] == "¥0.50"


def test_a_new_paid_add_on_is_reminded_with_its_name_fee_and_channel():
    started = TODAY - timedelta(days=1)
    snapshot = line(
        subscriptions=(
            subscription("ringback_tone", started),
            subscription("music_pack", TODAY - timedelta(days=40), sub_id=3),
        )
    )
    (reminder,) = due(snapshot)
    assert (reminder.event, reminder.subject, reminder.urgent) == ("addon:7", "ringback_tone", True)
    assert reminder.details["fee"] == "¥5.00" and reminder.details["name_zh"] == "彩铃"


def test_an_add_on_that_starts_in_the_future_or_costs_nothing_is_not_reminded():
    free = replace(ADDON_ROWS["ringback_tone"], monthly_fee=0)
    snapshot = line(subscriptions=(replace(subscription("ringback_tone", TODAY), addon=free),))
    assert due(snapshot) == []
    assert (
        due(line(subscriptions=(subscription("ringback_tone", TODAY + timedelta(days=1)),))) == []
    )


# --- what they say -------------------------------------------------------------------------


def every_kind_of_reminder() -> list[Reminder]:
    snapshot = line(
        usage=usage(data_share=1.2, minutes_share=0.85, data=30),
        prepaid_balance=100,
        recent_bills=(bill(BillStatus.OVERDUE, date(2026, 9, 30)),),
        contract_end=TODAY + timedelta(days=5),
        subscriptions=(subscription("ringback_tone", TODAY),),
    )
    reminders = due(snapshot)
    ticket = Reminder(
        "13800000099",
        ReminderKind.TICKET,
        "ticket:T1:reply:1",
        "ticket_reply",
        subject="T1",
        details={"ticket_id": "TK-261120-0001"},
    )
    return [*reminders, ticket]


def test_every_reminder_kind_is_found_by_the_rules():
    kinds = {reminder.kind for reminder in every_kind_of_reminder()}
    assert kinds == set(ReminderKind)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_reminder_reads_whole_in_both_languages(language):
    for reminder in every_kind_of_reminder():
        words = render(reminder, language)
        assert "{" not in words and words.strip()
        if language == "zh" and reminder.kind is ReminderKind.ADDON:
            assert "彩铃" in words and "外呼营销" in words
        if language == "en" and reminder.topic == "usage_100":
            assert "Data Booster 5GB" in words


def test_an_sms_to_a_customer_whose_language_is_unknown_is_in_both_languages():
    reminder = every_kind_of_reminder()[0]
    both = sms_text(reminder, None, SmsHint("reminder.stop_by_sms", "QXLLTX"))
    chinese, english = both.split("\n")
    assert chinese.startswith(catalogue("zh")["reminder.sms_prefix"]) and "QXLLTX" in chinese
    assert english.startswith("[Demo Telecom]") and english.endswith(
        "Reply QXLLTX to stop these reminders."
    )
    assert "\n" not in sms_text(reminder, "en")


def test_the_rules_hold_a_datetime_free_of_the_clock():
    # The scan passes today's date: a datetime would compare wrongly with dates.
    with pytest.raises(TypeError):
        rules.due(line(contract_end=TODAY), datetime(2026, 11, 20, 9), CATALOGUE)
