"""Satisfaction (telecom_assistant/satisfaction/, actions/satisfaction.py) without a model:
how a typed rating is read, the buttons' payloads, the weekly report's figures, and the
rating actions over a SQLite satisfaction store: asked once when a conversation the assistant
handled alone ends, a score taken from a button or typed, a comment after a low one, anything
else leaving the form, and a resolved ticket's buttons."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta

import pytest

from actions import common
from actions.satisfaction import (
    ActionAskCsatScore,
    ActionRate,
    ActionThank,
    ValidateCsatForm,
)
from actions.verification import ActionGoodbye
from telecom_assistant.clock import CHINA_TIME
from telecom_assistant.satisfaction.model import (
    ConversationEnd,
    RatingRequest,
    Subject,
    Survey,
    check_score,
    conversation_key,
    declines_to_answer,
    rating_buttons,
    rating_payload,
    read_score,
)
from telecom_assistant.satisfaction.report import (
    BOT_ALONE,
    Week,
    recent_weeks,
    satisfaction_report,
)
from telecom_assistant.satisfaction.sql import SqlSatisfactionService
from telecom_assistant.schema import Area, migrate
from telecom_assistant.tickets.model import (
    Category,
    Kind,
    Priority,
    Status,
    StatusChange,
    Ticket,
)
from tests.actions_support import handoffs, make_tracker, responses, run_action, slot_events

MONDAY = datetime(2026, 11, 23, 10)  # ISO week 2026-W48
SENDER = "webchat-customer"


# ---- reading a typed rating


@pytest.mark.parametrize(
    "typed, score",
    [
        ("4", 4),
        ("5/5", 5),
        ("4 out of 5", 4),
        ("3 stars", 3),
        ("four stars", 4),
        ("★★", 2),
        ("I'd give it a 2", 2),
        ("rating: 5", 5),
        ("打4分", 4),
        ("五星", 5),
        ("给你打1分吧", 1),
        ("５", 5),  # full-width, as Chinese keyboards type it
        ("very good!", 5),
        ("good", 4),
        ("not good", 2),
        ("not very good", 2),
        ("wouldn't say great", 2),
        ("not bad", 4),
        ("average", 3),
        ("terrible", 1),
        ("useless chat", 1),
        ("非常满意", 5),
        ("满意", 4),
        ("一般", 3),
        ("不满意", 2),
        ("非常不满意", 1),
        ("差评", 1),
    ],
)
def test_a_typed_rating_is_read(typed, score):
    assert read_score(typed) == score


@pytest.mark.parametrize(
    "typed",
    [
        "5G",
        "is 5G available in Haidian?",
        "rate 5g plans",
        "6",
        "0",
        "13800000018",
        "ok",
        "thanks",
        "bye",
        "我要投诉",
        "",
        "the assistant answered every question about my bill but the good part was the speed",
    ],
)
def test_anything_else_is_no_rating(typed):
    assert read_score(typed) is None


@pytest.mark.parametrize(
    "typed, declines",
    [
        ("no thanks", True),
        ("skip", True),
        ("nothing to add", True),
        ("never mind", True),
        ("不用了", True),
        ("没有", True),
        ("no, the agent never called me back", False),
        ("it took too long", False),
        ("等的时间太长了", False),
    ],
)
def test_nothing_more_to_say(typed, declines):
    assert declines_to_answer(typed) is declines


def test_the_buttons_fit_in_telegram_callback_data():
    payloads = [payload for _title, payload in rating_buttons("TK-261123-0007")]
    assert payloads[3] == '/rate{"ticket_id":"TK-261123-0007","csat_score":"4"}'
    assert all(len(payload.encode()) <= 64 for payload in payloads)
    assert [title for title, _payload in rating_buttons()] == ["1", "2", "3", "4", "5"]
    assert rating_payload(5) == '/rate{"csat_score":"5"}'


def test_a_score_is_one_to_five():
    assert check_score(1) == 1
    for wrong in (0, 6):
        with pytest.raises(ValueError):
            check_score(wrong)


def test_each_session_of_a_sender_is_a_conversation_of_its_own():
    first = conversation_key(SENDER, MONDAY)
    assert first != conversation_key(SENDER, MONDAY + timedelta(hours=2))
    assert first == conversation_key(SENDER, MONDAY)
    # A REST sender id may be any length: the key still fits its column.
    assert len(conversation_key("x" * 1000, MONDAY)) < 200


# ---- the weekly report


def test_weeks_are_iso_weeks():
    week = Week.of(date(2026, 11, 29))  # a Sunday
    assert week.label == "2026-W48"
    assert (week.monday, week.sunday) == (date(2026, 11, 23), date(2026, 11, 29))
    assert Week.parse("2026-W48") == week
    assert Week.parse("2026-W99") is None and Week.parse("last week") is None
    assert week.before(1).label == "2026-W47"
    # The first week of 2027 begins on Monday 4 January.
    assert Week.of(date(2027, 1, 3)).label == "2026-W53"
    assert [w.label for w in recent_weeks(date(2026, 11, 25), 3)] == [
        "2026-W48",
        "2026-W47",
        "2026-W46",
    ]


def ticket(
    ticket_id: str,
    category: Category,
    created_at: datetime,
    *,
    responded_after: timedelta | None = None,
    resolved_after: Sequence[timedelta] = (),
    conversation_id: str | None = None,
) -> Ticket:
    history = [StatusChange(None, Status.OPEN, "assistant", created_at)]
    for after in resolved_after:
        history.append(StatusChange(Status.OPEN, Status.RESOLVED, "li.na", created_at + after))
    return Ticket(
        id=ticket_id,
        kind=Kind.COMPLAINT,
        category=category,
        priority=Priority.NORMAL,
        status=Status.RESOLVED if resolved_after else Status.OPEN,
        description="",
        contact_number="13700000101",
        channel="webchat",
        conversation_id=conversation_id or f"conversation-{ticket_id}",
        language="en",
        created_at=created_at,
        response_due=created_at + timedelta(hours=24),
        responded_at=created_at + responded_after if responded_after else None,
        history=tuple(history),
    )


def rating(
    subject: Subject,
    score: int,
    answered_at: datetime,
    category: Category | None = None,
    comment: str | None = None,
) -> Survey:
    request = RatingRequest(subject, f"{subject.value}-{answered_at}", SENDER, "webchat", "en")
    if category:
        request = RatingRequest(subject, "TK", SENDER, "webchat", "en", category)
    return Survey(request, answered_at, score, comment, answered_at)


def end(conversation_id: str, ended_at: datetime, filed_ticket: bool = False) -> ConversationEnd:
    started_at = ended_at - timedelta(minutes=5)
    return ConversationEnd(
        conversation_key(conversation_id, started_at),
        conversation_id,
        started_at,
        ended_at,
        "webchat",
        "en",
        filed_ticket,
    )


def test_csat_is_the_share_of_fours_and_fives_per_category_and_for_the_assistant_alone():
    week, before = Week.of(MONDAY.date()), Week.of(MONDAY.date()).before(1)
    surveys = [
        rating(Subject.TICKET, 5, MONDAY, Category.FIVE_G),
        rating(Subject.TICKET, 2, MONDAY, Category.FIVE_G, comment="still slow"),
        rating(Subject.TICKET, 4, MONDAY, Category.BILLING),
        rating(Subject.CONVERSATION, 5, MONDAY + timedelta(days=2)),
        rating(Subject.CONVERSATION, 3, MONDAY + timedelta(days=6)),
        rating(Subject.CONVERSATION, 1, MONDAY - timedelta(days=1)),  # the Sunday before
    ]
    report = satisfaction_report([week, before], [], surveys, [])
    this = report.week(week)
    assert this.by_category[Category.FIVE_G].csat == 0.5
    assert this.by_category[Category.BILLING].csat == 1.0
    assert this.by_category[BOT_ALONE].ratings == 2
    assert this.by_category[BOT_ALONE].mean_score == 4.0
    assert this.overall.ratings == 5 and this.overall.csat == 0.6
    assert [survey.comment for survey in this.comments] == ["still slow"]
    assert report.week(before).overall.scores == (1,)
    assert Category.NETWORK not in this.by_category  # nothing to show: no row


def test_response_times_count_by_creation_and_resolution_times_by_resolution():
    week = Week.of(MONDAY.date())
    tickets = [
        ticket("A", Category.NETWORK, MONDAY, responded_after=timedelta(hours=2)),
        ticket(
            "B",
            Category.NETWORK,
            MONDAY - timedelta(days=3),  # last week's ticket, resolved this week
            responded_after=timedelta(hours=4),
            resolved_after=[timedelta(days=3, hours=1)],
        ),
        ticket(
            "C",
            Category.NETWORK,
            MONDAY,
            # Resolved, reopened, resolved again: the last resolution counts.
            resolved_after=[timedelta(hours=5), timedelta(hours=9)],
        ),
    ]
    network = satisfaction_report([week, week.before(1)], tickets, [], []).weeks
    this_week, last_week = (report.by_category[Category.NETWORK] for report in network)
    assert this_week.first_response == timedelta(hours=2)
    assert this_week.resolution == timedelta(hours=(73 + 9) / 2)
    assert last_week.first_response == timedelta(hours=4)
    assert last_week.resolution is None


def test_the_assistant_alone_resolved_the_conversations_it_closed_without_a_ticket():
    week = Week.of(MONDAY.date())
    tickets = [
        ticket("A", Category.BILLING, MONDAY, conversation_id="escalated"),
        ticket("B", Category.PRIVACY, MONDAY, conversation_id="escalated"),  # one conversation
        # Asked to rate after thanks, then back with a complaint: not alone after all.
        ticket("C", Category.OTHER, MONDAY + timedelta(minutes=20), conversation_id="came back"),
    ]
    ends = [
        end("alone-1", MONDAY),
        end("alone-2", MONDAY + timedelta(days=1)),
        end("came back", MONDAY + timedelta(minutes=10)),
        end("filed and said bye", MONDAY, filed_ticket=True),
    ]
    [report] = satisfaction_report([week], tickets, [], ends).weeks
    assert report.bot_alone == 2
    assert report.conversations == 4  # two alone, "escalated" and "came back"
    assert report.bot_share == 0.5


def test_a_week_without_anything_has_no_figures():
    [report] = satisfaction_report([Week.of(MONDAY.date())], [], [], []).weeks
    assert report.bot_share is None and report.overall.csat is None
    assert report.overall.first_response is None and report.by_category == {}


# ---- the actions, over a satisfaction store on SQLite


@pytest.fixture
def satisfaction(sqlite_engine, clock) -> Iterator[SqlSatisfactionService]:
    migrate(sqlite_engine, [Area.SATISFACTION])
    service = SqlSatisfactionService(sqlite_engine, clock)
    common.use_satisfaction_service(service)
    yield service
    common.use_satisfaction_service(None)


SESSION_START = time.time() - 300


def conversation(text: str, intent: str, events: Sequence[dict] = (), **slots) -> object:
    """A tracker of this session (started five minutes ago) whose latest message is `text`."""
    started = [{"event": "session_started", "timestamp": SESSION_START}]
    return make_tracker(text, intent, slots=slots, events=[*started, *events], sender_id=SENDER)


def this_conversation() -> str:
    started = datetime.fromtimestamp(SESSION_START, CHINA_TIME).replace(tzinfo=None, microsecond=0)
    return conversation_key(SENDER, started)


def subject_slot() -> str:
    return json.dumps({"subject": "conversation", "id": this_conversation()})


def rating_form(text: str, intent: str = "rate", *, entities=None, **slots) -> object:
    """The customer answers the rating form's question for `requested_slot`."""
    tracker = conversation(text, intent, csat_subject=subject_slot(), **slots)
    tracker.latest_message["entities"] = [
        {"entity": name, "value": value} for name, value in (entities or {}).items()
    ]
    tracker.active_loop = {"name": "csat_form"}
    return tracker


