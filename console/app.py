"""The agent console's web app: the inbox (the ticket queue, kept up to date as it changes), the
ticket page, the customer's page (a line's tickets, reminders and opt-outs) and the hot spots.

Every route but /login, /health and /static needs a signed-in agent, and every POST of a
signed-in agent must carry the session's CSRF token. Both are checked in one request
middleware, so a route added later is protected without anyone remembering to.

The console runs as a single worker: its database calls are short and blocking, and the
sign-in lock-out lives in the process (see :mod:`telecom_assistant.agents.accounts`).

A proxy on this machine (nginx terminating TLS in front of the console) is believed about the
client: the scheme in X-Forwarded-Proto, and the address it appended to X-Forwarded-For
(`proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for`, as the production profile's
nginx configuration sets it for Rasa). Anyone else could write those headers, so from anyone
else they are ignored; so is X-Real-IP, which nginx passes on unchanged from the client unless
told to set it.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader
from sanic import Sanic
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse, html, redirect
from sanic.response import json as json_response

from console.chart import CATEGORY_COLOURS, Series, stacked_bar_chart
from console.i18n import Translator, pick_language
from console.live import add_live_routes
from console.queue_watch import QueueWatch, stream_queue_events
from console.reminders import (
    LineReminders,
    bill_shock_comparison,
    comparison_charts,
    comparison_since,
    line_reminders,
)
from console.reports import add_reports
from telecom_assistant.accounts.msisdn import mask_msisdn, normalise_msisdn
from telecom_assistant.accounts.service import (
    AccountService,
    Bill,
    Line,
    Subscription,
    UnknownLine,
)
from telecom_assistant.agents.accounts import Agent, AgentAccounts, AgentSession, Lockout, parse_ip
from telecom_assistant.clock import Clock, operator_now
from telecom_assistant.language import LANGUAGES
from telecom_assistant.reminders.store import ReminderStore
from telecom_assistant.satisfaction.report import Week
from telecom_assistant.satisfaction.service import SatisfactionService
from telecom_assistant.satisfaction.surveys import TicketSurveys
from telecom_assistant.texts import catalogue, format_datetime, other_language, text
from telecom_assistant.tickets.live import EndReason, LiveDesk, LiveState
from telecom_assistant.tickets.model import (
    CHANNELS,
    QUEUE_SORTS,
    TRANSITIONS,
    Category,
    Deadline,
    IllegalTransition,
    Priority,
    QueueFilter,
    QueueView,
    Status,
    Ticket,
    TranscriptTurn,
    UnknownTicket,
    queue_views,
)
from telecom_assistant.tickets.replies import (
    REPLY_CHANNELS,
    REPLY_MAX_LENGTH,
    SMS,
    TELEGRAM,
    WEBCHAT,
    ReplyRefused,
)
from telecom_assistant.tickets.service import TicketService
from telecom_assistant.web import SECURITY_HEADERS

PACKAGE_DIR = Path(__file__).resolve().parent
# How the console tells an agent where a reply goes, per channel (REPLY_CHANNELS).
REPLY_HINTS = {
    TELEGRAM: "console.ticket.reply_hint_at_once",
    WEBCHAT: "console.ticket.reply_hint_next_visit",
    SMS: "console.ticket.reply_hint_by_sms",
}
SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
LANGUAGE_COOKIE = "lang"
FLASH_COOKIE = "console_flash"
CSRF_FIELD = "csrf_token"
LOGIN_FORM_SECONDS = 10 * 60
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
PUBLIC_PATHS = frozenset({"/login", "/health"})
# Sent by the console's scripts with what a page fetches by itself (fresh rows, a refreshed
# conversation): not a sign that the agent is there.
BACKGROUND_HEADER = "X-Console-Background"
SAFE_METHODS = ("GET", "HEAD")  # they change nothing, so they need no CSRF token
STATIC_PREFIX = "/static/"
RECENT_BILLS = 3
OTHER_TICKETS = 10
CUSTOMER_TICKETS = 20
# The ticket page shows the latest few; the customer's page up to the store's default.
TICKET_PAGE_REMINDERS = 5
CUSTOMER_PAGE_REMINDERS = 50
LAST_MESSAGE_LENGTH = 80
# The canned replies are the catalogue's console.canned.<name>.label and .text.
CANNED_PREFIX = "console.canned."
NOTE_MAX_LENGTH = 2000
DEFAULT_SORT = "due"
ACTIVE_STATUSES = tuple(status for status in Status if status.is_active)

EnumType = TypeVar("EnumType", Status, Category, Priority, QueueView)


@dataclass(frozen=True)
class Flash:
    """A one-off message shown on the page a form redirects to."""

    level: str  # "ok" or "error"
    text: str


@dataclass(frozen=True)
class CustomerSummary:
    msisdn: str
    line: Line | None  # None when the account system does not know the line
    bills: Sequence[Bill] = ()
    subscriptions: Sequence[Subscription] = ()


@dataclass(frozen=True)
class InboxRow:
    """A line of the inbox: the ticket, who wrote in, what was said last, what is late."""

    ticket: Ticket
    customer: str  # the name on the verified line's account, else the contact number as shown
    last_turn: TranscriptTurn | None
    last_message: str  # the last turn's text, on one short line
    missed: tuple[Deadline, ...]


@dataclass(frozen=True)
class InboxTab:
    view: QueueView
    count: int
    url: str  # the queue with the same filters, in this view


@dataclass(frozen=True)
class Inbox:
    """The queue page: its filters, the tabs with their counts, the chosen tab's rows."""

    wanted: QueueFilter
    shown_view: QueueView
    tabs: Sequence[InboxTab]
    rows: Sequence[InboxRow]


