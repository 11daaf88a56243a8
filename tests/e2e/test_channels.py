"""The same assistant on every channel, end to end against the real one (trained model, Rasa,
action server, console, web chat; the Telegram bridge against a fake Bot API):

- the same scripted conversation over the REST API, the web chat and Telegram gives the same
  texts and the same buttons;
- a customer in a real browser (headless Chromium) verifies with the code from the outbox,
  checks their usage, presses a button, reloads the page and finds the history, asks for a
  person, and reads the agent's reply from the console without doing anything.

Also takes the README's web chat screenshots (`UPDATE_SCREENSHOTS=1`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import delete, func, select

from channels.rasa_client import BotMessage, RasaClient
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.accounts.tables import SmsOutboxRow, VerificationCounterRow
from telecom_assistant.database import make_engine
from telecom_assistant.language import ENGLISH
from telecom_assistant.settings import Settings
from telecom_assistant.texts import text
from telecom_assistant.tickets.replies import TELEGRAM
from telecom_assistant.trust import CHANNEL_SECRET, CONVERSATION_KEY
from tests.actions_support import text_of
from tests.bridge_harness import bridge_running, new_inbox
from tests.fake_telegram import FakeBotApi
from tests.stack import AGENT, LoopThread, Product, save_screenshot

pytestmark = pytest.mark.model

LINE, MASKED_LINE, CUSTOMER_NAME = "13800000018", "138****0018", "Lin Hui"
REPLY_WAIT_SECONDS = 60

# A turn as the customer sees it: the texts, and the titles of the buttons offered.
Turn = list[tuple[str, tuple[str, ...]]]
# What the customer does next: type a text, or press a button of the last turn (its index),
# or type the newest one-time code sent to the line.
Step = str | int | Callable[[], str]


def latest_code(product: Product) -> str:
    body = SqlAccountService(make_engine(product.stack.database_url)).latest_sms(LINE)
    return re.search(r"\b\d{6}\b", body).group()


def ten_minutes_later(product: Product) -> None:
    """The customer comes back after the code throttle's window: the REST, web chat and
    Telegram runs of the same conversation have used the three codes a number gets in ten
    minutes (SECURITY.md)."""
    with make_engine(product.stack.database_url).begin() as connection:
        connection.execute(
            delete(VerificationCounterRow).where(VerificationCounterRow.subject == LINE)
        )


def script(product: Product) -> list[Step]:
    return [
        "hello",
        "how much data have I got left this month?",
        LINE,
        lambda: latest_code(product),
        "I want to talk to a real person",
        1,  # the second category button
        "never mind",
        "is 5G available in Haidian?",
        "谢谢",
    ]


def as_turn(messages: list[dict]) -> Turn:
    return [
        (m.get("text", ""), tuple(b["title"] for b in m.get("buttons") or [])) for m in messages
    ]


def converse(product: Product, send: Callable[[str], list[dict]]) -> list[Turn]:
    """Plays the script over a channel whose `send` takes a text and returns Rasa's messages."""
    turns: list[Turn] = []
    messages: list[dict] = []
    for step in script(product):
        if isinstance(step, int):
            text = messages[-1]["buttons"][step]["payload"]
        else:
            text = step() if callable(step) else step
        messages = send(text)
        turns.append(as_turn(messages))
    return turns


def over_rest(product: Product) -> list[Turn]:
    sender = f"rest-{uuid.uuid4().hex[:8]}"
    return converse(product, lambda text: product.stack.send(sender, text))


def over_webchat(product: Product) -> list[Turn]:
    with httpx.Client(base_url=product.webchat_url, timeout=60) as customer:
        customer.get("/")  # the page starts the session: its cookie is the conversation

        def send(text: str) -> list[dict]:
            answer = customer.post("/api/message", json={"message": text})
            answer.raise_for_status()
            return answer.json()

        return converse(product, send)


@contextmanager
def telegram_bridge(product: Product) -> Iterator[FakeBotApi]:
    """The real bridge between the fake Bot API and the product's Rasa, on a loop of its own."""
    loop, bot_api, bridge = LoopThread(), FakeBotApi(), contextlib.AsyncExitStack()
    # The secrets the stack's Rasa was started with (tests/stack.py, server_environment).
    settings = Settings.from_environment()
    rasa = RasaClient(product.stack.rasa_url, CHANNEL_SECRET.value(settings))
    with tempfile.TemporaryDirectory() as directory:
        running = bridge_running(
            rasa,
            loop.run(bot_api.start()),
            conversation_key=CONVERSATION_KEY.value(settings),
            inbox=new_inbox(directory),
        )
        loop.run(bridge.enter_async_context(running))
        try:
            yield bot_api
        finally:
            loop.run(bridge.aclose())
            loop.run(bot_api.stop())
            loop.close()


