"""The customer web chat (`python -m webchat`) against a fake Rasa "webchat" channel and a
database of its own: the relay and the inbox of agents' replies over HTTP, then the page in a
real browser (Debian's headless Chromium driven by Playwright).

No trained model is needed; tests/test_channels.py runs the page against the real assistant and
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
from contextlib import contextmanager
from datetime import datetime
from datetime import time as dt_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest

from telecom_assistant.backend.database import create_schema, make_engine
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

from .conftest import TODAY
from .stack import PROJECT_ROOT, free_port, wait_for

UNREACHABLE = "The assistant can't be reached right now"
AGENT = "agent.chen"
# The page polls its inbox every 3 seconds.
INBOX_WAIT_MS = 8000
CANNED = {
    "hi": [{"text": "Hello! What can I do?",
            "buttons": [{"title": "My usage", "payload": "/check_usage"}]}],
    "/check_usage": [{"text": "Please tell me your number"}],
}


class FakeRasa:
    """Rasa's "webchat" channel with canned replies; `down` makes it answer 503."""

    def __init__(self) -> None:
        self.down = False
        self.received: list = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/webhooks/webchat/webhook":
                    return self._answer(404, {"error": "not found"})
                if fake.down:
                    return self._answer(503, {"error": "down"})
                fake.received.append(body)
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

    def __enter__(self) -> "FakeRasa":
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