@dataclass(frozen=True)
class CannedReply:
    name: str
    label: str  # in the agent's language
    text: str  # in the ticket's language, filled in for this ticket


def create_app(
    tickets: TicketService,
    accounts: AccountService,
    agents: AgentAccounts,
    clock: Clock = operator_now,
    name: str = "agent_console",
    always_secure_cookies: bool = False,
    live_desk: LiveDesk | None = None,
    satisfaction: SatisfactionService | None = None,
    reminders: ReminderStore | None = None,
) -> Sanic:
    """`always_secure_cookies` marks cookies Secure even on a request over plain http (the
    production profile); otherwise only requests that came over HTTPS get Secure cookies, since
    browsers do not send a Secure cookie back over http://127.0.0.1. With `reminders`, the
    ticket and customer pages show a line's reminders and opt-outs, and the hot spots the
    reminders sent each week beside the complaints."""
    app = Sanic(name)
    app.config.ALWAYS_SECURE_COOKIES = always_secure_cookies
    watch = QueueWatch(tickets)
    # With a satisfaction store, resolving a ticket asks its customer for a rating.
    surveys = TicketSurveys(tickets, satisfaction) if satisfaction is not None else None
    views = ConsoleViews(tickets, accounts, agents, clock, watch, surveys, live_desk, reminders)
    app.static("/static", str(PACKAGE_DIR / "static"), name="static")
    app.add_route(views.health, "/health", methods=["GET"], name="health")
    app.add_route(views.login_form, "/login", methods=["GET"], name="login_form")
    app.add_route(views.login, "/login", methods=["POST"], name="login")
    app.add_route(views.logout, "/logout", methods=["POST"], name="logout")
    app.add_route(
        views.switch_language, "/lang/<language>", methods=["GET"], name="switch_language"
    )
    app.add_route(views.queue, "/", methods=["GET"], name="queue")
    app.add_route(views.queue_rows, "/queue/rows", methods=["GET"], name="queue_rows")
    app.add_route(views.queue_events, "/events/queue", methods=["GET"], name="queue_events")
    app.add_route(views.ticket, "/tickets/<ticket_id>", methods=["GET"], name="ticket")
    app.add_route(
        views.change_status, "/tickets/<ticket_id>/status", methods=["POST"], name="change_status"
    )
    app.add_route(
        views.assign_to_me, "/tickets/<ticket_id>/assign", methods=["POST"], name="assign_to_me"
    )
    app.add_route(views.add_note, "/tickets/<ticket_id>/notes", methods=["POST"], name="add_note")
    app.add_route(views.reply, "/tickets/<ticket_id>/reply", methods=["POST"], name="reply")
    app.add_route(views.customer, "/customers/<msisdn>", methods=["GET"], name="customer")
    app.add_route(views.hotspots, "/hotspots", methods=["GET"], name="hotspots")
    if satisfaction is not None:
        add_reports(app, views._render, tickets, satisfaction, clock)
    if live_desk is not None:
        add_live_routes(
            app,
            live_desk,
            tickets,
            views.templates,
            clock,
            views._flash,
            lambda request, key: views._translator(request)(key),
            after_closing=surveys.status_changed if surveys is not None else None,
        )
    app.register_middleware(views.require_agent, "request")
    app.register_middleware(views.add_security_headers, "response")
    app.register_listener(watch.stop, "before_server_stop")
    app.error_handler.add(UnknownTicket, views.unknown_ticket)
    app.error_handler.add(NotFound, views.not_found)
    return app


