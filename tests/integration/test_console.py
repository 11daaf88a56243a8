"""The agent console over real HTTP: sign-in, its throttles, sessions and CSRF, Secure cookies,
the queue, the ticket page, the hot spots and both languages. No Rasa model: a seeded SQLite
database and a fake clock."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from sanic import Sanic
from sanic.compat import Header
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.__main__ import argument_parser
from console.app import client_address, create_app, wants_secure_cookies
from console.i18n import pick_language
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.agents.accounts import (
    ABSOLUTE_TIMEOUT,
    IDLE_TIMEOUT,
    MAX_FAILED_SIGN_INS,
    MAX_FAILED_SIGN_INS_PER_ADDRESS,
    Agent,
    AgentAccounts,
    DuplicateAgent,
    Lockout,
    WeakPassword,
    verify_password,
)
from telecom_assistant.agents.tables import AgentRow, ConsoleSessionRow
from telecom_assistant.settings import Settings
from telecom_assistant.tickets.model import (
    Category,
    Kind,
    NetworkIssue,
    NewTicket,
    Status,
    Ticket,
    TranscriptTurn,
)
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from tests.conftest import FakeClock
from tests.integration.test_tickets import new_ticket

AGENT = "li.na"
AGENT_NAME = "Li Na"
PASSWORD = "correct horse battery"
VERIFIED_LINE = "13800000004"  # Liu Yang in the demo data: two add-ons, no consent on record
UNVERIFIED_CONTACT = "13700000107"
ADDRESS = "198.51.100.7"
OTHER_ADDRESS = "198.51.100.8"


# ---- the console running on a real socket


class Console:
    """The app served on a free port by an event loop in a background thread; over TLS when
    given a certificate."""

    def __init__(self, app: Sanic, certificate: Certificate | None = None) -> None:
        self._app = app
        self._certificate = certificate
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        scheme = "https" if certificate else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self._socket.getsockname()[1]}"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._clients: list[Client] = []

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        # Sanic 21.12's create_server already listens when it returns; startup() then
        # finalises the routes.
        tls = None
        if self._certificate:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(self._certificate.cert_file, self._certificate.key_file)
        server = self._loop.run_until_complete(
            self._app.create_server(
                sock=self._socket, ssl=tls, return_asyncio_server=True, access_log=False
            )
        )
        self._loop.run_until_complete(server.startup())
        self._ready.set()
        self._loop.run_forever()
        # Stopped by __exit__: drop the clients' keep-alive connections, then let every
        # connection task see its end before the loop goes.
        for connection in list(server.connections):
            connection.close()
        server.close()
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def __enter__(self) -> Console:
        self._thread.start()
        assert self._ready.wait(10), "the console did not start"
        return self

    def __exit__(self, *_exc) -> None:
        for client in self._clients:
            client.http.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def client(self, **cookies: str) -> Client:
        client = Client(self.base_url, cookies)
        if self._certificate:
            # Else REQUESTS_CA_BUNDLE, where set, would win over the session's own setting.
            client.http.trust_env = False
            client.http.verify = str(self._certificate.cert_file)
        self._clients.append(client)
        return client


class Client:
    """A browser stand-in: keeps cookies, never follows redirects on its own."""

    def __init__(self, base_url: str, cookies: dict[str, str]) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        for name, value in cookies.items():
            self.http.cookies.set(name, value)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.base_url + path, allow_redirects=False, timeout=10, **kwargs)

    def post(self, path: str, data: dict | None = None, **kwargs) -> requests.Response:
        return self.http.post(
            self.base_url + path, data=data or {}, allow_redirects=False, timeout=10, **kwargs
        )

    def follow(self, response: requests.Response) -> requests.Response:
        assert response.status_code == 303, response.text
        return self.get(response.headers["Location"])

    def sign_in(
        self, username: str = AGENT, password: str = PASSWORD, next_path: str = "/"
    ) -> requests.Response:
        form = self.get("/login")
        return self.post(
            "/login",
            {
                "csrf_token": hidden_field(form.text, "csrf_token"),
                "next": next_path,
                "username": username,
                "password": password,
            },
        )

    def csrf_token(self) -> str:
        return hidden_field(self.get("/").text, "csrf_token")

    def submit(self, path: str, **fields: str) -> requests.Response:
        """A signed-in form: with the page's CSRF token, the redirect followed."""
        return self.follow(self.post(path, {"csrf_token": self.csrf_token(), **fields}))


class Certificate:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""

    def __init__(self, directory: Path) -> None:
        self.cert_file = directory / "cert.pem"
        self.key_file = directory / "key.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(self.key_file),
                "-out",
                str(self.cert_file),
            ],
            check=True,
            capture_output=True,
        )