@contextmanager
def running_webchat(rasa_url: str, database_url: str, log: Path) -> Iterator[str]:
    """`python -m webchat` on a free port; yields its URL."""
    port = free_port()
    env = {**os.environ, "RASA_URL": rasa_url, "DATABASE_URL": database_url}
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "webchat", "--port", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for(url + "/health", process, timeout=30)
        except (RuntimeError, TimeoutError):
            pytest.fail("webchat did not start:\n" + log.read_text())
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """The web chat's database, shared by the module like the web chat itself."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('database') / 'telecom.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def webchat(rasa, database, tmp_path_factory):
    log = tmp_path_factory.mktemp("webchat") / "webchat.log"
    with running_webchat(rasa.url, str(database.url), log) as url:
        yield url


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


def new_sender() -> str:
    return str(uuid.uuid4())  # what the page makes up


def answer_customer(tickets: SqlTicketService, sender: str, text: str, *, channel: str = WEBCHAT,
                    language: str = "en") -> Ticket:
    """The customer of conversation `sender` files a ticket on `channel`; an agent answers it."""
    at = datetime.combine(TODAY, dt_time(9, 58))  # just before the clock's 10:00
    filing = tickets.file(NewTicket(
        kind=Kind.COMPLAINT,
        category=Category.BILLING,
        description="Charged twice for my plan",
        contact_number="13800000002",
        channel=channel,
        conversation_id=sender,
        language=language,
        transcript=(TranscriptTurn("customer", "I was charged twice", at),),
        idempotency_key=f"{channel}:{sender}:{uuid.uuid4()}",
    ))
    return tickets.reply(filing.ticket.id, AGENT, text)


def inbox(webchat: str, sender: str) -> list:
    answer = httpx.get(webchat + "/api/inbox", params={"sender": sender})
    assert answer.status_code == 200
    return answer.json()["replies"]


def acknowledge(webchat: str, sender: str, reply_ids: list) -> int:
    answer = httpx.post(webchat + "/api/inbox/ack", json={"sender": sender, "ids": reply_ids})
    assert answer.status_code == 200
    return answer.json()["delivered"]


def agent_replies(tickets: SqlTicketService, ticket_id: str) -> list[TranscriptTurn]:
    return [turn for turn in tickets.get(ticket_id).transcript if turn.speaker == "agent"]


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


# ---- HTTP


def test_health(webchat):
    answer = httpx.get(webchat + "/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_message_is_relayed_to_rasa(webchat, rasa):
    answer = httpx.post(webchat + "/api/message", json={"sender": "s-1", "message": "hi"})
    assert answer.status_code == 200
    assert answer.json() == CANNED["hi"]
    assert rasa.received[-1] == {"sender": "s-1", "message": "hi"}


def test_rasa_down_answers_503(webchat, rasa):
    rasa.down = True
    answer = httpx.post(webchat + "/api/message", json={"sender": "s-1", "message": "hi"})
    assert answer.status_code == 503
    assert answer.json() == {"error": "unavailable"}


def test_rasa_unreachable_answers_503(database, tmp_path):
    dead_rasa = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with running_webchat(dead_rasa, str(database.url), tmp_path / "webchat.log") as url:
        answer = httpx.post(url + "/api/message", json={"sender": "s-1", "message": "hi"})
        assert answer.status_code == 503
        assert answer.json() == {"error": "unavailable"}


def test_port_taken_is_reported(webchat):
    port = webchat.rsplit(":", 1)[1]
    result = subprocess.run([sys.executable, "-m", "webchat", "--port", port], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert f"Port {port} is taken" in result.stderr


def test_overlong_message_answers_413(webchat, rasa):
    before = len(rasa.received)
    answer = httpx.post(webchat + "/api/message", json={"sender": "s-1", "message": "x" * 5001})
    assert answer.status_code == 413
    assert answer.json()["error"] == "message_too_long"
    assert len(rasa.received) == before


@pytest.mark.parametrize("body", [
    {"sender": "s-1", "message": "   "},
    {"sender": "s-1"},
    {"message": "hi"},
    {"sender": 3, "message": "hi"},
    ["hi"],
])
def test_bad_requests_answer_400(webchat, body):
    answer = httpx.post(webchat + "/api/message", json=body)
    assert answer.status_code == 400


def test_inbox_lists_the_pending_replies_of_that_sender_only(webchat, tickets):
    sender = new_sender()
    first = answer_customer(tickets, sender, "Your refund was issued today.")
    second = answer_customer(tickets, sender, "退款已经办好了。", language="zh")
    answer_customer(tickets, new_sender(), "Someone else's answer")
    answer_customer(tickets, sender, "Same id on Telegram", channel=TELEGRAM)

    replies = inbox(webchat, sender)

    assert [reply["text"] for reply in replies] == [
        f"Message from our customer service team about ticket {first.id}:\n\n"
        "Your refund was issued today.\n\n"
        "To answer, call 10086 and give the ticket number.",
        f"客服人员就工单 {second.id} 给您的留言：\n\n退款已经办好了。\n\n"
        "如需回复，请拨打 10086 并提供工单号。",
    ]
    assert all(type(reply["id"]) is int for reply in replies)
    assert replies[0]["at"] == "2026-11-23T10:00:00+08:00"  # the operator's time, said so


def test_another_sender_can_neither_read_nor_acknowledge_replies(webchat, tickets):
    sender, intruder = new_sender(), new_sender()
    ticket = answer_customer(tickets, sender, "Your refund was issued today.")
    [reply] = inbox(webchat, sender)

    assert inbox(webchat, intruder) == []
    assert acknowledge(webchat, intruder, [reply["id"]]) == 0
    assert inbox(webchat, sender) == [reply]
    assert [turn.delivery for turn in agent_replies(tickets, ticket.id)] == [Delivery.PENDING]


def test_acknowledging_twice_delivers_once(webchat, tickets):
    sender = new_sender()
    ticket = answer_customer(tickets, sender, "Your refund was issued today.")
    [reply] = inbox(webchat, sender)

    assert acknowledge(webchat, sender, [reply["id"]]) == 1
    assert acknowledge(webchat, sender, [reply["id"]]) == 0
    assert inbox(webchat, sender) == []
    assert [turn.delivery for turn in agent_replies(tickets, ticket.id)] == [Delivery.DELIVERED]


@pytest.mark.parametrize("params", [{}, {"sender": "   "}, {"sender": "x" * 129}])
def test_bad_inbox_queries_answer_400(webchat, params):
    answer = httpx.get(webchat + "/api/inbox", params=params)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_sender"}


@pytest.mark.parametrize("request_body", [
    {"content": b"{not json"},
    {"json": [1, 2]},
    {"json": {"ids": [1]}},
    {"json": {"sender": 7, "ids": [1]}},
    {"json": {"sender": "x" * 129, "ids": [1]}},
    {"json": {"sender": "s-1"}},
    {"json": {"sender": "s-1", "ids": "1"}},
    {"json": {"sender": "s-1", "ids": [1, "2"]}},
    {"json": {"sender": "s-1", "ids": [1.5]}},
    {"json": {"sender": "s-1", "ids": [True]}},
    {"json": {"sender": "s-1", "ids": [0]}},
    {"json": {"sender": "s-1", "ids": [2**64]}},
    {"json": {"sender": "s-1", "ids": list(range(1, 102))}},
], ids=["not-json", "not-an-object", "no-sender", "sender-not-text", "sender-too-long", "no-ids",
        "ids-not-a-list", "id-not-a-number", "id-fraction", "id-boolean", "id-zero",
        "id-too-big", "too-many-ids"])
def test_bad_acknowledgements_answer_400(webchat, request_body):
    answer = httpx.post(webchat + "/api/inbox/ack", **request_body)
    assert answer.status_code == 400


def test_database_down_answers_503_and_the_chat_goes_on(webchat_without_database):
    url, log = webchat_without_database
    for answer in (
        httpx.get(url + "/api/inbox", params={"sender": "s-1"}),
        httpx.post(url + "/api/inbox/ack", json={"sender": "s-1", "ids": [1]}),
    ):
        assert answer.status_code == 503
        assert answer.json() == {"error": "unavailable"}
        assert answer.headers["cache-control"] == "no-store"
    assert "Database unavailable for GET /api/inbox" in log.read_text()
    assert httpx.get(url + "/health").status_code == 200
    answer = httpx.post(url + "/api/message", json={"sender": "s-1", "message": "hi"})
    assert answer.json() == CANNED["hi"]


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
        page.on("console", lambda msg: msg.type == "error" and "Refused" in msg.text
                and errors.append(msg.text))
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


def test_an_agents_reply_reaches_the_open_page(webchat, tickets, new_page):
    from playwright.sync_api import expect

    page = new_page()
    page.goto(webchat + "/")
    page.get_by_label("Your message").fill("hi")
    page.keyboard.press("Enter")
    expect(page.locator(".message.bot .bubble").last).to_contain_text("Hello! What can I do?")
    sender = page.evaluate("window.localStorage.getItem('webchat.sender')")

    ticket = answer_customer(tickets, sender, "We have refunded the double charge.")

    # Nobody touches the page: its own polling brings the reply.
    agent = page.locator(".message.agent")
    expect(agent.locator(".bubble")).to_contain_text(
        [f"ticket {ticket.id}:\n\nWe have refunded the double charge."], timeout=INBOX_WAIT_MS)
    expect(agent.locator(".visually-hidden")).to_have_text("Customer service agent: ")
    bot_bubble = page.locator(".message.bot .bubble").last
    assert (agent.locator(".bubble").evaluate("el => getComputedStyle(el).backgroundColor")
            != bot_bubble.evaluate("el => getComputedStyle(el).backgroundColor"))

    page.reload()  # kept in the history, and shown once
    expect(agent).to_have_count(1)
    expect(agent.locator(".bubble")).to_contain_text("We have refunded the double charge.")
    assert wait_until(lambda: [turn.delivery for turn in agent_replies(tickets, ticket.id)]
                      == [Delivery.DELIVERED])

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
