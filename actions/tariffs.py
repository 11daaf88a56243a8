"""Tariffs: explain and compare plans, recommend the cheapest fit, change plan."""

from __future__ import annotations

from collections.abc import Sequence

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    EXPLAIN_TARIFF,
    PENDING_CONFIRMATION,
    Names,
    Request,
    ServiceAction,
    VerifiedAction,
    about_a_plan_reminder,
    account_service,
    ask_for_verification,
    confirmation_request,
    hand_over,
    pending_confirmation,
    verified_number,
)
from telecom_assistant.accounts.service import Line, Plan, PlanKind, UnknownPlan
from telecom_assistant.accounts.tariffs import PlanWishes
from telecom_assistant.texts import format_data, format_date, format_money

CHANGE_PLAN = "action_change_plan"
RECOMMEND_PLAN = "action_recommend_plan"


def plan_variables(plan: Plan, names: Names, prefix: str = "") -> dict[str, str]:
    return {
        f"{prefix}plan_name": names.plan(plan),
        f"{prefix}plan_id": plan.id,
        f"{prefix}network": "5G" if plan.is_5g else "4G",
        f"{prefix}fee": format_money(plan.monthly_fee),
        f"{prefix}data": format_data(plan.data_mb),
        f"{prefix}minutes": str(plan.minutes),
        f"{prefix}sms": str(plan.sms),
        f"{prefix}contract_months": str(plan.contract_months),
        f"{prefix}termination_fee": format_money(plan.termination_fee),
    }


def utter_plan(dispatcher: CollectingDispatcher, plan: Plan, names: Names) -> None:
    """Every fee and condition of a plan: nothing left for the small print."""
    variables = plan_variables(plan, names)
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
        data_rate=format_money(plan.data_overage_per_gb),
        voice_rate=format_money(plan.voice_overage_per_minute),
        sms_rate=format_money(plan.sms_overage_each),
        conditions=names.conditions(plan),
    )


def plan_buttons(
    plans: Sequence[Plan], names: Names, intent: str = "ask_tariff"
) -> list[dict[str, str]]:
    return [
        {"title": names.plan(plan), "payload": f'/{intent}{{"plan":"{plan.id}"}}'} for plan in plans
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


def utter_unknown_plan(dispatcher: CollectingDispatcher, name: str, names: Names) -> None:
    dispatcher.utter_message(
        response="utter_unknown_plan",
        plan_query=name,
        buttons=plan_buttons(account_service().list_plans(), names),
    )


class ActionExplainTariff(ServiceAction):
    """One plan by name, two side by side, the customer's own plan, or the catalogue."""

    def name(self) -> str:
        return "action_explain_tariff"

    def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request
    ) -> list[EventType]:
        service = account_service()
        names = Names.of(tracker)
        wishes = PlanWishes.from_text(request.text)
        plans, unknown = resolve_plans(request.all("plan"))
        if wishes.filters:
            # "cheapest plan" and "the 5G plan" are also names of plans: a plan that does not
            # fit what the customer asked for was not meant.
            plans = [plan for plan in plans if wishes.admits(plan)]
        elif unknown and not plans:
            utter_unknown_plan(dispatcher, unknown[0], names)
            return []
        if not (plans or unknown or wishes.filters or wishes.own_plan or wishes.catalogue) and (
            about_a_plan_reminder(tracker)
        ):
            # "Which plan then?" after a usage or contract reminder: the plan that fits.
            return [hand_over(RECOMMEND_PLAN)]
        msisdn = verified_number(tracker)
        if len(plans) >= 2:
            first, second = plans[:2]
            dispatcher.utter_message(
                response="utter_plan_comparison",
                **plan_variables(first, names, "a_"),
                **plan_variables(second, names, "b_"),
            )
            for plan in (first, second):
                utter_plan(dispatcher, plan, names)
        elif plans:
            utter_plan(dispatcher, plans[0], names)
        elif wishes.own_plan or (msisdn and not wishes.filters and not wishes.catalogue):
            if not msisdn:
                return ask_for_verification(dispatcher, tracker, self.name(), request)
            self._own_plan(dispatcher, service.get_line(msisdn), names)
        else:
            utter_plan_list(dispatcher, wishes, service.list_plans(), names)
        return []

    @staticmethod
    def _own_plan(dispatcher: CollectingDispatcher, line: Line, names: Names) -> None:
        dispatcher.utter_message(response="utter_your_plan", plan_name=names.plan(line.plan))
        utter_plan(dispatcher, line.plan, names)
        if line.contract_end:
            dispatcher.utter_message(
                response="utter_your_contract_end",
                contract_end=format_date(line.contract_end),
                termination_fee=format_money(line.plan.termination_fee),
            )
        if line.next_plan and line.next_plan_from:
            dispatcher.utter_message(
                response="utter_your_next_plan",
                plan_name=names.plan(line.next_plan),
                effective_from=format_date(line.next_plan_from),
            )


