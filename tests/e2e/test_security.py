"""The trust boundary (SECURITY.md), attacked over HTTP against the running product (the
shared `product`: action server, Rasa with its tracker store, web chat, console, all as
`telecom run` starts them). Every attack issue 15 found is tried here and must fail; the
Telegram bridge's own doors (group chats, webhook secret, chat ids) are attacked offline in
tests/integration/test_telegram_bridge.py, the console's sign-in in tests/integration/test_console.py, and the
atomic lock-out on PostgreSQL in tests/integration/test_account_service.py.

Each test has numbers and conversations of its own: the product is shared by the end-to-end
tests, and the throttles count per number and per conversation."""

from __future__ import annotations

import re
import sqlite3
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from channels.webchat.sessions import SESSION_COOKIE
from telecom_assistant.accounts.msisdn import mask_msisdn
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.accounts.tables import SmsOutboxRow
from telecom_assistant.database import make_engine
from telecom_assistant.settings import Settings
from telecom_assistant.tickets.model import QueueFilter
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.trust import ACTION_TOKEN_HEADER, CHANNEL_SECRET, CHANNEL_SECRET_HEADER
from tests.actions_support import text_of
from tests.stack import listening_addresses

pytestmark = pytest.mark.model

TIMEOUT = 60


def new_sender() -> str:
    return f"sec-{uuid.uuid4().hex[:12]}"


def rest(product, sender: str, text: str, **extra: Any) -> list[str]:
    """One message to Rasa's REST channel as a local script sends it (no secret)."""
    answer = httpx.post(
        f"{product.stack.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text, **extra},
        timeout=TIMEOUT,
    )
    answer.raise_for_status()
    return [message.get("text", "") for message in answer.json()]


def said(replies: list[str]) -> str:
    return "\n".join(replies)


def accounts(product) -> SqlAccountService:
    return SqlAccountService(make_engine(product.stack.database_url))


def sms_count(product, msisdn: str) -> int:
    with make_engine(product.stack.database_url).connect() as connection:
        return len(
            connection.execute(select(SmsOutboxRow.id).where(SmsOutboxRow.msisdn == msisdn)).all()
        )


def latest_code(product, msisdn: str) -> str:
    return re.search(r"\d{6}", accounts(product).latest_sms(msisdn)).group()


def verify(product, sender: str, msisdn: str, request: str = "show me my bill") -> list[str]:
    """A customer asks for their bill and verifies: the bill's replies."""
    rest(product, sender, request)
    rest(product, sender, msisdn)
    return rest(product, sender, latest_code(product, msisdn))


def bill_said(replies: list[str]) -> bool:
    return "¥" in said(replies)


def asked_for_number(replies: list[str]) -> bool:
    return text_of("utter_ask_phone_number") in said(replies)


def tickets_of(product, conversation_id: str):
    service = SqlTicketService(make_engine(product.stack.database_url))
    return [t for t in service.queue(QueueFilter()) if t.conversation_id == conversation_id]


def action_server_url(product) -> str:
    return next(server.url for server in product.stack.servers if server.name == "action server")


# --- only the channel programs face customers ----------------------------------------------


def test_everything_behind_the_channels_listens_on_loopback_only(product):
    ports = [
        int(url.rsplit(":", 1)[1])
        for url in (
            product.stack.rasa_url,
            action_server_url(product),
            product.console_url,
            product.webchat_url,
        )
    ]
    for port in ports:
        assert listening_addresses(port) == {"127.0.0.1"}, port


def test_a_forged_call_to_the_action_server_reads_no_account(product):
    call = {
        "next_action": "action_check_bill",
        "sender_id": "x",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "x",
            "slots": {"verified_msisdn": "13800000001", "verified_at": 4e9},
            "latest_message": {"text": "bill", "intent": {"name": "check_bill"}},
            "events": [],
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }
    for headers in ({}, {ACTION_TOKEN_HEADER: "guess"}):
        answer = httpx.post(f"{action_server_url(product)}/webhook", json=call, headers=headers)
        assert answer.status_code == 401
        assert "¥" not in answer.text


