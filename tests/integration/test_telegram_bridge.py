"""The Telegram bridge end to end, offline: the real python-telegram-bot Application polls a
fake Bot API (or takes its updates by webhook) and talks to a fake Rasa, both small aiohttp
servers on 127.0.0.1; agents' replies come from an outbox on SQLite."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from channels.rasa_client import RasaClient
from channels.telegram.__main__ import main as bridge_main
from channels.telegram.bridge import TokenBucket
from channels.telegram.conversations import ChatDirectory, rasa_sender_id
from channels.telegram.inbox import Inbox
from channels.telegram.updates import TELEGRAM_SECRET_HEADER
from channels.telegram.webhook import WEBHOOK_LISTEN, WebhookSettings, webhook_settings
from telecom_assistant import trust
from telecom_assistant.database import make_engine
from telecom_assistant.language import CHINESE, ENGLISH
from telecom_assistant.schema import Area, migrate
from telecom_assistant.settings import Settings, SettingsError, Telegram
from telecom_assistant.texts import text
from telecom_assistant.tickets.model import Delivery
from telecom_assistant.tickets.replies import TELEGRAM, AgentReply, ReplyButton, ReplyOutbox
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from telecom_assistant.tickets.tables import AgentReplyRow
from tests.bridge_harness import bridge_running, new_inbox
from tests.fake_telegram import BOT_USER, TOKEN, FakeBotApi, free_port, serve, wait_until
from tests.integration.test_tickets import new_ticket

LONG_PAYLOAD = '/inform{"plan_name": "' + "Unlimited Family Share Premium " * 3 + '"}'
CHANNEL_SECRET = "the-tests-channel-secret-0123456789abcdef"
CONVERSATION_KEY = "the-tests-conversation-key-0123456789abcdef"
WEBHOOK_SECRET = "the-tests-webhook-secret-0123456789_abcdef"
BRIDGE_LOGGER = "channels.telegram.bridge"
CODE_SENT = "I've sent a 6-digit code by SMS to 138****0018."
TYPE_THE_CODE = "Please type the 6-digit code from the SMS."
# Longer than one Telegram message (4096): 120 lines of 41 characters.
LONG_ANSWER = "\n".join(f"Plan {number:03d}: ¥129.00 a month, 80 GB, 5G" for number in range(120))


def conversation_of(chat_id: int) -> str:
    return rasa_sender_id(chat_id, CONVERSATION_KEY)


class FakeRasa:
    """Rasa's REST channel at /webhooks/telegram/webhook: echoes, offers buttons, or is down;
    and Rasa's hello at /, which tells the bridge's health check that Rasa is there. Like the
    real channel, it refuses a message without the channel secret."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        # The channel secret header of every request, GET / included (None: not sent).
        self.secrets_sent: list[str | None] = []
        self.up = True

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/", self._hello)
        app.router.add_post("/webhooks/telegram/webhook", self._handle)
        self._runner, url = await serve(app)
        return url

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _hello(self, request: web.Request) -> web.Response:
        self.secrets_sent.append(request.headers.get(trust.CHANNEL_SECRET_HEADER))
        return web.Response(text="Hello from Rasa: 3.6.21")

    async def _handle(self, request: web.Request) -> web.Response:
        secret = request.headers.get(trust.CHANNEL_SECRET_HEADER)
        self.secrets_sent.append(secret)
        if not trust.same_secret(secret, CHANNEL_SECRET):
            return web.json_response({"error": "unauthorized"}, status=401)
        if not self.up:
            return web.Response(status=503, text="action server unreachable")
        body = await request.json()
        sender, message = body["sender"], body["message"]
        self.received.append((sender, message))
        if message == "silence":
            return web.json_response([])
        if message == "13800000018":  # as the verification form answers a number
            return web.json_response(
                [
                    {"recipient_id": sender, "text": CODE_SENT},
                    {"recipient_id": sender, "text": TYPE_THE_CODE},
                ]
            )
        if message == "all plans":
            return web.json_response(
                [
                    {
                        "recipient_id": sender,
                        "text": LONG_ANSWER,
                        "buttons": [{"title": "5G Plus 129", "payload": "/ask_tariff"}],
                    }
                ]
            )
        reply: dict[str, Any] = {"recipient_id": sender, "text": f"echo: {message}"}
        if message == "offer buttons":
            reply["buttons"] = [
                {"title": "Yes", "payload": "/affirm"},
                {"title": "Family plan", "payload": LONG_PAYLOAD},
            ]
        return web.json_response([reply])

    def messages_from(self, chat_id: int) -> list[str]:
        return [message for sender, message in self.received if sender == conversation_of(chat_id)]