def hidden_field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} field on the page"
    return match.group(1)


def ticket_ids(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/tickets/([^"]+)">', page)


def status_options(page: str) -> list[str]:
    form = re.search(r'<select id="new-status" name="status">(.*?)</select>', page, re.DOTALL)
    return re.findall(r'<option value="([^"]+)"', form.group(1)) if form else []


# ---- fixtures


@pytest.fixture
def agents(sqlite_engine, clock) -> AgentAccounts:
    accounts = AgentAccounts(sqlite_engine, clock)
    accounts.create(AGENT, AGENT_NAME, PASSWORD)
    return accounts


@pytest.fixture
def tickets(sqlite_engine, clock) -> SqlTicketService:
    return SqlTicketService(sqlite_engine, clock)


class Desk:
    """The tickets every console test starts from (TODAY 10:00 is "now")."""

    def __init__(self, tickets: SqlTicketService, clock: FakeClock) -> None:
        self._tickets = tickets
        self._clock = clock
        last_week = [
            self._file(Category.BILLING, timedelta(days=days), f"1370000010{days}")
            for days in (10, 8)
        ]
        for old in last_week:
            for status in (Status.RESOLVED, Status.CLOSED):
                tickets.change_status(old.id, status, by="someone")
        self.closed = [old.id for old in last_week]
        self.billing_overdue = self._file(
            Category.BILLING,
            timedelta(days=3),
            VERIFIED_LINE,
            msisdn=VERIFIED_LINE,
            transcript=[
                ("customer", "Why do I pay for a ringback tone I never ordered?"),
                ("assistant", "I have recorded your complaint for an agent."),
            ],
        ).id
        five_g = self._file(Category.FIVE_G, timedelta(days=2), "13700000104")
        tickets.change_status(five_g.id, Status.RESOLVED, by="someone")
        self.five_g_resolved = five_g.id
        # An outage is high priority: its first answer was due 12 hours after it was filed.
        self.outage_overdue = self._file(
            Category.NETWORK,
            timedelta(days=1),
            "13700000105",
            channel="telegram",
            kind=Kind.FAULT,
            network_issue=NetworkIssue.NO_SIGNAL,
        ).id
        self.privacy_urgent = self._file(
            Category.PRIVACY, timedelta(hours=1), "13700000106", channel="telegram"
        ).id
        self.slow_data = self._file(
            Category.NETWORK,
            timedelta(minutes=30),
            UNVERIFIED_CONTACT,
            kind=Kind.FAULT,
            network_issue=NetworkIssue.SLOW_DATA,
        ).id

    def ids(self, *names: str) -> list[str]:
        """Ticket ids by attribute name, in the order given (``closed`` names two)."""
        found: list[str] = []
        for name in names:
            value = getattr(self, name)
            found.extend(value if isinstance(value, list) else [value])
        return found

    def _file(
        self,
        category: Category,
        ago: timedelta,
        contact: str,
        *,
        channel: str = "rest",
        msisdn: str | None = None,
        kind: Kind = Kind.COMPLAINT,
        network_issue: NetworkIssue | None = None,
        transcript: Sequence[tuple[str, str]] = (),
    ) -> Ticket:
        now = self._clock.now
        self._clock.now = now - ago
        try:
            return self._tickets.file(
                NewTicket(
                    kind=kind,
                    category=category,
                    description=f"{category.value} problem",
                    contact_number=contact,
                    channel=channel,
                    conversation_id=uuid.uuid4().hex,
                    language="en",
                    transcript=[
                        TranscriptTurn(speaker, text, self._clock.now)
                        for speaker, text in transcript
                    ],
                    idempotency_key=uuid.uuid4().hex,
                    msisdn=msisdn,
                    network_issue=network_issue,
                )
            ).ticket
        finally:
            self._clock.now = now


@pytest.fixture
def desk(tickets, clock: FakeClock) -> Desk:
    return Desk(tickets, clock)


@pytest.fixture
def start_console(
    sqlite_engine, tickets, agents, clock, desk, monkeypatch
) -> Iterator[Callable[..., Console]]:
    """Starts a console with create_app's options (and a TLS certificate); all stop at the
    end of the test."""
    # Sanic rewrites its own request handler at start-up; in test mode it keeps the original,
    # so that a second app in this process can start too.
    monkeypatch.setattr(Sanic, "test_mode", True)
    with ExitStack() as running:

        def start(certificate: Certificate | None = None, **options: object) -> Console:
            app = create_app(
                tickets,
                SqlAccountService(sqlite_engine, clock),
                agents,
                clock=clock,
                name=f"console_test_{uuid.uuid4().hex}",
                **options,
            )
            return running.enter_context(Console(app, certificate))

        yield start


@pytest.fixture
def console(start_console) -> Console:
    return start_console()


@pytest.fixture
def agent(console) -> Client:
    client = console.client()
    assert client.sign_in().status_code == 303
    return client


# ---- without a session


@pytest.mark.parametrize("path", ["/", "/hotspots", "/tickets/{id}", "/lang/zh"])
def test_pages_without_a_session_send_to_sign_in(console, desk, path):
    path = path.format(id=desk.slow_data)
    response = console.client().get(path + "?x=1")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=" + requests.utils.quote(
        path + "?x=1", safe=""
    )


@pytest.mark.parametrize("action", ["status", "assign", "notes", "reply"])
def test_forms_without_a_session_are_refused(console, desk, tickets, action):
    response = console.client().post(
        f"/tickets/{desk.privacy_urgent}/{action}", {"status": "in_progress", "text": "x"}
    )
    assert response.status_code == 401
    assert "sign in again" in response.text
    unchanged = tickets.get(desk.privacy_urgent)
    assert (unchanged.status, unchanged.assigned_to, unchanged.notes, unchanged.transcript) == (
        Status.OPEN,
        None,
        (),
        (),
    )


def test_logout_without_a_session_is_refused(console):
    assert console.client().post("/logout").status_code == 401


def test_health_static_and_sign_in_need_no_session(console):
    client = console.client()
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    css = client.get("/static/console.css")
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert client.get("/login").status_code == 200


def test_every_response_carries_the_security_headers(console):
    for response in (console.client().get("/login"), console.client().get("/health")):
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_load_nothing_from_elsewhere(agent, desk):
    for path in ("/", "/hotspots", f"/tickets/{desk.billing_overdue}"):
        page = agent.get(path).text
        # Scripts are the console's own files, never code in the page (the CSP forbids it).
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.DOTALL)
        assert scripts and all(body == "" for body in scripts)
        assert all(
            re.fullmatch(r'<script src="/static/[\w.]+\.js" defer>', tag)
            for tag in re.findall(r"<script\b[^>]*>", page)
        )
        assert not re.search(r'(src|href)="(https?:)?//', page)


# ---- signing in


def test_sign_in_sets_a_strict_http_only_session_cookie(console):
    response = console.client().sign_in(next_path="/hotspots")
    assert response.status_code == 303
    assert response.headers["Location"] == "/hotspots"
    session_cookie = next(
        header
        for header in response.raw.headers.getlist("Set-Cookie")
        if header.startswith("console_session=")
    )
    assert "HttpOnly" in session_cookie
    assert "SameSite=Strict" in session_cookie
    assert "Path=/" in session_cookie


def test_signed_in_agent_sees_the_queue_with_their_name(agent):
    page = agent.get("/")
    assert page.status_code == 200
    assert f"Signed in as {AGENT_NAME}" in page.text


def test_wrong_password_is_refused(console):
    client = console.client()
    response = client.sign_in(password="not the password")
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert client.get("/").status_code == 303


def test_unknown_agent_is_refused_like_a_wrong_password(console):
    response = console.client().sign_in(username="nobody")
    assert response.status_code == 401
    assert "Wrong username or password" in response.text


def test_five_failures_lock_the_username_for_fifteen_minutes(console, clock):
    client = console.client()
    for _ in range(MAX_FAILED_SIGN_INS):
        client.sign_in(password="not the password")
    locked = client.sign_in()
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    clock.advance(minutes=15)
    assert client.sign_in().status_code == 303


def test_one_address_guessing_many_usernames_is_locked_out(console, clock):
    attacker = console.client()
    statuses = []
    for attempt in range(MAX_FAILED_SIGN_INS_PER_ADDRESS):
        # Whatever the client writes before the entry the proxy appends changes nothing.
        attacker.http.headers["X-Forwarded-For"] = f"10.0.0.{attempt}, {ADDRESS}"
        statuses.append(attacker.sign_in(username=f"guess{attempt}").status_code)
    assert statuses == [401] * (MAX_FAILED_SIGN_INS_PER_ADDRESS - 1) + [429]

    locked = attacker.sign_in()  # even with the right username and password
    assert locked.status_code == 429
    assert "Too many failed sign-ins from your network address. Try again after" in locked.text
    zh = console.client(lang="zh")
    zh.http.headers["X-Forwarded-For"] = ADDRESS
    assert "您所在网络地址的登录失败次数过多" in zh.sign_in().text

    elsewhere = console.client()
    elsewhere.http.headers["X-Forwarded-For"] = OTHER_ADDRESS
    assert elsewhere.sign_in().status_code == 303

    clock.advance(minutes=14)
    assert attacker.sign_in().status_code == 429
    clock.advance(minutes=1)
    assert attacker.sign_in().status_code == 303


def test_checking_a_password_leaves_the_console_answering(console, monkeypatch):
    checking, finish = threading.Event(), threading.Event()

    def slow_check(password: str, stored: str) -> bool:
        checking.set()
        finish.wait(10)
        return verify_password(password, stored)

    monkeypatch.setattr("telecom_assistant.agents.accounts.verify_password", slow_check)
    with ThreadPoolExecutor(max_workers=1) as background:
        try:
            signing_in = background.submit(console.client().sign_in)
            assert checking.wait(10), "the sign-in never checked the password"
            health = requests.get(console.base_url + "/health", timeout=2)
            assert health.status_code == 200
            assert not signing_in.done()
        finally:
            finish.set()
        assert signing_in.result().status_code == 303


def test_sign_in_form_needs_its_csrf_cookie(console):
    client = console.client()
    forged = client.post(
        "/login", {"csrf_token": "guessed", "username": AGENT, "password": PASSWORD}
    )
    assert forged.status_code == 403
    assert client.get("/").status_code == 303


def test_a_second_sign_in_page_keeps_the_first_form_valid(console):
    client = console.client()
    first_form = client.get("/login?next=/hotspots").text
    client.follow(client.get("/favicon.ico"))  # a browser fetches it, redirected to /login
    response = client.post(
        "/login",
        {
            "csrf_token": hidden_field(first_form, "csrf_token"),
            "username": AGENT,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 303


def test_sign_in_never_redirects_off_the_console(console):
    response = console.client().sign_in(next_path="//evil.example/")
    assert response.headers["Location"] == "/"


def test_log_out_ends_the_session(agent):
    signed_out = agent.submit("/logout")
    assert "You are signed out" in signed_out.text
    assert agent.get("/").status_code == 303


def test_idle_session_expires(agent, clock):
    clock.advance(minutes=20)
    assert agent.get("/").status_code == 200  # use restarts the idle timeout
    clock.advance(minutes=20)
    assert agent.get("/").status_code == 200
    clock.advance(minutes=31)
    response = agent.get("/hotspots")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=%2Fhotspots"


# ---- Secure cookies


COOKIES = {"console_session", "console_login_csrf", "console_flash", "lang"}


def cookies_set_on_a_visit(client: Client) -> dict[str, list[str]]:
    """Every Set-Cookie header, by cookie name, from a visit that sets each of the console's
    cookies: the sign-in form, signing in, switching language, signing out (a flash)."""

    def send(method: str, path: str, data: dict | None = None) -> requests.Response:
        # By hand: requests keeps a Secure cookie to itself over http, where the browser
        # behind the TLS proxy these tests leave out would send it.
        cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in client.http.cookies)
        return client.http.request(
            method,
            client.base_url + path,
            data=data,
            headers={"Cookie": cookies},
            allow_redirects=False,
            timeout=10,
        )

    form = send("GET", "/login")
    signed_in = send(
        "POST",
        "/login",
        {
            "csrf_token": hidden_field(form.text, "csrf_token"),
            "username": AGENT,
            "password": PASSWORD,
        },
    )
    assert signed_in.status_code == 303
    switched = send("GET", "/lang/zh?next=/")
    signed_out = send(
        "POST", "/logout", {"csrf_token": hidden_field(send("GET", "/").text, "csrf_token")}
    )
    headers: dict[str, list[str]] = {}
    for response in (form, signed_in, switched, signed_out):
        for header in response.raw.headers.getlist("Set-Cookie"):
            headers.setdefault(header.split("=", 1)[0], []).append(header)
    assert headers.keys() == COOKIES
    return headers


def is_secure(set_cookie: str) -> bool:
    return bool(re.search(r";\s*secure\s*(;|$)", set_cookie, re.IGNORECASE))


def test_cookies_over_plain_http_are_not_secure(console):
    headers = cookies_set_on_a_visit(console.client())
    assert not any(is_secure(header) for found in headers.values() for header in found)


def test_cookies_are_secure_over_https(start_console, tmp_path):
    console = start_console(certificate=Certificate(tmp_path))
    headers = cookies_set_on_a_visit(console.client())
    assert all(is_secure(header) for found in headers.values() for header in found)


def test_cookies_are_secure_behind_an_https_proxy_on_this_machine(console):
    client = console.client()
    client.http.headers["X-Forwarded-Proto"] = "https"
    headers = cookies_set_on_a_visit(client)
    assert all(is_secure(header) for found in headers.values() for header in found)


def test_cookies_are_always_secure_in_the_production_profile(start_console):
    console = start_console(always_secure_cookies=True)
    headers = cookies_set_on_a_visit(console.client())
    assert all(is_secure(header) for found in headers.values() for header in found)


def forwarded_request(peer: str, **headers: str) -> SimpleNamespace:
    """What client_address and wants_secure_cookies read of a request."""
    return SimpleNamespace(
        ip=peer,
        headers=Header({name.replace("_", "-"): value for name, value in headers.items()}),
        scheme="http",
        app=SimpleNamespace(config=SimpleNamespace(ALWAYS_SECURE_COOKIES=False)),
    )


@pytest.mark.parametrize(
    "peer, secure",
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("203.0.113.9", False),
    ],
)
def test_only_a_proxy_on_this_machine_is_believed_about_https(peer, secure):
    assert wants_secure_cookies(forwarded_request(peer, x_forwarded_proto="https")) is secure


@pytest.mark.parametrize(
    "peer, forwarded_for, expected",
    [
        ("127.0.0.1", ADDRESS, ADDRESS),
        ("127.0.0.1", f"10.0.0.1, {ADDRESS}", ADDRESS),  # the entry the proxy appended
        ("::1", "2001:db8::1", "2001:db8::1"),
        ("127.0.0.1", "not an address", "127.0.0.1"),
        ("127.0.0.1", "", "127.0.0.1"),
        ("203.0.113.9", ADDRESS, "203.0.113.9"),  # anyone else could have written it
    ],
)
def test_client_address(peer, forwarded_for, expected):
    request = forwarded_request(peer, x_forwarded_for=forwarded_for)
    assert client_address(request) == expected


@pytest.mark.parametrize(
    "environ, argv, secure",
    [
        ({}, [], False),
        ({"TELECOM_PROFILE": "embedded"}, [], False),
        ({}, ["--secure-cookies"], True),
        ({"TELECOM_PROFILE": "production"}, [], True),
    ],
)
def test_secure_cookies_from_the_flag_or_the_production_profile(environ, argv, secure):
    settings = Settings.from_environment(environ)
    assert argument_parser(settings).parse_args(argv).secure_cookies is secure


def test_console_listens_on_this_machine_only_by_default():
    arguments = argument_parser(Settings()).parse_args([])
    assert (arguments.host, arguments.port) == ("127.0.0.1", 5002)


# ---- CSRF


def test_form_without_csrf_token_is_forbidden(agent, desk, tickets):
    response = agent.post(f"/tickets/{desk.slow_data}/status", {"status": "in_progress"})
    assert response.status_code == 403
    assert tickets.get(desk.slow_data).status is Status.OPEN


def test_form_with_wrong_csrf_token_is_forbidden(agent, desk, tickets):
    response = agent.post(f"/tickets/{desk.slow_data}/assign", {"csrf_token": "x" * 43})
    assert response.status_code == 403
    assert tickets.get(desk.slow_data).assigned_to is None


# ---- the queue


def test_queue_shows_the_active_tickets_by_due_date(agent, desk):
    assert ticket_ids(agent.get("/").text) == desk.ids(
        "billing_overdue", "privacy_urgent", "outage_overdue", "slow_data"
    )


@pytest.mark.parametrize(
    "query, expected",
    [
        ("status=resolved", ["five_g_resolved"]),
        ("status=closed&sort=oldest", ["closed"]),
        ("category=network&sort=oldest", ["outage_overdue", "slow_data"]),
        ("priority=urgent", ["privacy_urgent"]),
        ("priority=high", ["outage_overdue"]),
        ("channel=telegram&sort=oldest", ["outage_overdue", "privacy_urgent"]),
        ("status=open&overdue=1&sort=oldest", ["billing_overdue", "outage_overdue"]),
        ("status=open&channel=rest&category=billing", ["billing_overdue"]),
    ],
)
def test_queue_filters(agent, desk, query, expected):
    assert ticket_ids(agent.get("/?" + query).text) == desk.ids(*expected)


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("due", ["billing_overdue", "privacy_urgent", "outage_overdue", "slow_data"]),
        ("priority", ["privacy_urgent", "outage_overdue", "billing_overdue", "slow_data"]),
        ("newest", ["slow_data", "privacy_urgent", "outage_overdue", "billing_overdue"]),
        ("oldest", ["billing_overdue", "outage_overdue", "privacy_urgent", "slow_data"]),
    ],
)
def test_queue_sorts(agent, desk, sort, expected):
    query = "status=open&status=in_progress&status=waiting_for_customer&sort=" + sort
    assert ticket_ids(agent.get("/?" + query).text) == desk.ids(*expected)


