"""The customer web chat (`python -m channels.webchat`) against a fake Rasa "webchat" channel and a
database of its own: sessions (the server names each conversation, never the browser), the
relay and the inbox of agents' replies over HTTP, then the page in a real browser (Debian's
headless Chromium driven by Playwright).

No trained model is needed; tests/e2e/test_channels.py runs the page against the real assistant and
takes the README's screenshots.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from datetime import time as dt_time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from channels.webchat.sessions import (
    SENDER_PREFIX,
    SESSION_COOKIE,
    SESSION_MAX_AGE_SECONDS,
    Sessions,
    came_over_https,
)
from ops import parts
from ops.launcher import StartFailed, start
from telecom_assistant.database import make_engine
from telecom_assistant.schema import Area, migrate
from telecom_assistant.tickets.model import (
    Category,
    Delivery,
    Kind,
    NewTicket,
    Ticket,
    TranscriptTurn,
)
from telecom_assistant.tickets.replies import TELEGRAM, WEBCHAT
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.trust import CHANNEL_SECRET_HEADER, conversation_id
from tests.conftest import TODAY
from tests.stack import PROJECT_ROOT, free_port

UNREACHABLE = "The assistant can't be reached right now"
COOKIES_NEEDED = "Please allow cookies for this site"
AGENT = "agent.chen"
# The page polls its inbox every 3 seconds.
INBOX_WAIT_MS = 8000
CANNED = {
    "hi": [
        {
            "text": "Hello! What can I do?",
            "buttons": [{"title": "My usage", "payload": "/check_usage"}],
        }
    ],
    "/check_usage": [{"text": "Please tell me your number"}],
}
CHANNEL_SECRET = "test-channel-secret-of-the-web-chat-0123456789"
CONVERSATION_KEY = "test-conversation-key-of-the-web-chat-0123456789"
SECRETS = {"TELECOM_CHANNEL_SECRET": CHANNEL_SECRET, "TELECOM_CONVERSATION_KEY": CONVERSATION_KEY}


class FakeRasa:
    """Rasa's "webchat" channel with canned replies; `down` makes it answer 503. It keeps each
    message it answered, and the channel secret each came with."""

    def __init__(self) -> None:
        self.down = False
        self.received: list = []
        self.channel_secrets: list = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/webhooks/webchat/webhook":
                    return self._answer(404, {"error": "not found"})
                if fake.down:
                    return self._answer(503, {"error": "down"})
                fake.received.append(body)
                fake.channel_secrets.append(self.headers.get(CHANNEL_SECRET_HEADER))
                message = body.get("message", "")
                self._answer(200, CANNED.get(message, [{"text": f"You said: {message}"}]))

            def _answer(self, status: int, payload: object) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeRasa:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def rasa():
    with FakeRasa() as fake:
        yield fake


@pytest.fixture(autouse=True)
def rasa_up(rasa):
    rasa.down = False
    yield


def webchat_environment(rasa_url: str, database_url: str, **settings: str) -> dict:
    """The environment of `python -m channels.webchat`: the test's secrets, the embedded profile."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in SECRETS and name != "TELECOM_PROFILE"
    }
    return {**inherited, **SECRETS, "RASA_URL": rasa_url, "DATABASE_URL": database_url, **settings}