Scenario = Callable[[FakeBotApi, FakeRasa], Awaitable[None]]


def run_bridge(
    scenario: Scenario,
    channel_secret: str = CHANNEL_SECRET,
    inbox: Inbox | None = None,
    **options: Any,
) -> None:
    """Runs the real bridge against both fakes around scenario; options go to build_bridge.
    Its inbox is a database of its own, unless a test gives one."""

    async def main(inbox: Inbox) -> None:
        telegram, rasa = FakeBotApi(), FakeRasa()
        telegram_url, rasa_url = await telegram.start(), await rasa.start()
        try:
            async with bridge_running(
                RasaClient(rasa_url, channel_secret),
                telegram_url,
                inbox=inbox,
                conversation_key=CONVERSATION_KEY,
                first_retry_delay=0.05,
                reply_poll_seconds=0.05,
                **options,
            ):
                await scenario(telegram, rasa)
        finally:
            await telegram.stop()
            await rasa.stop()

    if inbox is not None:
        asyncio.run(main(inbox))
        return
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(main(new_inbox(directory)))


def en(key: str) -> str:
    return text(f"telegram.{key}", ENGLISH)


def zh(key: str) -> str:
    return text(f"telegram.{key}", CHINESE)


@pytest.fixture
def chats(sqlite_engine) -> ChatDirectory:
    migrate(sqlite_engine, [Area.TELEGRAM])
    return ChatDirectory(sqlite_engine)


def test_a_text_goes_to_rasa_as_the_chats_conversation_and_the_reply_comes_back():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(42, "what is my balance")
        await telegram.wait_for_text(42, "echo: what is my balance")
        assert rasa.received == [(conversation_of(42), "what is my balance")]

    run_bridge(scenario)


def test_rasa_buttons_become_an_inline_keyboard_and_a_press_sends_the_payload():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(42, "offer buttons")
        offer = await telegram.wait_for_text(42, "echo: offer buttons")
        rows = offer["reply_markup"]["inline_keyboard"]
        assert [[button["text"] for button in row] for row in rows] == [["Yes"], ["Family plan"]]
        yes, family_plan = rows[0][0]["callback_data"], rows[1][0]["callback_data"]
        assert yes == "/affirm"
        # Too long for Telegram's 64 bytes: a short key stands in for the payload.
        assert len(family_plan.encode()) <= 64 and family_plan != LONG_PAYLOAD

        telegram.press(42, yes)
        await telegram.wait_for_text(42, "echo: /affirm")
        telegram.press(42, family_plan)
        await telegram.wait_for_text(42, f"echo: {LONG_PAYLOAD}")
        assert rasa.messages_from(42) == ["offer buttons", "/affirm", LONG_PAYLOAD]
        assert len(telegram.answered_callbacks) == 2

    run_bridge(scenario)


def test_start_offers_to_share_the_phone_number_and_help_explains():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(42, "/start")
        greeting = await telegram.wait_for_text(42, en("start"))
        (row,) = greeting["reply_markup"]["keyboard"]
        assert row == [{"text": en("share_contact"), "request_contact": True}]
        telegram.write(42, "/help")
        await telegram.wait_for_text(42, en("help"))
        assert rasa.received == []

    run_bridge(scenario)


def test_the_customers_own_contact_starts_verification_with_the_number():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.share_contact(42, contact_user_id=42, phone_number="+86 138-0013-8000")
        thanks = await telegram.wait_for_text(42, en("contact_received"))
        assert thanks["reply_markup"] == {"remove_keyboard": True}
        payload = '/verify_identity{"phone_number": "8613800138000"}'
        await telegram.wait_for_text(42, "echo: " + payload)
        # One turn: the number goes with the request, not after a "What's your number?".
        assert rasa.messages_from(42) == [payload]
        assert telegram.texts_to(42)[1:] == ["echo: " + payload]

    run_bridge(scenario)


def test_someone_elses_contact_is_refused():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.share_contact(42, contact_user_id=777, phone_number="+8613800138000")
        await telegram.wait_for_text(42, en("contact_not_yours"))
        assert rasa.received == []

    run_bridge(scenario)