def wait_for_messages(bot_api: FakeBotApi, chat_id: int, count: int, step: object) -> None:
    deadline = time.monotonic() + 60
    while len(bot_api.texts_to(chat_id)) < count:
        assert time.monotonic() < deadline, f"no answer on Telegram to {step!r}"
        time.sleep(0.1)
    time.sleep(0.5)  # a moment more, so that an extra message would show


def over_telegram(product: Product, reference: list[Turn]) -> list[Turn]:
    """The bridge relays to Rasa; each turn is read once the fake Bot API has as many messages
    as the reference turn has (and a moment more, so that an extra one would show)."""
    chat_id = 424242
    with telegram_bridge(product) as bot_api:
        turns: list[Turn] = []
        last_sent: list[dict] = []
        for step, expected in zip(script(product), reference):
            before = len(bot_api.texts_to(chat_id))
            if isinstance(step, int):
                keyboard = last_sent[-1]["reply_markup"]["inline_keyboard"]
                bot_api.press(chat_id, keyboard[step][0]["callback_data"])
            else:
                bot_api.write(chat_id, step() if callable(step) else step)
            wait_for_messages(bot_api, chat_id, before + len(expected), step)
            last_sent = [sent for sent in bot_api.sent if sent["chat_id"] == chat_id][before:]
            turns.append(
                [
                    (
                        sent["text"],
                        tuple(
                            row[0]["text"]
                            for row in (sent.get("reply_markup") or {}).get("inline_keyboard", [])
                        ),
                    )
                    for sent in last_sent
                ]
            )
        return turns


def test_a_shared_telegram_contact_is_verified_in_one_turn(product):
    ten_minutes_later(product)
    chat_id = 515151
    with telegram_bridge(product) as bot_api:
        bot_api.share_contact(chat_id, contact_user_id=chat_id, phone_number="+86 138 0000 0018")
        wait_for_messages(bot_api, chat_id, 3, "the shared contact")
        assert bot_api.texts_to(chat_id) == [
            text("telegram.contact_received", ENGLISH),
            text_of("utter_code_sent", masked=MASKED_LINE),
            text_of("utter_ask_otp_code"),
        ]
        bot_api.write(chat_id, latest_code(product))
        wait_for_messages(bot_api, chat_id, 4, "the code")
        assert bot_api.texts_to(chat_id)[3] == text_of("utter_verified", name=CUSTOMER_NAME)
    ten_minutes_later(product)  # the code it used counts against the number's three


def codes_sent(product: Product) -> int:
    with make_engine(product.stack.database_url).connect() as connection:
        return connection.scalar(
            select(func.count()).select_from(SmsOutboxRow).where(SmsOutboxRow.msisdn == LINE)
        )


def test_a_number_sent_again_with_its_key_is_answered_again_but_sends_one_code(product):
    """What the Telegram bridge does after a timeout or a restart, against the real Rasa: the
    second sending gets the first one's answer, and the turn (which sends a code by SMS) ran
    once."""
    ten_minutes_later(product)
    settings = Settings.from_environment()
    conversation = f"telegram-{uuid.uuid4().hex}"

    async def send_the_number_twice() -> tuple[list[BotMessage], list[BotMessage]]:
        rasa = RasaClient(product.stack.rasa_url, CHANNEL_SECRET.value(settings))
        try:
            await rasa.send(TELEGRAM, conversation, "how much data have I got left?")
            key = uuid.uuid4().hex
            first = await rasa.send(TELEGRAM, conversation, LINE, message_key=key)
            again = await rasa.send(TELEGRAM, conversation, LINE, message_key=key, retry=True)
            return first, again
        finally:
            await rasa.close()

    before = codes_sent(product)
    first, again = asyncio.run(send_the_number_twice())
    assert [message.text for message in first] == [
        text_of("utter_code_sent", masked=MASKED_LINE),
        text_of("utter_ask_otp_code"),
    ]
    assert again == first
    assert codes_sent(product) == before + 1
    ten_minutes_later(product)