TICKET_FILED = {
    "event": "bot",
    "text": "I've filed your complaint as ticket TK-261123-0001.",
    "metadata": {"utter_action": "utter_ticket_filed"},
}


class TestAskingOnce:
    def test_a_goodbye_after_a_conversation_the_assistant_handled_alone_asks_for_a_rating(
        self, satisfaction
    ):
        messages, events = run_action(ActionGoodbye(), conversation("bye", "goodbye"))
        assert responses(messages) == ["utter_goodbye"]
        assert handoffs(events) == ["csat_form"]
        assert json.loads(slot_events(events)["csat_subject"])["id"] == this_conversation()
        survey = satisfaction.survey(Subject.CONVERSATION, this_conversation())
        assert survey is not None and survey.score is None
        [closed] = satisfaction.ends_since(datetime(2000, 1, 1))
        assert closed.conversation_id == SENDER and not closed.filed_ticket

    def test_thanks_says_you_are_welcome_and_asks(self, satisfaction):
        messages, events = run_action(ActionThank(), conversation("thanks!", "thank"))
        assert responses(messages) == ["utter_you_are_welcome"]
        assert handoffs(events) == ["csat_form"]

    def test_never_twice_in_one_conversation(self, satisfaction):
        run_action(ActionThank(), conversation("thanks", "thank"))
        messages, events = run_action(ActionGoodbye(), conversation("bye", "goodbye"))
        assert responses(messages) == ["utter_goodbye"]
        assert handoffs(events) == []
        assert len(satisfaction.ends_since(datetime(2000, 1, 1))) == 1

    def test_not_after_a_ticket_was_filed(self, satisfaction):
        _, events = run_action(ActionGoodbye(), conversation("bye", "goodbye", [TICKET_FILED]))
        assert handoffs(events) == []
        assert satisfaction.survey(Subject.CONVERSATION, this_conversation()) is None
        [closed] = satisfaction.ends_since(datetime(2000, 1, 1))
        assert closed.filed_ticket

    def test_a_ticket_filed_in_an_earlier_session_does_not_count(self, satisfaction):
        earlier = [TICKET_FILED, {"event": "session_started", "timestamp": SESSION_START}]
        tracker = make_tracker("bye", "goodbye", events=earlier, sender_id=SENDER)
        _, events = run_action(ActionGoodbye(), tracker)
        assert handoffs(events) == ["csat_form"]

    def test_thanks_while_a_question_is_open_is_not_the_end(self, satisfaction):
        pending = json.dumps({"action": "action_confirm_unsubscribe", "asked_at_turn": 0})
        tracker = conversation("thanks", "thank", pending_confirmation=pending)
        messages, events = run_action(ActionThank(), tracker)
        assert responses(messages) == ["utter_you_are_welcome"]
        assert handoffs(events) == []

    def test_thanks_for_an_offer_to_check_the_customer_s_own_data_is_the_end(self, satisfaction):
        pending = json.dumps({"action": "action_start_verification", "asked_at_turn": 0})
        tracker = conversation("thanks", "thank", pending_confirmation=pending)
        _, events = run_action(ActionThank(), tracker)
        assert handoffs(events) == ["csat_form"]

    def test_without_a_satisfaction_store_nobody_is_asked(self):
        messages, events = run_action(ActionGoodbye(), conversation("bye", "goodbye"))
        assert responses(messages) == ["utter_goodbye"] and handoffs(events) == []

    def test_the_question_has_five_buttons(self, satisfaction):
        [message], _ = run_action(ActionAskCsatScore(), conversation("bye", "goodbye"))
        assert message["response"] == "utter_ask_csat_score"
        assert [button["title"] for button in message["buttons"]] == ["1", "2", "3", "4", "5"]
        assert message["buttons"][0]["payload"] == '/rate{"csat_score":"1"}'