def test_language_follows_telegram_and_can_be_switched():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(7, "/help", language_code="zh-hans")
        await telegram.wait_for_text(7, zh("help"))

        telegram.write(42, "/language")
        choice = await telegram.wait_for_text(42, en("choose_language"))
        buttons = [row[0] for row in choice["reply_markup"]["inline_keyboard"]]
        assert [button["text"] for button in buttons] == ["English", "中文"]
        telegram.press(42, buttons[1]["callback_data"])
        await telegram.wait_for_text(42, zh("language_set"))
        telegram.write(42, "/help")
        await telegram.wait_for_text(42, zh("help"))
        assert rasa.received == []

    run_bridge(scenario)


def test_a_flood_is_cut_after_the_burst_with_one_request_to_slow_down():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        for number in range(8):
            telegram.write(42, f"message {number}")
        await telegram.wait_for_text(42, "echo: message 4")
        await telegram.wait_for_text(42, en("slow_down"))
        await asyncio.sleep(0.2)
        assert rasa.messages_from(42) == [f"message {number}" for number in range(5)]
        assert telegram.texts_to(42).count(en("slow_down")) == 1

    run_bridge(scenario)


def test_the_token_bucket_refills_over_time():
    now = [0.0]
    bucket = TokenBucket(capacity=2, refill_per_second=1.0, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] = 1.0
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] = 100.0  # a long pause refills only up to the burst
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_while_rasa_is_down_messages_wait_and_are_answered_in_order_when_it_is_back():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        rasa.up = False
        telegram.write(42, "first")
        await telegram.wait_for_text(42, en("unavailable"))
        telegram.write(42, "second")
        telegram.write(42, "silence")  # answered with nothing: nothing extra is sent
        await asyncio.sleep(0.3)  # a few retries with backoff
        assert rasa.received == []

        rasa.up = True
        await telegram.wait_for_text(42, "echo: second")
        await asyncio.sleep(0.1)
        assert rasa.messages_from(42) == ["first", "second", "silence"]
        # One notice for the outage, not one per message.
        assert telegram.texts_to(42) == [en("unavailable"), "echo: first", "echo: second"]

    run_bridge(scenario)


def test_two_chats_keep_separate_conversations():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(1, "I am chat one")
        telegram.write(2, "I am chat two")
        await telegram.wait_for_text(1, "echo: I am chat one")
        await telegram.wait_for_text(2, "echo: I am chat two")
        assert rasa.messages_from(1) == ["I am chat one"]
        assert rasa.messages_from(2) == ["I am chat two"]
        assert telegram.texts_to(1) == ["echo: I am chat one"]
        assert telegram.texts_to(2) == ["echo: I am chat two"]

    run_bridge(scenario)


def test_invisible_and_control_characters_are_dropped_before_rasa_reads_the_text():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(42, "my number is 138\u200b0013\x008000")
        await telegram.wait_for_text(42, "echo: my number is 13800138000")
        telegram.write(42, "\u200b\u2060\x00")
        await telegram.wait_for_text(42, en("nothing_to_read"))
        telegram.press(42, "/affirm\x00")  # any client can make up callback data
        await telegram.wait_for_text(42, "echo: /affirm")
        assert rasa.messages_from(42) == ["my number is 13800138000", "/affirm"]

    run_bridge(scenario)


# --- Private chats only ---------------------------------------------------------------------

GROUP, SUPERGROUP, CHANNEL = -4001, -1002003004005, -1006007008009


def private_only(language: str) -> str:
    return text("telegram.private_only", language, bot_username=BOT_USER["username"])


def test_nothing_from_a_group_or_channel_reaches_rasa_and_each_group_is_told_once(chats):
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        # Customer 42 and others write in the groups (and the channel) the bot is in.
        telegram.write(GROUP, "what is my balance", chat_type="group", member=42)
        telegram.write(GROUP, "/start", chat_type="group", member=7)
        telegram.share_contact(
            GROUP, contact_user_id=42, phone_number="+8613800138000", chat_type="group", member=42
        )
        telegram.press(GROUP, "/affirm", chat_type="group", member=42)
        telegram.write(
            SUPERGROUP, "查一下话费", language_code="zh", chat_type="supergroup", member=8
        )
        telegram.post_in_channel(CHANNEL, "what is my balance")
        # Updates are handled in order: once this one is answered, those above were handled.
        telegram.write(42, "hello")
        await telegram.wait_for_text(42, "echo: hello")

        assert rasa.received == [(conversation_of(42), "hello")]
        assert telegram.texts_to(GROUP) == [private_only(ENGLISH)]
        assert "https://t.me/assistant_bot" in private_only(ENGLISH)
        assert telegram.texts_to(SUPERGROUP) == [private_only(CHINESE)]
        assert telegram.texts_to(CHANNEL) == []
        assert telegram.answered_callbacks == []
        assert chats.chat_of(conversation_of(42)) == 42
        assert chats.chat_of(conversation_of(GROUP)) is None

    run_bridge(scenario, chats=chats)