def test_overdue_tickets_are_labelled(agent, desk):
    page = agent.get("/").text
    rows = {
        ticket_id: bool(overdue)
        for overdue, ticket_id in re.findall(
            r'<tr class="ticket-row( overdue)?">\s*<th scope="row"><a href="/tickets/([^"]+)">',
            page,
        )
    }
    assert rows == {
        desk.billing_overdue: True,
        desk.privacy_urgent: False,
        desk.outage_overdue: True,
        desk.slow_data: False,
    }
    # Both missed the first response; the outage's repair is not due yet.
    assert page.count('<span class="badge badge-overdue">Response overdue</span>') == 2
    assert "Repair overdue" not in page


# ---- the ticket page


def test_ticket_page_shows_transcript_and_customer(agent, desk):
    page = agent.get(f"/tickets/{desk.billing_overdue}").text
    assert "Why do I pay for a ringback tone I never ordered?" in page
    assert 'class="turn turn-customer"' in page and 'class="turn turn-assistant"' in page
    assert "Liu Yang" in page and "4G Basic 39" in page
    assert page.count('<tr class="bill-') == 3
    assert "Colour Ringback Tone" in page and "Daily News SMS" in page
    assert "¥5.00" in page  # the ringback tone's monthly fee
    assert VERIFIED_LINE in page  # the verified line is the contact number: shown in full


