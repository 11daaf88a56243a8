"""The satisfaction report the console shows: per ISO week, and per category within a week.

- **CSAT**: the share of ratings that are 4 or 5, and the mean score; by the week the rating
  was given. A ticket's rating counts in its category; a conversation's in "the assistant
  alone".
- **First response**: from a ticket's creation to an agent's first reply, note or status
  change; by the week the ticket was created.
- **Resolution**: from a ticket's creation to its (last) move to resolved; by the week it was
  resolved.
- **Resolved by the assistant alone**: of the conversations that week, the share the assistant
  closed (a goodbye, or a thank-you it answered with a rating request) without filing a ticket.
  The conversations are those it closed plus those that filed a ticket (once each), so nothing
  needs Rasa's tracker store; a conversation that simply went quiet is counted nowhere.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from telecom_assistant.satisfaction.model import (
    SATISFIED_SCORES,
    ConversationEnd,
    Subject,
    Survey,
)
from telecom_assistant.satisfaction.service import SatisfactionService
from telecom_assistant.tickets.model import Category, QueueFilter, Status, Ticket
from telecom_assistant.tickets.service import TicketService

REPORT_WEEKS = 8
# A ticket filed this soon after the assistant closed a conversation belongs to it: the
# customer came back with one more thing (Rasa keeps a session through an hour of silence).
SESSION_WINDOW = timedelta(hours=1)
# The row of the conversations the assistant handled alone, beside the tickets' categories.
BOT_ALONE = None
RowKey = Category | None


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week: Monday to Sunday, numbered as calendars in both languages number them."""

    year: int
    number: int

    @classmethod
    def of(cls, day: date) -> Week:
        year, number, _weekday = day.isocalendar()
        return cls(year, number)

    @classmethod
    def parse(cls, label: str | None) -> Week | None:
        """ "2026-W48", as `label` writes it; None for anything else."""
        try:
            year, number = (label or "").split("-W")
            return cls.of(date.fromisocalendar(int(year), int(number), 1))
        except ValueError:
            return None

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    def before(self, weeks: int) -> Week:
        return Week.of(self.monday - timedelta(weeks=weeks))