# --- Conversation ids ---------------------------------------------------------------------


def test_a_chats_conversation_id_cannot_be_made_without_the_key_and_is_stable_with_it():
    conversation = conversation_of(42)
    assert re.fullmatch(r"telegram-[0-9a-f]{32}", conversation)
    assert conversation == rasa_sender_id(42, CONVERSATION_KEY)  # the same at every start
    assert conversation == trust.conversation_id("telegram-", "42", CONVERSATION_KEY)
    assert rasa_sender_id(42, "another-conversation-key-0123456789abcdef") != conversation
    assert conversation_of(43) != conversation


def test_the_directory_keeps_each_conversations_chat_once(engine):
    migrate(engine, [Area.TELEGRAM])
    chats = ChatDirectory(engine)
    # Telegram's user ids take up to 52 bits.
    big_chat = 2**52 - 1
    chats.remember(conversation_of(big_chat), big_chat)
    chats.remember(conversation_of(big_chat), big_chat)  # as after a restart
    chats.remember(conversation_of(42), 42)
    assert chats.chat_of(conversation_of(big_chat)) == big_chat
    assert chats.chat_of(conversation_of(42)) == 42
    assert chats.chat_of(conversation_of(43)) is None


def test_a_chat_goes_on_while_the_directory_cannot_record_it_and_is_recorded_once_it_can(
    tmp_path, caplog
):
    engine = make_engine(f"sqlite:///{tmp_path / 'no-tables-yet.db'}")
    chats = ChatDirectory(engine)

    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(42, "first")
        await telegram.wait_for_text(42, "echo: first")
        migrate(engine, [Area.TELEGRAM])
        telegram.write(42, "second")
        await telegram.wait_for_text(42, "echo: second")
        assert chats.chat_of(conversation_of(42)) == 42

    with caplog.at_level(logging.WARNING, logger=BRIDGE_LOGGER):
        run_bridge(scenario, chats=chats)
    [warning] = [record.getMessage() for record in caplog.records if record.name == BRIDGE_LOGGER]
    assert warning.startswith("Chat 42: cannot record it in the chat directory")


# --- The channel secret -------------------------------------------------------------------


def test_every_request_to_rasa_carries_the_channel_secret():
    health_port = free_port()

    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(42, "hello")
        await telegram.wait_for_text(42, "echo: hello")
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{health_port}/health") as response,
        ):
            assert (await response.json())["rasa"] == "reachable"
        assert rasa.secrets_sent == [CHANNEL_SECRET, CHANNEL_SECRET]

    run_bridge(scenario, health_port=health_port)


def test_with_the_wrong_channel_secret_rasa_refuses_and_the_log_says_why(caplog):
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(42, "hello")
        await telegram.wait_for_text(42, en("unavailable"))
        assert rasa.received == []

    with caplog.at_level(logging.WARNING, logger=BRIDGE_LOGGER):
        run_bridge(scenario, channel_secret="not-the-channel-secret-0123456789abcdef")
    warnings = [record.getMessage() for record in caplog.records if record.name == BRIDGE_LOGGER]
    assert "Rasa refused the channel secret (HTTP 401)" in warnings[0]


# --- Webhook mode -------------------------------------------------------------------------

WEBHOOK_URL = "https://bot.example.com/telegram/hook"