def test_unverified_contact_number_is_masked(agent, desk):
    page = agent.get(f"/tickets/{desk.slow_data}").text
    assert "137****0107" in page
    assert UNVERIFIED_CONTACT not in page
    assert "Customer</h2>" not in page  # no verified line, no account data


def test_ticket_page_offers_only_legal_transitions(agent, desk):
    assert status_options(agent.get(f"/tickets/{desk.slow_data}").text) == [
        "in_progress",
        "waiting_for_customer",
        "resolved",
    ]
    assert status_options(agent.get(f"/tickets/{desk.five_g_resolved}").text) == [
        "open",
        "closed",
    ]
    closed = agent.get(f"/tickets/{desk.closed[0]}").text
    assert status_options(closed) == []
    assert "A closed ticket is final." in closed


def test_illegal_transition_is_refused_and_changes_nothing(agent, desk, tickets):
    page = agent.submit(f"/tickets/{desk.slow_data}/status", status="closed")
    assert "A ticket that is Open cannot become Closed." in page.text
    assert tickets.get(desk.slow_data).status is Status.OPEN


def test_legal_transition_is_recorded_with_the_agent(agent, desk, tickets):
    page = agent.submit(f"/tickets/{desk.slow_data}/status", status="in_progress")
    assert "Status changed to In progress." in page.text
    change = tickets.get(desk.slow_data).history[-1]
    assert (change.from_status, change.to_status, change.by) == (
        Status.OPEN,
        Status.IN_PROGRESS,
        AGENT,
    )
    assert re.search(r"<td>Open</td>\s*<td>In progress</td>\s*<td>li.na</td>", page.text)


