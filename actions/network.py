"""Honest 5G expectations and number portability."""

from __future__ import annotations

from collections.abc import Sequence

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    EXPLAIN_TARIFF,
    Names,
    Request,
    ServiceAction,
    account_service,
    hand_over,
    offer_verification,
    verified_number,
)
from telecom_assistant.accounts.service import (
    Coverage,
    FiveGSupport,
    OutdoorCoverage,
)
from telecom_assistant.accounts.tariffs import PlanWishes
from telecom_assistant.texts import format_date, format_money


class ActionAsk5G(ServiceAction):
    """Coverage for a place (outdoor and indoor), the phone and plan when verified, and the
    promise that nobody has to change plan or number."""

    def name(self) -> str:
        return "action_ask_5g"

    def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request
    ) -> list[EventType]:
        city, district = request.first("city"), request.first("district")
        if PlanWishes.asks_price(request.text) and not (city or district):
            # "how much are your 5G ones?" asks about plans, not coverage.
            return [hand_over(EXPLAIN_TARIFF)]
        msisdn = verified_number(tracker)
        names = Names.of(tracker)
        assessment = account_service().assess_5g(city, district, msisdn)
        if not (city or district or msisdn):
            dispatcher.utter_message(response="utter_ask_5g_location")
        elif not assessment.coverage:
            dispatcher.utter_message(
                response="utter_5g_unknown_place", place=district or city or ""
            )
        elif len(assessment.coverage) == 1:
            utter_district_coverage(dispatcher, assessment.coverage[0], names)
        else:
            utter_city_coverage(dispatcher, assessment.coverage, names)
        if assessment.device is not None:
            dispatcher.utter_message(
                response=f"utter_5g_device_{assessment.device.five_g.value}",
                device=assessment.device.model,
            )
        if assessment.plan is not None:
            dispatcher.utter_message(
                response="utter_5g_plan_yes" if assessment.plan.is_5g else "utter_5g_plan_no",
                plan_name=names.plan(assessment.plan),
            )
            if (
                assessment.plan.is_5g
                and assessment.device is not None
                and assessment.device.five_g == FiveGSupport.NONE
            ):
                dispatcher.utter_message(response="utter_5g_paying_for_unused")
        dispatcher.utter_message(response="utter_5g_why_4g")
        dispatcher.utter_message(response="utter_5g_no_change_needed")
        if not msisdn:
            return offer_verification(
                dispatcher, tracker, self.name(), request, "utter_5g_verify_to_check"
            )
        return []


def utter_district_coverage(
    dispatcher: CollectingDispatcher, coverage: Coverage, names: Names
) -> None:
    place = {"city": names.city(coverage), "district": names.district(coverage)}
    dispatcher.utter_message(response=f"utter_5g_outdoor_{coverage.outdoor.value}", **place)
    if coverage.outdoor != OutdoorCoverage.NONE:
        dispatcher.utter_message(response=f"utter_5g_indoor_{coverage.indoor.value}", **place)


def utter_city_coverage(
    dispatcher: CollectingDispatcher, coverage: Sequence[Coverage], names: Names
) -> None:
    def districts(level: OutdoorCoverage) -> str:
        return names.join([names.district(c) for c in coverage if c.outdoor == level]) or "-"

    dispatcher.utter_message(
        response="utter_5g_city_summary",
        city=names.city(coverage[0]),
        sa_districts=districts(OutdoorCoverage.SA),
        nsa_districts=districts(OutdoorCoverage.NSA),
        no_5g_districts=districts(OutdoorCoverage.NONE),
    )


class ActionNumberPortability(ServiceAction):
    """Can this line port out now, and how; what works from another province."""

    def name(self) -> str:
        return "action_number_portability"

    def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request
    ) -> list[EventType]:
        msisdn = verified_number(tracker)
        if not msisdn:
            dispatcher.utter_message(response="utter_port_conditions")
        else:
            status = account_service().portability_status(msisdn)
            if status.can_port_now:
                dispatcher.utter_message(response="utter_port_eligible")
            for blocker in status.blockers:
                dispatcher.utter_message(
                    response=f"utter_port_blocked_{blocker.value}",
                    arrears=format_money(status.arrears),
                    contract_end=format_date(status.contract_end) if status.contract_end else "",
                    termination_fee=format_money(status.termination_fee),
                    eligible_from=format_date(status.eligible_from) if status.eligible_from else "",
                )
        dispatcher.utter_message(response="utter_port_steps")
        dispatcher.utter_message(response="utter_port_other_province")
        if not msisdn:
            return offer_verification(
                dispatcher, tracker, self.name(), request, "utter_port_verify_to_check"
            )
        return []
