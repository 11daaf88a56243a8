"""The customer web chat (`python -m webchat`) against a fake Rasa REST channel: the relay over
HTTP, then the page in a real browser (Debian's headless Chromium driven by Playwright).

No trained model is needed. `UPDATE_SCREENSHOTS=1` also saves the README's screenshots to
docs/screenshots/.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from .stack import PROJECT_ROOT, free_port, wait_for

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
UNREACHABLE = "The assistant can't be reached right now"
CANNED = {
    "hi": [{"text": "Hello! What can I do?",
            "buttons": [{"title": "My usage", "payload": "/check_usage"}]}],
    "/check_usage": [{"text": "Please tell me your number"}],
}


class FakeRasa:
    """Rasa's REST channel with canned replies; `down` makes it answer 503."""

    def __init__(self) -> None:
        self.down = False
        self.received: list = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/webhooks/rest/webhook":
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


@pytest.fixture(scope="module")
def webchat(rasa, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("webchat") / "webchat.log"
    env = {**os.environ, "RASA_URL": rasa.url}
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


def test_rasa_unreachable_answers_503(tmp_path):
    port, dead_port = free_port(), free_port()  # nothing listens on dead_port
    env = {**os.environ, "RASA_URL": f"http://127.0.0.1:{dead_port}"}
    process = subprocess.Popen([sys.executable, "-m", "webchat", "--port", str(port)],
                               cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", process, timeout=30)
        answer = httpx.post(f"http://127.0.0.1:{port}/api/message",
                            json={"sender": "s-1", "message": "hi"})
        assert answer.status_code == 503
        assert answer.json() == {"error": "unavailable"}
    finally:
        process.terminate()
        process.wait(timeout=10)


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
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "webchat-desktop.png"))

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
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(SCREENSHOTS / "webchat-phone.png"))
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