def test_assign_to_me(agent, desk, tickets):
    page = agent.submit(f"/tickets/{desk.slow_data}/assign")
    assert "The ticket is assigned to you." in page.text
    assert "This ticket is assigned to you." in page.text
    assert tickets.get(desk.slow_data).assigned_to == AGENT


def test_add_note_is_kept_and_escaped(agent, desk, tickets):
    page = agent.submit(f"/tickets/{desk.slow_data}/notes", text="Called back <b>twice</b>")
    assert "Note added." in page.text
    assert "Called back &lt;b&gt;twice&lt;/b&gt;" in page.text
    note = tickets.get(desk.slow_data).notes[-1]
    assert (note.author, note.text) == (AGENT, "Called back <b>twice</b>")


def test_empty_note_is_refused(agent, desk, tickets):
    page = agent.submit(f"/tickets/{desk.slow_data}/notes", text="   ")
    assert "Write the note first." in page.text
    assert tickets.get(desk.slow_data).notes == ()


def test_reply_to_a_telegram_customer_joins_the_transcript(agent, desk, tickets):
    page = agent.get(f"/tickets/{desk.privacy_urgent}")
    assert "Telegram chat at once" in page.text

    page = agent.submit(
        f"/tickets/{desk.privacy_urgent}/reply", text="We have blocked <b>the caller</b>."
    )

    assert "The reply is on its way to the customer." in page.text
    assert "We have blocked &lt;b&gt;the caller&lt;/b&gt;." in page.text
    assert "not delivered yet" in page.text
    [turn] = tickets.get(desk.privacy_urgent).transcript
    assert (turn.speaker, turn.author, turn.text) == (
        "agent",
        AGENT,
        "We have blocked <b>the caller</b>.",
    )


