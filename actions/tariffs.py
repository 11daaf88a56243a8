"""Tariffs: explain and compare plans, recommend the cheapest fit, change plan."""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from telecom_assistant.backend.interface import Plan, PlanKind, UnknownPlan

from .common import (
    PENDING_CONFIRMATION,
    VERIFIED_MSISDN,
    Request,
    ServiceAction,
    VerifiedAction,
    account_service,
    confirmation_request,
    data_amount,
    day,
    money,
    pending_confirmation,
)


def plan_variables(plan: Plan, prefix: str = "") -> dict[str, str]:
    return {
        f"{prefix}plan_name": plan.name,
        f"{prefix}plan_id": plan.id,
        f"{prefix}network": "5G" if plan.is_5g else "4G",
        f"{prefix}fee": money(plan.monthly_fee),
        f"{prefix}data": data_amount(plan.data_mb),
        f"{prefix}minutes": str(plan.minutes),
        f"{prefix}sms": str(plan.sms),
        f"{prefix}contract_months": str(plan.contract_months),
        f"{prefix}termination_fee": money(plan.termination_fee),
    }


def utter_plan(dispatcher: CollectingDispatcher, plan: Plan) -> None:
    """Every fee and condition of a plan: nothing left for the small print."""
    variables = plan_variables(plan)
    dispatcher.utter_message(response="utter_plan_details", **variables)
    if plan.contract_months:
        dispatcher.utter_message(response="utter_plan_contract", **variables)
    else:
        dispatcher.utter_message(response="utter_plan_no_contract")
    if plan.kind == PlanKind.PREPAID:
        dispatcher.utter_message(response="utter_plan_prepaid")
    if plan.broadband_mbps:
        dispatcher.utter_message(response="utter_plan_broadband", mbps=str(plan.broadband_mbps))
    dispatcher.utter_message(
        response="utter_plan_conditions",
        data_rate=money(plan.data_overage_per_gb),
        voice_rate=money(plan.voice_overage_per_minute),
        sms_rate=money(plan.sms_overage_each),
        conditions=plan.conditions,
    )


def plan_buttons(plans: list[Plan]) -> list[dict[str, str]]:
    return [
        {"title": plan.name, "payload": f'/ask_tariff{{"plan":"{plan.id}"}}'} for plan in plans
    ]


def resolve_plans(names: list[str]) -> tuple[list[Plan], list[str]]:
    """The plans the customer named, and the names that match no plan. A stray word the
    model tagged as a plan ("the") is only reported when nothing else matched."""
    service = account_service()
    plans: list[Plan] = []
    unknown: list[str] = []
    for name in names:
        try:
            plan = service.find_plan(name)
        except UnknownPlan:
            unknown.append(name)
            continue
        if plan not in plans:
            plans.append(plan)
    return plans, unknown


def utter_unknown_plan(dispatcher: CollectingDispatcher, name: str) -> None:
    dispatcher.utter_message(
        response="utter_unknown_plan",
        plan_query=name,
        buttons=plan_buttons(list(account_service().list_plans())),
    )


class ActionExplainTariff(ServiceAction):
    """One plan by name, two side by side, the customer's own plan, or the catalogue."""

    def name(self) -> str:
        return "action_explain_tariff"

    def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request
    ) -> list[EventType]:
        service = account_service()
        plans, unknown = resolve_plans(request.all("plan"))
        if unknown and not plans:
            utter_unknown_plan(dispatcher, unknown[0])
            return []
        msisdn = tracker.get_slot(VERIFIED_MSISDN)
        if len(plans) >= 2:
            first, second = plans[:2]
            dispatcher.utter_message(
                response="utter_plan_comparison",
                **plan_variables(first, "a_"),
                **plan_variables(second, "b_"),
            )
            for plan in (first, second):
                utter_plan(dispatcher, plan)
        elif plans:
            utter_plan(dispatcher, plans[0])
        elif msisdn:
            line = service.get_line(msisdn)
            dispatcher.utter_message(response="utter_your_plan", plan_name=line.plan.name)
            utter_plan(dispatcher, line.plan)
            if line.contract_end:
                dispatcher.utter_message(
                    response="utter_your_contract_end",
                    contract_end=day(line.contract_end),
                    termination_fee=money(line.plan.termination_fee),
                )
            if line.next_plan and line.next_plan_from:
                dispatcher.utter_message(
                    response="utter_your_next_plan",
                    plan_name=line.next_plan.name,
                    effective_from=day(line.next_plan_from),
                )
        else:
            dispatcher.utter_message(
                response="utter_plan_catalogue", buttons=plan_buttons(list(service.list_plans()))
            )
        return []


class ActionRecommendPlan(VerifiedAction):
    def name(self) -> str:
        return "action_recommend_plan"

    def handle_verified(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request, msisdn: str
    ) -> list[EventType]:
        recommendation = account_service().recommend_plan(msisdn)
        current, best = recommendation.current, recommendation.recommended
        if best.id == current.id:
            dispatcher.utter_message(
                response="utter_plan_already_best",
                plan_name=current.name,
                cost=money(recommendation.current_monthly_cost),
                cycles=str(recommendation.cycles_considered),
            )
            return []
        dispatcher.utter_message(
            response="utter_plan_recommendation",
            current_plan=current.name,
            current_cost=money(recommendation.current_monthly_cost),
            plan_name=best.name,
            plan_id=best.id,
            cost=money(recommendation.recommended_monthly_cost),
            saving=money(recommendation.monthly_saving),
            cycles=str(recommendation.cycles_considered),
        )
        utter_plan(dispatcher, best)
        dispatcher.utter_message(response="utter_offer_plan_change", plan_name=best.name, plan_id=best.id)
        return []


class ActionChangePlan(VerifiedAction):
    """Quote the switch (termination fee first), then wait for an explicit yes."""

    def name(self) -> str:
        return "action_change_plan"

    def handle_verified(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request, msisdn: str
    ) -> list[EventType]:
        service = account_service()
        plans, unknown = resolve_plans(request.all("plan"))
        if not plans:
            if unknown:
                utter_unknown_plan(dispatcher, unknown[0])
            else:
                dispatcher.utter_message(
                    response="utter_ask_which_plan", buttons=plan_buttons(list(service.list_plans()))
                )
            return []
        quote = service.quote_plan_change(msisdn, plans[0].id)
        if quote.target.id == quote.current.id:
            dispatcher.utter_message(response="utter_already_on_plan", plan_name=quote.current.name)
            return []
        variables = {
            "current_plan": quote.current.name,
            "plan_name": quote.target.name,
            "fee": money(quote.target.monthly_fee),
            "effective_from": day(quote.effective_from),
        }
        if quote.termination_fee:
            dispatcher.utter_message(
                response="utter_plan_change_termination_fee",
                termination_fee=money(quote.termination_fee),
                contract_end=day(quote.contract_end),
                **variables,
            )
        dispatcher.utter_message(response="utter_confirm_plan_change", **variables)
        return [confirmation_request(tracker, "action_confirm_plan_change", plan_id=quote.target.id)]


class ActionConfirmPlanChange(VerifiedAction):
    def name(self) -> str:
        return "action_confirm_plan_change"

    def handle_verified(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request, msisdn: str
    ) -> list[EventType]:
        pending = pending_confirmation(tracker) or {}
        quote = account_service().change_plan(msisdn, pending["plan_id"])
        dispatcher.utter_message(
            response="utter_plan_changed",
            plan_name=quote.target.name,
            effective_from=day(quote.effective_from),
        )
        return [SlotSet(PENDING_CONFIRMATION, None)]
