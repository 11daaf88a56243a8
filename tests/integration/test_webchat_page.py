"""The web chat page as customers use it (issue 18), in headless Chromium against a fake Rasa:
the page never grows past the window, line breaks and long messages, the larger text, what the
screen reader's live region announces, times and names, a live chat pushed by the server, the
"End chat" button and the focus rings.

The live chat's test plays the server's stream (GET /api/events) itself, one connection at a
time, so that it says what the page does with each event whatever the desk's state; the other
tests use test_webchat.py's web chat, fake Rasa and database as they are.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timezone

from tests.integration import test_webchat
from tests.integration.test_webchat import answer_customer

# Test_webchat.py's fixtures, here too: its web chat, fake Rasa, database and browser pages.
rasa = test_webchat.rasa
rasa_up = test_webchat.rasa_up
database = test_webchat.database
webchat_with_log = test_webchat.webchat_with_log
webchat = test_webchat.webchat
tickets = test_webchat.tickets
new_page = test_webchat.new_page

LI_NA_JOINED = {
    "id": 41,
    "kind": "notice",
    "text": "Li Na from our customer service team has joined the chat.",
    "author": None,
    "at": "2026-11-23T10:01:00+08:00",
    "buttons": [],
}
LI_NA_SAYS_HELLO = {
    "id": 42,
    "kind": "live",
    "text": "Hello, I'm Li Na.\nHow can I help?",
    "author": "Li Na",
    "at": "2026-11-23T10:02:00+08:00",
    "buttons": [{"title": "My bill", "payload": "/check_bill"}],
}
# What a focus ring must reach against what surrounds it (WCAG 1.4.11).
FOCUS_CONTRAST = 3.0


def open_chat(new_page, webchat, **options):
    page = new_page(**options)
    page.goto(webchat + "/")
    return page


def say(page, text: str) -> None:
    """Types a message, sends it with Enter, and waits for the fake Rasa's echo."""
    from playwright.sync_api import expect

    page.get_by_label("Your message").fill(text)
    page.get_by_label("Your message").press("Enter")
    expect(page.locator(".message.bot .bubble").last).to_contain_text(f"You said: {text}")