def test_a_delivered_reply_is_marked_so(agent, desk, tickets, sqlite_engine, clock):
    tickets.reply(desk.privacy_urgent, AGENT, "Hello")
    outbox = SqlReplyOutbox(sqlite_engine, clock)
    [reply] = outbox.pending("telegram")
    outbox.mark_delivered([reply.id], reply.conversation_id)
    page = agent.get(f"/tickets/{desk.privacy_urgent}").text
    assert "delivered" in page and "not delivered yet" not in page


@pytest.mark.parametrize(
    "text, flash",
    [
        ("  ", "Write the reply first."),
        ("x" * 2001, "A reply can have at most 2000 characters."),
    ],
)
def test_empty_or_overlong_reply_is_refused(agent, desk, tickets, text, flash):
    page = agent.submit(f"/tickets/{desk.privacy_urgent}/reply", text=text)
    assert flash in page.text
    assert tickets.get(desk.privacy_urgent).transcript == ()


def test_a_ticket_from_the_bare_rest_api_offers_no_reply(agent, desk, tickets):
    page = agent.get(f"/tickets/{desk.slow_data}").text
    assert "cannot carry a reply. Call the customer" in page
    assert f"/tickets/{desk.slow_data}/reply" not in page
    page = agent.submit(f"/tickets/{desk.slow_data}/reply", text="Hello")
    assert "channel cannot carry a reply." in page.text
    assert tickets.get(desk.slow_data).transcript == ()


