"""Ratings (telecom_assistant/satisfaction/): thin adapters between the conversation and the
satisfaction service, which keeps the rules of "once".

- A customer who ends a conversation the assistant handled alone (a goodbye, or thanks that
  answers no question of the assistant's) is asked once to rate it: `offer_rating` records the
  end and hands over to `csat_form`, whose question carries buttons 1 to 5.
- The form takes a pressed button or a typed rating ("4", "very good", "非常满意", "terrible").
  Anything else leaves the form at once and is answered as the request it is: a new question,
  a goodbye, a request for a person; "no thanks" just ends it.
- A low score (1 or 2) asks what went wrong; "skip" or "no" ends that too.
- The buttons under a resolved ticket's notice (telecom_assistant/satisfaction/surveys.py)
  are the `rate` request with the ticket's id, taken by `action_rate` whenever they come.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecutionRejected, ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import (
    LANGUAGE,
    START_VERIFICATION,
    codes_typed,
    hand_over,
    handoff_taken,
    is_external,
    language,
    pending_confirmation,
    satisfaction_service,
    verified_number,
)
from actions.forms import (
    CONFIDENT,
    ESCALATION_INTENTS,
    QUESTION_INTENTS,
    REQUESTED_SLOT,
    answering_a_question,
)
from telecom_assistant.clock import CHINA_TIME
from telecom_assistant.language import looks_like_question, response_text
from telecom_assistant.satisfaction.model import (
    SCORE_ENTITY,
    TICKET_ENTITY,
    AlreadyRated,
    CommentRefused,
    ConversationEnd,
    NotAsked,
    RatingRequest,
    Subject,
    Survey,
    conversation_key,
    declines_to_answer,
    is_low,
    rating_buttons,
    read_score,
)
from telecom_assistant.satisfaction.service import SatisfactionService
from telecom_assistant.tickets.model import normalise_ticket_id
from telecom_assistant.tickets.redaction import redact

logger = logging.getLogger(__name__)

CSAT_FORM = "csat_form"
CSAT_SCORE = "csat_score"
CSAT_COMMENT = "csat_comment"
# What the form's rating is about: {"subject": "conversation" or "ticket", "id": ...}.
CSAT_SUBJECT = "csat_subject"
CSAT_SLOTS = (CSAT_SCORE, CSAT_COMMENT, CSAT_SUBJECT)
# The responses that tell the customer a ticket was filed (actions/escalation.py, utter_filing):
# a conversation that said one of them was not handled by the assistant alone.
TICKET_FILED = frozenset(
    {"utter_ticket_filed", "utter_fault_ticket_filed", "utter_ticket_already_filed"}
)


# ---- asking, when the customer ends a conversation


def offer_rating(tracker: Tracker, *, closing: bool) -> list[EventType]:
    """The customer ends the conversation: with a goodbye (`closing`), or with thanks that
    answer no question of the assistant's (`_waits_for_a_yes`). The end is recorded;
    a conversation that filed no ticket, and was not asked before, hands over to the rating
    form. Nothing where no satisfaction service is installed."""
    service = satisfaction_service()
    if service is None:
        return []
    if not closing and _waits_for_a_yes(tracker):
        return []
    started_at = _session_started_at(tracker)
    key = conversation_key(tracker.sender_id, started_at)
    channel = tracker.get_latest_input_channel() or "unknown"
    filed = _filed_a_ticket(tracker)
    try:
        if closing or not filed:
            service.record_end(
                ConversationEnd(
                    key=key,
                    conversation_id=tracker.sender_id,
                    started_at=started_at,
                    ended_at=_message_time(tracker),
                    channel=channel,
                    language=language(tracker),
                    filed_ticket=filed,
                )
            )
        asked = not filed and service.ask(
            RatingRequest(Subject.CONVERSATION, key, tracker.sender_id, channel, language(tracker))
        )
    except SQLAlchemyError:
        # The customer is saying goodbye: a rating is not worth an error message.
        logger.exception("satisfaction store unavailable: no rating asked")
        return []
    if not asked:
        return []
    subject = {"subject": Subject.CONVERSATION.value, "id": key}
    return [SlotSet(CSAT_SUBJECT, json.dumps(subject)), hand_over(CSAT_FORM)]


class ActionThank(Action):
    def name(self) -> str:
        return "action_thank"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_you_are_welcome")
        return offer_rating(tracker, closing=False)


class ActionAskCsatScore(Action):
    """How would you rate this chat? With buttons 1 to 5."""

    def name(self) -> str:
        return "action_ask_csat_score"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_ask_csat_score", buttons=_buttons())
        return []


# ---- the rating form


class ValidateCsatForm(FormValidationAction):
    """Reads the answer to the rating question, then to "what went wrong?" after a low
    score. An answer that is neither leaves the form: nothing traps the customer here."""

    def name(self) -> str:
        return "validate_csat_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        low = is_low(_score_value(tracker.get_slot(CSAT_SCORE)))
        return [CSAT_SCORE, CSAT_COMMENT] if low else [CSAT_SCORE]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        taken = handoff_taken(tracker)
        slot = tracker.get_slot(REQUESTED_SLOT)
        if slot and is_external(tracker.latest_message):
            # A reminder arrived while the rating question was still open: the customer left.
            return [*taken, *self._left()]
        if not slot or not answering_a_question(tracker):
            # Starting: ask for the score, or straight for a comment after a low one.
            return [*taken, *await super().run(dispatcher, tracker, domain)]
        try:
            if slot == CSAT_SCORE:
                events = self._read_score(dispatcher, tracker)
            else:
                events = self._read_comment(dispatcher, tracker)
        except SQLAlchemyError:
            logger.exception("satisfaction store unavailable in the rating form")
            dispatcher.utter_message(response="utter_backend_unavailable")
            events = _finished()
        return [*taken, *events]

    def _read_score(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        message = tracker.latest_message
        if _entity(message, TICKET_ENTITY) or _asks_or_leaves(tracker):
            # A ticket's rating button, a question, a goodbye: its own rule takes it. Read
            # before a typed rating: "is the 5G plan good?" rates nothing.
            return self._left()
        # "terrible" may sound like a complaint to the model: here it is a rating. A request
        # for a person with no rating in it leaves below.
        score = _message_score(message)
        if score is None:
            if declines_to_answer(message.get("text") or ""):
                dispatcher.utter_message(response="utter_csat_declined")
                return _finished()
            return self._left()
        subject, subject_id = _subject(tracker)
        try:
            survey = _service().rate(subject, subject_id, tracker.sender_id, score)
        except (NotAsked, AlreadyRated):
            # Rated in the meantime (another tab, a button pressed twice).
            dispatcher.utter_message(response="utter_csat_already_rated")
            return _finished()
        if survey.wants_comment:
            return [SlotSet(CSAT_SCORE, str(score)), SlotSet(REQUESTED_SLOT, CSAT_COMMENT)]
        dispatcher.utter_message(response="utter_csat_thanks")
        return _finished()

    def _read_comment(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        text = (tracker.latest_message.get("text") or "").strip()
        if declines_to_answer(text):
            dispatcher.utter_message(response="utter_csat_thanks")
            return _finished()
        if _another_request(tracker):
            return self._left()  # the score stays; the request is answered
        verified = verified_number(tracker)
        masked = redact(
            text, known_codes=codes_typed(tracker), known_numbers=[verified] if verified else []
        )
        subject, subject_id = _subject(tracker)
        try:
            _service().comment(subject, subject_id, tracker.sender_id, masked)
        except (NotAsked, CommentRefused):
            logger.info("a comment on %s %s was not wanted", subject.value, subject_id)
        dispatcher.utter_message(response="utter_csat_comment_thanks")
        return _finished()

    def _left(self) -> list[EventType]:
        """Out of the form without a word, this very turn: the rejection lets the message's
        own rule answer it, and with the loop gone the question is not asked again."""
        return [
            *_cleared(),
            ActionExecutionRejected(self.form_name()),
            ActiveLoop(None),
            SlotSet(REQUESTED_SLOT, None),
        ]

    def form_name(self) -> str:
        return CSAT_FORM


def _finished() -> list[EventType]:
    """The form is done: its slots cleared, and no more questions."""
    return [*_cleared(), SlotSet(REQUESTED_SLOT, None)]


def _cleared() -> list[EventType]:
    return [SlotSet(slot, None) for slot in CSAT_SLOTS]


# ---- a rating outside the form: a resolved ticket's buttons, or a late answer


class ActionRate(Action):
    """A rating button pressed, or a rating typed, outside the rating question: a resolved
    ticket's (its notice's buttons name the ticket), or this conversation's when it was asked
    and left unanswered. A low score asks what went wrong, through the rating form."""

    def name(self) -> str:
        return "action_rate"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = handoff_taken(tracker)
        message = tracker.latest_message
        score = _message_score(message)
        ticket_id = normalise_ticket_id(_entity(message, TICKET_ENTITY) or "")
        if ticket_id:
            subject, subject_id = Subject.TICKET, ticket_id
        else:
            subject = Subject.CONVERSATION
            subject_id = conversation_key(tracker.sender_id, _session_started_at(tracker))
        service = satisfaction_service()
        if score is None or service is None:
            _nothing_to_rate(dispatcher, message)
            return events
        try:
            survey = service.rate(subject, subject_id, tracker.sender_id, score)
        except NotAsked:
            _nothing_to_rate(dispatcher, message)
            return events
        except AlreadyRated:
            dispatcher.utter_message(response="utter_csat_already_rated")
            return events
        except SQLAlchemyError:
            logger.exception("satisfaction store unavailable in action_rate")
            dispatcher.utter_message(response="utter_backend_unavailable")
            return events
        if not tracker.get_slot(LANGUAGE):
            # A ticket's buttons may start a new session: answer in the ticket's language.
            events.append(SlotSet(LANGUAGE, survey.request.language))
        if survey.wants_comment:
            about = {"subject": subject.value, "id": subject_id}
            return [
                *events,
                SlotSet(CSAT_SUBJECT, json.dumps(about)),
                SlotSet(CSAT_SCORE, str(score)),
                hand_over(CSAT_FORM),
            ]
        # Written out rather than named: the language slot set above applies only after this
        # action, and the thanks must already be in the customer's language.
        thanks = response_text(domain, "utter_csat_thanks", _answer_language(tracker, survey))
        dispatcher.utter_message(text=thanks)
        return events


def _nothing_to_rate(dispatcher: CollectingDispatcher, message: dict[str, Any]) -> None:
    """ "very good" out of the blue rates nothing: the conversation carries on. A button that
    rates nothing this conversation was asked (an old one, a made-up one) says so."""
    pressed = (message.get("text") or "").startswith("/")
    dispatcher.utter_message(
        response="utter_csat_not_expected" if pressed else "utter_how_can_i_help"
    )


# ---- reading the conversation


def _buttons() -> list[dict[str, str]]:
    return [{"title": title, "payload": payload} for title, payload in rating_buttons()]


def _service() -> SatisfactionService:
    service = satisfaction_service()
    if service is None:  # the form is only ever started with a service installed
        raise RuntimeError("no satisfaction service installed")
    return service


def _entity(message: dict[str, Any], name: str) -> str | None:
    return next(
        (
            str(entity.get("value"))
            for entity in message.get("entities", [])
            if entity.get("entity") == name and entity.get("value") is not None
        ),
        None,
    )


def _score_value(value: Any) -> int | None:
    try:
        score = int(str(value))
    except ValueError:
        return None
    return score if 1 <= score <= 5 else None


def _message_score(message: dict[str, Any]) -> int | None:
    """The score of a button pressed, or of a rating typed ("4", "very good", "非常满意")."""
    pressed = _entity(message, SCORE_ENTITY)
    if pressed is not None:
        return _score_value(pressed)
    text = message.get("text") or ""
    return None if text.startswith("/") else read_score(text)


def _asks_or_leaves(tracker: Tracker) -> bool:
    """The message is a goodbye, or a question the assistant has an answer to."""
    name, confidence = _intent(tracker)
    text = tracker.latest_message.get("text") or ""
    return name == "goodbye" or (
        name in QUESTION_INTENTS and confidence >= CONFIDENT and looks_like_question(text)
    )


def _another_request(tracker: Tracker) -> bool:
    """The message is something else the customer wants: a person, a goodbye, a question."""
    name, confidence = _intent(tracker)
    return _asks_or_leaves(tracker) or (name in ESCALATION_INTENTS and confidence >= CONFIDENT)


def _intent(tracker: Tracker) -> tuple[str | None, float]:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), intent.get("confidence") or 0.0


def _subject(tracker: Tracker) -> tuple[Subject, str]:
    about = json.loads(tracker.get_slot(CSAT_SUBJECT) or "{}")
    if about.get("subject") == Subject.TICKET.value:
        return Subject.TICKET, about["id"]
    key = about.get("id") or conversation_key(tracker.sender_id, _session_started_at(tracker))
    return Subject.CONVERSATION, key


def _answer_language(tracker: Tracker, survey: Survey) -> str:
    return tracker.get_slot(LANGUAGE) or survey.request.language


def _waits_for_a_yes(tracker: Tracker) -> bool:
    """The assistant asked to go ahead with a change or a ticket: "thanks" may be the yes, and
    is no end. An offer to check with the customer's own data is declined by thanks as well as
    by no."""
    pending = pending_confirmation(tracker)
    return pending is not None and pending.get("action") != START_VERIFICATION


def _filed_a_ticket(tracker: Tracker) -> bool:
    """Did the assistant tell the customer of a ticket in this session?"""
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            return False
        # Rasa notes the name of the response a message came from in its metadata.
        said = (event.get("metadata") or {}).values() if event.get("event") == "bot" else ()
        if TICKET_FILED.intersection(map(str, said)):
            return True
    return False


def _session_started_at(tracker: Tracker) -> datetime:
    """When this session began (a conversation is a session), in China time."""
    starts = [e.get("timestamp") for e in tracker.events if e.get("event") == "session_started"]
    stamps = [e.get("timestamp") for e in tracker.events if e.get("timestamp")]
    started = starts[-1] if starts and starts[-1] else (stamps[0] if stamps else None)
    return _china_time(started) if started else _message_time(tracker)


def _message_time(tracker: Tracker) -> datetime:
    """When the customer sent the message being answered."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event.get("timestamp"):
            return _china_time(event["timestamp"])
    return datetime.now(CHINA_TIME).replace(tzinfo=None, microsecond=0)


def _china_time(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, CHINA_TIME).replace(tzinfo=None, microsecond=0)