@dataclass(frozen=True)
class Figures:
    """The ratings and ticket times of one row of the report."""

    scores: tuple[int, ...] = ()
    first_responses: tuple[timedelta, ...] = ()
    resolutions: tuple[timedelta, ...] = ()

    @property
    def ratings(self) -> int:
        return len(self.scores)

    @property
    def csat(self) -> float | None:
        """The share of 4s and 5s, 0 to 1; None without ratings."""
        if not self.scores:
            return None
        return sum(score in SATISFIED_SCORES for score in self.scores) / len(self.scores)

    @property
    def mean_score(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None

    @property
    def first_response(self) -> timedelta | None:
        return _mean(self.first_responses)

    @property
    def resolution(self) -> timedelta | None:
        return _mean(self.resolutions)

    @property
    def is_empty(self) -> bool:
        return not (self.scores or self.first_responses or self.resolutions)


@dataclass(frozen=True)
class WeekReport:
    week: Week
    overall: Figures
    # The tickets' categories with something to show that week, and BOT_ALONE.
    by_category: Mapping[RowKey, Figures]
    conversations: int  # closed by the assistant or escalated to a ticket
    bot_alone: int  # closed by the assistant without a ticket
    comments: Sequence[Survey] = field(default_factory=tuple)  # low ratings', newest first

    @property
    def bot_share(self) -> float | None:
        return self.bot_alone / self.conversations if self.conversations else None


@dataclass(frozen=True)
class SatisfactionReport:
    weeks: Sequence[WeekReport]  # newest first

    def week(self, week: Week) -> WeekReport | None:
        return next((report for report in self.weeks if report.week == week), None)


def recent_weeks(today: date, count: int = REPORT_WEEKS) -> list[Week]:
    """This week and the `count - 1` before it, newest first."""
    this_week = Week.of(today)
    return [this_week.before(weeks) for weeks in range(count)]


def build_report(
    tickets: TicketService, satisfaction: SatisfactionService, today: date
) -> SatisfactionReport:
    """The report of the recent weeks, from the ticket desk and the satisfaction store."""
    weeks = recent_weeks(today)
    since = datetime.combine(weeks[-1].monday, time.min)
    return satisfaction_report(
        weeks,
        # Every ticket: one created before the first week may be resolved within it.
        tickets.queue(QueueFilter()),
        satisfaction.answered_since(since),
        satisfaction.ends_since(since),
    )


def satisfaction_report(
    weeks: Sequence[Week],
    tickets: Iterable[Ticket],
    surveys: Iterable[Survey],
    ends: Iterable[ConversationEnd],
) -> SatisfactionReport:
    scores: defaultdict[tuple[Week, RowKey], list[int]] = defaultdict(list)
    first_responses: defaultdict[tuple[Week, RowKey], list[timedelta]] = defaultdict(list)
    resolutions: defaultdict[tuple[Week, RowKey], list[timedelta]] = defaultdict(list)
    comments: defaultdict[Week, list[Survey]] = defaultdict(list)
    for survey in surveys:
        if survey.score is None or survey.answered_at is None:
            continue
        week = Week.of(survey.answered_at.date())
        about = survey.request
        scores[week, about.category if about.subject is Subject.TICKET else BOT_ALONE].append(
            survey.score
        )
        if survey.comment:
            comments[week].append(survey)

    escalated: defaultdict[Week, set[str]] = defaultdict(set)
    filed_at: defaultdict[str, list[datetime]] = defaultdict(list)
    for ticket in tickets:
        created = Week.of(ticket.created_at.date())
        escalated[created].add(ticket.conversation_id)
        filed_at[ticket.conversation_id].append(ticket.created_at)
        if ticket.responded_at is not None:
            first_responses[created, ticket.category].append(
                ticket.responded_at - ticket.created_at
            )
        resolved_at = _resolved_at(ticket)
        if resolved_at is not None:
            resolutions[Week.of(resolved_at.date()), ticket.category].append(
                resolved_at - ticket.created_at
            )

    bot_alone: Counter[Week] = Counter()
    for end in ends:
        if not end.filed_ticket and not any(
            end.started_at <= at <= end.ended_at + SESSION_WINDOW
            for at in filed_at.get(end.conversation_id, ())
        ):
            bot_alone[Week.of(end.ended_at.date())] += 1

    def figures(week: Week, key: RowKey) -> Figures:
        return Figures(
            tuple(scores.get((week, key), ())),
            tuple(first_responses.get((week, key), ())),
            tuple(resolutions.get((week, key), ())),
        )

    reports = []
    for week in weeks:
        rows = {key: figures(week, key) for key in (BOT_ALONE, *Category)}
        shown = {key: row for key, row in rows.items() if not row.is_empty}
        reports.append(
            WeekReport(
                week=week,
                overall=Figures(
                    tuple(score for row in rows.values() for score in row.scores),
                    tuple(taken for row in rows.values() for taken in row.first_responses),
                    tuple(taken for row in rows.values() for taken in row.resolutions),
                ),
                by_category=shown,
                conversations=bot_alone[week] + len(escalated.get(week, ())),
                bot_alone=bot_alone[week],
                comments=tuple(
                    sorted(
                        comments.get(week, ()),
                        key=lambda survey: survey.answered_at or datetime.min,
                        reverse=True,
                    )
                ),
            )
        )
    return SatisfactionReport(reports)


def _resolved_at(ticket: Ticket) -> datetime | None:
    """When the ticket was last resolved (a reopened one may be resolved twice)."""
    moves = [change.at for change in ticket.history if change.to_status is Status.RESOLVED]
    return moves[-1] if moves else None


def _mean(durations: Sequence[timedelta]) -> timedelta | None:
    if not durations:
        return None
    return sum(durations, timedelta()) / len(durations)