def ask(satisfaction: SqlSatisfactionService) -> None:
    satisfaction.ask(
        RatingRequest(Subject.CONVERSATION, this_conversation(), SENDER, "webchat", "en")
    )


def answer(tracker) -> tuple[list, list]:
    return run_action(ValidateCsatForm(), tracker)


def left_the_form(events: list[dict]) -> bool:
    kinds = [(event["event"], event.get("name")) for event in events]
    return ("action_execution_rejected", "csat_form") in kinds and ("active_loop", None) in kinds


class TestTheRatingForm:
    def test_a_pressed_button_is_the_score(self, satisfaction):
        ask(satisfaction)
        messages, events = answer(
            rating_form(
                '/rate{"csat_score":"5"}', entities={"csat_score": "5"}, requested_slot="csat_score"
            )
        )
        assert responses(messages) == ["utter_csat_thanks"]
        assert slot_events(events)["requested_slot"] is None
        assert satisfaction.survey(Subject.CONVERSATION, this_conversation()).score == 5

    @pytest.mark.parametrize("typed, score", [("4", 4), ("very good", 5), ("非常满意", 5)])
    def test_a_typed_score_counts_too(self, satisfaction, typed, score):
        ask(satisfaction)
        messages, _ = answer(rating_form(typed, "inform", requested_slot="csat_score"))
        assert responses(messages) == ["utter_csat_thanks"]
        assert satisfaction.survey(Subject.CONVERSATION, this_conversation()).score == score

    def test_a_low_score_asks_what_went_wrong_and_keeps_the_comment_masked(self, satisfaction):
        ask(satisfaction)
        messages, events = answer(rating_form("terrible", requested_slot="csat_score"))
        assert messages == []
        assert slot_events(events) == {"csat_score": "1", "requested_slot": "csat_comment"}
        messages, events = answer(
            rating_form(
                "it kept asking for my number, 13800000018",
                "nlu_fallback",
                requested_slot="csat_comment",
                csat_score="1",
            )
        )
        assert responses(messages) == ["utter_csat_comment_thanks"]
        assert slot_events(events)["requested_slot"] is None
        survey = satisfaction.survey(Subject.CONVERSATION, this_conversation())
        assert (survey.score, survey.comment) == (1, "it kept asking for my number, *******0018")

    @pytest.mark.parametrize("typed", ["no thanks", "skip", "不用了"])
    def test_the_comment_can_be_skipped(self, satisfaction, typed):
        ask(satisfaction)
        answer(rating_form("2", requested_slot="csat_score"))
        messages, events = answer(
            rating_form(typed, "deny", requested_slot="csat_comment", csat_score="2")
        )
        assert responses(messages) == ["utter_csat_thanks"]
        assert not left_the_form(events)
        survey = satisfaction.survey(Subject.CONVERSATION, this_conversation())
        assert (survey.score, survey.comment) == (2, None)

    def test_a_request_for_a_person_leaves_the_form_for_its_own_rule(self, satisfaction):
        ask(satisfaction)
        answer(rating_form("1", requested_slot="csat_score"))
        messages, events = answer(
            rating_form(
                "I want to talk to a real person",
                "request_human",
                requested_slot="csat_comment",
                csat_score="1",
            )
        )
        assert messages == [] and left_the_form(events)
        assert satisfaction.survey(Subject.CONVERSATION, this_conversation()).score == 1

    @pytest.mark.parametrize(
        "text, intent",
        [
            ("what 5G plans do you have?", "ask_tariff"),
            ("bye", "goodbye"),
            ("thanks", "thank"),
            ("hmm", "nlu_fallback"),
        ],
    )
    def test_anything_but_a_rating_leaves_the_form_at_once(self, satisfaction, text, intent):
        ask(satisfaction)
        messages, events = answer(rating_form(text, intent, requested_slot="csat_score"))
        assert messages == [] and left_the_form(events)
        assert satisfaction.survey(Subject.CONVERSATION, this_conversation()).score is None

    def test_a_rating_in_words_the_model_hears_as_a_complaint_is_a_rating(self, satisfaction):
        ask(satisfaction)
        _, events = answer(rating_form("terrible", "file_complaint", requested_slot="csat_score"))
        assert not left_the_form(events)
        assert satisfaction.survey(Subject.CONVERSATION, this_conversation()).score == 1

    def test_a_question_with_a_good_word_in_it_is_a_question(self, satisfaction):
        ask(satisfaction)
        _, events = answer(
            rating_form("is the 5G Plus plan good?", "ask_tariff", requested_slot="csat_score")
        )
        assert left_the_form(events)
        assert satisfaction.survey(Subject.CONVERSATION, this_conversation()).score is None

    def test_no_thanks_ends_it_politely(self, satisfaction):
        ask(satisfaction)
        messages, events = answer(rating_form("no thanks", "deny", requested_slot="csat_score"))
        assert responses(messages) == ["utter_csat_declined"]
        assert not left_the_form(events) and slot_events(events)["requested_slot"] is None

    def test_a_ticket_s_button_leaves_it_to_action_rate(self, satisfaction):
        ask(satisfaction)
        _, events = answer(
            rating_form(
                '/rate{"ticket_id":"TK-261123-0001","csat_score":"4"}',
                entities={"ticket_id": "TK-261123-0001", "csat_score": "4"},
                requested_slot="csat_score",
            )
        )
        assert left_the_form(events)


