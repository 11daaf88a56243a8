"""The satisfaction report page (GET /reports): CSAT, first-response and resolution times and
the share of conversations the assistant resolved alone, week by week, and by category for the
week the agent picks (``?week=2026-W48``; this week by default). The figures are the domain's
(telecom_assistant/satisfaction/report.py); this page only shows them."""

from __future__ import annotations

from collections.abc import Callable

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from telecom_assistant.clock import Clock
from telecom_assistant.satisfaction.model import Subject
from telecom_assistant.satisfaction.report import Week, build_report
from telecom_assistant.satisfaction.service import SatisfactionService
from telecom_assistant.tickets.service import TicketService

# The console's page renderer (ConsoleViews._render): request, template, then the context.
Render = Callable[..., HTTPResponse]


def add_reports(
    app: Sanic,
    render: Render,
    tickets: TicketService,
    satisfaction: SatisfactionService,
    clock: Clock,
) -> None:
    page = ReportsPage(render, tickets, satisfaction, clock)
    app.add_route(page.show, "/reports", methods=["GET"], name="reports")


class ReportsPage:
    def __init__(
        self,
        render: Render,
        tickets: TicketService,
        satisfaction: SatisfactionService,
        clock: Clock,
    ) -> None:
        self._render = render
        self._tickets = tickets
        self._satisfaction = satisfaction
        self._clock = clock

    async def show(self, request: Request) -> HTTPResponse:
        report = build_report(self._tickets, self._satisfaction, self._clock().date())
        # A week outside the report (an old link, a hand-edited one) shows this week.
        picked = report.week(Week.parse(request.args.get("week")) or report.weeks[0].week)
        return self._render(
            request,
            "reports.html",
            active="reports",
            report=report,
            shown=picked or report.weeks[0],
            ticket_subject=Subject.TICKET,
        )