@pytest.mark.parametrize("channel", ["webchat", "telegram"])
def test_the_channel_programs_doors_into_rasa_need_their_secret(product, channel):
    """Posting as a Telegram or web chat conversation straight to Rasa is refused."""
    url = f"{product.stack.rasa_url}/webhooks/{channel}/webhook"
    body = {"sender": f"{channel}-{uuid.uuid4().hex}", "message": "show me my bill"}
    for headers in ({}, {CHANNEL_SECRET_HEADER: "guess"}):
        answer = httpx.post(url, json=body, headers=headers, timeout=TIMEOUT)
        assert answer.status_code == 401
    secret = CHANNEL_SECRET.value(Settings.from_environment())
    answer = httpx.post(url, json=body, headers={CHANNEL_SECRET_HEADER: secret}, timeout=TIMEOUT)
    assert answer.status_code == 200 and answer.json()


def test_the_channel_is_the_door_a_message_came_through_not_what_the_body_says(product):
    """A ticket filed with input_channel "telegram" in the body would send the agent's reply
    into someone's Telegram chat: the ticket records the REST channel it came through."""
    sender = new_sender()
    for text in (
        "can i just talk to someone",
        "billing",
        "i was charged twice for my roaming pack this month",
        "13800000011",
    ):
        rest(product, sender, text, input_channel="telegram")
    filed = tickets_of(product, sender)
    assert len(filed) == 1
    assert filed[0].channel == "rest"


# --- the web chat names its conversations ---------------------------------------------------


def webchat_visitor(product) -> httpx.Client:
    client = httpx.Client(
        base_url=product.webchat_url, timeout=TIMEOUT, headers={"Origin": product.webchat_url}
    )
    assert client.get("/").status_code == 200
    assert client.cookies.get(SESSION_COOKIE)
    return client


def webchat_says(client: httpx.Client, text: str) -> list[str]:
    answer = client.post("/api/message", json={"message": text})
    assert answer.status_code == 200, answer.text
    return [message.get("text", "") for message in answer.json()]


def test_a_web_chat_visitor_cannot_choose_a_conversation(product):
    visitor = webchat_visitor(product)
    victim = f"telegram-{uuid.uuid4().int % 10**9}"
    answer = visitor.post("/api/message", json={"sender": victim, "message": "my bill"})
    assert answer.status_code == 400
    assert visitor.get("/api/inbox", params={"sender": victim}).status_code == 400
    assert visitor.post("/api/inbox/ack", json={"sender": victim, "ids": [1]}).status_code == 400


def test_a_verified_web_chat_customer_cannot_be_reached_from_another_browser(product):
    msisdn = "13800000012"
    customer = webchat_visitor(product)
    webchat_says(customer, "show me my bill")
    webchat_says(customer, msisdn)
    assert bill_said(webchat_says(customer, latest_code(product, msisdn)))
    stolen = customer.cookies.get(SESSION_COOKIE)
    session_id, _signature = stolen.split(".")
    for forged in (session_id, f"{session_id}.{'0' * 64}", "x" * 32 + "." + "f" * 64):
        attacker = httpx.Client(
            base_url=product.webchat_url,
            timeout=TIMEOUT,
            headers={"Origin": product.webchat_url},
            cookies={SESSION_COOKIE: forged},
        )
        replies = webchat_says(attacker, "show me my bill")
        assert not bill_said(replies) and asked_for_number(replies)
    # The customer's own conversation is still theirs.
    assert bill_said(webchat_says(customer, "show me my bill"))


def test_a_page_of_another_site_cannot_post_for_a_visitor(product):
    visitor = webchat_visitor(product)
    answer = visitor.post(
        "/api/message", json={"message": "my bill"}, headers={"Origin": "https://evil.example"}
    )
    assert answer.status_code == 403