class ConsoleViews:
    """The route handlers, with the services they share."""

    def __init__(
        self,
        tickets: TicketService,
        accounts: AccountService,
        agents: AgentAccounts,
        clock: Clock,
        watch: QueueWatch,
        surveys: TicketSurveys | None = None,
        live_desk: LiveDesk | None = None,
        reminders: ReminderStore | None = None,
    ) -> None:
        self.tickets = tickets
        self.reminders = reminders
        self.surveys = surveys
        self.live_desk = live_desk
        self.accounts = accounts
        self.agents = agents
        self.clock = clock
        self.watch = watch
        self.templates = Environment(
            loader=FileSystemLoader(str(PACKAGE_DIR / "templates")),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals.update(
            statuses=tuple(Status),
            categories=tuple(Category),
            priorities=tuple(Priority),
            sorts=tuple(QUEUE_SORTS),
            channels=CHANNELS,
            Deadline=Deadline,
            note_max_length=NOTE_MAX_LENGTH,
            reply_max_length=REPLY_MAX_LENGTH,
        )

    # ---- middleware

    async def require_agent(self, request: Request) -> HTTPResponse | None:
        if request.path in PUBLIC_PATHS or request.path.startswith(STATIC_PREFIX):
            return None
        agent_session = self._agent_session(request)
        if agent_session is None:
            if request.method in SAFE_METHODS:
                return redirect(
                    "/login?" + urlencode({"next": _path_with_query(request)}), status=303
                )
            return self._error(request, 401, "console.error.signed_out")
        request.ctx.agent_session = agent_session
        if request.method not in SAFE_METHODS and not _same_token(
            request.form.get(CSRF_FIELD), agent_session.csrf_token
        ):
            return self._error(request, 403, "console.error.forbidden")
        return None

    async def add_security_headers(self, request: Request, response: BaseHTTPResponse) -> None:
        response.headers.update(SECURITY_HEADERS)
        if not request.path.startswith(STATIC_PREFIX):
            # Pages show customers' personal data: no copy in the browser's or a proxy's cache.
            response.headers["Cache-Control"] = "no-store"

    # ---- public routes

    async def health(self, request: Request) -> HTTPResponse:
        return json_response({"status": "ok"})

    async def login_form(self, request: Request) -> HTTPResponse:
        next_path = _safe_next(request.args.get("next"))
        language = request.args.get("lang")
        if language in LANGUAGES:
            # The sign-in page's own language switch: /lang/<language> needs a session.
            back = "/login?" + urlencode({"next": next_path})
            return _language_redirect(request, language, back)
        if self._agent_session(request) is not None:
            return redirect(next_path, status=303)
        return self._login_page(request, next_path)

    async def login(self, request: Request) -> HTTPResponse:
        next_path = _safe_next(request.form.get("next"))
        # Double-submit: a cross-site page cannot read our cookie to copy it into the form,
        # which keeps it from signing the agent in to an account of its choosing.
        if not _same_token(request.form.get(CSRF_FIELD), request.cookies.get(LOGIN_CSRF_COOKIE)):
            return self._login_page(
                request, next_path, status=403, error="console.login.form_expired"
            )
        username = request.form.get("username", "")
        address = client_address(request)
        agent = await self.agents.authenticate(username, request.form.get("password", ""), address)
        if agent is None:
            lockout = self.agents.lockout(username, address)
            if lockout is not None:
                return self._locked_out_page(request, next_path, lockout)
            return self._login_page(request, next_path, status=401, error="console.login.failed")
        previous = request.cookies.get(SESSION_COOKIE)
        if previous:
            self.agents.close_session(previous)
        token, _csrf_token = self.agents.open_session(agent.username)
        response = redirect(next_path, status=303)
        _set_cookie(request, response, SESSION_COOKIE, token)
        _drop_cookie(request, response, LOGIN_CSRF_COOKIE)
        return response

    # ---- signed-in routes

    async def logout(self, request: Request) -> HTTPResponse:
        self.agents.close_session(request.cookies[SESSION_COOKIE])
        response = redirect("/login", status=303)
        _drop_cookie(request, response, SESSION_COOKIE)
        self._flash(request, response, "ok", "console.login.signed_out")
        return response

    async def switch_language(self, request: Request, language: str) -> HTTPResponse:
        if language not in LANGUAGES:
            raise NotFound(f"no language {language}")
        return _language_redirect(request, language, _safe_next(request.args.get("next")))

    async def queue(self, request: Request) -> HTTPResponse:
        return self._render(request, "queue.html", active="queue", inbox=self._inbox(request))

    async def queue_rows(self, request: Request) -> HTTPResponse:
        """The queue page's tabs and rows alone, for its script to swap in when the queue
        changes; the same query string as the page."""
        return self._render_block(request, "queue.html", "inbox", inbox=self._inbox(request))

    async def queue_events(self, request: Request) -> None:
        await stream_queue_events(request, self.watch)

    async def ticket(self, request: Request, ticket_id: str) -> HTTPResponse:
        ticket = self.tickets.get(ticket_id)
        customer = self._customer_summary(ticket.msisdn) if ticket.msisdn else None
        can_reply = ticket.channel in REPLY_CHANNELS
        t = self._translator(request)
        reply_language = _reply_language(ticket, t)
        canned = _canned_replies(t, reply_language, ticket, customer) if can_reply else []
        other_tickets = self._other_tickets(ticket)
        return self._render(
            request,
            "ticket.html",
            ticket=ticket,
            missed=ticket.missed_deadlines(self.clock()),
            contact_number=_shown_contact_number(ticket),
            next_statuses=[status for status in Status if status in TRANSITIONS[ticket.status]],
            customer=customer,
            can_reply=can_reply,
            reply_hint=REPLY_HINTS[ticket.channel] if can_reply else "",
            canned=canned,
            reply_language=reply_language,
            reply_language_name=text("language.name", reply_language),
            # A canned reply chosen without the page's script (?canned=<name>) is filled in.
            reply_draft=next(
                (reply.text for reply in canned if reply.name == request.args.get("canned")), ""
            ),
            other_tickets=other_tickets,
            other_conversations=_other_conversations(ticket, other_tickets),
            reminders=(
                self._line_reminders(request, ticket.msisdn, TICKET_PAGE_REMINDERS)
                if ticket.msisdn
                else None
            ),
        )

    async def customer(self, request: Request, msisdn: str) -> HTTPResponse:
        """Everything the desk knows of a line: the account, its tickets, the reminders sent to
        it and the kinds its customer turned off."""
        if normalise_msisdn(msisdn) != msisdn:
            raise NotFound(f"no line {msisdn}")
        return self._render(
            request,
            "customer.html",
            customer=self._customer_summary(msisdn),
            tickets=self.tickets.tickets_for_line(msisdn, CUSTOMER_TICKETS),
            reminders=self._line_reminders(request, msisdn, CUSTOMER_PAGE_REMINDERS),
        )

    async def change_status(self, request: Request, ticket_id: str) -> HTTPResponse:
        response = _back_to_ticket(ticket_id)
        wanted = _member(Status, request.form.get("status"))
        if wanted is None:
            self._flash(request, response, "error", "console.flash.choose_status")
            return response
        agent = _agent(request).username
        try:
            live_desk = self._desk_of_agents_live_chat(ticket_id, agent)
            if wanted is Status.RESOLVED and live_desk is not None:
                # Resolving ends the agent's live chat, telling the customer, before anything
                # else reaches them (a rating request is for the assistant, not the agent).
                live_desk.end(ticket_id, agent, EndReason.CLOSED)
                changed = self.tickets.get(ticket_id)
            else:
                changed = self.tickets.change_status(ticket_id, wanted, by=agent)
        except IllegalTransition as refused:
            t = self._translator(request)
            self._flash(
                request,
                response,
                "error",
                "console.flash.illegal_transition",
                current=t.label(refused.current),
                wanted=t.label(refused.wanted),
            )
            return response
        if self.surveys is not None:
            self.surveys.status_changed(changed)
        self._flash(
            request,
            response,
            "ok",
            "console.flash.status_changed",
            status=self._translator(request).label(wanted),
        )
        return response

    def _desk_of_agents_live_chat(self, ticket_id: str, agent: str) -> LiveDesk | None:
        """The live desk, when the agent is in a live chat on the ticket."""
        if self.live_desk is None:
            return None
        chat = self.live_desk.chat_of_ticket(ticket_id)
        live = chat is not None and chat.state is LiveState.LIVE and chat.agent == agent
        return self.live_desk if live else None

    async def assign_to_me(self, request: Request, ticket_id: str) -> HTTPResponse:
        self.tickets.assign(ticket_id, _agent(request).username)
        response = _back_to_ticket(ticket_id)
        self._flash(request, response, "ok", "console.flash.assigned")
        return response

    async def add_note(self, request: Request, ticket_id: str) -> HTTPResponse:
        response = _back_to_ticket(ticket_id)
        text = (request.form.get("text") or "").strip()
        if not text:
            self._flash(request, response, "error", "console.flash.note_empty")
        elif len(text) > NOTE_MAX_LENGTH:
            self._flash(
                request, response, "error", "console.flash.note_too_long", limit=NOTE_MAX_LENGTH
            )
        else:
            self.tickets.add_note(ticket_id, _agent(request).username, text)
            self._flash(request, response, "ok", "console.flash.note_added")
        return response

    async def reply(self, request: Request, ticket_id: str) -> HTTPResponse:
        response = _back_to_ticket(ticket_id)
        try:
            self.tickets.reply(ticket_id, _agent(request).username, request.form.get("text") or "")
        except ReplyRefused as refused:
            self._flash(
                request,
                response,
                "error",
                f"console.flash.reply_{refused.reason.value}",
                limit=REPLY_MAX_LENGTH,
            )
            return response
        self._flash(request, response, "ok", "console.flash.reply_queued")
        return response

    async def hotspots(self, request: Request) -> HTTPResponse:
        t = self._translator(request)
        report = self.tickets.hotspots()
        shown = [category for category in Category if any(report.counts[category])]
        chart = None
        if shown:
            chart = stacked_bar_chart(
                [f"{day:%m-%d}" for day in report.days],
                [
                    Series(t.label(category), CATEGORY_COLOURS[category], report.counts[category])
                    for category in shown
                ],
                chart_id="hotspots-chart",
                title=t("console.hotspots.chart_title"),
                description=t("console.hotspots.chart_desc"),
                x_axis=t("console.hotspots.axis_day"),
                y_axis=t("console.hotspots.axis_tickets"),
            )
        weeks = [
            category
            for category in Category
            if report.this_week[category] or report.last_week[category]
        ]
        day_totals = [sum(day_counts) for day_counts in zip(*report.counts.values(), strict=True)]
        comparison = None
        comparison_chart_pair = None
        if self.reminders is not None:
            this_week = Week.of(self.clock().date())
            since = comparison_since(this_week)
            comparison = bill_shock_comparison(
                self.reminders.weekly_volumes(since),
                self.tickets.weekly_complaints(since),
                this_week,
            )
            if not comparison.is_empty:
                comparison_chart_pair = comparison_charts(comparison, t)
        return self._render(
            request,
            "hotspots.html",
            active="hotspots",
            report=report,
            shown=shown,
            chart=chart,
            weeks=weeks,
            day_totals=day_totals,
            comparison=comparison,
            comparison_charts=comparison_chart_pair,
        )

    # ---- errors

    async def unknown_ticket(self, request: Request, exception: UnknownTicket) -> HTTPResponse:
        return self._error(request, 404, "console.error.unknown_ticket", id=str(exception))

    async def not_found(self, request: Request, exception: NotFound) -> HTTPResponse:
        return self._error(request, 404, "console.error.not_found")

    # ---- helpers

    def _agent_session(self, request: Request) -> AgentSession | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        # A page's own refreshes and event streams keep the agent signed in only as long as
        # the agent does something: an open console must still time out when left alone.
        by_itself = (
            request.headers.get(BACKGROUND_HEADER) is not None
            or request.path.endswith("/events")
            or request.path.startswith("/events/")
        )
        return self.agents.session(token, touch=not by_itself)

    def _inbox(self, request: Request) -> Inbox:
        """The queue page's tabs with their counts and the rows of the chosen view: the
        filters narrow every view alike."""
        wanted = _queue_filter(request.args)
        shown = _member(QueueView, request.args.get("view")) or QueueView.ALL
        waiting = {ticket.id for ticket in self.tickets.waiting_for_person()}
        views = queue_views(self.tickets.queue(wanted), _agent(request).username, waiting)
        now = self.clock()
        names = self._customer_names(views[shown])
        return Inbox(
            wanted=wanted,
            shown_view=shown,
            tabs=[InboxTab(view, len(views[view]), _view_url(request, view)) for view in QueueView],
            rows=[_inbox_row(ticket, names, now) for ticket in views[shown]],
        )

    def _customer_names(self, tickets: Iterable[Ticket]) -> dict[str, str]:
        """The account holder's name of each verified line among the tickets."""
        names = {}
        for msisdn in {ticket.msisdn for ticket in tickets if ticket.msisdn}:
            try:
                names[msisdn] = self.accounts.get_line(msisdn).customer_name
            except UnknownLine:
                continue
        return names

    def _other_tickets(self, ticket: Ticket) -> list[Ticket]:
        """The customer's other tickets, newest first: those of the same verified line or the
        same contact number."""
        numbers = dict.fromkeys(
            number for number in (ticket.msisdn, ticket.contact_number) if number
        )
        found = {
            other.id: other
            for number in numbers
            # One more than shown: the list may hold this ticket.
            for other in self.tickets.tickets_for_line(number, OTHER_TICKETS + 1)
            if other.id != ticket.id
        }
        newest_first = sorted(found.values(), key=lambda other: other.created_at, reverse=True)
        return newest_first[:OTHER_TICKETS]

    def _line_reminders(self, request: Request, msisdn: str, limit: int) -> LineReminders | None:
        if self.reminders is None:
            return None
        return line_reminders(self.reminders, msisdn, self._translator(request), limit)

    def _customer_summary(self, msisdn: str) -> CustomerSummary:
        try:
            line = self.accounts.get_line(msisdn)
        except UnknownLine:
            return CustomerSummary(msisdn, None)
        return CustomerSummary(
            msisdn,
            line,
            self.accounts.recent_bills(msisdn, RECENT_BILLS),
            self.accounts.active_subscriptions(msisdn),
        )

    @staticmethod
    def _translator(request: Request) -> Translator:
        return Translator(
            pick_language(
                request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
            )
        )

    def _render(
        self, request: Request, template: str, status: int = 200, **context: object
    ) -> HTTPResponse:
        flash = _read_flash(request)
        body = self.templates.get_template(template).render(
            self._page_context(request, flash=flash, **context)
        )
        response = html(body, status=status)
        if flash is not None:
            _drop_cookie(request, response, FLASH_COOKIE)
        return response

    def _render_block(
        self, request: Request, template: str, block: str, **context: object
    ) -> HTTPResponse:
        """One block of a page, for the page's script to swap in. Not a visit: the flash
        message waiting for the next page stays."""
        page = self.templates.get_template(template)
        parts = page.blocks[block](page.new_context(self._page_context(request, **context)))
        return html("".join(parts))

    def _page_context(self, request: Request, **context: object) -> dict[str, object]:
        t = self._translator(request)
        agent_session: AgentSession | None = getattr(request.ctx, "agent_session", None)
        return {
            "t": t,
            "agent": agent_session.agent if agent_session else None,
            "csrf_token": agent_session.csrf_token if agent_session else None,
            "language_switch_url": _language_switch_url(request, t, signed_in=bool(agent_session)),
            **context,
        }

    def _login_page(
        self,
        request: Request,
        next_path: str,
        status: int = 200,
        error: str | None = None,
        **params: object,
    ) -> HTTPResponse:
        # Kept while it lives: another tab, or the browser fetching /favicon.ico through
        # this page, must not invalidate the form already on screen.
        login_csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
        t = self._translator(request)
        response = self._render(
            request,
            "login.html",
            status=status,
            next_path=next_path,
            login_csrf=login_csrf,
            error=t(error, **params) if error else None,
        )
        _set_cookie(request, response, LOGIN_CSRF_COOKIE, login_csrf, max_age=LOGIN_FORM_SECONDS)
        return response

    def _locked_out_page(self, request: Request, next_path: str, lockout: Lockout) -> HTTPResponse:
        t = self._translator(request)
        return self._login_page(
            request,
            next_path,
            status=429,
            error="console.login.address_locked" if lockout.by_address else "console.login.locked",
            time=t.when(lockout.until),
        )

    def _error(self, request: Request, status: int, key: str, **params: object) -> HTTPResponse:
        message = self._translator(request)(key, **params)
        return self._render(
            request, "error.html", status=status, message=message, signed_out=status == 401
        )

    def _flash(
        self, request: Request, response: HTTPResponse, level: str, key: str, **params: object
    ) -> None:
        """Translated now, in the agent's language, and shown once by the next page."""
        text = self._translator(request)(key, **params)
        payload = json.dumps([level, text], ensure_ascii=False).encode()
        # base64url without padding: cookie values may not hold quotes, commas or '='.
        encoded = base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")
        _set_cookie(request, response, FLASH_COOKIE, encoded)


def _agent(request: Request) -> Agent:
    return request.ctx.agent_session.agent


def _same_token(sent: str | None, expected: str | None) -> bool:
    if not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


def _set_cookie(
    request: Request, response: HTTPResponse, name: str, value: str, max_age: int | None = None
) -> None:
    response.cookies[name] = value
    cookie = response.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    if max_age is not None:
        cookie["max-age"] = max_age
    if wants_secure_cookies(request):
        cookie["secure"] = True


def wants_secure_cookies(request: Request) -> bool:
    if request.app.config.ALWAYS_SECURE_COOKIES or request.scheme == "https":
        return True
    forwarded_proto = request.headers.get("x-forwarded-proto", "").strip().lower()
    return forwarded_proto == "https" and _from_trusted_proxy(request)


def client_address(request: Request) -> str:
    """The address a sign-in came from: the direct peer's, or the one a trusted proxy saw.

    The last X-Forwarded-For entry, not the first: the proxy appends its peer to whatever the
    client sent, so every entry before it is the client's own writing.
    """
    if _from_trusted_proxy(request):
        entries = [
            entry.strip()
            for header in request.headers.getall("x-forwarded-for", [])
            for entry in header.split(",")
        ]
        if entries and parse_ip(entries[-1]) is not None:
            return entries[-1]
    return request.ip


def _from_trusted_proxy(request: Request) -> bool:
    peer = parse_ip(request.ip)
    return peer is not None and peer.is_loopback


def _drop_cookie(request: Request, response: HTTPResponse, name: str) -> None:
    _set_cookie(request, response, name, "", max_age=0)


def _read_flash(request: Request) -> Flash | None:
    encoded = request.cookies.get(FLASH_COOKIE)
    if not encoded:
        return None
    try:
        level, text = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except ValueError:  # not a cookie we wrote: show nothing
        return None
    return Flash(level="error" if level == "error" else "ok", text=str(text))


def _language_redirect(request: Request, language: str, back_to: str) -> HTTPResponse:
    response = redirect(back_to, status=303)
    _set_cookie(request, response, LANGUAGE_COOKIE, language, max_age=LANGUAGE_COOKIE_SECONDS)
    return response


def _language_switch_url(request: Request, t: Translator, signed_in: bool) -> str:
    other = other_language(t.language)
    if signed_in:
        return f"/lang/{other}?" + urlencode({"next": _path_with_query(request)})
    return "/login?" + urlencode({"lang": other, "next": _safe_next(request.args.get("next"))})


def _path_with_query(request: Request) -> str:
    return f"{request.path}?{request.query_string}" if request.query_string else request.path


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would let a phishing link bounce off us."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _back_to_ticket(ticket_id: str) -> HTTPResponse:
    """POST/redirect/GET: reloading the ticket page never repeats the change."""
    return redirect(f"/tickets/{quote(ticket_id)}", status=303)


def _member(kind: type[EnumType], value: str | None) -> EnumType | None:
    return next((member for member in kind if member.value == value), None)


def _members(kind: type[EnumType], values: Iterable[str]) -> tuple[EnumType, ...]:
    """The known values of a filter; anything else in a hand-edited URL is ignored."""
    members = (_member(kind, value) for value in values)
    return tuple(member for member in members if member is not None)


def _queue_filter(args) -> QueueFilter:
    """The queue's query string; a bare / (in any view) shows the tickets someone still has to
    work on."""
    if not any(name != "view" for name in args):
        return QueueFilter(statuses=ACTIVE_STATUSES)
    sort = args.get("sort", DEFAULT_SORT)
    return QueueFilter(
        statuses=_members(Status, args.getlist("status", [])),
        categories=_members(Category, args.getlist("category", [])),
        priorities=_members(Priority, args.getlist("priority", [])),
        channels=tuple(channel for channel in CHANNELS if channel in args.getlist("channel", [])),
        overdue_only="overdue" in args,
        sort=sort if sort in QUEUE_SORTS else DEFAULT_SORT,
    )


def _view_url(request: Request, view: QueueView) -> str:
    kept = [(name, value) for name, value in request.query_args if name != "view"]
    return "/?" + urlencode([*kept, ("view", view.value)])


def _inbox_row(ticket: Ticket, names: dict[str, str], now: datetime) -> InboxRow:
    last_turn = ticket.transcript[-1] if ticket.transcript else None
    return InboxRow(
        ticket=ticket,
        customer=names.get(ticket.msisdn or "") or _shown_contact_number(ticket),
        last_turn=last_turn,
        last_message=_one_short_line(last_turn.text) if last_turn else "",
        missed=ticket.missed_deadlines(now),
    )


def _one_short_line(message: str) -> str:
    """A message on one line of at most LAST_MESSAGE_LENGTH characters, cut after a word where
    it has spaces (Chinese has none: cut anywhere)."""
    line = " ".join(message.split())
    if len(line) <= LAST_MESSAGE_LENGTH:
        return line
    cut = line[: LAST_MESSAGE_LENGTH - 1]
    words, space, _ = cut.rpartition(" ")
    if space and len(words) > LAST_MESSAGE_LENGTH // 2:
        cut = words
    return cut + "…"


def _reply_language(ticket: Ticket, t: Translator) -> str:
    """The ticket's language, in which its customer reads replies; the agent's for a ticket
    in a language the console has no texts in."""
    return ticket.language if ticket.language in LANGUAGES else t.language


def _canned_replies(
    t: Translator, language: str, ticket: Ticket, customer: CustomerSummary | None
) -> list[CannedReply]:
    """The catalogue's canned replies (console.canned.*), named in the agent's language and
    written in ``language``, with the customer's name, the ticket and its deadline."""
    if customer is not None and customer.line is not None:
        name = customer.line.customer_name
    else:
        name = text("console.canned_no_name", language)
    names = [
        key.removeprefix(CANNED_PREFIX).removesuffix(".text")
        for key in catalogue(language)
        if key.startswith(CANNED_PREFIX) and key.endswith(".text")
    ]
    return [
        CannedReply(
            name=canned,
            label=t(f"{CANNED_PREFIX}{canned}.label"),
            text=text(
                f"{CANNED_PREFIX}{canned}.text",
                language,
                name=name,
                ticket_id=ticket.id,
                deadline=format_datetime(ticket.due),
            ),
        )
        for canned in names
    ]


def _other_conversations(ticket: Ticket, others: Iterable[Ticket]) -> dict[str, list[Ticket]]:
    """The customer's other conversations, each with the tickets filed from it."""
    conversations: dict[str, list[Ticket]] = {}
    for other in others:
        if other.conversation_id != ticket.conversation_id:
            conversations.setdefault(other.conversation_id, []).append(other)
    return conversations


def _shown_contact_number(ticket: Ticket) -> str:
    """In full only when it is the line the customer verified; anyone can type a number."""
    if ticket.contact_number == ticket.msisdn:
        return ticket.contact_number
    return mask_msisdn(ticket.contact_number)
