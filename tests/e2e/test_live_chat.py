"""A person on the line, end to end with the real assistant: a customer on the web chat (in
headless Chromium) and an agent in the console talk to each other live while the assistant
stays silent, the agent hands back, and the ticket's conversation holds every turn; the same
over Telegram, against the fake Bot API."""

from __future__ import annotations

import contextlib
import re
import tempfile

import pytest

from channels.rasa_client import RasaClient
from channels.telegram.conversations import ChatDirectory
from telecom_assistant.database import make_engine
from telecom_assistant.language import ENGLISH
from telecom_assistant.schema import Area, migrate
from telecom_assistant.settings import Settings
from telecom_assistant.texts import text
from telecom_assistant.tickets.live import EndReason, LiveState
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.tickets.sql_live import SqlLiveDesk
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from telecom_assistant.trust import CHANNEL_SECRET, CONVERSATION_KEY
from tests.actions_support import text_of
from tests.bridge_harness import bridge_running, new_inbox
from tests.fake_telegram import FakeBotApi, wait_until
from tests.stack import AGENT, AGENT_NAME, LoopThread, Product, save_screenshot

pytestmark = pytest.mark.model

LINE = "13800000018"
TICKET_ID = re.compile(r"TK-\d{6}-\d{4}")
WAIT_MS = 60_000


def sign_in(console, product: Product, path: str) -> None:
    console.goto(f"{product.console_url}{path}")
    console.fill("#username", AGENT)
    console.fill("#password", product.agent_password)
    console.click("form[action='/login'] button[type=submit]")
    console.wait_for_load_state()
    console.goto(f"{product.console_url}{path}")


def test_a_web_chat_customer_and_an_agent_talk_live_and_the_agent_hands_back(product, browser):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    page = context.new_page()
    page.goto(product.webchat_url + "/")
    bot = page.locator(".message.bot")

    def answered() -> None:
        expect(page.locator("#typing")).to_be_hidden(timeout=WAIT_MS)

    def say(words: str) -> None:
        page.get_by_label("Your message").fill(words)
        page.get_by_label("Your message").press("Enter")
        answered()

    say("I want to talk to a real person")
    expect(bot.last.get_by_role("button").first).to_be_visible(timeout=WAIT_MS)
    bot.last.get_by_role("button").nth(1).click()
    answered()
    expect(bot.last).to_contain_text("what happened", timeout=WAIT_MS)
    say("A video add-on I never ordered is on my bill.")
    expect(bot.last).to_contain_text("number", timeout=WAIT_MS)  # a number to call back
    say(LINE)
    expect(bot.last).to_contain_text(text_of("utter_agent_requested"), timeout=WAIT_MS)
    ticket_id = TICKET_ID.search(bot.filter(has_text=TICKET_ID).last.inner_text()).group()
    answers_before = bot.count()

    console = context.new_page()
    sign_in(console, product, f"/tickets/{ticket_id}")
    panel = console.locator("#live-panel")
    expect(panel).to_contain_text(text("console.live.take", ENGLISH))
    panel.get_by_role("button", name=text("console.live.take", ENGLISH)).click()
    console.wait_for_load_state()

    joined = text("live.joined", ENGLISH, name=AGENT_NAME)
    expect(page.locator(".message").filter(has_text=joined)).to_have_count(1, timeout=5000)

    # The customer answers the agent: the agent's open page shows it without a reload, and the
    # assistant says nothing.
    say("Thanks, tomorrow morning is fine")
    expect(console.locator("ol.transcript")).to_contain_text(
        "Thanks, tomorrow morning is fine", timeout=5000
    )
    assert bot.count() == answers_before

    # The agent types: the customer sees it; the agent's message arrives under their name.
    box = console.locator("#live-text")
    box.press_sequentially("An engineer will call you")
    expect(page.get_by_text(re.compile(f"{AGENT_NAME} is typing"))).to_be_visible(timeout=5000)
    box.fill("An engineer will call you at 9 tomorrow.")
    box.press("Enter")
    agent_message = page.locator(".message.agent").filter(has_text="An engineer will call you at 9")
    expect(agent_message).to_contain_text(AGENT_NAME, timeout=5000)
    save_screenshot(page, "live-chat-customer.png", full_page=False)
    console.evaluate("document.getElementById('conversation').scrollIntoView()")
    save_screenshot(console, "live-chat-agent.png", full_page=False)

    # Handed back: the customer is told, and the assistant answers again.
    console.get_by_role("button", name=text("console.live.hand_back", ENGLISH)).click()
    console.wait_for_load_state()
    handed_back = text("live.handed_back", ENGLISH, name=AGENT_NAME)
    expect(page.locator(".message").filter(has_text=handed_back)).to_have_count(1, timeout=5000)
    say("is 5G available in Haidian?")
    expect(bot).not_to_have_count(answers_before, timeout=WAIT_MS)
    expect(bot.last).to_contain_text("5G")

    # The ticket holds the whole conversation, masked, in order.
    console.reload()
    transcript = console.locator("ol.transcript").inner_text()
    for said in (
        "Thanks, tomorrow morning is fine",
        "An engineer will call you at 9 tomorrow.",
        "is 5G available in Haidian?",
    ):
        assert said in transcript
    assert transcript.index("Thanks, tomorrow") < transcript.index("An engineer will call")
    context.close()