def test_webhook_mode_takes_only_the_updates_that_carry_the_secret_token():
    settings = WebhookSettings(WEBHOOK_URL, free_port(), WEBHOOK_SECRET)

    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        assert (telegram.webhook["url"], telegram.webhook["secret_token"]) == (
            WEBHOOK_URL,
            WEBHOOK_SECRET,
        )
        # Updates as Telegram would post them (the fake only makes them up here).
        telegram.write(42, "forged")
        telegram.write(42, "from Telegram")
        forged, genuine = telegram.updates
        async with aiohttp.ClientSession() as http:

            async def post(update: dict[str, Any], headers: dict[str, str]) -> int:
                endpoint = f"http://{WEBHOOK_LISTEN}:{settings.port}/telegram/hook"
                async with http.post(endpoint, json=update, headers=headers) as response:
                    return response.status

            assert await post(forged, {}) == 403
            assert await post(forged, {TELEGRAM_SECRET_HEADER: "x" * len(WEBHOOK_SECRET)}) == 403
            assert await post(genuine, {TELEGRAM_SECRET_HEADER: WEBHOOK_SECRET}) == 200
        await telegram.wait_for_text(42, "echo: from Telegram")
        assert rasa.messages_from(42) == ["from Telegram"]

    run_bridge(scenario, webhook=settings)


def telegram_settings(**environment: str) -> Telegram:
    return Settings.from_environment(environment).telegram


def test_webhook_settings_listen_on_the_loopback_and_give_telegram_the_secret():
    settings = webhook_settings(
        telegram_settings(TELEGRAM_WEBHOOK_URL=WEBHOOK_URL, TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET)
    )
    assert settings == WebhookSettings(WEBHOOK_URL, 8443, WEBHOOK_SECRET)
    assert settings.path == "telegram/hook"
    assert WEBHOOK_LISTEN == "127.0.0.1"
    assert webhook_settings(telegram_settings(TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET)) is None


@pytest.mark.parametrize(
    "environment, complaint",
    [
        ({"TELEGRAM_WEBHOOK_URL": "http://bot.example.com/hook"}, "give a URL starting https://"),
        ({"TELEGRAM_WEBHOOK_PORT": "eighty"}, "TELEGRAM_WEBHOOK_PORT='eighty': give a port number"),
        ({"TELEGRAM_WEBHOOK_PORT": "70000"}, "TELEGRAM_WEBHOOK_PORT='70000': give a port number"),
    ],
)
def test_webhook_settings_refuse_what_cannot_work(environment, complaint):
    with pytest.raises(SettingsError, match=re.escape(complaint)):
        telegram_settings(
            **{
                "TELEGRAM_WEBHOOK_URL": WEBHOOK_URL,
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                **environment,
            }
        )


@pytest.mark.parametrize(
    "secret, complaint",
    [
        (None, "webhook mode needs TELEGRAM_WEBHOOK_SECRET"),
        ("", "webhook mode needs TELEGRAM_WEBHOOK_SECRET"),
        ("short-secret_0123456789", "TELEGRAM_WEBHOOK_SECRET: give 32 to 256 characters"),
        ("a secret with spaces, and commas", "of A-Z, a-z, 0-9, _ and - only, not these 32"),
        ("x" * 257, "only, not these 257"),
    ],
)
def test_webhook_mode_refuses_to_start_without_a_good_secret(
    monkeypatch, capsys, tmp_path, secret, complaint
):
    database = tmp_path / "bridge.db"
    environment = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_URL": WEBHOOK_URL,
        # Were it to start anyway, it would fail at once rather than reach anything real.
        "TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}",
        "TELEGRAM_BRIDGE_HEALTH_PORT": str(free_port()),
        "DATABASE_URL": f"sqlite:///{database}",
        "TELECOM_CHANNEL_SECRET": CHANNEL_SECRET,
        "TELECOM_CONVERSATION_KEY": CONVERSATION_KEY,
    }
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    if secret is None:
        monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", secret)

    assert bridge_main() == 1
    assert complaint in capsys.readouterr().err
    assert not database.exists()  # refused before anything started


# --- Agents' replies ----------------------------------------------------------------------

BLOCKED_BY_USER = "Forbidden: bot was blocked by the user"
AGENT_REPLIES_LOGGER = "channels.telegram.agent_replies"


@pytest.fixture
def tickets(sqlite_engine, clock) -> SqlTicketService:
    return SqlTicketService(sqlite_engine, clock=clock)


@pytest.fixture
def outbox(sqlite_engine, clock) -> SqlReplyOutbox:
    return SqlReplyOutbox(sqlite_engine, clock=clock)


def known_chat(chats: ChatDirectory, chat_id: int) -> str:
    """The conversation of a chat that talked to the bridge before (so the directory has it)."""
    chats.remember(conversation_of(chat_id), chat_id)
    return conversation_of(chat_id)


