"""Which reminders a line is due, from what the account backend says of it today: pure
functions, no storage, no clock of their own (the scan passes `today`).

Each reminder names its event so that it is sent once: a second scan finds the same events
and the store refuses them (store.py). A line past 100 % of an allowance gets the 100 %
reminder only: the 80 % one would come too late to help.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from telecom_assistant.accounts.service import (
    AddOn,
    Bill,
    BillStatus,
    CycleUsage,
    LineSnapshot,
    Plan,
    RoamingRates,
)
from telecom_assistant.accounts.tariffs import MB_PER_GB, average_monthly_cost
from telecom_assistant.reminders.model import Reminder, ReminderKind
from telecom_assistant.texts import format_data, format_date, format_money

USAGE_LEVELS = (100, 80)  # highest first: a line past both is reminded of the higher only
# A bill is "just issued" for this long after its cycle closes: a scheduler started later does
# not announce old bills.
BILL_ISSUED_DAYS = 3
CONTRACT_NOTICE_DAYS = (7, 30)  # nearest first
# An add-on is "new" for this long after it starts: the charge reminder must come before the
# first charge, and a scheduler started later does not announce old add-ons.
NEW_ADDON_DAYS = 3


@dataclass(frozen=True)
class Catalogue:
    """What every line's reminders draw on, read once per scan."""

    plans: Sequence[Plan]
    booster: AddOn | None  # the add-on that buys more data, if the catalogue has one
    roaming: RoamingRates
    low_balance: int  # fen: a prepaid balance under this is reminded


def due(line: LineSnapshot, today: date, catalogue: Catalogue) -> list[Reminder]:
    return [
        *_usage(line, today, catalogue),
        *_balance(line, today, catalogue),
        *_bills(line, today),
        *_contract(line, today, catalogue),
        *_roaming(line, catalogue),
        *_new_addons(line, today),
    ]


def _usage(line: LineSnapshot, today: date, catalogue: Catalogue) -> list[Reminder]:
    usage = line.usage
    if usage is None:
        return []
    plan = line.plan
    reached = []
    for resource, used, allowance, overage_price in (
        ("data", usage.data_used_mb, plan.data_mb, plan.data_overage_per_gb),
        ("minutes", usage.minutes_used, plan.minutes, plan.voice_overage_per_minute),
        ("sms", usage.sms_used, plan.sms, plan.sms_overage_each),
    ):
        if allowance <= 0:
            continue
        level = next((level for level in USAGE_LEVELS if used * 100 >= allowance * level), None)
        if level is not None:
            reached.append((resource, used, allowance, overage_price, level))
    if not reached:
        return []
    # The way out is the same for every resource of the line: worked out once.
    fitting = plan_that_fits(line, today, catalogue.plans)
    reminders = []
    for resource, used, allowance, overage_price, level in reached:
        details: dict[str, object] = {
            "resource": resource,
            "used": _amount(resource, used),
            "allowance": _amount(resource, allowance),
            "percent": math.floor(used * 100 / allowance),
            "overage_price": format_money(overage_price),
            "cycle_end": format_date(usage.cycle_end),
        }
        if resource == "data" and catalogue.booster is not None:
            details |= {
                "booster": catalogue.booster.name,
                "booster_zh": catalogue.booster.name_zh,
                "booster_fee": format_money(catalogue.booster.monthly_fee),
            }
        if fitting is not None:
            details |= _plan_details(fitting)
        reminders.append(
            Reminder(
                msisdn=line.msisdn,
                kind=ReminderKind.USAGE,
                event=f"usage:{resource}:{level}:{usage.cycle_start.isoformat()}",
                topic=f"usage_{level}",
                # Beyond the allowance every unit is charged: that one cannot wait for morning.
                urgent=level == 100,
                details=details,
            )
        )
    return reminders


def _balance(line: LineSnapshot, today: date, catalogue: Catalogue) -> list[Reminder]:
    balance = line.prepaid_balance
    if balance is None or balance >= catalogue.low_balance:
        return []
    month = today.replace(day=1).isoformat()
    return [
        Reminder(
            msisdn=line.msisdn,
            kind=ReminderKind.BALANCE,
            # Once a month at most: a balance that stays low is not news every day.
            event=f"balance:low:{month}",
            topic="balance_low",
            urgent=True,  # an empty prepaid line stops working
            details={"balance": format_money(balance)},
        )
    ]


def _bills(line: LineSnapshot, today: date) -> list[Reminder]:
    """Each bill of the last cycles still overdue, and the latest bill in the days after its
    cycle closes."""
    reminders = [
        _bill_reminder(line.msisdn, bill, "overdue")
        for bill in line.recent_bills
        if bill.status is BillStatus.OVERDUE
    ]
    latest = line.latest_bill
    if (
        latest is not None
        and latest.status is not BillStatus.OVERDUE
        and timedelta(0) < today - latest.cycle_end <= timedelta(days=BILL_ISSUED_DAYS)
    ):
        reminders.append(_bill_reminder(line.msisdn, latest, "issued"))
    return reminders


