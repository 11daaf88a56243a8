"""Value-added services: the unified query and unsubscribe."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    ADDON_TOPIC,
    ANY_ADDON,
    CONSENT_DISPUTED,
    PENDING_CONFIRMATION,
    Names,
    Request,
    VerifiedAction,
    account_service,
    confirmation_request,
    disputed_addons,
    hand_over,
    pending_confirmation,
)
from actions.escalation import Trigger, begin_escalation
from actions.reminders import MANAGE_REMINDERS, kind_just_reminded
from telecom_assistant.accounts.service import Subscription
from telecom_assistant.accounts.unsubscribe import ALL, choose_subscriptions
from telecom_assistant.reminders.model import ReminderKind
from telecom_assistant.texts import format_date, format_datetime, format_money
from telecom_assistant.tickets.model import Category

ASKS_WHAT_IT_COSTS = re.compile(
    r"pay(?:ing)? for|charg|fee|cost|how much|扣|收费|多少钱|费用", re.IGNORECASE
)
EXPLAIN_CHARGE = "action_explain_charge"
OTHERS = re.compile(
    r"\b(?:the )?(?:others?|rest)\b|其他|其余|剩下|别的|另外(?:几|那)", re.IGNORECASE
)


def subscription_buttons(
    subscriptions: Sequence[Subscription], names: Names
) -> list[dict[str, str]]:
    return [
        {"title": names.addon(sub.addon), "payload": f'/unsubscribe{{"addon":"{sub.addon.id}"}}'}
        for sub in subscriptions
    ]


def addon_names(subscriptions: Sequence[Subscription], names: Names) -> str:
    return names.join([names.addon(sub.addon) for sub in subscriptions])


class ActionListSubscriptions(VerifiedAction):
    def name(self) -> str:
        return "action_list_subscriptions"

    def handle_verified(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request, msisdn: str
    ) -> list[EventType]:
        if request.first("addon") and ASKS_WHAT_IT_COSTS.search(request.text):
            # "what am I paying for caller ID?" is about that charge, not the whole list.
            return [hand_over(EXPLAIN_CHARGE)]
        names = Names.of(tracker)
        subscriptions = account_service().active_subscriptions(msisdn)
        if not subscriptions:
            dispatcher.utter_message(response="utter_no_subscriptions")
            return []
        dispatcher.utter_message(
            response="utter_subscriptions_intro",
            count=str(len(subscriptions)),
            monthly_total=format_money(sum(sub.addon.monthly_fee for sub in subscriptions)),
        )
        for sub in subscriptions:
            dispatcher.utter_message(
                response="utter_subscription_item"
                if sub.consent_recorded
                else "utter_subscription_item_no_consent",
                addon_name=names.addon(sub.addon),
                fee=format_money(sub.addon.monthly_fee),
                started_on=format_date(sub.started_on),
                channel=names.channel(sub),
            )
        dispatcher.utter_message(
            response="utter_offer_unsubscribe", buttons=subscription_buttons(subscriptions, names)
        )
        return []


class ActionUnsubscribe(VerifiedAction):
    """Find the add-ons the customer means (by loose name, or all) and ask to confirm."""

    def name(self) -> str:
        return "action_unsubscribe"

    def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request
    ) -> list[EventType]:
        reminded = kind_just_reminded(tracker)
        if reminded not in (None, ReminderKind.ADDON) and not request.all("addon"):
            # "Stop it" in answer to a usage or a bill reminder: no add-on is in question, the
            # reminders are.
            return [hand_over(MANAGE_REMINDERS)]
        return super().handle(dispatcher, tracker, request)

    def handle_verified(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request, msisdn: str
    ) -> list[EventType]:
        service = account_service()
        names = Names.of(tracker)
        active = service.active_subscriptions(msisdn)
        if not active:
            dispatcher.utter_message(response="utter_no_subscriptions")
            return []
        wanted = request.all("addon") or self._in_context(tracker, request, active)
        choice = choose_subscriptions(service, msisdn, wanted)
        for missing in choice.not_subscribed:
            # In the customer's words, never the catalogue's id.
            dispatcher.utter_message(
                response="utter_not_subscribed",
                addon_query=missing if isinstance(missing, str) else names.addon(missing),
            )
        chosen = choice.chosen
        if not chosen:
            dispatcher.utter_message(
                response="utter_ask_which_addon", buttons=subscription_buttons(choice.active, names)
            )
            return []
        # Only a phrase the data maps to "yes" ("never ordered", "without my consent") counts,
        # said now or earlier in the conversation about these add-ons.
        remembered = disputed_addons(tracker)
        disputed = CONSENT_DISPUTED in request.all("consent_dispute") or any(
            sub.addon.id in remembered or ANY_ADDON in remembered for sub in chosen
        )
        dispatcher.utter_message(
            response="utter_confirm_unsubscribe",
            addon_names=addon_names(chosen, names),
            monthly_total=format_money(sum(sub.addon.monthly_fee for sub in chosen)),
        )
        topic = [SlotSet(ADDON_TOPIC, chosen[0].addon.id)] if len(chosen) == 1 else []
        return [
            *topic,
            confirmation_request(
                tracker,
                "action_confirm_unsubscribe",
                subjects=[sub.addon.id for sub in chosen],
                subscription_ids=[sub.id for sub in chosen],
                consent_disputed=disputed,
            ),
        ]

    @staticmethod
    def _in_context(
        tracker: Tracker, request: Request, active: Sequence[Subscription]
    ) -> list[str]:
        """No add-on named: "the others too" means all that are left; "cancel it" means the
        add-on the conversation was just about."""
        if OTHERS.search(request.text):
            return [ALL]
        topic = tracker.get_slot(ADDON_TOPIC)
        return [topic] if topic and any(sub.addon.id == topic for sub in active) else []


class ActionConfirmUnsubscribe(VerifiedAction):
    def name(self) -> str:
        return "action_confirm_unsubscribe"

    def handle_verified(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request, msisdn: str
    ) -> list[EventType]:
        pending = pending_confirmation(tracker) or {}
        cancelled = account_service().cancel_subscriptions(
            msisdn, pending.get("subscription_ids", []), pending.get("consent_disputed", False)
        )
        if cancelled:
            dispatcher.utter_message(
                response="utter_unsubscribed",
                addon_names=addon_names(cancelled, Names.of(tracker)),
                cancelled_at=format_datetime(cancelled[0].cancelled_at)
                if cancelled[0].cancelled_at
                else "",
            )
            if pending.get("consent_disputed"):
                # "I never ordered this" is a refund complaint, not just a cancellation.
                dispatcher.utter_message(response="utter_consent_dispute_recorded")
                return begin_escalation(
                    dispatcher,
                    tracker,
                    Trigger.CONSENT_DISPUTE,
                    category=Category.UNAUTHORISED_ADDON,
                    description=refund_request(cancelled),
                )
        else:
            dispatcher.utter_message(response="utter_no_subscriptions")
        return [SlotSet(PENDING_CONFIRMATION, None)]


def refund_request(cancelled: Sequence[Subscription]) -> str:
    """For the agent: what the customer never ordered, since when, through which channel."""
    items = "; ".join(
        f"{sub.addon.name} ({format_money(sub.addon.monthly_fee)}/month since {format_date(sub.started_on)}, "
        f"via {sub.ordering_channel}, consent record: {'yes' if sub.consent_recorded else 'none'})"
        for sub in cancelled
    )
    return f"Refund requested for add-ons the customer says they never ordered: {items}"