def utter_plan_list(
    dispatcher: CollectingDispatcher, wishes: PlanWishes, catalogue: Sequence[Plan], names: Names
) -> None:
    """The plans that fit what the customer asked for, each with its price and allowances,
    cheapest first; a button per plan for every fee and condition."""
    selection = wishes.select(catalogue)
    if not selection:
        dispatcher.utter_message(
            response="utter_plan_list_none", buttons=plan_buttons(catalogue, names)
        )
        return
    dispatcher.utter_message(response="utter_plan_list_intro")
    for index, plan in enumerate(selection, start=1):
        last = index == len(selection)
        dispatcher.utter_message(
            response="utter_plan_list_item",
            kind=names.plan_kind(plan),
            buttons=plan_buttons(selection, names) if last and len(selection) > 1 else [],
            **plan_variables(plan, names),
        )
    if len(selection) == 1:
        utter_plan(dispatcher, selection[0], names)


class ActionRecommendPlan(VerifiedAction):
    def name(self) -> str:
        return "action_recommend_plan"  # RECOMMEND_PLAN

    def handle_verified(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request, msisdn: str
    ) -> list[EventType]:
        if PlanWishes.asks_own_plan_only(request.text):
            # "what plan am I on?" asks what the customer has, not what would suit them.
            return [hand_over(EXPLAIN_TARIFF)]
        names = Names.of(tracker)
        recommendation = account_service().recommend_plan(msisdn)
        current, best = recommendation.current, recommendation.recommended
        if best.id == current.id:
            dispatcher.utter_message(
                response="utter_plan_already_best",
                plan_name=names.plan(current),
                cost=format_money(recommendation.current_monthly_cost),
                cycles=str(recommendation.cycles_considered),
            )
            return []
        dispatcher.utter_message(
            response="utter_plan_recommendation",
            current_plan=names.plan(current),
            current_cost=format_money(recommendation.current_monthly_cost),
            plan_name=names.plan(best),
            plan_id=best.id,
            cost=format_money(recommendation.recommended_monthly_cost),
            saving=format_money(recommendation.monthly_saving),
            cycles=str(recommendation.cycles_considered),
        )
        utter_plan(dispatcher, best, names)
        dispatcher.utter_message(
            response="utter_offer_plan_change", plan_name=names.plan(best), plan_id=best.id
        )
        # A typed "yes" takes the offer like the button: the switch is quoted, then confirmed.
        return [confirmation_request(tracker, CHANGE_PLAN, subjects=[best.id], plan_id=best.id)]


class ActionChangePlan(VerifiedAction):
    """Quote the switch (termination fee first), then wait for an explicit yes."""

    def name(self) -> str:
        return "action_change_plan"  # CHANGE_PLAN

    def handle_verified(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request, msisdn: str
    ) -> list[EventType]:
        service = account_service()
        names = Names.of(tracker)
        offered = pending_confirmation(tracker) or {}
        named = request.all("plan") or (
            [offered["plan_id"]] if offered.get("action") == CHANGE_PLAN else []
        )
        plans, unknown = resolve_plans(named)
        if not plans:
            if unknown:
                utter_unknown_plan(dispatcher, unknown[0], names)
            elif about_a_plan_reminder(tracker):
                # "那换什么套餐？" after a usage or contract reminder: the plan that fits.
                return [hand_over(RECOMMEND_PLAN)]
            else:
                dispatcher.utter_message(
                    response="utter_ask_which_plan",
                    buttons=plan_buttons(service.list_plans(), names, "change_plan"),
                )
            return []
        quote = service.quote_plan_change(msisdn, plans[0].id)
        if quote.target.id == quote.current.id:
            dispatcher.utter_message(
                response="utter_already_on_plan", plan_name=names.plan(quote.current)
            )
            return []
        variables = {
            "current_plan": names.plan(quote.current),
            "plan_name": names.plan(quote.target),
            "fee": format_money(quote.target.monthly_fee),
            "effective_from": format_date(quote.effective_from),
        }
        if quote.termination_fee:
            dispatcher.utter_message(
                response="utter_plan_change_termination_fee",
                termination_fee=format_money(quote.termination_fee),
                contract_end=format_date(quote.contract_end) if quote.contract_end else "",
                **variables,
            )
        dispatcher.utter_message(response="utter_confirm_plan_change", **variables)
        return [
            confirmation_request(
                tracker,
                "action_confirm_plan_change",
                subjects=[quote.target.id],
                plan_id=quote.target.id,
            )
        ]


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
            plan_name=Names.of(tracker).plan(quote.target),
            effective_from=format_date(quote.effective_from),
        )
        return [SlotSet(PENDING_CONFIRMATION, None)]