def settle(page, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Waits for `condition` while letting the page and its routes run (time.sleep, as in
    test_webchat.wait_until, would hold up the routes' handlers)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(50)
    return True


class PushedEvents:
    """Plays the server's stream (GET /api/events): each connection the page opens waits
    until `push` answers it with some events and closes it, and the page connects again."""

    def __init__(self, page) -> None:
        self.page = page
        self.waiting: list = []
        page.route("**/api/events", self.connected)

    def connected(self, route) -> None:
        self.waiting.append(route)

    def push(self, *events: tuple[str, dict]) -> None:
        assert settle(self.page, lambda: bool(self.waiting)), "the page did not connect"
        stream = "retry: 100\n\n" + "".join(
            f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events
        )
        self.waiting.pop(0).fulfill(
            status=200, headers={"Content-Type": "text/event-stream"}, body=stream
        )

    def reload(self) -> None:
        """Reloads the page once it has connected again, so that the next push reaches the
        new page rather than the connection of the old one."""
        assert settle(self.page, lambda: bool(self.waiting)), "the page did not connect"
        self.waiting.clear()
        with self.page.expect_request("**/api/events"):
            self.page.reload()


def acknowledgements(page) -> list:
    """The ids of each POST /api/inbox/ack the page makes, answered as the server would."""
    acknowledged: list = []

    def acknowledge(route) -> None:
        ids = json.loads(route.request.post_data)["ids"]
        acknowledged.append(ids)
        route.fulfill(json={"delivered": len(ids)})

    page.route("**/api/inbox/ack", acknowledge)
    return acknowledged


def contrast(first: str, second: str) -> float:
    """WCAG's contrast ratio of two CSS rgb() colours."""

    def luminance(color: str) -> float:
        red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", color)[:3])
        linear = [
            c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# ---- the page stays the size of the window


def test_scrolling_past_the_last_message_never_scrolls_the_page(webchat, new_page):
    from playwright.sync_api import expect

    page = open_chat(new_page, webchat, viewport={"width": 1100, "height": 500})
    for number in range(8):
        say(page, f"message {number}")

    page.locator("#messages").hover()
    for _ in range(4):
        page.mouse.wheel(0, 2000)
    page.locator(".chat-header").hover()
    page.mouse.wheel(0, 2000)
    page.evaluate("window.scrollBy(0, 3000)")

    assert page.evaluate("document.documentElement.scrollHeight") == page.evaluate("innerHeight")
    assert page.evaluate("window.scrollY") == 0
    expect(page.locator(".message").last).to_be_in_viewport()
    assert page.errors == []


# ---- several lines, never HTML


def test_line_breaks_go_from_the_box_to_rasa_and_show(webchat, rasa, new_page):
    from playwright.sync_api import expect

    page = open_chat(new_page, webchat)
    box = page.get_by_label("Your message")
    assert box.evaluate("el => el.tagName") == "TEXTAREA"
    box.click()
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    page.keyboard.insert_text("\npasted line")  # as a paste puts it in
    expect(box).to_have_value("first line\nsecond line\npasted line")
    expect(page.locator(".message.user")).to_have_count(0)  # Shift+Enter sent nothing

    page.keyboard.press("Enter")

    expect(page.locator(".message.bot .bubble").last).to_contain_text("You said: first line")
    assert rasa.received[-1]["message"] == "first line\nsecond line\npasted line"
    expect(box).to_have_value("")
    mine = page.locator(".message.user .bubble").last
    assert mine.inner_text().endswith("first line\nsecond line\npasted line")
    lines = mine.evaluate(
        "el => el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight)"
    )
    assert lines >= 3

    page.reload()  # kept as it was
    expect(page.locator(".message.user .bubble").last).to_contain_text("second line\npasted line")
    assert page.errors == []


def test_a_message_is_shown_as_text_never_as_html(webchat, new_page):
    from playwright.sync_api import expect

    page = open_chat(new_page, webchat)
    markup = '<b>bold</b> <img src="/nothing" alt="x">'
    say(page, markup)
    expect(page.locator(".message.user .bubble").last).to_contain_text(markup)
    expect(page.locator("#messages b, #messages img")).to_have_count(0)


# ---- long messages: counted, never cut


def test_a_counter_appears_as_a_message_nears_the_limit(webchat, new_page):
    from playwright.sync_api import expect

    page = open_chat(new_page, webchat)
    box = page.get_by_label("Your message")
    counter = page.locator("#counter")

    box.fill("x" * 4000)
    expect(counter).to_be_hidden()
    box.fill("x" * 4980)
    expect(counter).to_have_text("4,980 / 5,000 characters")
    below_the_box = counter.bounding_box()["y"] - (
        box.bounding_box()["y"] + box.bounding_box()["height"]
    )
    assert 0 <= below_the_box < 40

    page.get_by_role("button", name="切换到中文").click()
    expect(counter).to_have_text("4,980 / 5,000 字")


def test_an_overlong_message_is_refused_with_a_word_and_kept(webchat, rasa, new_page):
    from playwright.sync_api import expect

    page = open_chat(new_page, webchat)
    box = page.get_by_label("Your message")
    before = len(rasa.received)

    box.fill("y" * 5001)
    expect(box).to_have_value("y" * 5001)  # nothing cut
    box.press("Enter")

    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "Your message has 5,001 characters, more than the 5,000 a message can hold. "
        "Please shorten it or send it in parts."
    )
    expect(page.locator("#counter")).to_have_text("5,001 / 5,000 characters")
    expect(box).to_have_value("y" * 5001)
    expect(page.locator(".message.user")).to_have_count(0)
    assert len(rasa.received) == before
    page.get_by_role("button", name="切换到中文").click()
    expect(alert).to_contain_text("您的消息有 5,001 个字符")
    page.get_by_role("button", name="Switch to English").click()

    box.press("Backspace")
    expect(alert).to_be_hidden()
    box.press("Enter")
    expect(page.locator(".message.bot .bubble").last).to_contain_text("You said: yyy")
    assert len(rasa.received[-1]["message"]) == 5000


def test_the_limit_counts_characters_as_the_server_does(webchat, rasa, new_page):
    """An emoji is two units of a JavaScript string and one character for the server."""
    from playwright.sync_api import expect

    page = open_chat(new_page, webchat)
    page.get_by_label("Your message").fill("👍" * 5000)
    expect(page.locator("#counter")).to_have_text("5,000 / 5,000 characters")
    page.get_by_label("Your message").press("Enter")
    expect(page.locator(".message.bot .bubble").last).to_contain_text("You said: 👍")
    assert rasa.received[-1]["message"] == "👍" * 5000


def test_a_message_the_server_finds_too_long_comes_back_to_the_box(webchat, new_page):
    from playwright.sync_api import expect

    page = open_chat(new_page, webchat)
    page.route(
        "**/api/message",
        lambda route: route.fulfill(
            status=413, json={"error": "message_too_long", "max_length": 5000}
        ),
    )
    page.get_by_label("Your message").fill("a long story")
    page.get_by_label("Your message").press("Enter")
    expect(page.locator(".message.error")).to_contain_text(
        "Your message was not sent: it is longer than 5,000 characters."
    )
    expect(page.get_by_label("Your message")).to_have_value("a long story")
    assert page.errors == []


# ---- the newest message stays in view


def test_larger_text_keeps_the_newest_message_in_view(webchat, new_page):
    from playwright.sync_api import expect

    page = open_chat(new_page, webchat, viewport={"width": 375, "height": 640})
    for number in range(6):
        say(page, f"message number {number} with a few words to wrap")
    newest = page.locator(".message").last
    expect(newest).to_be_in_viewport(ratio=1)

    page.get_by_role("button", name="Larger text").click()
    expect(newest).to_be_in_viewport(ratio=1)
    page.get_by_role("button", name="Larger text").click()
    expect(newest).to_be_in_viewport(ratio=1)
    page.get_by_label("Your message").fill("a long answer\n" * 6)  # the box grows
    expect(newest).to_be_in_viewport(ratio=1)


# ---- the live region


WATCH_THE_LOG = """() => {
    window.logChanges = [];
    const log = document.getElementById("messages");
    window.firstMessage = log.querySelector(".message.user");
    new MutationObserver(records => records.forEach(record => {
        record.addedNodes.forEach(node => logChanges.push("+" + (node.className || node.nodeName)));
        record.removedNodes.forEach(node => logChanges.push("-" + (node.className || node.nodeName)));
    })).observe(log, {childList: true, subtree: true});
}"""


def test_the_live_region_gets_only_the_new_messages(webchat, new_page):
    from playwright.sync_api import expect

    page = open_chat(new_page, webchat)
    say(page, "first")
    page.evaluate(WATCH_THE_LOG)

    say(page, "second")

    assert page.evaluate("logChanges") == ["+message user", "+message bot"]
    assert page.evaluate("document.querySelector('.message.user') === firstMessage")
    page.evaluate("logChanges.length = 0")
    page.get_by_role("button", name="切换到中文").click()
    expect(page.locator(".message.user .visually-hidden").first).to_have_text("您: ")
    assert [change for change in page.evaluate("logChanges") if "message" in change] == []
    assert page.evaluate("document.querySelector('.message.user') === firstMessage")


# ---- times and names


def test_every_message_shows_its_time_on_the_customers_clock(webchat, rasa, tickets, new_page):
    """The agent's reply through the inbox, as where the server pushes nothing (404)."""
    from playwright.sync_api import expect

    page = new_page(timezone_id="Europe/London")
    page.clock.set_fixed_time(datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc))
    page.route("**/api/events", lambda route: route.fulfill(status=404))
    page.goto(webchat + "/")
    say(page, "hi there")
    expect(page.locator(".message.user .time")).to_have_text(["09:30"])
    expect(page.locator(".message.bot .time")).to_have_text(["09:30"])

    # Written at 10:00 China time, 02:00 in London.
    answer_customer(tickets, rasa.received[-1]["sender"], "We have refunded the double charge.")
    agent = page.locator(".message.agent")
    expect(agent.locator(".time")).to_have_text("02:00", timeout=8000)
    expect(agent.locator("time")).to_have_attribute("datetime", "2026-11-23T10:00:00+08:00")
    assert page.errors == []


def test_a_live_chat_the_server_pushes(webchat, rasa, new_page):
    from playwright.sync_api import expect

    page = new_page(timezone_id="Asia/Shanghai")
    pushed = PushedEvents(page)
    acknowledged = acknowledgements(page)
    page.goto(webchat + "/")
    status = page.locator("#live-status")

    pushed.push(("live", {"state": "waiting", "agent": None}))
    expect(status).to_have_text("Waiting for a colleague from customer service…")

    pushed.push(
        ("live", {"state": "live", "agent": "Li Na"}),
        ("reply", LI_NA_JOINED),
        ("typing", {"author": "Li Na", "typing": True}),
    )
    expect(status).to_have_text("You're talking to Li Na")
    typing = page.locator("#agent-typing")
    expect(typing).to_have_text("Li Na is typing…")
    notice = page.locator(".message.notice")
    expect(notice).to_contain_text("Li Na from our customer service team has joined the chat.")
    expect(notice.locator(".time")).to_have_text("10:01")
    expect(notice.locator(".author")).to_have_count(0)
    off_centre = notice.evaluate(
        """el => {
            const log = el.parentElement, box = el.getBoundingClientRect();
            return box.left + box.width / 2 - (log.getBoundingClientRect().left + log.clientWidth / 2);
        }"""
    )
    assert abs(off_centre) < 2

    pushed.push(("reply", LI_NA_SAYS_HELLO), ("reply", LI_NA_JOINED))  # sent again: shown once
    live = page.locator(".message.agent.live")
    expect(live.locator(".author")).to_have_text("Li Na")
    expect(live.locator(".bubble")).to_contain_text("Hello, I'm Li Na.\nHow can I help?")
    expect(live.locator(".visually-hidden")).to_have_text("Customer service agent Li Na: ")
    expect(live.locator(".time")).to_have_text("10:02")
    expect(typing).to_be_hidden()  # what she typed has arrived
    expect(notice).to_have_count(1)
    assert settle(page, lambda: acknowledged == [[41], [42], [41]])

    page.get_by_role("button", name="切换到中文").click()
    expect(status).to_have_text("Li Na 正在为您服务")
    expect(live.locator(".visually-hidden")).to_have_text("客服人员 Li Na: ")
    page.get_by_role("button", name="Switch to English").click()

    page.get_by_role("button", name="My bill").click()  # like the assistant's buttons
    expect(page.locator(".message.user .bubble").last).to_contain_text("My bill")
    expect(page.locator(".message.bot .bubble").last).to_contain_text("You said: /check_bill")
    expect(page.get_by_role("button", name="My bill")).to_be_disabled()
    assert rasa.received[-1]["message"] == "/check_bill"

    pushed.push(("typing", {"author": "Li Na", "typing": True}))
    expect(typing).to_be_visible()
    pushed.push(("typing", {"author": "Li Na", "typing": False}), ("live", {"state": "ended"}))
    expect(typing).to_be_hidden()
    expect(status).to_be_hidden()

    pushed.reload()  # kept in the history; pushed again, still shown once
    pushed.push(("reply", LI_NA_SAYS_HELLO))
    expect(page.locator(".message.agent.live")).to_have_count(1)
    expect(page.locator(".message.notice")).to_have_count(1)
    assert page.errors == []


def test_in_a_live_chat_an_empty_answer_is_no_error(webchat, new_page):
    """The message went to the agent: the server answers []."""
    from playwright.sync_api import expect

    page = open_chat(new_page, webchat)
    page.route("**/api/message", lambda route: route.fulfill(json=[]))
    page.get_by_label("Your message").fill("Are you still there?")
    page.get_by_label("Your message").press("Enter")
    expect(page.locator("#typing")).to_be_hidden()
    expect(page.locator(".message.user .bubble")).to_contain_text(["Are you still there?"])
    expect(page.locator(".message.error")).to_have_count(0)


def test_the_server_hears_the_customer_typing_at_most_every_two_seconds(webchat, new_page):
    page = new_page()
    page.clock.install()
    bodies: list = []

    def typing(route) -> None:
        bodies.append(route.request.post_data)
        route.fulfill(json={})

    page.route("**/api/typing", typing)
    page.goto(webchat + "/")
    box = page.get_by_label("Your message")

    box.press_sequentially("hello")
    assert settle(page, lambda: len(bodies) == 1)
    box.press_sequentially(" there")
    page.evaluate("() => fetch('/health')")  # what the keys sent has reached the routes
    assert len(bodies) == 1

    page.clock.run_for(2000)
    box.press_sequentially("!")
    assert settle(page, lambda: len(bodies) == 2)
    assert bodies == ["{}", "{}"]


# ---- ending the chat


def end_chat(page) -> None:
    page.get_by_role("button", name="End chat").click()
    page.get_by_role("dialog").get_by_role("button", name="End and clear").click()


def test_end_chat_clears_this_device_and_the_next_message_starts_a_new_conversation(
    webchat, rasa, new_page
):
    from playwright.sync_api import expect

    page = open_chat(new_page, webchat)
    say(page, "my number is 13800000002")
    ended_conversation = rasa.received[-1]["sender"]

    page.get_by_role("button", name="End chat").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("End this chat?")
    dialog.get_by_role("button", name="Keep chatting").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".message.user")).to_have_count(1)

    with page.expect_response("**/api/end") as ended:
        end_chat(page)
    assert ended.value.request.method == "POST"
    expect(page.locator(".message.user")).to_have_count(0)
    expect(page.locator(".message")).to_have_count(1)  # the greeting
    expect(page.get_by_label("Your message")).to_be_focused()
    assert "13800000002" not in (page.evaluate("localStorage.getItem('webchat.history')") or "")
    page.reload()
    expect(page.locator(".message")).to_have_count(1)

    say(page, "hello again")
    assert rasa.received[-1]["sender"] != ended_conversation
    assert page.errors == []


