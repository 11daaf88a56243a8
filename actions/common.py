"""What every action shares: the backend handle, the verification guard, request context and
formatting of money, data and dates for responses.

Actions are thin adapters: read slots and entities, call the account service, render a
response from ``domain.yml``. No sentence a customer reads is written here.
"""
from __future__ import annotations

import abc
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Optional, Sequence

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from telecom_assistant.backend import AccountService
from telecom_assistant.backend.database import make_engine
from telecom_assistant.backend.interface import (
    AddOn,
    BillLine,
    Coverage,
    Plan,
    Subscription,
)
from telecom_assistant.backend.sql import SqlAccountService
from telecom_assistant.language import CHINESE, ENGLISH, opens_with_greeting
from telecom_assistant.tickets.model import CATEGORY_NAMES, Category
from telecom_assistant.tickets.service import TicketService
from telecom_assistant.tickets.sql import SqlTicketService

logger = logging.getLogger(__name__)

# Slots that grant access to account data. Their mappings in domain.yml are `custom`, so only
# actions set them; nothing a customer types can.
VERIFIED_MSISDN = "verified_msisdn"
PENDING_REQUEST = "pending_request"
PENDING_CONFIRMATION = "pending_confirmation"
LANGUAGE = "language"
VERIFICATION_FORM = "verification_form"
# Which action should run next. A featurized slot rather than FollowupAction, so that the
# rules (and `rasa test`) see the hand-over: one rule per (action, handoff) pair.
HANDOFF = "handoff"

_service_override: Optional[AccountService] = None
_tickets_override: Optional[TicketService] = None


@lru_cache(maxsize=1)
def _engine() -> Engine:
    """One engine (and connection pool) per process, shared by both services."""
    return make_engine()


@lru_cache(maxsize=1)
def _default_accounts() -> AccountService:
    return SqlAccountService(_engine())


@lru_cache(maxsize=1)
def _default_tickets() -> TicketService:
    return SqlTicketService(_engine())


def account_service() -> AccountService:
    """The process-wide service (one engine and pool; a session per call)."""
    return _service_override or _default_accounts()


def ticket_service() -> TicketService:
    return _tickets_override or _default_tickets()


def use_account_service(service: Optional[AccountService]) -> None:
    """Point every action at another backend (tests, or an operator's own implementation)."""
    global _service_override
    _service_override = service


def use_ticket_service(service: Optional[TicketService]) -> None:
    global _tickets_override
    _tickets_override = service


@dataclass(frozen=True)
class Request:
    """What the customer asked for: the entities and text of the message that made the
    request, which may be several turns back when verification came in between."""

    text: str
    entities: dict[str, list[str]] = field(default_factory=dict)

    def first(self, entity: str) -> Optional[str]:
        values = self.entities.get(entity)
        return values[0] if values else None

    def all(self, entity: str) -> list[str]:
        return self.entities.get(entity, [])

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "entities": self.entities}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> "Request":
        entities: dict[str, list[str]] = {}
        for entity in message.get("entities", []):
            value = entity.get("value")
            if value is not None and str(value) not in entities.get(entity["entity"], []):
                entities.setdefault(entity["entity"], []).append(str(value))
        return cls(text=message.get("text") or "", entities=entities)


def parked_request(tracker: Tracker) -> Optional[dict[str, Any]]:
    """The request parked for verification: its action, text and entities."""
    return json.loads(tracker.get_slot(PENDING_REQUEST) or "null")


def current_request(tracker: Tracker, action_name: str) -> Request:
    """The request this action is answering: the parked one if verification interrupted it,
    else the latest message."""
    pending = parked_request(tracker)
    if pending and pending.get("action") == action_name:
        return Request(text=pending["text"], entities=pending["entities"])
    return Request.from_message(tracker.latest_message)


def hand_over(action: str) -> SlotSet:
    return SlotSet(HANDOFF, action)


def handoff_taken(tracker: Tracker) -> list[EventType]:
    """The action handed over to clears the hand-over, so it cannot fire twice."""
    return [SlotSet(HANDOFF, None)] if tracker.get_slot(HANDOFF) else []


