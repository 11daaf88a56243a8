"""The agent console in a real browser (Debian's headless Chromium driven by Playwright),
against the running assistant: a customer's conversation files a ticket, an agent logs in,
filters the queue, opens the ticket, reads the transcript and resolves it.

`UPDATE_SCREENSHOTS=1` also saves the README's screenshots to docs/screenshots/.
"""
from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys

import pytest

from console.accounts import AgentAccounts
from telecom_assistant.backend.clock import operator_now
from telecom_assistant.backend.database import make_engine
from telecom_assistant.backend.seed import reset_database
from telecom_assistant.tickets.demo import seed_demo_tickets

from .stack import PROJECT_ROOT, free_port, start_stack, wait_for

pytestmark = pytest.mark.model

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
AGENT, AGENT_NAME = "agent.chen", "Chen Jing"


@pytest.fixture(scope="module")
def product(model, tmp_path_factory):
    """The assistant and the console on one database, as `telecom run` starts them."""
    workdir = tmp_path_factory.mktemp("product")
    database_url = f"sqlite:///{workdir / 'telecom.db'}"
    engine = make_engine(database_url)
    today = operator_now().date()
    reset_database(engine, today)
    seed_demo_tickets(engine, today)
    password = secrets.token_urlsafe(16)
    AgentAccounts(engine).create(AGENT, AGENT_NAME, password)
    stack = start_stack(model, workdir, database_url)
    port = free_port()
    console = subprocess.Popen(
        [sys.executable, "-m", "console", "--port", str(port)], cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=(workdir / "console.log").open("w"), stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/health", console, timeout=60)
        yield stack, f"http://127.0.0.1:{port}", password
    finally:
        console.terminate()
        console.wait(timeout=30)
        stack.stop()


def file_a_complaint(stack) -> str:
    """A customer on the REST channel asks for a person about 5G; returns the ticket id."""
    sender = f"browser-test-{secrets.token_hex(4)}"

    def say(text: str) -> str:
        return " ".join(message.get("text", "") for message in stack.send(sender, text))

    say("I want to talk to a real person")
    say('/inform{"complaint_category":"five_g"}')
    say("My phone keeps dropping from 5G to 4G in my flat in Haidian")
    return re.search(r"TK-\d{6}-\d{4}", say("139 0000 0077")).group()


def save_screenshot(page, name: str) -> None:
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_an_agent_works_a_ticket_from_a_real_conversation(product, browser):
    stack, console_url, password = product
    ticket_id = file_a_complaint(stack)
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    page.goto(f"{console_url}/tickets/{ticket_id}")
    assert "/login" in page.url  # no session, no ticket
    page.fill("#username", AGENT)
    page.fill("#password", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()

    page.goto(f"{console_url}/")
    page.check("input[name='category'][value='five_g']")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    assert "category=five_g" in page.url
    rows = page.locator("table.queue tbody tr")
    assert rows.count() >= 1
    assert all("5G" in rows.nth(i).inner_text() for i in range(rows.count()))
    save_screenshot(page, "console-queue.png")

    page.click(f"a:has-text('{ticket_id}')")
    page.wait_for_load_state()
    transcript = page.locator("ol.transcript").inner_text()
    assert "I want to talk to a real person" in transcript
    assert "dropping from 5G to 4G" in transcript
    assert "*** **** 0077" in transcript and "139 0000 0077" not in transcript  # masked
    save_screenshot(page, "console-ticket.png")

    page.select_option("#new-status", "resolved")
    page.click("form[action$='/status'] button[type=submit]")
    page.wait_for_load_state()
    facts = page.locator("dl.facts").inner_text()
    assert "Resolved" in facts
    assert AGENT in page.locator("body").inner_text()  # the history names who resolved it

    page.goto(f"{console_url}/hotspots")
    assert page.locator("svg").count() >= 1
    save_screenshot(page, "console-hotspots.png")

    page.click("a:has-text('中文')")
    page.wait_for_load_state()
    assert "热点问题" in page.locator("h1").inner_text()
    page.goto(f"{console_url}/tickets/{ticket_id}")
    assert "已解决" in page.locator("dl.facts").inner_text()
    save_screenshot(page, "console-ticket-zh.png")
    page.close()