def test_an_end_the_server_did_not_hear_is_said_again_before_the_next_message(
    webchat, rasa, new_page
):
    from playwright.sync_api import expect

    page = open_chat(new_page, webchat)
    say(page, "my number is 13800000002")
    ended_conversation = rasa.received[-1]["sender"]
    page.route("**/api/end", lambda route: route.abort())

    end_chat(page)

    expect(page.locator(".message.user")).to_have_count(0)  # cleared all the same
    assert "13800000002" not in (page.evaluate("localStorage.getItem('webchat.history')") or "")
    page.unroute("**/api/end")  # the server is back
    say(page, "hello again")
    assert rasa.received[-1]["sender"] != ended_conversation
    assert page.errors == []


# ---- focus rings


FOCUSED = """() => {
    const el = document.activeElement;
    if (el === document.body) return null;
    const style = getComputedStyle(el);
    // The colour around the ring: what is behind the element, or its own for a ring inside.
    let background = "rgb(255, 255, 255)";
    const inside = parseFloat(style.outlineOffset) < 0;
    for (let node = inside ? el : el.parentElement; node; node = node.parentElement) {
        const colour = getComputedStyle(node).backgroundColor;
        if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") {
            background = colour;
            break;
        }
    }
    return {
        name: el.id || el.textContent.trim(),
        style: style.outlineStyle,
        width: parseFloat(style.outlineWidth),
        colour: style.outlineColor,
        background,
    };
}"""


