"""Network faults: steps by kind of fault, what the coverage table says about the customer's
area, and a fault ticket with a repair deadline when the steps do not help."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    Names,
    Request,
    ServiceAction,
    account_service,
    confirmation_request,
    verified_number,
)
from actions.escalation import START_ESCALATION, Trigger
from telecom_assistant.accounts.service import (
    Coverage,
    IndoorCoverage,
    OutdoorCoverage,
)
from telecom_assistant.tickets.model import Category, NetworkIssue


class ActionTroubleshootNetwork(ServiceAction):
    def name(self) -> str:
        return "action_troubleshoot_network"

    def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request
    ) -> list[EventType]:
        named = request.first("network_issue")
        if named not in NetworkIssue._value2member_map_:
            dispatcher.utter_message(response="utter_ask_network_issue")
            return []
        issue = NetworkIssue(named)
        dispatcher.utter_message(response=f"utter_troubleshoot_{issue.value}")
        area = ""
        if not issue.is_broadband:
            area = self._check_area(dispatcher, tracker, request)
        dispatcher.utter_message(response="utter_offer_fault_ticket")
        # The agent reads the customer's own words, and where the fault is.
        description = f"{request.text} [{area}]" if area else request.text
        return [
            confirmation_request(
                tracker,
                START_ESCALATION,
                trigger=Trigger.NETWORK_FAULT.value,
                category=(Category.BROADBAND if issue.is_broadband else Category.NETWORK).value,
                network_issue=issue.value,
                description=description,
                declined="utter_nothing_filed",
            )
        ]

    @staticmethod
    def _check_area(dispatcher: CollectingDispatcher, tracker: Tracker, request: Request) -> str:
        """The coverage of the place named, else of the verified line's home district."""
        city, district = request.first("city"), request.first("district")
        msisdn = verified_number(tracker)
        if not (city or district or msisdn):
            dispatcher.utter_message(response="utter_network_area_unknown")
            return ""
        coverage = account_service().assess_5g(city, district, msisdn).coverage
        if len(coverage) != 1:
            dispatcher.utter_message(response="utter_network_area_unknown")
            return ""
        place = coverage[0]
        names = Names.of(tracker)
        variables = {"district": names.district(place), "city": names.city(place)}
        dispatcher.utter_message(response=_area_response(place), **variables)
        return f"{place.district}, {place.city}"


def _area_response(place: Coverage) -> str:
    if place.outdoor is OutdoorCoverage.NONE or place.indoor is IndoorCoverage.NONE:
        return "utter_network_area_weak"
    if place.indoor is IndoorCoverage.PARTIAL:
        return "utter_network_area_indoor_partial"
    return "utter_network_area_good"