def test_a_ticket_filed_by_sms_is_answered_by_sms(agent, tickets, sqlite_engine, clock):
    ticket = tickets.file(
        new_ticket(channel="sms", conversation_id="sms-of-the-line", idempotency_key="sms-1")
    ).ticket
    page = agent.get(f"/tickets/{ticket.id}").text
    assert "phone by SMS at once (a long one in several)" in page
    agent.submit(f"/tickets/{ticket.id}/reply", text="The double charge is refunded.")
    (waiting,) = SqlReplyOutbox(sqlite_engine, clock).pending("sms")
    assert waiting.ticket_id == ticket.id and waiting.text == "The double charge is refunded."


def test_flash_message_is_shown_once(agent, desk):
    agent.submit(f"/tickets/{desk.slow_data}/assign")
    assert "The ticket is assigned to you." not in agent.get(f"/tickets/{desk.slow_data}").text


def test_unknown_ticket_is_not_found(agent):
    response = agent.get("/tickets/TK-000000-0000")
    assert response.status_code == 404
    assert "There is no ticket TK-000000-0000." in response.text


# ---- hot spots


def test_hotspots_chart_names_the_rising_category(agent):
    page = agent.get("/hotspots").text
    svg = re.search(r"<svg.*?</svg>", page, re.DOTALL).group(0)
    assert "<title" in svg and "<desc" in svg
    assert "Rising most this week: Mobile network, 2 tickets this week against 0 last week." in page
    assert '<th scope="row">2026-11-23</th>' in page  # the data table under the chart


# ---- languages


def test_chinese_interface_from_the_language_cookie(console):
    client = console.client(lang="zh")
    client.sign_in()
    page = client.get("/").text
    assert '<html lang="zh-Hans">' in page
    for label in (
        "工单队列",
        "热点问题",
        "退出登录",
        "待处理",
        "账单",
        "不知情定制",
        "已超时",
        "紧急",
    ):
        assert label in page
    assert "网络" in client.get("/hotspots").text


def test_language_toggle_sets_the_cookie_and_goes_back(agent):
    response = agent.get("/lang/zh?next=/hotspots")
    assert response.status_code == 303
    assert response.headers["Location"] == "/hotspots"
    assert "本周上升最多：移动网络" in agent.follow(response).text


def test_sign_in_page_follows_the_browser_and_has_its_own_toggle(console):
    client = console.client()
    assert "用户名" in client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    switched = client.get("/login?lang=zh&next=/hotspots")
    assert switched.headers["Location"] == "/login?next=%2Fhotspots"
    assert "用户名" in client.follow(switched).text


