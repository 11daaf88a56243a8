"""The agent console's web app: the ticket queue, the ticket page and the hot spots.

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
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader
from sanic import Sanic
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse, html, redirect
from sanic.response import json as json_response

from console.chart import PALETTE, Series, stacked_bar_chart
from console.i18n import Translator, pick_language
from telecom_assistant.accounts.msisdn import mask_msisdn
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
from telecom_assistant.texts import other_language
from telecom_assistant.tickets.model import (
    QUEUE_SORTS,
    TRANSITIONS,
    Category,
    IllegalTransition,
    Priority,
    QueueFilter,
    Status,
    Ticket,
    UnknownTicket,
)
from telecom_assistant.tickets.replies import (
    REPLY_CHANNELS,
    REPLY_MAX_LENGTH,
    TELEGRAM,
    ReplyRefused,
)
from telecom_assistant.tickets.service import TicketService
from telecom_assistant.web import SECURITY_HEADERS

PACKAGE_DIR = Path(__file__).resolve().parent
SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
LANGUAGE_COOKIE = "lang"
FLASH_COOKIE = "console_flash"
CSRF_FIELD = "csrf_token"
LOGIN_FORM_SECONDS = 10 * 60
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
PUBLIC_PATHS = frozenset({"/login", "/health"})
SAFE_METHODS = ("GET", "HEAD")  # they change nothing, so they need no CSRF token
STATIC_PREFIX = "/static/"
RECENT_BILLS = 3
NOTE_MAX_LENGTH = 2000
DEFAULT_SORT = "due"
ACTIVE_STATUSES = tuple(status for status in Status if status.is_active)
CATEGORY_COLOURS = dict(zip(Category, PALETTE, strict=True))

EnumType = TypeVar("EnumType", Status, Category, Priority)


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


def create_app(
    tickets: TicketService,
    accounts: AccountService,
    agents: AgentAccounts,
    clock: Clock = operator_now,
    name: str = "agent_console",
    always_secure_cookies: bool = False,
) -> Sanic:
    """`always_secure_cookies` marks cookies Secure even on a request over plain http (the
    production profile); otherwise only requests that came over HTTPS get Secure cookies, since
    browsers do not send a Secure cookie back over http://127.0.0.1."""
    app = Sanic(name)
    app.config.ALWAYS_SECURE_COOKIES = always_secure_cookies
    views = ConsoleViews(tickets, accounts, agents, clock)
    app.static("/static", str(PACKAGE_DIR / "static"), name="static")
    app.add_route(views.health, "/health", methods=["GET"], name="health")
    app.add_route(views.login_form, "/login", methods=["GET"], name="login_form")
    app.add_route(views.login, "/login", methods=["POST"], name="login")
    app.add_route(views.logout, "/logout", methods=["POST"], name="logout")
    app.add_route(
        views.switch_language, "/lang/<language>", methods=["GET"], name="switch_language"
    )
    app.add_route(views.queue, "/", methods=["GET"], name="queue")
    app.add_route(views.ticket, "/tickets/<ticket_id>", methods=["GET"], name="ticket")
    app.add_route(
        views.change_status, "/tickets/<ticket_id>/status", methods=["POST"], name="change_status"
    )
    app.add_route(
        views.assign_to_me, "/tickets/<ticket_id>/assign", methods=["POST"], name="assign_to_me"
    )
    app.add_route(views.add_note, "/tickets/<ticket_id>/notes", methods=["POST"], name="add_note")
    app.add_route(views.reply, "/tickets/<ticket_id>/reply", methods=["POST"], name="reply")
    app.add_route(views.hotspots, "/hotspots", methods=["GET"], name="hotspots")
    app.register_middleware(views.require_agent, "request")
    app.register_middleware(views.add_security_headers, "response")
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
    ) -> None:
        self.tickets = tickets
        self.accounts = accounts
        self.agents = agents
        self.clock = clock
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
        wanted = _queue_filter(request.args)
        now = self.clock()
        rows = [(ticket, ticket.is_overdue(now)) for ticket in self.tickets.queue(wanted)]
        return self._render(request, "queue.html", active="queue", wanted=wanted, rows=rows)

    async def ticket(self, request: Request, ticket_id: str) -> HTTPResponse:
        ticket = self.tickets.get(ticket_id)
        return self._render(
            request,
            "ticket.html",
            ticket=ticket,
            overdue=ticket.is_overdue(self.clock()),
            contact_number=_shown_contact_number(ticket),
            next_statuses=[status for status in Status if status in TRANSITIONS[ticket.status]],
            customer=self._customer_summary(ticket.msisdn) if ticket.msisdn else None,
            can_reply=ticket.channel in REPLY_CHANNELS,
            reaches_at_once=ticket.channel == TELEGRAM,
        )

    async def change_status(self, request: Request, ticket_id: str) -> HTTPResponse:
        response = _back_to_ticket(ticket_id)
        wanted = _member(Status, request.form.get("status"))
        if wanted is None:
            self._flash(request, response, "error", "console.flash.choose_status")
            return response
        try:
            self.tickets.change_status(ticket_id, wanted, by=_agent(request).username)
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
        self._flash(
            request,
            response,
            "ok",
            "console.flash.status_changed",
            status=self._translator(request).label(wanted),
        )
        return response

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
        return self._render(
            request,
            "hotspots.html",
            active="hotspots",
            report=report,
            shown=shown,
            chart=chart,
            weeks=weeks,
            day_totals=day_totals,
        )

    # ---- errors

    async def unknown_ticket(self, request: Request, exception: UnknownTicket) -> HTTPResponse:
        return self._error(request, 404, "console.error.unknown_ticket", id=str(exception))

    async def not_found(self, request: Request, exception: NotFound) -> HTTPResponse:
        return self._error(request, 404, "console.error.not_found")

    # ---- helpers

    def _agent_session(self, request: Request) -> AgentSession | None:
        token = request.cookies.get(SESSION_COOKIE)
        return self.agents.session(token) if token else None

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
        t = self._translator(request)
        agent_session: AgentSession | None = getattr(request.ctx, "agent_session", None)
        flash = _read_flash(request)
        body = self.templates.get_template(template).render(
            t=t,
            agent=agent_session.agent if agent_session else None,
            csrf_token=agent_session.csrf_token if agent_session else None,
            flash=flash,
            language_switch_url=_language_switch_url(request, t, signed_in=bool(agent_session)),
            **context,
        )
        response = html(body, status=status)
        if flash is not None:
            _drop_cookie(request, response, FLASH_COOKIE)
        return response

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
    """The queue's query string; a bare / shows the tickets someone still has to work on."""
    if not args:
        return QueueFilter(statuses=ACTIVE_STATUSES)
    sort = args.get("sort", DEFAULT_SORT)
    return QueueFilter(
        statuses=_members(Status, args.getlist("status", [])),
        categories=_members(Category, args.getlist("category", [])),
        priorities=_members(Priority, args.getlist("priority", [])),
        # Typed by the agent: "rest, telegram" asks for either.
        channels=tuple(
            channel
            for typed in args.getlist("channel", [])
            for channel in re.split(r"[\s,，]+", typed)
            if channel
        ),
        overdue_only="overdue" in args,
        sort=sort if sort in QUEUE_SORTS else DEFAULT_SORT,
    )


def _shown_contact_number(ticket: Ticket) -> str:
    """In full only when it is the line the customer verified; anyone can type a number."""
    if ticket.contact_number == ticket.msisdn:
        return ticket.contact_number
    return mask_msisdn(ticket.contact_number)
