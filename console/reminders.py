"""What the console shows of the reminders the operator sends before it charges
(telecom_assistant/reminders/): a line's reminders and opt-outs, on the ticket page and the
customer's page, and the reminders sent each week beside the bill-shock complaints, on the hot
spots page. Agents only look: turning a kind of reminder off or on is the customer's decision
(in the chat or the SMS hall), so the console offers no form for it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from markupsafe import Markup

from console.chart import CATEGORY_COLOURS, PALETTE, Series, stacked_bar_chart
from console.i18n import Translator
from telecom_assistant.reminders.model import ReminderKind, SentReminder, WeeklyVolume
from telecom_assistant.reminders.render import render
from telecom_assistant.reminders.store import ReminderStore
from telecom_assistant.satisfaction.report import Week
from telecom_assistant.texts import text
from telecom_assistant.tickets.model import Category, WeeklyComplaints

# The complaints reminders are meant to prevent: a bill bigger than expected, a paid add-on
# the customer never ordered (China Mobile's 扣费提醒 exists to catch those).
BILL_SHOCK = (Category.BILLING, Category.UNAUTHORISED_ADDON)
COMPARISON_WEEKS = 8
KIND_COLOURS = dict(zip(ReminderKind, PALETTE, strict=False))


@dataclass(frozen=True)
class ShownReminder:
    sent: SentReminder
    text: str  # what it said, in the agent's language
    sent_in: str  # the language the customer got it in, named in that language; or "both"


@dataclass(frozen=True)
class LineReminders:
    """A line's reminders, newest first, and the kinds its customer turned off."""

    msisdn: str
    sent: Sequence[ShownReminder]
    opted_out: Sequence[tuple[ReminderKind, datetime]]  # in ReminderKind's order, with since


def line_reminders(store: ReminderStore, msisdn: str, t: Translator, limit: int) -> LineReminders:
    opt_outs = store.opt_outs(msisdn)
    return LineReminders(
        msisdn=msisdn,
        sent=[_shown(sent, t) for sent in store.sent_to(msisdn, limit)],
        opted_out=[(kind, opt_outs[kind]) for kind in ReminderKind if kind in opt_outs],
    )


def _shown(sent: SentReminder, t: Translator) -> ShownReminder:
    try:
        words = render(sent.reminder, t.language)
    except KeyError:
        # Reminders are kept for months and texts change: an old one whose text no longer
        # fits its details must not take the customer's page down with it.
        words = t("console.reminders.unreadable", topic=sent.topic)
    sent_in = text("language.name", sent.language) if sent.language else t("console.reminders.both")
    return ShownReminder(sent, words, sent_in)


@dataclass(frozen=True)
class ComparisonWeek:
    week: Week
    reminders: Mapping[ReminderKind, int]
    complaints: Mapping[Category, int]  # the bill-shock categories
    all_complaints: int

    @property
    def all_reminders(self) -> int:
        return sum(self.reminders.values())

    @property
    def other_complaints(self) -> int:
        return self.all_complaints - sum(self.complaints.values())


@dataclass(frozen=True)
class BillShockComparison:
    """Reminders sent per ISO week by kind, beside the complaints of the same weeks: do the
    bill-shock complaints fall as reminders go out?"""

    weeks: Sequence[ComparisonWeek]  # oldest first, this week last
    kinds: Sequence[ReminderKind]  # those sent at all in these weeks

    @property
    def categories(self) -> Sequence[Category]:
        """The bill-shock categories, in the order ComparisonWeek.complaints counts them."""
        return BILL_SHOCK

    @property
    def is_empty(self) -> bool:
        return not any(week.all_reminders or week.all_complaints for week in self.weeks)


def comparison_since(this_week: Week, weeks: int = COMPARISON_WEEKS) -> datetime:
    """Where the comparison's first week starts: its Monday, midnight."""
    return datetime.combine(this_week.before(weeks - 1).monday, time.min)


def bill_shock_comparison(
    volumes: Iterable[WeeklyVolume],
    complaints: Iterable[WeeklyComplaints],
    this_week: Week,
    weeks: int = COMPARISON_WEEKS,
) -> BillShockComparison:
    shown = [this_week.before(back) for back in range(weeks - 1, -1, -1)]
    reminders: dict[Week, dict[ReminderKind, int]] = {week: {} for week in shown}
    for volume in volumes:
        by_kind = reminders.get(Week.of(date.fromisoformat(volume.week)))
        if by_kind is not None:
            by_kind[volume.kind] = by_kind.get(volume.kind, 0) + volume.count
    filed: dict[Week, dict[Category, int]] = {week: {} for week in shown}
    for weekly in complaints:
        by_category = filed.get(Week.of(weekly.week))
        if by_category is not None:
            by_category[weekly.category] = by_category.get(weekly.category, 0) + weekly.count
    kinds = [kind for kind in ReminderKind if any(kind in reminders[week] for week in shown)]
    return BillShockComparison(
        weeks=[
            ComparisonWeek(
                week=week,
                reminders={kind: reminders[week].get(kind, 0) for kind in kinds},
                complaints={category: filed[week].get(category, 0) for category in BILL_SHOCK},
                all_complaints=sum(filed[week].values()),
            )
            for week in shown
        ],
        kinds=kinds,
    )


def comparison_charts(comparison: BillShockComparison, t: Translator) -> tuple[Markup, Markup]:
    """Two bar charts over the same weeks: the reminders stacked by kind, and the complaints
    stacked as billing, unauthorised add-ons and the rest (each bar's top is all complaints)."""
    weeks = [week.week.label for week in comparison.weeks]
    reminders = stacked_bar_chart(
        weeks,
        [
            Series(
                t.reminder_kind(kind),
                KIND_COLOURS[kind],
                [week.reminders[kind] for week in comparison.weeks],
            )
            for kind in comparison.kinds
        ],
        chart_id="reminders-chart",
        title=t("console.hotspots.reminders_chart_title"),
        description=t("console.hotspots.reminders_chart_desc"),
        x_axis=t("console.hotspots.axis_week"),
        y_axis=t("console.hotspots.axis_reminders"),
    )
    complaints = stacked_bar_chart(
        weeks,
        [
            *(
                Series(
                    t.label(category),
                    CATEGORY_COLOURS[category],
                    [week.complaints[category] for week in comparison.weeks],
                )
                for category in BILL_SHOCK
            ),
            Series(
                t("console.hotspots.other_complaints"),
                CATEGORY_COLOURS[Category.OTHER],
                [week.other_complaints for week in comparison.weeks],
            ),
        ],
        chart_id="complaints-chart",
        title=t("console.hotspots.complaints_chart_title"),
        description=t("console.hotspots.complaints_chart_desc"),
        x_axis=t("console.hotspots.axis_week"),
        y_axis=t("console.hotspots.axis_complaints"),
    )
    return reminders, complaints