@pytest.mark.parametrize(
    "header, expected",
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-GB,zh;q=0.9", "en"),
        ("fr-FR,zh-TW;q=0.5", "zh"),
        ("de", "en"),
        ("", "en"),
    ],
)
def test_language_from_accept_language(header, expected):
    assert pick_language(None, header) == expected


# ---- agent accounts


def test_passwords_are_stored_as_salted_scrypt(sqlite_engine, clock):
    accounts = AgentAccounts(sqlite_engine, clock)
    accounts.create("wang.fang", "Wang Fang", PASSWORD)
    accounts.create("zhao.li", "Zhao Li", PASSWORD)
    with Session(sqlite_engine) as session:
        hashes = session.scalars(select(AgentRow.password_hash)).all()
    assert all(stored.startswith("scrypt$") for stored in hashes)
    assert len(set(hashes)) == 2  # same password, different salt
    assert all(verify_password(PASSWORD, stored) for stored in hashes)


def test_duplicate_agent_and_short_password_are_refused(agents):
    with pytest.raises(DuplicateAgent, match="already exists"):
        agents.create(AGENT.upper(), "Someone Else", PASSWORD)
    with pytest.raises(WeakPassword, match="at least 10 characters"):
        agents.create("new.agent", "New Agent", "short")


def authenticate(
    agents: AgentAccounts, username: str, password: str, address: str = ADDRESS
) -> Agent | None:
    return asyncio.run(agents.authenticate(username, password, address))


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(agents, clock):
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        authenticate(agents, AGENT, "wrong password")
    clock.advance(minutes=16)
    authenticate(agents, AGENT, "wrong password")
    assert agents.lockout(AGENT, ADDRESS) is None
    assert authenticate(agents, AGENT, PASSWORD) is not None


def test_an_ipv6_network_counts_as_one_address(agents, clock):
    for host in range(MAX_FAILED_SIGN_INS_PER_ADDRESS):
        authenticate(agents, f"guess{host}", "wrong password", address=f"2001:db8:0:1::{host:x}")
    assert agents.lockout(AGENT, "2001:db8:0:1:ffff::1") == Lockout(
        clock.now + timedelta(minutes=15), by_address=True
    )
    assert agents.lockout(AGENT, "2001:db8:0:2::1") is None


def test_simultaneous_guesses_are_counted_before_more_are_checked(agents, monkeypatch):
    """Checking runs off the event loop; a burst must still not get past the lock-out."""
    checked: list[str] = []

    def counting_check(password: str, stored: str) -> bool:
        checked.append(password)
        return verify_password(password, stored)

    monkeypatch.setattr("telecom_assistant.agents.accounts.verify_password", counting_check)

    async def burst() -> list:
        return await asyncio.gather(
            *(
                agents.authenticate(AGENT, f"guess {attempt}", f"198.51.100.{attempt}")
                for attempt in range(3 * MAX_FAILED_SIGN_INS)
            )
        )

    assert asyncio.run(burst()) == [None] * (3 * MAX_FAILED_SIGN_INS)
    assert len(checked) == MAX_FAILED_SIGN_INS


def test_session_token_is_stored_only_as_a_hash(agents, sqlite_engine):
    token, csrf_token = agents.open_session(AGENT)
    with Session(sqlite_engine) as session:
        stored = session.scalars(select(ConsoleSessionRow.token_hash)).one()
    assert token not in stored
    assert agents.session(token).csrf_token == csrf_token


def test_session_ends_after_eight_hours_however_busy(agents, clock):
    token, _ = agents.open_session(AGENT)
    steps = int(ABSOLUTE_TIMEOUT / (IDLE_TIMEOUT / 2))
    for _ in range(steps - 1):
        clock.advance(seconds=(IDLE_TIMEOUT / 2).total_seconds())
        assert agents.session(token) is not None
    clock.advance(seconds=(IDLE_TIMEOUT / 2).total_seconds())
    assert agents.session(token) is None
    assert agents.session(token) is None  # and it is gone


def test_closed_session_is_refused(agents):
    token, _ = agents.open_session(AGENT)
    agents.close_session(token)
    assert agents.session(token) is None


def test_what_a_page_fetches_by_itself_does_not_keep_an_idle_agent_signed_in(agent, clock):
    for minutes in (10, 10, 9):  # an open queue refreshing its rows while the agent is away
        clock.advance(minutes=minutes)
        assert agent.get("/queue/rows", headers={"X-Console-Background": "1"}).status_code == 200
    clock.advance(minutes=2)  # 31 minutes since the agent last did anything
    assert agent.get("/").status_code == 303