def tab_through(page, rounds: int = 20) -> dict:
    """Every control the Tab key reaches, by its id or text, with how its focus shows."""
    seen: dict = {}
    for _ in range(rounds):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:  # out of the page, on the way round
            continue
        if focused["name"] in seen:
            break
        seen[focused["name"]] = focused
    return seen


def test_every_control_shows_a_focus_ring_of_at_least_3_to_1(webchat, rasa, new_page):
    from playwright.sync_api import expect

    page = open_chat(new_page, webchat, viewport={"width": 1100, "height": 760})
    page.get_by_label("Your message").fill("hi")
    page.get_by_label("Your message").press("Enter")
    expect(page.get_by_role("button", name="My usage")).to_be_enabled()
    rasa.down = True
    page.get_by_label("Your message").fill("hello?")
    page.get_by_label("Your message").press("Enter")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    page.locator("body").click(position={"x": 5, "y": 5})
    controls = tab_through(page)

    page.get_by_role("button", name="End chat").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    controls.update(tab_through(page, rounds=4))

    assert {
        "larger-text",
        "language",
        "end-chat",
        "messages",
        "Retry",
        "input",
        "send",
        "end-cancel",
        "end-confirm",
    } <= controls.keys()
    weak = {
        name: ring
        for name, ring in controls.items()
        if ring["style"] == "none"
        or ring["width"] < 2
        or contrast(ring["colour"], ring["background"]) < FOCUS_CONTRAST
    }
    assert weak == {}