# --- verification -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "farewell, msisdn", [("thanks, bye", "13800000013"), ("please sign me out", "13800000021")]
)
def test_goodbye_and_sign_me_out_end_the_verification(product, farewell, msisdn):
    sender = new_sender()
    assert bill_said(verify(product, sender, msisdn))
    rest(product, sender, farewell)
    replies = rest(product, sender, "what's my bill")
    assert not bill_said(replies) and asked_for_number(replies)


def test_a_stranger_cannot_lock_the_customer_out(product):
    msisdn = "13800000014"
    stranger = new_sender()
    rest(product, stranger, "show me my bill")
    rest(product, stranger, msisdn)
    code = latest_code(product, msisdn)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(3):
        replies = rest(product, stranger, wrong)
    assert not bill_said(replies)
    assert not bill_said(rest(product, stranger, code)), "the stranger's code is burned"
    assert bill_said(verify(product, new_sender(), msisdn))


def test_a_code_sent_to_one_conversation_does_not_open_another(product):
    msisdn = "13800000015"
    customer, stranger = new_sender(), new_sender()
    rest(product, customer, "show me my bill")
    rest(product, customer, msisdn)
    code = latest_code(product, msisdn)
    rest(product, stranger, "show me my bill")
    # The stranger asks for nothing to be sent but types the customer's code.
    replies = rest(product, stranger, msisdn)
    replies = rest(product, stranger, code)
    assert not bill_said(replies)


def test_nobody_can_flood_a_phone_with_codes(product):
    msisdn = "13800000016"
    before = sms_count(product, msisdn)
    for _ in range(6):
        sender = new_sender()
        rest(product, sender, "show me my bill")
        rest(product, sender, msisdn)
    sent = sms_count(product, msisdn) - before
    assert 1 <= sent <= 3


def test_the_reply_to_a_number_does_not_say_whether_it_is_a_customer(product):
    ours, not_ours = "13800000017", "13912345678"

    def reply_to(msisdn: str) -> str:
        sender = new_sender()
        rest(product, sender, "show me my bill")
        return said(rest(product, sender, msisdn)).replace(mask_msisdn(msisdn), "<number>")

    before = sms_count(product, not_ours)
    assert reply_to(ours) == reply_to(not_ours)
    assert sms_count(product, not_ours) == before


# --- personal data ------------------------------------------------------------------------------

SECRETS_TYPED = ("11010519491231002X", "6222 0212 3456 7890 128")


def stored_conversation(product, sender: str) -> str:
    with sqlite3.connect(product.workdir / "tracker.db") as connection:
        rows = connection.execute("SELECT data FROM events WHERE sender_id = ?", (sender,))
        return "\n".join(row[0] for row in rows)


def digits_of(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_codes_and_card_numbers_are_never_stored(product):
    sender, msisdn = new_sender(), "13800000019"
    rest(product, sender, "show me my bill")
    rest(product, sender, msisdn)
    code = latest_code(product, msisdn)
    assert bill_said(rest(product, sender, f"the code is {code[:3]} {code[3:]}"))
    rest(product, sender, f"my id card is {SECRETS_TYPED[0]} and my bank card {SECRETS_TYPED[1]}")
    stored = stored_conversation(product, sender)
    assert "show me my bill" in stored, "the conversation is kept"
    stored_digits = digits_of(stored)
    for secret in (code, *SECRETS_TYPED):
        assert digits_of(secret)[:12] not in stored_digits, secret
    log = (product.workdir / "rasa.log").read_text(errors="replace")
    assert code not in digits_of(log) and SECRETS_TYPED[0] not in log


def test_odd_characters_never_break_a_conversation_or_a_ticket(product):
    sender = new_sender()
    for text in (
        "can i just talk to someone",
        "billing",
        "charged\x00 twice \u200bfor roaming\x07 this month 😡",
        "13800000011",
    ):
        replies = rest(product, sender, text)
        assert replies and all(reply for reply in replies)
    filed = tickets_of(product, sender)
    assert len(filed) == 1
    assert "\x00" not in filed[0].description and "roaming" in filed[0].description