def ask_about_ticket(satisfaction, conversation_id: str = SENDER, language: str = "zh") -> None:
    satisfaction.ask(
        RatingRequest(
            Subject.TICKET, "TK-261123-0001", conversation_id, "webchat", language, Category.FIVE_G
        )
    )


def ticket_button(score: int) -> object:
    entities = {"ticket_id": "TK-261123-0001", "csat_score": str(score)}
    tracker = make_tracker(rating_payload(score, "TK-261123-0001"), "rate", sender_id=SENDER)
    tracker.latest_message["entities"] = [
        {"entity": name, "value": value} for name, value in entities.items()
    ]
    return tracker


class TestAResolvedTicketsButtons:
    def test_the_rating_is_taken_and_thanked_in_the_ticket_s_language(self, satisfaction):
        ask_about_ticket(satisfaction)
        messages, events = run_action(ActionRate(), ticket_button(4))
        assert [message["text"] for message in messages] == ["感谢您的评价！"]
        assert slot_events(events) == {"language": "zh"}
        assert satisfaction.survey(Subject.TICKET, "TK-261123-0001").score == 4

    def test_a_low_one_asks_what_went_wrong_through_the_form(self, satisfaction):
        ask_about_ticket(satisfaction)
        messages, events = run_action(ActionRate(), ticket_button(1))
        assert messages == []
        assert handoffs(events) == ["csat_form"]
        slots = slot_events(events)
        assert slots["csat_score"] == "1"
        assert json.loads(slots["csat_subject"]) == {"subject": "ticket", "id": "TK-261123-0001"}
        messages, _ = answer(
            make_tracker(
                "nobody called me back",
                "nlu_fallback",
                slots={**slots, "requested_slot": "csat_comment"},
                sender_id=SENDER,
            )
        )
        assert responses(messages) == ["utter_csat_comment_thanks"]
        survey = satisfaction.survey(Subject.TICKET, "TK-261123-0001")
        assert (survey.score, survey.comment) == (1, "nobody called me back")

    def test_once_per_ticket(self, satisfaction):
        ask_about_ticket(satisfaction)
        run_action(ActionRate(), ticket_button(5))
        messages, _ = run_action(ActionRate(), ticket_button(1))
        assert responses(messages) == ["utter_csat_already_rated"]
        assert satisfaction.survey(Subject.TICKET, "TK-261123-0001").score == 5

    def test_only_the_ticket_s_own_conversation_may_rate_it(self, satisfaction):
        ask_about_ticket(satisfaction, conversation_id="webchat-someone-else")
        messages, _ = run_action(ActionRate(), ticket_button(1))
        assert responses(messages) == ["utter_csat_not_expected"]
        assert satisfaction.survey(Subject.TICKET, "TK-261123-0001").score is None

    def test_very_good_out_of_the_blue_rates_nothing(self, satisfaction):
        messages, _ = run_action(ActionRate(), conversation("very good", "rate"))
        assert responses(messages) == ["utter_how_can_i_help"]

    def test_a_late_answer_rates_the_conversation_that_was_asked(self, satisfaction):
        ask(satisfaction)
        messages, _ = run_action(ActionRate(), conversation("5", "rate", language="en"))
        assert [message["text"] for message in messages] == ["Thank you for your rating!"]
        assert satisfaction.survey(Subject.CONVERSATION, this_conversation()).score == 5