def test_the_same_conversation_reads_the_same_on_every_channel(product):
    rest = over_rest(product)
    # The script did what it meant to: verified, looked up, escalated, cancelled, in 2 languages.
    assert rest[0] == [(text_of("utter_greet"), ())]
    assert rest[3][0][0] == text_of("utter_verified", name=CUSTOMER_NAME)
    assert rest[3][1][0].startswith("This cycle")
    assert len(rest[4][-1][1]) >= 5  # the category buttons
    # Handled by the assistant alone (the person was called off): a rating is asked for.
    assert rest[-1] == [
        (text_of("utter_you_are_welcome", "zh"), ()),
        (text_of("utter_ask_csat_score", "zh"), ("1", "2", "3", "4", "5")),
    ]

    assert over_webchat(product) == rest
    assert over_telegram(product, rest) == rest


def test_a_web_chat_customer_verifies_asks_for_a_person_and_reads_the_agents_reply(
    product, browser
):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    page = context.new_page()
    script_errors: list = []
    page.on("pageerror", lambda error: script_errors.append(error))
    page.goto(product.webchat_url + "/")
    bot = page.locator(".message.bot .bubble")
    ten_minutes_later(product)

    def say(text: str) -> None:
        page.get_by_label("Your message").fill(text)
        page.get_by_role("button", name="Send").click()
        expect(page.locator("#typing")).to_be_hidden(timeout=60_000)

    say("hello")
    expect(bot.last).to_have_text(f"Assistant: {text_of('utter_greet')}")
    say("how much data have I got left this month?")
    say(LINE)
    expect(bot.last).to_contain_text(text_of("utter_ask_otp_code"))
    say(latest_code(product))
    expect(page.locator(".message.bot").filter(has_text="This cycle")).to_have_count(1)

    say("I want to talk to a real person")
    category_buttons = page.locator(".message.bot .buttons").last.get_by_role("button")
    expect(category_buttons.first).to_have_text("Yes, that's right")  # billing, proposed
    category_buttons.nth(1).click()  # no: an add-on ordered without consent
    expect(page.locator("#typing")).to_be_hidden(timeout=60_000)
    expect(page.locator(".message.user .bubble").last).to_contain_text(
        "add-on ordered without consent"
    )
    say("A video add-on I never ordered is on my bill since October.")
    # The verified line is the contact number: the ticket is filed at once, and a colleague
    # asked to join (the test stack's agents are in around the clock).
    expect(bot.last).to_have_text(f"Assistant: {text_of('utter_agent_requested')}")
    filed = bot.filter(has_text=re.compile(r"TK-\d{6}-\d{4}")).last.inner_text()
    ticket_id = re.search(r"TK-\d{6}-\d{4}", filed).group()

    # History survives a reload; the pressed buttons stay pressed.
    page.reload()
    expect(page.locator(".message.bot").filter(has_text="This cycle")).to_have_count(1)
    expect(page.locator(".message.bot").filter(has_text=ticket_id)).not_to_have_count(0)
    expect(category_buttons.first).to_be_disabled()

    # An agent answers from the console; the open page shows it without the customer asking.
    console = context.new_page()
    console.goto(f"{product.console_url}/tickets/{ticket_id}")
    console.fill("#username", AGENT)
    console.fill("#password", product.agent_password)
    console.click("form[action='/login'] button[type=submit]")
    console.wait_for_load_state()
    console.goto(f"{product.console_url}/tickets/{ticket_id}")
    assert "next visit" in console.locator("#reply-hint").inner_text()
    answer = "We have removed the video add-on and refunded ¥30 to your account. Sorry!"
    console.fill("#reply-text", answer)
    console.click("form[action$='/reply'] button[type=submit]")
    console.wait_for_load_state()
    assert answer in console.locator("ol.transcript").inner_text()
    console.close()

    agent_reply = page.locator(".message.agent .bubble")
    expect(agent_reply).to_contain_text(answer, timeout=REPLY_WAIT_SECONDS * 1000)
    expect(agent_reply).to_contain_text(f"about ticket {ticket_id}")
    save_screenshot(page, "webchat-desktop.png", full_page=False)

    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(product.webchat_url + "/")
    expect(phone.locator(".message.agent .bubble")).to_contain_text(answer)
    # A returning customer starts at the latest message, scrolled all the way down.
    phone.wait_for_function(
        "() => { const m = document.getElementById('messages');"
        " return m.scrollHeight - m.scrollTop - m.clientHeight < 2; }",
        timeout=5000,
    )
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    save_screenshot(phone, "webchat-phone.png", full_page=False)
    assert script_errors == []  # e.g. nothing the CSP blocked
    context.close()