def test_a_telegram_customer_and_an_agent_talk_live(product):
    """The same over Telegram, the agent working through the live desk the console uses."""
    engine = make_engine(product.stack.database_url)
    migrate(engine, [Area.TELEGRAM])  # the bridge's own tables, as it makes them as it starts
    desk, tickets = SqlLiveDesk(engine), SqlTicketService(engine)
    settings = Settings.from_environment()
    loop, telegram, bridge = LoopThread(), FakeBotApi(), contextlib.AsyncExitStack()
    chat = 626262
    with tempfile.TemporaryDirectory() as directory:
        running = bridge_running(
            RasaClient(product.stack.rasa_url, CHANNEL_SECRET.value(settings)),
            loop.run(telegram.start()),
            conversation_key=CONVERSATION_KEY.value(settings),
            inbox=new_inbox(directory),
            chats=ChatDirectory(engine),
            outbox=SqlReplyOutbox(engine),
            live_desk=desk,
        )
        loop.run(bridge.enter_async_context(running))
        try:

            def texts() -> list[str]:
                return telegram.texts_to(chat)

            def wait_for(found, what: str) -> None:  # type: ignore[no-untyped-def]
                loop.run(wait_until(lambda: found() or None, lambda: f"{what}: {texts()}"), 90)

            telegram.write(chat, "I want to talk to a real person")
            wait_for(lambda: telegram.sent and telegram.sent[-1].get("reply_markup"), "categories")
            telegram.press(
                chat, telegram.sent[-1]["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
            )
            wait_for(lambda: len(texts()) >= 3, "asked what happened")
            telegram.write(chat, "A video add-on I never ordered is on my bill.")
            wait_for(lambda: any("number" in said for said in texts()[3:]), "asked a number")
            telegram.write(chat, LINE)
            wait_for(lambda: text_of("utter_agent_requested") in texts(), "put in line")
            ticket_id = TICKET_ID.search(" ".join(texts())).group()
            # Other tests' customers may wait too: the product is shared.
            assert ticket_id in [waiting.id for waiting in tickets.waiting_for_person()]
            assert desk.chat_of_ticket(ticket_id).state is LiveState.WAITING

            desk.take(ticket_id, AGENT, AGENT_NAME)
            wait_for(lambda: text("live.joined", ENGLISH, name=AGENT_NAME) in texts(), "joined")
            answered = len(texts())
            telegram.write(chat, "Thanks, tomorrow morning is fine")
            loop.run(
                wait_until(
                    lambda: (
                        any(
                            turn.text == "Thanks, tomorrow morning is fine"
                            for turn in tickets.get(ticket_id).transcript
                        )
                        or None
                    ),
                    lambda: "the agent never got it",
                )
            )
            desk.say(ticket_id, AGENT, "An engineer will call you at 9 tomorrow.")
            wait_for(
                lambda: f"{AGENT_NAME}: An engineer will call you at 9 tomorrow." in texts(),
                "the agent's message",
            )
            assert len(texts()) == answered + 1  # nothing from the assistant meanwhile
            desk.end(ticket_id, AGENT, EndReason.HANDED_BACK)
            wait_for(lambda: text("live.handed_back", ENGLISH, name=AGENT_NAME) in texts(), "back")
            telegram.write(chat, "is 5G available in Haidian?")
            wait_for(lambda: len(texts()) >= answered + 3, "the assistant answers again")
        finally:
            loop.run(bridge.aclose())
            loop.run(telegram.stop())
            loop.close()