def _bill_reminder(msisdn: str, bill: Bill, news: str) -> Reminder:
    details = {
        "total": format_money(bill.total),
        "owed": format_money(max(bill.total - bill.amount_paid, 0)),
        "due_date": format_date(bill.due_date),
    }
    event = f"bill:{news}:{bill.cycle_start.isoformat()}"
    return Reminder(msisdn, ReminderKind.BILL, event, f"bill_{news}", details=details)


def _contract(line: LineSnapshot, today: date, catalogue: Catalogue) -> list[Reminder]:
    end = line.contract_end
    if end is None:
        return []
    days_left = (end - today).days
    notice = next((days for days in CONTRACT_NOTICE_DAYS if 0 <= days_left <= days), None)
    if notice is None:
        return []
    details: dict[str, object] = {
        "end": format_date(end),
        "days": days_left,
        "fee": format_money(line.plan.monthly_fee),
        "plan": line.plan.name,
        "plan_zh": line.plan.name_zh,
        "termination_fee": format_money(line.plan.termination_fee),
    }
    fitting = plan_that_fits(line, today, catalogue.plans)
    if fitting is not None:
        details |= _plan_details(fitting)
    return [
        Reminder(
            line.msisdn,
            ReminderKind.CONTRACT,
            f"contract:{notice}:{end.isoformat()}",
            f"contract_{notice}",
            details=details,
        )
    ]


def _roaming(line: LineSnapshot, catalogue: Catalogue) -> list[Reminder]:
    usage = line.usage
    if usage is None or not (usage.roaming_data_mb or usage.roaming_minutes):
        return []
    rates = catalogue.roaming
    return [
        Reminder(
            line.msisdn,
            ReminderKind.ROAMING,
            f"roaming:{usage.cycle_start.isoformat()}",
            "roaming_first_use",
            # Abroad, the customer's night is not ours, and every megabyte costs.
            urgent=True,
            details={
                "day_pass_fee": format_money(rates.day_pass_fee),
                "data_per_mb": format_money(rates.data_per_mb),
                "data_per_gb": format_money(rates.data_per_mb * MB_PER_GB),
                "voice_per_minute": format_money(rates.voice_per_minute),
            },
        )
    ]


def _new_addons(line: LineSnapshot, today: date) -> list[Reminder]:
    return [
        Reminder(
            line.msisdn,
            ReminderKind.ADDON,
            f"addon:{subscription.id}",
            "addon_started",
            # The 扣费提醒 catches an order the customer never made: before the first charge.
            urgent=True,
            subject=subscription.addon.id,
            details={
                "name": subscription.addon.name,
                "name_zh": subscription.addon.name_zh,
                "fee": format_money(subscription.addon.monthly_fee),
                "started": format_date(subscription.started_on),
                "channel": subscription.ordering_channel,
                "channel_zh": subscription.ordering_channel_zh,
            },
        )
        for subscription in line.subscriptions
        if subscription.addon.monthly_fee > 0
        and timedelta(0) <= today - subscription.started_on < timedelta(days=NEW_ADDON_DAYS)
    ]


def plan_that_fits(line: LineSnapshot, today: date, plans: Sequence[Plan]) -> Plan | None:
    """The cheapest plan of the line's kind whose allowances cover this cycle's use carried on
    to the cycle's end, when it costs less than the line's plan would with its overage."""
    usage = line.usage
    if usage is None:
        return None
    projected = _projected(usage, today)
    current_cost = average_monthly_cost(line.plan, [projected])
    candidates = [
        plan
        for plan in plans
        if plan.kind == line.plan.kind
        and plan.id != line.plan.id
        # A mobile-only plan would silently drop the customer's home broadband.
        and (plan.broadband_mbps > 0) == (line.plan.broadband_mbps > 0)
        and plan.data_mb >= projected.data_used_mb
        and plan.minutes >= projected.minutes_used
        and plan.sms >= projected.sms_used
        and plan.monthly_fee < current_cost
    ]
    return min(candidates, key=lambda plan: plan.monthly_fee, default=None)


def _projected(usage: CycleUsage, today: date) -> CycleUsage:
    elapsed = max((min(today, usage.cycle_end) - usage.cycle_start).days + 1, 1)
    length = (usage.cycle_end - usage.cycle_start).days + 1
    scale = length / elapsed
    return CycleUsage(
        cycle_start=usage.cycle_start,
        cycle_end=usage.cycle_end,
        data_used_mb=round(usage.data_used_mb * scale),
        minutes_used=round(usage.minutes_used * scale),
        sms_used=round(usage.sms_used * scale),
        roaming_data_mb=0,
        roaming_minutes=0,
    )


def _plan_details(plan: Plan) -> dict[str, object]:
    return {
        "fitting_plan": plan.name,
        "fitting_plan_zh": plan.name_zh,
        "fitting_fee": format_money(plan.monthly_fee),
    }


def _amount(resource: str, quantity: int) -> str:
    return format_data(quantity) if resource == "data" else str(quantity)