def agent_reply(
    tickets: SqlTicketService,
    outbox: ReplyOutbox,
    conversation: str,
    text: str,
    language: str = "en",
) -> AgentReply:
    """An agent answers the ticket filed from the conversation (filed now if need be)."""
    filing = tickets.file(
        new_ticket(
            channel=TELEGRAM,
            conversation_id=conversation,
            language=language,
            idempotency_key=f"{conversation}:billing",
        )
    )
    tickets.reply(filing.ticket.id, "wang", text)
    return outbox.pending(TELEGRAM, conversation)[-1]


def outbox_row(engine: Engine, reply: AgentReply) -> AgentReplyRow:
    with Session(engine) as session:
        return session.get(AgentReplyRow, reply.id)


async def wait_for_delivery(engine: Engine, reply: AgentReply, delivery: Delivery) -> AgentReplyRow:
    def row_once_there() -> AgentReplyRow | None:
        row = outbox_row(engine, reply)
        return row if row.delivery == delivery.value else None

    return await wait_until(
        row_once_there,
        lambda: f"reply {reply.id} is {outbox_row(engine, reply).delivery}, not {delivery.value}",
    )


@pytest.mark.parametrize(
    "language, heading",
    [
        ("en", "Message from our customer service team about ticket {ticket_id}:"),
        ("zh", "客服人员就工单 {ticket_id} 给您的留言："),
    ],
)
def test_an_agents_reply_reaches_the_tickets_chat_in_its_language_and_is_marked_delivered(
    sqlite_engine, tickets, outbox, chats, clock, language, heading
):
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        reply = agent_reply(
            tickets, outbox, known_chat(chats, 42), "We refunded the double charge.", language
        )
        await telegram.wait_for_text(42, reply.for_customer())
        row = await wait_for_delivery(sqlite_engine, reply, Delivery.DELIVERED)
        assert row.delivered_at == clock()
        assert reply.for_customer().startswith(heading.format(ticket_id=reply.ticket_id))
        await asyncio.sleep(0.2)  # a few more polls: sent once only
        assert telegram.texts_to(42) == [reply.for_customer()]
        assert rasa.received == []

    run_bridge(scenario, outbox=outbox, chats=chats)


def test_a_reply_to_a_chat_that_blocked_the_bot_or_never_talked_fails_and_later_replies_go(
    sqlite_engine, tickets, outbox, chats
):
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.blocked_chats.add(7)
        blocked = agent_reply(tickets, outbox, known_chat(chats, 7), "Your SIM card is on its way.")
        # A ticket filed for a conversation no chat of this bot ever had.
        unknown = agent_reply(tickets, outbox, conversation_of(99), "Hello")
        answered = agent_reply(
            tickets, outbox, known_chat(chats, 42), "We refunded the double charge."
        )
        await telegram.wait_for_text(42, answered.for_customer())

        assert (await wait_for_delivery(sqlite_engine, blocked, Delivery.FAILED)).failure == (
            BLOCKED_BY_USER
        )
        failure = (await wait_for_delivery(sqlite_engine, unknown, Delivery.FAILED)).failure
        assert failure == f"no Telegram chat has the conversation {conversation_of(99)}"
        later = agent_reply(tickets, outbox, conversation_of(42), "Anything else I can do?")
        await telegram.wait_for_text(42, later.for_customer())
        assert telegram.refused == [(7, blocked.for_customer(), 403)]  # tried once, not again
        assert telegram.texts_to(99) == []

    run_bridge(scenario, outbox=outbox, chats=chats)