@contextmanager
def running_webchat(rasa_url: str, database_url: str, log: Path, **settings: str) -> Iterator[str]:
    """`python -m channels.webchat` on a free port; yields its URL."""
    webchat = parts.webchat(
        free_port(),
        rasa_url,
        log=log,
        environment=webchat_environment(rasa_url, database_url, **settings),
    )
    try:
        running = start(webchat, timeout=30)
    except StartFailed:
        pytest.fail("webchat did not start:\n" + log.read_text())
    try:
        yield webchat.url
    finally:
        running.stop()


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """The web chat's database, shared by the module like the web chat itself."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('database') / 'telecom.db'}")
    migrate(engine, [Area.TICKETS])
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def webchat_with_log(rasa, database, tmp_path_factory):
    log = tmp_path_factory.mktemp("webchat") / "webchat.log"
    with running_webchat(rasa.url, str(database.url), log) as url:
        yield url, log


@pytest.fixture(scope="module")
def webchat(webchat_with_log):
    return webchat_with_log[0]


@pytest.fixture(scope="module")
def webchat_without_database(rasa, tmp_path_factory):
    """A web chat whose database disappears once it has started; yields its URL and log."""
    workdir = tmp_path_factory.mktemp("webchat-without-database")
    database_file = workdir / "database" / "telecom.db"
    log = workdir / "webchat.log"
    with running_webchat(rasa.url, f"sqlite:///{database_file}", log) as url:
        database_file.unlink()
        database_file.parent.rmdir()  # SQLite cannot even create a new, empty file
        yield url, log


@pytest.fixture
def tickets(database, clock) -> SqlTicketService:
    return SqlTicketService(database, clock=clock)


class Customer:
    """One browser's cookie jar: opening the page starts its session, as in a browser."""

    def __init__(self, webchat: str) -> None:
        self.client = httpx.Client(base_url=webchat)
        opened = self.client.get("/")
        assert opened.status_code == 200

    @property
    def cookie(self) -> str:
        return self.client.cookies[SESSION_COOKIE]

    @property
    def sender(self) -> str:
        """The conversation id Rasa and the tickets know this customer by."""
        session_id = self.cookie.split(".")[0]
        return conversation_id(SENDER_PREFIX, session_id, CONVERSATION_KEY)

    def say(self, text: str) -> httpx.Response:
        return self.client.post("/api/message", json={"message": text})

    def inbox(self) -> list:
        answer = self.client.get("/api/inbox")
        assert answer.status_code == 200
        return answer.json()["replies"]

    def acknowledge(self, reply_ids: list) -> int:
        answer = self.client.post("/api/inbox/ack", json={"ids": reply_ids})
        assert answer.status_code == 200
        return answer.json()["delivered"]


@pytest.fixture
def new_customer(webchat):
    customers = []

    def make() -> Customer:
        customers.append(Customer(webchat))
        return customers[-1]

    yield make
    for customer in customers:
        customer.client.close()


def session_cookie(answer: httpx.Response) -> SimpleCookie | None:
    """The session cookie the answer sets, with its attributes; None if it sets none."""
    cookie = SimpleCookie()
    for header in answer.headers.get_list("set-cookie"):
        cookie.load(header)
    return cookie.get(SESSION_COOKIE)


def answer_customer(
    tickets: SqlTicketService,
    sender: str,
    text: str,
    *,
    channel: str = WEBCHAT,
    language: str = "en",
) -> Ticket:
    """The customer of conversation `sender` files a ticket on `channel`; an agent answers it."""
    at = datetime.combine(TODAY, dt_time(9, 58))  # just before the clock's 10:00
    filing = tickets.file(
        NewTicket(
            kind=Kind.COMPLAINT,
            category=Category.BILLING,
            description="Charged twice for my plan",
            contact_number="13800000002",
            channel=channel,
            conversation_id=sender,
            language=language,
            transcript=(TranscriptTurn("customer", "I was charged twice", at),),
            idempotency_key=f"{channel}:{sender}:{uuid.uuid4()}",
        )
    )
    return tickets.reply(filing.ticket.id, AGENT, text)


def agent_replies(tickets: SqlTicketService, ticket_id: str) -> list[TranscriptTurn]:
    return [turn for turn in tickets.get(ticket_id).transcript if turn.speaker == "agent"]


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


# ---- sessions


def test_the_page_starts_a_session_in_an_httponly_strict_cookie(webchat):
    cookie = session_cookie(httpx.get(webchat + "/"))
    assert cookie is not None
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == str(SESSION_MAX_AGE_SECONDS)
    assert not cookie["secure"]  # plain http: a Secure cookie would never come back


