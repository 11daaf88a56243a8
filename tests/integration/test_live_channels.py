"""Live chat on the three sides that show it, each over real HTTP against a seeded SQLite
database: the customer's web chat page (its event stream, typing, ending the chat), the
Telegram bridge (an agent's messages under their name, buttons, "typing…"), and the agent
console (take, talk, hand back, close, and the ticket page's own event stream).

Where a message must arrive "at once", the tests wait for it (up to a few seconds, as every
test here waits) and print how long it took: run with -s to read the latencies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest
import requests
from sanic import Sanic

from channels.rasa_client import RasaClient
from channels.telegram.conversations import ChatDirectory
from channels.webchat.app import create_app as create_webchat
from channels.webchat.sessions import SENDER_PREFIX, SESSION_COOKIE
from console.app import create_app as create_console
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.agents.accounts import AgentAccounts
from telecom_assistant.clock import operator_now
from telecom_assistant.satisfaction.sql import SqlSatisfactionService
from telecom_assistant.schema import Area, migrate
from telecom_assistant.tickets.live import EndReason, LiveState
from telecom_assistant.tickets.model import Delivery, Status
from telecom_assistant.tickets.replies import TELEGRAM, WEBCHAT, ReplyButton
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.tickets.sql_live import SqlLiveDesk
from telecom_assistant.tickets.sql_replies import SqlReplyOutbox
from telecom_assistant.trust import conversation_id
from tests.bridge_harness import bridge_running, new_inbox
from tests.fake_telegram import WAIT_SECONDS, FakeBotApi, wait_until
from tests.integration.test_console import Client, Console
from tests.integration.test_live_chat import (
    AGENT,
    AGENT_NAME,
    CLOSED,
    HANDED_BACK,
    ID_CARD,
    ID_CARD_MASKED,
    JOINED,
    file,
    said_since_filing,
)
from tests.integration.test_telegram_bridge import CHANNEL_SECRET as BRIDGE_CHANNEL_SECRET
from tests.integration.test_telegram_bridge import CONVERSATION_KEY as BRIDGE_CONVERSATION_KEY
from tests.integration.test_telegram_bridge import FakeRasa, conversation_of, run_bridge
from tests.scripted_rasa import ScriptedRasa

CHANNEL_SECRET = "the-live-channels-tests-channel-secret-0123456789"
CONVERSATION_KEY = "the-live-channels-tests-conversation-key-0123456789"
PASSWORD = "correct horse battery"
OTHER_AGENT, OTHER_AGENT_NAME = "wang.fang", "Wang Fang"
RATING = [ReplyButton("👍 Helpful", "/rate_good"), ReplyButton("👎 Not helpful", "/rate_bad")]


@pytest.fixture(autouse=True)
def sanic_keeps_its_handlers(monkeypatch):
    # Sanic rewrites its request handler at a server's start-up, which breaks the next server
    # of the process; in test mode it keeps the original.
    monkeypatch.setattr(Sanic, "test_mode", True)


def report_latency(what: str, seconds: float) -> None:
    print(f"\n{what}: {seconds * 1000:.0f} ms")


# ---- the web chat


@dataclass(frozen=True)
class Event:
    name: str
    data: Any
    at: float  # time.monotonic() as it arrived


class Page:
    """One customer's browser on the web chat: its cookie jar, and once opened, its page's
    event stream, read in the background."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.events: list[Event] = []
        self._reading: asyncio.Task[None] | None = None

    @property
    def sender(self) -> str:
        session_id = self.client.cookies[SESSION_COOKIE].split(".")[0]
        return conversation_id(SENDER_PREFIX, session_id, CONVERSATION_KEY)

    async def open_events(self) -> None:
        """Opens the page's stream; returns once the server has had its first look."""
        self._reading = asyncio.create_task(self._read())
        await self.event("typing")

    async def _read(self) -> None:
        async with self.client.stream("GET", "/api/events") as response:
            assert response.status_code == 200
            name, data = None, []
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data.append(line.removeprefix("data: "))
                elif not line and name is not None:
                    self.events.append(Event(name, json.loads("\n".join(data)), time.monotonic()))
                    name, data = None, []

    async def event(self, name: str, **fields: Any) -> Event:
        """The first event of that name whose data has those fields, waited for."""

        def found() -> Event | None:
            if self._reading is not None and self._reading.done():
                self._reading.result()  # the stream failed: say why
            return next(
                (
                    event
                    for event in self.events
                    if event.name == name
                    and all(event.data.get(key) == value for key, value in fields.items())
                ),
                None,
            )

        return await wait_until(found, lambda: f"no {name} event {fields}; got {self.events}")

    def data_of(self, name: str) -> list[Any]:
        return [event.data for event in self.events if event.name == name]

    async def close(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading
        await self.client.aclose()


@dataclass
class WebChat:
    url: str
    desk: SqlLiveDesk
    tickets: SqlTicketService
    rasa: ScriptedRasa
    pages: list[Page]

    async def page(self) -> Page:
        """A customer opens the chat page (which starts their session)."""
        page = Page(httpx.AsyncClient(base_url=self.url))
        self.pages.append(page)
        assert (await page.client.get("/")).status_code == 200
        return page

    async def run(self, action: Callable[..., Any], *arguments: Any) -> Any:
        """An agent's or the desk's call, off the event loop the servers run on."""
        return await asyncio.to_thread(action, *arguments)


@contextlib.asynccontextmanager
async def served(app: Sanic) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    assert server is not None
    await server.startup()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def web_chat_running(engine) -> AsyncIterator[WebChat]:
    """The web chat with its live line, in front of Rasa's channels with the same live desk
    (a scripted turn in place of the assistant), all on the test's database."""
    desk = SqlLiveDesk(engine)  # on the operator's clock, as the web chat's own reads
    rasa = ScriptedRasa(CHANNEL_SECRET, live_desk=desk)
    rasa_client = RasaClient(await rasa.start(), CHANNEL_SECRET)
    app = create_webchat(
        rasa_client,
        SqlReplyOutbox(engine),
        CONVERSATION_KEY,
        live_desk=desk,
        name=f"webchat_{uuid.uuid4().hex}",
    )
    web = WebChat("", desk, SqlTicketService(engine), rasa, [])
    try:
        async with served(app) as url:
            web.url = url
            yield web
            for page in web.pages:
                await page.close()
    finally:
        await rasa_client.close()
        await rasa.stop()


def run_web_chat(engine, scenario: Callable[[WebChat], Any]) -> None:
    async def main() -> None:
        async with web_chat_running(engine) as web:
            await scenario(web)

    asyncio.run(main())


def session_cookie(answer: httpx.Response) -> Any:
    cookie = SimpleCookie()
    for header in answer.headers.get_list("set-cookie"):
        cookie.load(header)
    return cookie.get(SESSION_COOKIE)


def test_an_agents_live_message_reaches_the_customers_page_at_once(sqlite_engine):
    async def scenario(web: WebChat) -> None:
        page = await web.page()
        ticket_id = await web.run(file, web.tickets, page.sender)
        await web.run(web.desk.request_person, ticket_id)
        await page.open_events()
        await page.event("live", state="waiting", agent=None)

        await web.run(web.desk.take, ticket_id, AGENT, AGENT_NAME)
        await page.event("live", state="live", agent=AGENT_NAME)
        joined = await page.event("reply", kind="notice")
        assert (joined.data["text"], joined.data["author"]) == (JOINED, None)

        await web.run(web.desk.agent_typing, ticket_id, AGENT)
        await page.event("typing", author=AGENT_NAME, typing=True)

        await web.run(web.desk.say, ticket_id, AGENT, "Let me look at your bill.")
        said_at = time.monotonic()
        message = await page.event("reply", kind="live")
        report_latency("web chat: desk.say to the page's reply event", message.at - said_at)
        assert {key: message.data[key] for key in ("text", "author", "buttons")} == {
            "text": "Let me look at your bill.",
            "author": AGENT_NAME,
            "buttons": [],
        }
        assert message.data["at"].endswith("+08:00")
        await page.event("typing", author=AGENT_NAME, typing=False)  # the message came
        # Each reply once, however many looks the stream took meanwhile.
        assert [reply["kind"] for reply in page.data_of("reply")] == ["notice", "live"]
        # The page is open: the agent sees the customer there.
        chat = await web.run(web.desk.open_chat, page.sender)
        assert chat.customer_present(operator_now()) is True

    run_web_chat(sqlite_engine, scenario)


def test_another_customers_page_never_sees_the_message(sqlite_engine):
    async def scenario(web: WebChat) -> None:
        page, other = await web.page(), await web.page()
        ticket_id = await web.run(file, web.tickets, page.sender)
        others_ticket = await web.run(file, web.tickets, other.sender)
        await page.open_events()
        await other.open_events()

        await web.run(web.desk.take, ticket_id, AGENT, AGENT_NAME)
        await web.run(web.desk.agent_typing, ticket_id, AGENT)
        await web.run(web.desk.say, ticket_id, AGENT, "For your eyes only")
        await page.event("reply", kind="live")
        # The other page's own notice comes after the first page's message: the stream that
        # brings it looked after that message was there to leak.
        await web.run(web.tickets.notify, others_ticket, "How did we do?", RATING)
        notice = await other.event("reply", kind="notice")

        assert notice.data["buttons"] == [
            {"title": "👍 Helpful", "payload": "/rate_good"},
            {"title": "👎 Not helpful", "payload": "/rate_bad"},
        ]
        assert [reply["text"] for reply in other.data_of("reply")] == ["How did we do?"]
        assert other.data_of("live") == [{"state": "ended", "agent": None}]  # no chat of its own
        assert other.data_of("typing") == [{"author": None, "typing": False}]

    run_web_chat(sqlite_engine, scenario)


def test_while_live_the_customers_messages_go_to_the_agent_and_typing_shows(sqlite_engine):
    async def scenario(web: WebChat) -> None:
        page = await web.page()
        ticket_id = await web.run(file, web.tickets, page.sender)
        await web.run(web.desk.take, ticket_id, AGENT, AGENT_NAME)

        typing = await page.client.post("/api/typing")
        assert typing.status_code == 204
        chat = await web.run(web.desk.open_chat, page.sender)
        assert chat.customer_typing(operator_now())

        answer = await page.client.post("/api/message", json={"message": ID_CARD})
        assert (answer.status_code, answer.json()) == (200, [])  # the assistant says nothing
        assert web.rasa.turns == []
        assert await web.run(said_since_filing, web.tickets, ticket_id) == [
            ("customer", ID_CARD_MASKED)
        ]

        await web.run(web.desk.end, ticket_id, AGENT, EndReason.HANDED_BACK)
        answer = await page.client.post("/api/message", json={"message": "thanks"})
        assert [reply["text"] for reply in answer.json()] == ["echo: thanks"]

    run_web_chat(sqlite_engine, scenario)


def test_the_customer_ends_the_chat_the_agent_sees_it_and_the_session_goes(sqlite_engine):
    async def scenario(web: WebChat) -> None:
        page = await web.page()
        ticket_id = await web.run(file, web.tickets, page.sender)
        await web.run(web.desk.take, ticket_id, AGENT, AGENT_NAME)
        sender = page.sender

        ended = await page.client.post("/api/end")

        assert ended.status_code == 204
        cookie = session_cookie(ended)
        assert (cookie.value, cookie["max-age"]) == ("", "0")
        chat = await web.run(web.desk.chat_of_ticket, ticket_id)
        assert (chat.state, chat.end_reason) == (LiveState.ENDED, EndReason.CUSTOMER_LEFT)
        assert await web.run(web.desk.open_chat, sender) is None
        # The browser dropped the cookie: the next visit is a conversation of its own.
        assert (await page.client.get("/api/events")).status_code == 401

    run_web_chat(sqlite_engine, scenario)


def test_the_live_line_needs_a_session(sqlite_engine):
    async def scenario(web: WebChat) -> None:
        async with httpx.AsyncClient(base_url=web.url) as stranger:
            events = await stranger.get("/api/events")
            assert (events.status_code, events.json()) == (401, {"error": "no_session"})
            assert (await stranger.post("/api/typing")).status_code == 401
            ended = await stranger.post("/api/end")
            assert ended.status_code == 204 and session_cookie(ended) is None

    run_web_chat(sqlite_engine, scenario)


def test_typing_without_a_live_chat_is_kept_nowhere(sqlite_engine):
    async def scenario(web: WebChat) -> None:
        page = await web.page()
        assert (await page.client.post("/api/typing")).status_code == 204
        assert await web.run(web.desk.open_chat, page.sender) is None

    run_web_chat(sqlite_engine, scenario)


# ---- Telegram


@pytest.fixture
def chats(sqlite_engine) -> ChatDirectory:
    migrate(sqlite_engine, [Area.TELEGRAM])
    return ChatDirectory(sqlite_engine)


@pytest.fixture
def tickets(sqlite_engine, clock) -> SqlTicketService:
    return SqlTicketService(sqlite_engine, clock)


@pytest.fixture
def desk(sqlite_engine, clock) -> SqlLiveDesk:
    return SqlLiveDesk(sqlite_engine, clock)


@pytest.fixture
def outbox(sqlite_engine, clock) -> SqlReplyOutbox:
    return SqlReplyOutbox(sqlite_engine, clock)


def telegram_ticket(tickets: SqlTicketService, chats: ChatDirectory, chat_id: int) -> str:
    """A ticket filed from a chat that talked to the bridge before."""
    chats.remember(conversation_of(chat_id), chat_id)
    return file(tickets, conversation_of(chat_id), TELEGRAM)


def test_an_agents_live_messages_reach_the_chat_under_their_name(tickets, desk, outbox, chats):
    ticket_id = telegram_ticket(tickets, chats, 42)

    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        await asyncio.to_thread(desk.take, ticket_id, AGENT, AGENT_NAME)
        await telegram.wait_for_text(42, JOINED)  # the desk's notice, as it is
        await asyncio.to_thread(desk.say, ticket_id, AGENT, "Let me look at your bill.")
        said_at = time.monotonic()
        sent = await telegram.wait_for_text(42, "Li Na: Let me look at your bill.")
        report_latency("Telegram: desk.say to sendMessage", time.monotonic() - said_at)
        assert "reply_markup" not in sent
        await asyncio.to_thread(desk.end, ticket_id, AGENT, EndReason.HANDED_BACK)
        await telegram.wait_for_text(42, HANDED_BACK)
        await wait_until(
            lambda: outbox.pending(TELEGRAM) == [],
            lambda: f"still pending: {outbox.pending(TELEGRAM)}",
        )
        assert rasa.received == []

    run_bridge(scenario, outbox=outbox, chats=chats, live_desk=desk)
    assert [turn.delivery for turn in tickets.get(ticket_id).transcript[3:]] == [Delivery.DELIVERED]


def test_a_notice_with_buttons_arrives_as_a_keyboard_whose_press_goes_to_rasa(
    tickets, outbox, chats
):
    ticket_id = telegram_ticket(tickets, chats, 42)

    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        await asyncio.to_thread(tickets.notify, ticket_id, "How did we do?", RATING)
        notice = await telegram.wait_for_text(42, "How did we do?")
        rows = notice["reply_markup"]["inline_keyboard"]
        assert [[(button["text"], button["callback_data"]) for button in row] for row in rows] == [
            [("👍 Helpful", "/rate_good")],
            [("👎 Not helpful", "/rate_bad")],
        ]
        telegram.press(42, rows[0][0]["callback_data"])
        await telegram.wait_for_text(42, "echo: /rate_good")
        assert rasa.messages_from(42) == ["/rate_good"]

    run_bridge(scenario, outbox=outbox, chats=chats)


def test_the_chat_shows_typing_while_the_agent_types(tickets, desk, outbox, chats):
    ticket_id = telegram_ticket(tickets, chats, 42)
    quiet = telegram_ticket(tickets, chats, 43)

    async def scenario(telegram: FakeBotApi, rasa: FakeRasa) -> None:
        await asyncio.to_thread(desk.take, ticket_id, AGENT, AGENT_NAME)
        await asyncio.to_thread(desk.take, quiet, AGENT, AGENT_NAME)
        await asyncio.to_thread(desk.agent_typing, ticket_id, AGENT)
        await wait_until(
            lambda: telegram.chat_actions, lambda: "no chat action was sent while typing"
        )
        await asyncio.sleep(0.3)  # a few more polls: shown once for Telegram's five seconds
        assert telegram.chat_actions == [(42, "typing")]

    run_bridge(scenario, outbox=outbox, chats=chats, live_desk=desk)


def test_a_telegram_customers_message_while_live_reaches_the_agent_and_nothing_answers(
    tickets, desk, outbox, chats, tmp_path
):
    """The bridge in front of Rasa's own channels: the message goes to the ticket, and the
    chat gets no word from the assistant (nor a complaint that it is unavailable)."""
    ticket_id = telegram_ticket(tickets, chats, 42)
    desk.take(ticket_id, AGENT, AGENT_NAME)

    async def main() -> None:
        telegram = FakeBotApi()
        rasa = ScriptedRasa(BRIDGE_CHANNEL_SECRET, live_desk=desk)
        telegram_url, rasa_url = await telegram.start(), await rasa.start()
        try:
            async with bridge_running(
                RasaClient(rasa_url, BRIDGE_CHANNEL_SECRET),
                telegram_url,
                inbox=new_inbox(str(tmp_path)),
                conversation_key=BRIDGE_CONVERSATION_KEY,
                chats=chats,
                outbox=outbox,
                live_desk=desk,
                reply_poll_seconds=0.05,
            ):
                await telegram.wait_for_text(42, JOINED)
                telegram.write(42, ID_CARD)
                await wait_until(
                    lambda: said_since_filing(tickets, ticket_id),
                    lambda: "the customer's message never reached the ticket",
                )
                await asyncio.to_thread(desk.end, ticket_id, AGENT, EndReason.HANDED_BACK)
                await telegram.wait_for_text(42, HANDED_BACK)
                telegram.write(42, "thanks")
                await telegram.wait_for_text(42, "echo: thanks")
                assert telegram.texts_to(42) == [JOINED, HANDED_BACK, "echo: thanks"]
                assert [text for _, text, _ in rasa.turns] == ["thanks"]
        finally:
            await telegram.stop()
            await rasa.stop()

    asyncio.run(main())
    assert said_since_filing(tickets, ticket_id)[0] == ("customer", ID_CARD_MASKED)


# ---- the agent console


@pytest.fixture
def agents(sqlite_engine, clock) -> AgentAccounts:
    accounts = AgentAccounts(sqlite_engine, clock)
    accounts.create(AGENT, AGENT_NAME, PASSWORD)
    accounts.create(OTHER_AGENT, OTHER_AGENT_NAME, PASSWORD)
    return accounts


@pytest.fixture
def console(sqlite_engine, tickets, agents, desk, clock) -> Iterator[Console]:
    app = create_console(
        tickets,
        SqlAccountService(sqlite_engine, clock),
        agents,
        clock=clock,
        name=f"console_live_{uuid.uuid4().hex}",
        live_desk=desk,
    )
    with Console(app) as running:
        yield running


def signed_in(console: Console, username: str = AGENT, **cookies: str) -> Client:
    client = console.client(**cookies)
    assert client.sign_in(username, PASSWORD).status_code == 303
    return client


@pytest.fixture
def agent(console) -> Client:
    return signed_in(console)


def act(client: Client, ticket_id: str, action: str, **fields: str) -> requests.Response:
    """The live panel's form, posted by the browser (no script): answered with a redirect."""
    return client.post(
        f"/tickets/{ticket_id}/live/{action}", {"csrf_token": client.csrf_token(), **fields}
    )


def fetch(client: Client, ticket_id: str, action: str, **fields: str) -> requests.Response:
    """The same action as the panel's script posts it."""
    return client.post(
        f"/tickets/{ticket_id}/live/{action}",
        {"csrf_token": client.csrf_token(), **fields},
        headers={"X-Requested-With": "fetch"},
    )


def test_an_agent_takes_talks_and_hands_back_with_the_forms(agent, tickets, desk, outbox):
    ticket_id = file(tickets, "conversation-1")
    desk.request_person(ticket_id)
    page = agent.get(f"/tickets/{ticket_id}").text
    assert "The customer has been waiting for a person since" in page
    assert "Take the conversation" in page

    taken = act(agent, ticket_id, "take")
    assert (taken.status_code, taken.headers["Location"]) == (
        303,
        f"/tickets/{ticket_id}#live-panel",
    )
    page = agent.follow(taken).text
    assert "Li Na is talking with the customer." in page
    assert f'action="/tickets/{ticket_id}/live/say"' in page
    assert desk.open_chat("conversation-1").agent == AGENT

    said = act(agent, ticket_id, "say", text="Let me look at your bill.")
    assert said.status_code == 303
    assert "Let me look at your bill." in agent.follow(said).text

    handed_back = act(agent, ticket_id, "hand-back")
    page = agent.follow(handed_back).text
    assert "Handed back to the assistant at" in page
    assert [(reply.kind.value, reply.text) for reply in outbox.pending(WEBCHAT)] == [
        ("notice", JOINED),
        ("live", "Let me look at your bill."),
        ("notice", HANDED_BACK),
    ]
    assert desk.chat_of_ticket(ticket_id).end_reason is EndReason.HANDED_BACK


def test_the_panels_script_gets_204_for_each_action(agent, tickets, desk, outbox):
    ticket_id = file(tickets, "conversation-1", TELEGRAM)

    assert fetch(agent, ticket_id, "take").status_code == 204
    assert fetch(agent, ticket_id, "typing").status_code == 204
    assert desk.agents_typing(TELEGRAM) == ["conversation-1"]
    assert fetch(agent, ticket_id, "say", text="Found it.").status_code == 204
    assert fetch(agent, ticket_id, "close").status_code == 204

    assert [reply.kind.value for reply in outbox.pending(TELEGRAM)] == ["notice", "live", "notice"]
    ticket = tickets.get(ticket_id)
    assert (ticket.status, ticket.assigned_to) == (Status.RESOLVED, AGENT)
    assert desk.chat_of_ticket(ticket_id).end_reason is EndReason.CLOSED
    # Typing after the end has nobody to show it to, and is no error.
    assert fetch(agent, ticket_id, "typing").status_code == 204


@pytest.mark.parametrize("action", ["take", "say", "typing", "hand-back", "close"])
def test_an_action_without_the_csrf_token_is_forbidden(agent, tickets, desk, outbox, action):
    ticket_id = file(tickets, "conversation-1")
    desk.request_person(ticket_id)
    refused = agent.post(f"/tickets/{ticket_id}/live/{action}", {"text": "hello"})
    assert refused.status_code == 403
    assert desk.open_chat("conversation-1").state is LiveState.WAITING
    assert outbox.pending(WEBCHAT) == []


def test_another_agents_conversation_is_refused_in_the_agents_language(
    console, agent, tickets, desk, outbox
):
    ticket_id = file(tickets, "conversation-1")
    assert fetch(agent, ticket_id, "take").status_code == 204
    other = signed_in(console, OTHER_AGENT, lang="zh")

    refused = fetch(other, ticket_id, "say", text="我也在")
    assert refused.status_code == 409
    assert refused.json() == {"error": "另一位客服正在处理这个对话。"}

    other.http.cookies.set("lang", "en")
    flashed = act(other, ticket_id, "close")
    assert flashed.status_code == 303
    page = other.follow(flashed).text
    assert "Another agent has this conversation." in page
    assert "Li Na has this conversation." in page  # who has it, in place of the forms

    assert desk.open_chat("conversation-1").agent == AGENT
    assert tickets.get(ticket_id).status is Status.OPEN
    assert [reply.kind.value for reply in outbox.pending(WEBCHAT)] == ["notice"]


def test_saying_something_before_taking_is_refused_readably(agent, tickets, desk):
    ticket_id = file(tickets, "conversation-1")
    refused = fetch(agent, ticket_id, "say", text="Hello")
    assert (refused.status_code, refused.json()) == (
        409,
        {"error": "This conversation is not live; take it first."},
    )
    page = agent.follow(act(agent, ticket_id, "say", text="   ")).text
    assert "This conversation is not live; take it first." in page


@pytest.mark.parametrize(
    "setting_up, shown",
    [
        (None, ["The customer is not waiting for anyone.", "Start a live chat"]),
        ("waiting", ["The customer has been waiting for a person since", "Take the conversation"]),
        ("stopped waiting", ["The wait was cancelled at", "Start a live chat"]),
        ("left", ["The customer ended the chat at", "Start a live chat"]),
    ],
)
def test_the_ticket_page_shows_where_the_live_chat_stands(agent, tickets, desk, setting_up, shown):
    ticket_id = file(tickets, "conversation-1")
    if setting_up:
        desk.request_person(ticket_id)
    if setting_up == "left":
        desk.take(ticket_id, OTHER_AGENT, OTHER_AGENT_NAME)
    if setting_up in ("stopped waiting", "left"):
        desk.customer_left("conversation-1")
    page = agent.get(f"/tickets/{ticket_id}").text
    assert 'id="live-panel"' in page
    for text in shown:
        assert text in page


def test_the_panel_says_when_the_customer_is_here_and_typing(agent, tickets, desk):
    ticket_id = file(tickets, "conversation-1")
    desk.take(ticket_id, AGENT, AGENT_NAME)
    desk.customer_here("conversation-1")
    desk.customer_typing("conversation-1")
    page = agent.get(f"/tickets/{ticket_id}").text
    assert "customer is here" in page and "The customer is typing…" in page


def test_a_ticket_nobody_can_chat_on_has_no_live_panel(agent, tickets):
    ticket_id = file(tickets, "script-1", "rest")
    page = agent.get(f"/tickets/{ticket_id}").text
    assert 'id="live-panel"' not in page and "/live/take" not in page
    refused = fetch(agent, ticket_id, "take")
    assert refused.json() == {"error": "This ticket's channel cannot carry a chat."}


class ConsoleEvents:
    """A ticket page's GET /tickets/<id>/live/events, read line by line; a line that does not
    come within WAIT_SECONDS fails the test (the stream's read timeout)."""

    def __init__(self, client: Client, ticket_id: str) -> None:
        self.response = client.http.get(
            f"{client.base_url}/tickets/{ticket_id}/live/events",
            stream=True,
            timeout=WAIT_SECONDS,
        )
        assert self.response.status_code == 200
        self._lines = self.response.iter_lines()

    def next_line(self, starting: str) -> tuple[str, float]:
        """The next line that starts so, and when it arrived (time.monotonic())."""
        for line in self._lines:
            if line.decode().startswith(starting):
                return line.decode(), time.monotonic()
        raise AssertionError(f"the stream ended before a line starting {starting!r}")

    def close(self) -> None:
        self.response.close()


def test_the_ticket_page_hears_at_once_when_the_customer_writes(agent, tickets, desk):
    ticket_id = file(tickets, "conversation-1")
    desk.take(ticket_id, AGENT, AGENT_NAME)
    events = ConsoleEvents(agent, ticket_id)
    try:
        events.next_line(": still here")  # the stream took its first look
        assert desk.take_customer_message("conversation-1", "Are you there?")
        taken_at = time.monotonic()
        events.next_line("event: changed")
        data, arrived_at = events.next_line("data: ")
        report_latency(
            "console: a customer's message to the page's changed event", arrived_at - taken_at
        )
        state = json.loads(data.removeprefix("data: "))
        assert state["turns"] == 4 and state["last"][0] == "customer"
        assert state["live"][1:3] == ["live", AGENT]
    finally:
        events.close()


def test_the_event_stream_of_an_unknown_ticket_is_not_found(agent):
    assert agent.get("/tickets/TK-000000-0000/live/events").status_code == 404


def test_a_rendered_panel_offers_the_form_only_to_the_agent_with_the_chat(
    console, agent, tickets, desk
):
    ticket_id = file(tickets, "conversation-1")
    desk.take(ticket_id, AGENT, AGENT_NAME)
    other = signed_in(console, OTHER_AGENT)
    mine, theirs = agent.get(f"/tickets/{ticket_id}").text, other.get(f"/tickets/{ticket_id}").text
    assert "/live/say" in mine and "/live/hand-back" in mine
    assert "/live/say" not in theirs and "Li Na has this conversation." in theirs


@pytest.fixture
def console_with_ratings(sqlite_engine, tickets, agents, desk, clock) -> Iterator[Console]:
    migrate(sqlite_engine, [Area.SATISFACTION])
    app = create_console(
        tickets,
        SqlAccountService(sqlite_engine, clock),
        agents,
        clock=clock,
        name=f"console_live_{uuid.uuid4().hex}",
        live_desk=desk,
        satisfaction=SqlSatisfactionService(sqlite_engine, clock),
    )
    with Console(app) as running:
        yield running


@pytest.mark.parametrize("how", ["the live panel", "the status form"])
def test_resolving_during_a_live_chat_ends_it_before_the_rating_request(
    console_with_ratings, tickets, desk, outbox, how
):
    """The rating's buttons must reach the assistant: the chat is over before they go out."""
    agent = signed_in(console_with_ratings)
    ticket_id = file(tickets, "conversation-1")
    act(agent, ticket_id, "take")
    if how == "the live panel":
        act(agent, ticket_id, "close")
    else:
        agent.post(
            f"/tickets/{ticket_id}/status",
            {"csrf_token": agent.csrf_token(), "status": Status.RESOLVED.value},
        )
    assert tickets.get(ticket_id).status is Status.RESOLVED
    assert desk.open_chat("conversation-1") is None
    *_, closed, rating = outbox.pending(WEBCHAT)
    assert (closed.kind.value, closed.text) == ("notice", CLOSED)
    assert rating.kind.value == "notice" and ticket_id in rating.text
    assert [button.title for button in rating.buttons] == ["1", "2", "3", "4", "5"]