def test_an_agents_reply_reaches_the_chat_after_the_bridge_restarts(
    sqlite_engine, tickets, outbox, chats
):
    senders: list[str] = []

    async def before_the_restart(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(42, "I want to complain")
        await telegram.wait_for_text(42, "echo: I want to complain")
        senders.extend(sender for sender, _ in rasa.received)

    run_bridge(before_the_restart, outbox=outbox, chats=chats)
    [conversation] = senders
    # While the bridge is down, an agent answers the ticket Rasa filed for the conversation.
    reply = agent_reply(tickets, outbox, conversation, "We refunded the double charge.")

    async def after_the_restart(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        await telegram.wait_for_text(42, reply.for_customer())
        await wait_for_delivery(sqlite_engine, reply, Delivery.DELIVERED)
        telegram.write(42, "thanks")
        await telegram.wait_for_text(42, "echo: thanks")
        assert rasa.received == [(conversation, "thanks")]

    run_bridge(after_the_restart, outbox=outbox, chats=ChatDirectory(sqlite_engine))


def test_a_reply_waits_while_telegram_fails_and_goes_once_it_is_back(
    sqlite_engine, tickets, outbox, chats
):
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.sending_fails = True
        reply = agent_reply(
            tickets, outbox, known_chat(chats, 42), "We refunded the double charge."
        )
        # Refused (502) at one poll and tried again at the next.
        await wait_until(
            lambda: len(telegram.refused) >= 2, lambda: f"tried {len(telegram.refused)} time(s)"
        )
        assert outbox_row(sqlite_engine, reply).delivery == Delivery.PENDING.value

        telegram.sending_fails = False
        await telegram.wait_for_text(42, reply.for_customer())
        await wait_for_delivery(sqlite_engine, reply, Delivery.DELIVERED)

    run_bridge(scenario, outbox=outbox, chats=chats)


class OutboxOnAFailingDatabase(ReplyOutbox):
    """The real outbox, behind a database that fails the first `failing_polls` polls."""

    def __init__(self, outbox: ReplyOutbox, failing_polls: int) -> None:
        self._outbox = outbox
        self.failing_polls = failing_polls

    def pending(
        self, channel: str, conversation_id: str | None = None, limit: int = 50
    ) -> Sequence[AgentReply]:
        if self.failing_polls:
            self.failing_polls -= 1
            raise OperationalError(
                "SELECT ... FROM agent_replies", {}, sqlite3.OperationalError("disk I/O error")
            )
        return self._outbox.pending(channel, conversation_id, limit)

    def mark_delivered(self, reply_ids: Iterable[int], conversation_id: str) -> int:
        return self._outbox.mark_delivered(reply_ids, conversation_id)

    def mark_failed(self, reply_id: int, reason: str) -> None:
        self._outbox.mark_failed(reply_id, reason)

    def post_reminder(
        self,
        channel: str,
        conversation_id: str,
        language: str,
        texts: Sequence[tuple[str, Sequence[ReplyButton]]],
    ) -> Sequence[int]:
        return self._outbox.post_reminder(channel, conversation_id, language, texts)


def test_replies_keep_going_out_after_the_database_fails_for_a_while(
    sqlite_engine, tickets, outbox, chats, caplog
):
    failing = OutboxOnAFailingDatabase(outbox, failing_polls=3)

    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        reply = agent_reply(
            tickets, outbox, known_chat(chats, 42), "We refunded the double charge."
        )
        await telegram.wait_for_text(42, reply.for_customer())
        await wait_for_delivery(sqlite_engine, reply, Delivery.DELIVERED)
        # The database can show the delivery before the bridge has logged the recovery.
        await wait_until(
            lambda: (
                any(
                    record.name == AGENT_REPLIES_LOGGER and record.levelname == "INFO"
                    for record in caplog.records
                )
                or None
            ),
            lambda: "the outbox's recovery was never logged",
        )

    with caplog.at_level(logging.INFO, logger=AGENT_REPLIES_LOGGER):
        run_bridge(scenario, outbox=failing, chats=chats)
    assert failing.failing_polls == 0
    # Logged when the outage starts and when it ends, not at every failed poll.
    outage_logs = [
        (record.levelname, record.getMessage())
        for record in caplog.records
        if record.name == AGENT_REPLIES_LOGGER
    ]
    assert [level for level, _ in outage_logs] == ["WARNING", "INFO"]
    assert "disk I/O error" in outage_logs[0][1]


# --- Health ---------------------------------------------------------------------------------


def test_health_is_ok_and_says_whether_rasa_is_reachable_and_what_waits_for_it():
    health_port = free_port()

    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        async with aiohttp.ClientSession() as http:

            async def health() -> tuple[int, dict[str, Any]]:
                async with http.get(f"http://127.0.0.1:{health_port}/health") as response:
                    return response.status, await response.json()

            assert await health() == (
                200,
                {
                    "status": "ok",
                    "telegram": "connected",
                    "rasa": "reachable",
                    "queued_messages": 0,
                },
            )
            await rasa.stop()
            telegram.write(42, "what is my balance")
            await telegram.wait_for_text(42, en("unavailable"))
            assert await health() == (
                200,
                {
                    "status": "ok",
                    "telegram": "connected",
                    "rasa": "unreachable",
                    "queued_messages": 1,
                },
            )

    run_bridge(scenario, health_port=health_port)


def test_flood_control_is_waited_out_and_a_replys_messages_arrive_whole_and_in_order():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.flooded[42] = 1  # "429 Too Many Requests, retry after 1 s" once
        telegram.write(42, "13800000018")
        await telegram.wait_for_text(42, TYPE_THE_CODE)
        assert telegram.texts_to(42) == [CODE_SENT, TYPE_THE_CODE]
        assert [code for _, _, code in telegram.refused] == [429]

    run_bridge(scenario)


def test_a_reply_longer_than_telegram_takes_arrives_in_parts_with_its_buttons_on_the_last():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(42, "all plans")
        await wait_until(
            lambda: len(telegram.texts_to(42)) == 2 or None,
            lambda: f"sent: {[len(t) for t in telegram.texts_to(42)]}",
        )
        parts = telegram.texts_to(42)
        assert all(len(part) <= 4096 for part in parts)
        assert "\n".join(parts) == LONG_ANSWER  # cut at a line's end, nothing lost
        markups = [sent.get("reply_markup") for sent in telegram.sent if sent["chat_id"] == 42]
        assert markups[0] is None and markups[1]["inline_keyboard"][0][0]["text"] == "5G Plus 129"
        assert telegram.refused == []

    run_bridge(scenario)


def test_a_button_pressed_too_late_for_telegram_still_reaches_the_assistant():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.queries_too_old = True
        telegram.press(42, "/affirm")
        await telegram.wait_for_text(42, "echo: /affirm")
        assert rasa.messages_from(42) == ["/affirm"]

    run_bridge(scenario)


def test_a_message_telegram_refuses_is_logged_without_what_it_said(caplog):
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.blocked_chats.add(42)
        telegram.write(42, "my id card is 110101199003074512")
        await wait_until(lambda: telegram.refused or None, lambda: "nothing refused")

    with caplog.at_level(logging.INFO):
        run_bridge(scenario)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Telegram refused a message (Forbidden)" in logged
    assert "110101199003074512" not in logged


def test_what_a_customer_writes_during_an_outage_is_all_answered_without_a_slow_down():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        rasa.up = False
        telegram.write(42, "message 1")
        await telegram.wait_for_text(42, en("unavailable"))
        for number in range(2, 9):  # more than the burst of 5, in a moment
            telegram.write(42, f"message {number}")
        await asyncio.sleep(0.3)
        rasa.up = True
        await telegram.wait_for_text(42, "echo: message 8")
        assert rasa.messages_from(42) == [f"message {number}" for number in range(1, 9)]
        assert en("slow_down") not in telegram.texts_to(42)
        assert telegram.texts_to(42).count(en("unavailable")) == 1

    run_bridge(scenario)


def test_an_edited_message_is_answered_as_a_new_one():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(42, "my number is 1380000001")
        await telegram.wait_for_text(42, "echo: my number is 1380000001")
        telegram.edit(42, "my number is 13800000018")
        await telegram.wait_for_text(42, "echo: my number is 13800000018")
        assert rasa.messages_from(42)[-1] == "my number is 13800000018"

    run_bridge(scenario)


def test_a_pictures_caption_is_read_and_the_customer_told_the_picture_is_not():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.send_photo(42, "my bill is wrong, see the screenshot")
        await telegram.wait_for_text(42, "echo: my bill is wrong, see the screenshot")
        assert telegram.texts_to(42)[0] == en("picture_not_read")
        assert rasa.messages_from(42) == ["my bill is wrong, see the screenshot"]

    run_bridge(scenario)


def test_cancel_stops_in_the_customers_words_and_other_commands_never_reach_rasa():
    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        telegram.write(42, "/cancel")
        await telegram.wait_for_text(42, "echo: cancel")
        telegram.write(7, "/cancel", language_code="zh-hans")
        await telegram.wait_for_text(7, "echo: " + zh("cancel_says"))
        telegram.write(42, "/deny")
        notice = text("telegram.unknown_command", ENGLISH, command="/deny")
        await telegram.wait_for_text(42, notice)
        assert rasa.messages_from(42) == ["cancel"]

    run_bridge(scenario)