def test_one_session_is_one_conversation_on_rasa(webchat, rasa, new_customer):
    customer, other = new_customer(), new_customer()
    assert customer.say("hi").json() == CANNED["hi"]
    assert customer.say("/check_usage").json() == CANNED["/check_usage"]
    assert other.say("hi").status_code == 200

    first, second, others = (message["sender"] for message in rasa.received[-3:])
    assert first == second == customer.sender
    assert others == other.sender != first
    # An HMAC of the session, not the session: the id the console shows opens no session.
    assert first.startswith(SENDER_PREFIX) and customer.cookie.split(".")[0] not in first


def test_the_page_renews_the_session_it_has(webchat, new_customer):
    customer = new_customer()
    cookie = customer.cookie
    renewed = session_cookie(customer.client.get("/"))
    assert renewed.value == cookie  # the month starts again, the conversation goes on


def test_a_first_message_without_a_cookie_starts_a_session(webchat, rasa):
    with httpx.Client(base_url=webchat) as client:
        answer = client.post("/api/message", json={"message": "hi"})
        assert answer.status_code == 200
        cookie = session_cookie(answer)
        assert cookie is not None and cookie["httponly"] is True
        assert client.get("/api/inbox").status_code == 200
    session_id = cookie.value.split(".")[0]
    assert rasa.received[-1]["sender"] == conversation_id(
        SENDER_PREFIX, session_id, CONVERSATION_KEY
    )


@pytest.mark.parametrize(
    "forge",
    [
        lambda victim: victim.cookie.split(".")[0] + "." + "0" * 64,
        lambda victim: victim.cookie.split(".")[0],
        lambda victim: Sessions("another-key-" * 4).cookie_for(victim.cookie.split(".")[0]),
        lambda victim: victim.sender,
        lambda victim: victim.cookie + "x",
        lambda victim: "",
    ],
    ids=[
        "wrong-signature",
        "unsigned",
        "signed-with-another-key",
        "the-sender-id",
        "tampered",
        "empty",
    ],
)
def test_a_cookie_that_does_not_verify_is_no_session(
    webchat_with_log, rasa, tickets, new_customer, forge
):
    webchat, log = webchat_with_log
    victim = new_customer()
    answer_customer(tickets, victim.sender, "Your refund was issued today.")
    forged = forge(victim)
    with httpx.Client(base_url=webchat, cookies={SESSION_COOKIE: forged}) as intruder:
        assert intruder.get("/api/inbox").json() == {"error": "no_session"}
        assert intruder.post("/api/inbox/ack", json={"ids": [1]}).status_code == 401
        answer = intruder.post("/api/message", json={"message": "hi"})
    assert answer.status_code == 200
    assert rasa.received[-1]["sender"] != victim.sender
    assert session_cookie(answer).value not in (forged, victim.cookie)  # a session of its own
    assert len(victim.inbox()) == 1
    if forged:
        assert "session cookie that does not verify" in log.read_text()


@pytest.mark.parametrize(
    "method, path, request_options",
    [
        ("POST", "/api/message", {"json": {"sender": "telegram-42", "message": "hi"}}),
        ("POST", "/api/message", {"json": {"sender": None, "message": "hi"}}),
        ("POST", "/api/message", {"json": {"message": "hi"}, "params": {"sender": "telegram-42"}}),
        ("GET", "/api/inbox", {"params": {"sender": "telegram-42"}}),
        ("POST", "/api/inbox/ack", {"json": {"sender": "telegram-42", "ids": [1]}}),
        ("POST", "/api/inbox/ack", {"json": {"ids": [1]}, "params": {"sender": "telegram-42"}}),
    ],
    ids=[
        "message-body",
        "message-body-null",
        "message-query",
        "inbox-query",
        "ack-body",
        "ack-query",
    ],
)
def test_a_request_that_names_its_conversation_is_refused(
    rasa, new_customer, method, path, request_options
):
    customer = new_customer()
    before = len(rasa.received)
    answer = customer.client.request(method, path, **request_options)
    assert answer.status_code == 400
    assert answer.json() == {"error": "sender_not_accepted"}
    assert len(rasa.received) == before