class ServiceAction(Action, abc.ABC):
    """An action that calls the account service; a dead backend gets a clear message."""

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if _greeted_in_this_turn(tracker):
            dispatcher.utter_message(response="utter_greet_back")
        try:
            events = self.handle(dispatcher, tracker, current_request(tracker, self.name()))
        except SQLAlchemyError:
            logger.exception("account backend unavailable in %s", self.name())
            dispatcher.utter_message(response="utter_backend_unavailable")
            events = []
        return [*handoff_taken(tracker), *events]

    @abc.abstractmethod
    def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request
    ) -> list[EventType]: ...


class VerifiedAction(ServiceAction, abc.ABC):
    """An action that shows or changes account data: it runs only for a verified line.

    Without verification it parks the request, starts the verification form, and is run
    again once the customer is verified (see `validate_verification_form`).
    """

    def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, request: Request
    ) -> list[EventType]:
        msisdn = tracker.get_slot(VERIFIED_MSISDN)
        if not msisdn:
            dispatcher.utter_message(response="utter_need_verification")
            parked = {"action": self.name(), **request.to_json()}
            return [SlotSet(PENDING_REQUEST, json.dumps(parked)), hand_over(VERIFICATION_FORM)]
        events = self.handle_verified(dispatcher, tracker, request, msisdn)
        return [SlotSet(PENDING_REQUEST, None), *events]

    @abc.abstractmethod
    def handle_verified(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        request: Request,
        msisdn: str,
    ) -> list[EventType]: ...


def _greeted_in_this_turn(tracker: Tracker) -> bool:
    """The customer's message opened with a greeting before its request, and nothing has
    answered it yet (an action handed over to later in the same turn greets no more)."""
    if not opens_with_greeting(tracker.latest_message.get("text") or ""):
        return False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return True
        if event.get("event") == "bot":
            return False
    return True


def _user_turns(tracker: Tracker) -> int:
    return sum(1 for event in tracker.events if event.get("event") == "user")


def confirmation_request(tracker: Tracker, action: str, **details: Any) -> SlotSet:
    """Ask the customer to confirm before `action` runs; `details` travel with the question."""
    return SlotSet(
        PENDING_CONFIRMATION,
        json.dumps({"action": action, "asked_at_turn": _user_turns(tracker), **details}),
    )


def pending_confirmation(tracker: Tracker) -> Optional[dict[str, Any]]:
    """The question the customer is answering now; a question the customer walked away
    from (by asking something else) is no longer open, so a later "yes" cannot trigger it."""
    pending = json.loads(tracker.get_slot(PENDING_CONFIRMATION) or "null")
    if pending and pending.get("asked_at_turn") == _user_turns(tracker) - 1:
        return pending
    return None


def language(tracker: Tracker) -> str:
    """The customer's language: responses pick their variant from the same slot."""
    return tracker.get_slot(LANGUAGE) or ENGLISH


def localised(language_code: str, english: str, chinese: Optional[str]) -> str:
    """A name from the backend in the customer's language (English when there is none)."""
    return chinese if language_code == CHINESE and chinese else english


@dataclass(frozen=True)
class Names:
    """The backend's names for things, in the customer's language."""

    language: str

    @classmethod
    def of(cls, tracker: Tracker) -> "Names":
        return cls(language(tracker))

    def plan(self, plan: Plan) -> str:
        return localised(self.language, plan.name, plan.name_zh)

    def conditions(self, plan: Plan) -> str:
        return localised(self.language, plan.conditions, plan.conditions_zh)

    def addon(self, addon: AddOn) -> str:
        return localised(self.language, addon.name, addon.name_zh)

    def channel(self, subscription: Subscription) -> str:
        return localised(
            self.language, subscription.ordering_channel, subscription.ordering_channel_zh
        )

    def city(self, coverage: Coverage) -> str:
        return localised(self.language, coverage.city.title(), coverage.city_zh)

    def district(self, coverage: Coverage) -> str:
        english = coverage.district.replace("jingan", "jing'an").capitalize()
        return localised(self.language, english, coverage.district_zh)

    def country(self, line: BillLine) -> str:
        return localised(self.language, line.roaming_country or "", line.roaming_country_zh)

    def category(self, category: Category) -> str:
        english, chinese = CATEGORY_NAMES[category]
        return localised(self.language, english, chinese)

    def join(self, names: Sequence[str]) -> str:
        return ("、" if self.language == CHINESE else ", ").join(names)


def money(fen: int) -> str:
    return f"¥{fen / 100:.2f}"


def data_amount(mb: int) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb} MB"


def day(value: date | datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value.isoformat()
