"""The agent console in a real browser (Debian's headless Chromium driven by Playwright),
against the running assistant: a customer's conversation files a ticket, an agent logs in,
filters the queue, opens the ticket, reads the transcript and resolves it.

`UPDATE_SCREENSHOTS=1` also saves the README's screenshots to docs/screenshots/.
"""

from __future__ import annotations

import re
import secrets

import pytest

from tests.stack import AGENT, save_screenshot

pytestmark = pytest.mark.model


def file_a_complaint(stack) -> str:
    """A customer on the REST channel asks for a person about 5G; returns the ticket id."""
    sender = f"browser-test-{secrets.token_hex(4)}"

    def say(text: str) -> str:
        return " ".join(message.get("text", "") for message in stack.send(sender, text))

    say("I want to talk to a real person")
    say('/inform{"complaint_category":"five_g"}')
    say("My phone keeps dropping from 5G to 4G in my flat in Haidian")
    return re.search(r"TK-\d{6}-\d{4}", say("139 0000 0077")).group()


def test_an_agent_works_a_ticket_from_a_real_conversation(product, browser):
    stack, console_url, password = product.stack, product.console_url, product.agent_password
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

    page.goto(f"{console_url}/reports")
    assert page.locator("h1").inner_text() == "Satisfaction"
    save_screenshot(page, "console-reports.png")
    page.goto(f"{console_url}/hotspots")

    page.click("a:has-text('中文')")
    page.wait_for_load_state()
    assert "热点问题" in page.locator("h1").inner_text()
    page.goto(f"{console_url}/tickets/{ticket_id}")
    assert "已解决" in page.locator("dl.facts").inner_text()
    save_screenshot(page, "console-ticket-zh.png")
    page.close()