@pytest.mark.parametrize(
    "method, path, request_options",
    [
        ("GET", "/api/inbox", {}),
        ("POST", "/api/inbox/ack", {"json": {"ids": [1]}}),
    ],
    ids=["inbox", "ack"],
)
def test_the_inbox_without_a_session_answers_401(webchat, method, path, request_options):
    answer = httpx.request(method, webchat + path, **request_options)
    assert answer.status_code == 401
    assert answer.json() == {"error": "no_session"}
    assert session_cookie(answer) is None  # only the page and a message start one


@pytest.mark.parametrize(
    "origin",
    [
        "https://attacker.example",
        "null",
        "http://127.0.0.1:1",
        "http://[bad",
    ],
)
@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/message", {"message": "hi"}),
        ("/api/inbox/ack", {"ids": [1]}),
    ],
    ids=["message", "ack"],
)
def test_a_post_from_another_origin_is_refused(
    webchat_with_log, rasa, new_customer, origin, path, body
):
    webchat, log = webchat_with_log
    customer = new_customer()
    before = len(rasa.received)
    answer = customer.client.post(path, json=body, headers={"Origin": origin})
    assert answer.status_code == 403
    assert answer.json() == {"error": "cross_origin"}
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert len(rasa.received) == before
    assert f"Cross-origin POST {path}" in log.read_text()


def test_a_post_from_the_page_itself_is_accepted(webchat, new_customer):
    customer = new_customer()
    answer = customer.say("hi")
    same_origin = customer.client.post(
        "/api/message", json={"message": "hi"}, headers={"Origin": webchat}
    )
    assert answer.status_code == same_origin.status_code == 200


def test_behind_a_local_tls_proxy_the_cookie_is_secure(webchat):
    answer = httpx.get(webchat + "/", headers={"X-Forwarded-Proto": "https"})
    assert session_cookie(answer)["secure"] is True


@pytest.mark.parametrize(
    "scheme, peer, forwarded_proto, https",
    [
        ("https", "203.0.113.9", None, True),
        ("http", "127.0.0.1", "https", True),
        ("http", "::1", "https", True),
        ("http", "203.0.113.9", "https", False),  # anyone can send the header
        ("http", "", "https", False),
        ("http", "127.0.0.1", None, False),
        ("http", "127.0.0.1", "http", False),
    ],
)
def test_only_a_local_proxy_tells_that_the_browser_used_https(scheme, peer, forwarded_proto, https):
    assert came_over_https(scheme, peer, forwarded_proto) is https


def test_the_production_profile_always_sets_secure_cookies(rasa, database, tmp_path):
    with running_webchat(
        rasa.url, str(database.url), tmp_path / "webchat.log", TELECOM_PROFILE="production"
    ) as url:
        assert session_cookie(httpx.get(url + "/"))["secure"] is True


