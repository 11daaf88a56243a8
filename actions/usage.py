"""Usage, bills and the charges on them."""

from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    ADDON_TOPIC,
    Names,
    Request,
    VerifiedAction,
    account_service,
    confirmation_request,
)
from actions.escalation import START_ESCALATION, Trigger
from telecom_assistant.accounts.service import (
    BillLine,
    ChargeCategory,
    PlanKind,
)
from telecom_assistant.accounts.tariffs import match_charge
from telecom_assistant.texts import format_data, format_date, format_money
from telecom_assistant.tickets.model import Category


def parse_amount(text: str | None) -> int | None:
    """'30 yuan', '¥25', 'CNY 12.5', '18.00' -> fen."""
    match = re.search(r"\d+(?:\.\d{1,2})?", text or "")
    return round(float(match.group()) * 100) if match else None


def charge_variables(line: BillLine, names: Names) -> dict[str, str]:
    variables = {
        "description": line.description,
        "amount": format_money(line.amount),
        "quantity": f"{line.quantity:g}" if line.quantity is not None else "",
        "unit_price": format_money(line.unit_price) if line.unit_price is not None else "",
        "country": names.country(line),
    }
    if line.subscription is not None:
        variables.update(
            addon_name=names.addon(line.subscription.addon),
            started_on=format_date(line.subscription.started_on),
            channel=names.channel(line.subscription),
        )
    return variables


class ActionCheckUsage(VerifiedAction):
    def name(self) -> str:
        return "action_check_usage"

    def handle_verified(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request, msisdn: str
    ) -> list[EventType]:
        report = account_service().current_usage(msisdn)
        usage, plan = report.usage, report.plan
        dispatcher.utter_message(
            response="utter_usage",
            data_used=format_data(usage.data_used_mb),
            data_total=format_data(plan.data_mb),
            data_left=format_data(report.data_left_mb),
            minutes_used=str(usage.minutes_used),
            minutes_total=str(plan.minutes),
            minutes_left=str(report.minutes_left),
            sms_used=str(usage.sms_used),
            sms_total=str(plan.sms),
            sms_left=str(report.sms_left),
            days_left=str(report.days_left),
            cycle_end=format_date(usage.cycle_end),
        )
        if usage.roaming_data_mb or usage.roaming_minutes:
            dispatcher.utter_message(
                response="utter_usage_roaming",
                roaming_data=format_data(usage.roaming_data_mb),
                roaming_minutes=str(usage.roaming_minutes),
            )
        ratios = report.ratios()
        for allowance in report.allowances_near_limit():
            dispatcher.utter_message(
                response=f"utter_usage_warning_{allowance}",
                percent=str(round(ratios[allowance] * 100)),
            )
        return []


class ActionCheckBill(VerifiedAction):
    def name(self) -> str:
        return "action_check_bill"

    def handle_verified(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request, msisdn: str
    ) -> list[EventType]:
        service = account_service()
        bill = service.latest_bill(msisdn)
        dispatcher.utter_message(
            response="utter_bill_summary",
            cycle_start=format_date(bill.cycle_start),
            cycle_end=format_date(bill.cycle_end),
            total=format_money(bill.total),
        )
        for charge in bill.lines:
            dispatcher.utter_message(
                response=f"utter_bill_line_{charge.category.value}",
                **charge_variables(charge, Names.of(tracker)),
            )
        status_variables = {
            "due_date": format_date(bill.due_date),
            "outstanding": format_money(bill.total - bill.amount_paid),
            "paid_on": format_date(bill.paid_on) if bill.paid_on else "",
        }
        dispatcher.utter_message(response=f"utter_bill_{bill.status.value}", **status_variables)
        line = service.get_line(msisdn)
        if line.plan.kind == PlanKind.PREPAID and line.prepaid_balance is not None:
            low = line.prepaid_balance < line.plan.monthly_fee
            dispatcher.utter_message(
                response="utter_prepaid_balance_low" if low else "utter_prepaid_balance",
                balance=format_money(line.prepaid_balance),
                fee=format_money(line.plan.monthly_fee),
            )
        return []


class ActionExplainCharge(VerifiedAction):
    """Which bill line a charge comes from, and why it is there."""

    def name(self) -> str:
        return "action_explain_charge"

    def handle_verified(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request, msisdn: str
    ) -> list[EventType]:
        bill = account_service().latest_bill(msisdn)
        amount = parse_amount(request.first("amount"))
        category_name = request.first("charge_type")
        category = (
            ChargeCategory(category_name)
            if category_name in {c.value for c in ChargeCategory}
            else None
        )
        addon_id = request.first("addon")
        asked = amount is not None or category is not None or addon_id is not None
        if asked:
            line = match_charge(bill, amount=amount, category=category, addon_id=addon_id)
            if line is None:
                dispatcher.utter_message(
                    response="utter_charge_not_found",
                    amount=format_money(amount) if amount is not None else "",
                )
                lines = list(bill.lines)
            else:
                lines = [line]
        else:
            # "Why is my bill so high?": everything beyond the plan's own fee.
            lines = [line for line in bill.lines if line.category != ChargeCategory.PLAN_FEE]
            if not lines:
                dispatcher.utter_message(
                    response="utter_bill_only_plan_fee", total=format_money(bill.total)
                )
        for line in lines:
            variables = charge_variables(line, Names.of(tracker))
            dispatcher.utter_message(response=f"utter_explain_{line.category.value}", **variables)
            if line.subscription is not None and not line.subscription.consent_recorded:
                dispatcher.utter_message(response="utter_explain_addon_no_consent", **variables)
        if not lines:
            return []
        # An explanation is not always an answer: the customer may still dispute the charge.
        dispatcher.utter_message(response="utter_offer_charge_dispute")
        disputed = "; ".join(f"{line.description} {format_money(line.amount)}" for line in lines)
        addons = {line.subscription.addon.id for line in lines if line.subscription is not None}
        # "Cancel it" next refers to the add-on just explained.
        topic = [SlotSet(ADDON_TOPIC, addons.pop())] if len(addons) == 1 else []
        return [
            *topic,
            confirmation_request(
                tracker,
                START_ESCALATION,
                trigger=Trigger.DISPUTED_CHARGE.value,
                category=Category.BILLING.value,
                description=f"{request.text} [{bill.cycle_start:%Y-%m}: {disputed}]",
                declined="utter_nothing_filed",
            ),
        ]