def test_the_production_profile_needs_the_secrets(database):
    environment = webchat_environment(
        "http://127.0.0.1:1", str(database.url), TELECOM_PROFILE="production"
    )
    del environment["TELECOM_CHANNEL_SECRET"]
    result = subprocess.run(
        [sys.executable, "-m", "channels.webchat", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "needs TELECOM_CHANNEL_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


# ---- the relay


def test_health(webchat):
    answer = httpx.get(webchat + "/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_message_is_relayed_to_rasa_with_the_channel_secret(rasa, new_customer):
    customer = new_customer()
    answer = customer.say("hi")
    assert answer.status_code == 200
    assert answer.json() == CANNED["hi"]
    assert rasa.received[-1] == {"sender": customer.sender, "message": "hi"}
    assert rasa.channel_secrets[-1] == CHANNEL_SECRET


def test_control_and_invisible_characters_are_dropped(rasa, new_customer):
    customer = new_customer()
    answer = customer.say("138\u200b0013\x008000 \u5e2e\u6211 👍🏽\n")
    assert answer.status_code == 200
    assert rasa.received[-1]["message"] == "13800138000 帮我 👍🏽\n"


@pytest.mark.parametrize("message", ["   ", "\x00", "\u200b\ufeff \x00"])
def test_a_message_of_nothing_printable_answers_400(rasa, new_customer, message):
    customer = new_customer()
    before = len(rasa.received)
    answer = customer.say(message)
    assert answer.status_code == 400
    assert answer.json() == {"error": "empty_message"}
    assert len(rasa.received) == before


def test_rasa_down_answers_503(rasa, new_customer):
    rasa.down = True
    answer = new_customer().say("hi")
    assert answer.status_code == 503
    assert answer.json() == {"error": "unavailable"}


def test_rasa_unreachable_answers_503(database, tmp_path):
    dead_rasa = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with running_webchat(dead_rasa, str(database.url), tmp_path / "webchat.log") as url:
        answer = httpx.post(url + "/api/message", json={"message": "hi"})
        assert answer.status_code == 503
        assert answer.json() == {"error": "unavailable"}


def test_port_taken_is_reported(webchat):
    port = webchat.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "channels.webchat", "--port", port],
        cwd=PROJECT_ROOT,
        env=webchat_environment("http://127.0.0.1:1", "sqlite://"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert f"Port {port} is taken" in result.stderr


def test_overlong_message_answers_413(rasa, new_customer):
    before = len(rasa.received)
    answer = new_customer().say("x" * 5001)
    assert answer.status_code == 413
    assert answer.json()["error"] == "message_too_long"
    assert len(rasa.received) == before


@pytest.mark.parametrize(
    "request_body",
    [
        {"json": {}},
        {"json": {"message": 3}},
        {"json": ["hi"]},
        {"content": b"{not json"},
    ],
    ids=["no-message", "message-not-text", "not-an-object", "not-json"],
)
def test_bad_requests_answer_400(rasa, new_customer, request_body):
    before = len(rasa.received)
    answer = new_customer().client.post("/api/message", **request_body)
    assert answer.status_code == 400
    assert len(rasa.received) == before


# ---- the inbox


def test_inbox_lists_the_pending_replies_of_that_conversation_only(tickets, new_customer):
    customer = new_customer()
    first = answer_customer(tickets, customer.sender, "Your refund was issued today.")
    second = answer_customer(tickets, customer.sender, "退款已经办好了。", language="zh")
    answer_customer(tickets, new_customer().sender, "Someone else's answer")
    answer_customer(tickets, customer.sender, "Same id on Telegram", channel=TELEGRAM)

    replies = customer.inbox()

    assert [reply["text"] for reply in replies] == [
        f"Message from our customer service team about ticket {first.id}:\n\n"
        "Your refund was issued today.\n\n"
        "You can answer right here in this chat; your answer reaches us with the ticket.",
        f"客服人员就工单 {second.id} 给您的留言：\n\n退款已经办好了。\n\n"
        "您可以直接在这个对话里回复，您的回复会随工单转给我们。",
    ]
    assert all(type(reply["id"]) is int for reply in replies)
    assert replies[0]["at"] == "2026-11-23T10:00:00+08:00"  # the operator's time, said so


def test_another_session_can_neither_read_nor_acknowledge_replies(tickets, new_customer):
    customer, intruder = new_customer(), new_customer()
    ticket = answer_customer(tickets, customer.sender, "Your refund was issued today.")
    [reply] = customer.inbox()

    assert intruder.inbox() == []
    assert intruder.acknowledge([reply["id"]]) == 0
    assert customer.inbox() == [reply]
    assert [turn.delivery for turn in agent_replies(tickets, ticket.id)] == [Delivery.PENDING]


def test_acknowledging_twice_delivers_once(tickets, new_customer):
    customer = new_customer()
    ticket = answer_customer(tickets, customer.sender, "Your refund was issued today.")
    [reply] = customer.inbox()

    assert customer.acknowledge([reply["id"]]) == 1
    assert customer.acknowledge([reply["id"]]) == 0
    assert customer.inbox() == []
    assert [turn.delivery for turn in agent_replies(tickets, ticket.id)] == [Delivery.DELIVERED]


@pytest.mark.parametrize(
    "request_body",
    [
        {"content": b"{not json"},
        {"json": [1, 2]},
        {"json": {}},
        {"json": {"ids": "1"}},
        {"json": {"ids": [1, "2"]}},
        {"json": {"ids": [1.5]}},
        {"json": {"ids": [True]}},
        {"json": {"ids": [0]}},
        {"json": {"ids": [2**64]}},
        {"json": {"ids": list(range(1, 102))}},
    ],
    ids=[
        "not-json",
        "not-an-object",
        "no-ids",
        "ids-not-a-list",
        "id-not-a-number",
        "id-fraction",
        "id-boolean",
        "id-zero",
        "id-too-big",
        "too-many-ids",
    ],
)
def test_bad_acknowledgements_answer_400(new_customer, request_body):
    answer = new_customer().client.post("/api/inbox/ack", **request_body)
    assert answer.status_code == 400


def test_database_down_answers_503_and_the_chat_goes_on(webchat_without_database):
    url, log = webchat_without_database
    with httpx.Client(base_url=url) as customer:
        customer.get("/")
        for answer in (
            customer.get("/api/inbox"),
            customer.post("/api/inbox/ack", json={"ids": [1]}),
        ):
            assert answer.status_code == 503
            assert answer.json() == {"error": "unavailable"}
            assert answer.headers["cache-control"] == "no-store"
        assert "Database unavailable for GET /api/inbox" in log.read_text()
        assert customer.get("/health").status_code == 200
        assert customer.post("/api/message", json={"message": "hi"}).json() == CANNED["hi"]


def test_security_headers(webchat):
    for path in ("/", "/static/chat.js", "/health"):
        answer = httpx.get(webchat + path)
        assert answer.status_code == 200, path
        assert answer.headers["content-security-policy"].startswith("default-src 'self'")
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
    page = httpx.get(webchat + "/")
    assert page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text and "style=" not in page.text  # the CSP forbids inline


# ---- browser


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(**options):
        context = browser.new_context(**{"locale": "en-GB", **options})
        contexts.append(context)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(error))
        # The browser also logs the expected 503s and /favicon.ico's 404: keep what the
        # CSP refused and script errors.
        page.on(
            "console",
            lambda msg: msg.type == "error" and "Refused" in msg.text and errors.append(msg.text),
        )
        page.errors = errors
        return page

    yield make
    for context in contexts:
        context.close()


def test_conversation_in_the_browser(webchat, rasa, new_page):
    from playwright.sync_api import expect

    page = new_page(viewport={"width": 1100, "height": 760})
    page.goto(webchat + "/")
    log = page.locator("#messages")
    expect(log).to_have_attribute("role", "log")
    expect(log).to_have_attribute("aria-live", "polite")

    page.get_by_label("Your message").fill("hi")
    page.keyboard.press("Enter")
    expect(page.locator(".message.user .bubble")).to_contain_text(["hi"])
    expect(page.locator(".message.bot .bubble").last).to_contain_text("Hello! What can I do?")
    usage = page.get_by_role("button", name="My usage")
    expect(usage).to_be_enabled()

    usage.click()
    expect(page.locator(".message.user .bubble").last).to_contain_text("My usage")
    expect(page.locator(".message.bot .bubble").last).to_contain_text("Please tell me your number")
    expect(usage).to_be_disabled()  # a new customer message retires the old quick replies
    sender = rasa.received[-1]["sender"]
    assert rasa.received[-1]["message"] == "/check_usage"
    assert rasa.received[-2] == {"sender": sender, "message": "hi"}

    page.reload()
    expect(page.locator(".message.bot .bubble").last).to_contain_text("Please tell me your number")
    expect(page.locator(".message.user .bubble")).to_contain_text(["hi", "My usage"])
    expect(page.get_by_role("button", name="My usage")).to_be_disabled()

    rasa.down = True
    page.get_by_label("Your message").fill("hello?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".message.error")).to_contain_text(UNREACHABLE)
    expect(page.locator(".message.user .bubble").last).to_contain_text("hello?")
    retry = page.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()

    rasa.down = False
    retry.click()
    expect(page.locator(".message.bot .bubble").last).to_contain_text("You said: hello?")
    expect(page.locator(".message.error")).to_have_count(0)
    assert rasa.received[-1] == {"sender": sender, "message": "hello?"}

    page.set_viewport_size({"width": 375, "height": 740})
    expect(page.get_by_label("Your message")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scroll

    message = page.locator(".message.bot .bubble").last
    before = float(message.evaluate("el => parseFloat(getComputedStyle(el).fontSize)"))
    page.get_by_role("button", name="Larger text").click()
    after = float(message.evaluate("el => parseFloat(getComputedStyle(el).fontSize)"))
    assert after > before
    page.reload()  # the choice is remembered
    message = page.locator(".message.bot .bubble").last
    expect(message).to_contain_text("You said: hello?")
    assert float(message.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) == after
    assert page.errors == []  # e.g. nothing the CSP blocked


def test_empty_message_is_not_sent(webchat, rasa, new_page):
    from playwright.sync_api import expect

    page = new_page()
    page.goto(webchat + "/")
    before = len(rasa.received)
    page.get_by_label("Your message").fill("   ")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Send").click()
    page.wait_for_timeout(300)
    expect(page.locator(".message.user")).to_have_count(0)
    assert len(rasa.received) == before


def test_chinese_by_default_and_language_toggle(webchat, new_page):
    from playwright.sync_api import expect

    page = new_page(locale="zh-CN")
    page.goto(webchat + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("button", name="发送")).to_be_visible()
    expect(page.get_by_label("您的消息")).to_be_visible()

    page.get_by_role("button", name="Switch to English").click()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    page.reload()  # the choice is remembered
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_an_agents_reply_reaches_the_open_page(webchat, rasa, tickets, new_page):
    from playwright.sync_api import expect

    page = new_page()
    page.goto(webchat + "/")
    page.get_by_label("Your message").fill("hi")
    page.keyboard.press("Enter")
    expect(page.locator(".message.bot .bubble").last).to_contain_text("Hello! What can I do?")
    sender = rasa.received[-1]["sender"]  # the conversation the ticket will name

    ticket = answer_customer(tickets, sender, "We have refunded the double charge.")

    # Nobody touches the page: its own polling brings the reply.
    agent = page.locator(".message.agent")
    expect(agent.locator(".bubble")).to_contain_text(
        [f"ticket {ticket.id}:\n\nWe have refunded the double charge."], timeout=INBOX_WAIT_MS
    )
    expect(agent.locator(".visually-hidden")).to_have_text("Customer service agent: ")
    bot_bubble = page.locator(".message.bot .bubble").last
    assert agent.locator(".bubble").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    ) != bot_bubble.evaluate("el => getComputedStyle(el).backgroundColor")

    page.reload()  # kept in the history, and shown once
    expect(agent).to_have_count(1)
    expect(agent.locator(".bubble")).to_contain_text("We have refunded the double charge.")
    assert wait_until(
        lambda: (
            [turn.delivery for turn in agent_replies(tickets, ticket.id)] == [Delivery.DELIVERED]
        )
    )

    page.get_by_role("button", name="切换到中文").click()
    expect(agent.locator(".visually-hidden")).to_have_text("客服人员: ")
    with page.expect_response(lambda response: "/api/inbox" in response.url):
        pass  # the next poll: nothing new, nothing doubled
    expect(agent).to_have_count(1)
    assert page.errors == []


def test_polling_a_missing_database_is_silent(webchat_without_database, new_page):
    from playwright.sync_api import expect

    url, _log = webchat_without_database
    page = new_page()
    with page.expect_response(lambda response: "/api/inbox" in response.url) as polled:
        page.goto(url + "/")
    assert polled.value.status == 503
    page.get_by_label("Your message").fill("hi")
    page.keyboard.press("Enter")
    expect(page.locator(".message.bot .bubble").last).to_contain_text("Hello! What can I do?")
    expect(page.locator(".message.error")).to_have_count(0)
    assert page.errors == []


def test_the_page_keeps_its_conversation_in_an_httponly_cookie(webchat, rasa, new_page):
    from playwright.sync_api import expect

    page = new_page()
    page.goto(webchat + "/")
    [cookie] = page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == (
        SESSION_COOKIE,
        True,
        "Strict",
    )
    assert page.evaluate("document.cookie") == ""  # out of reach of any script on the page
    page.get_by_label("Your message").fill("hi")
    page.keyboard.press("Enter")
    expect(page.locator(".message.bot .bubble").last).to_contain_text("Hello! What can I do?")
    session_id = cookie["value"].split(".")[0]
    assert rasa.received[-1]["sender"] == conversation_id(
        SENDER_PREFIX, session_id, CONVERSATION_KEY
    )


def test_a_lost_session_is_replaced_without_a_word(webchat, rasa, new_page):
    from playwright.sync_api import expect

    def inbox_answered(status):
        return lambda response: response.url.endswith("/api/inbox") and response.status == status

    page = new_page()
    with page.expect_response(inbox_answered(200)):
        page.goto(webchat + "/")
    [before] = page.context.cookies()
    page.context.clear_cookies()
    with page.expect_response(inbox_answered(401), timeout=INBOX_WAIT_MS):
        pass
    # The page has started a new session: the next poll has it.
    with page.expect_response(inbox_answered(200), timeout=INBOX_WAIT_MS):
        pass
    [after] = page.context.cookies()
    assert after["name"] == SESSION_COOKIE and after["value"] != before["value"]
    page.get_by_label("Your message").fill("hi")
    page.keyboard.press("Enter")
    expect(page.locator(".message.bot .bubble").last).to_contain_text("Hello! What can I do?")
    expect(page.locator(".message.error")).to_have_count(0)
    assert page.errors == []


def test_a_browser_that_refuses_the_cookie_is_told(webchat, new_page):
    from playwright.sync_api import expect

    page = new_page()

    def without_cookies(route):
        """The server answers as ever; the browser never sees its Set-Cookie."""
        request = route.request
        answer = httpx.request(
            request.method, request.url, headers=request.headers, content=request.post_data_buffer
        )
        headers = {
            name: value
            for name, value in answer.headers.items()
            if name not in ("set-cookie", "content-encoding", "content-length")
        }
        route.fulfill(status=answer.status_code, headers=headers, body=answer.content)

    page.route("**/*", without_cookies)
    page.goto(webchat + "/")
    notice = page.locator(".message.error")
    expect(notice).to_contain_text(COOKIES_NEEDED, timeout=INBOX_WAIT_MS * 2)
    page.get_by_role("button", name="切换到中文").click()
    expect(notice).to_contain_text("请允许本网站使用 Cookie")
    page.wait_for_timeout(3500)  # another refused poll: still one notice
    expect(notice).to_have_count(1)
    assert page.errors == []
