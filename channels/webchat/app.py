"""The web chat's server: the page, its assets, a relay to Rasa's "webchat" channel, and the
inbox where agents' replies to the customer's tickets wait for the page to fetch them.

The browser only talks to this server (same origin, so no CORS). Which conversation a request
belongs to comes from the session cookie alone (channels/webchat/sessions.py): a request that names a
`sender` is refused, and the inbox answers 401 {"error": "no_session"} without a cookie. The
relay answers 503 {"error": "unavailable"} when Rasa cannot be reached, so the page can offer a
retry, and the inbox does the same when the database cannot be reached.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from html import escape
from pathlib import Path
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from sanic import Sanic
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse, html
from sanic.response import json as json_response
from sqlalchemy.exc import SQLAlchemyError

from channels.rasa_client import RasaClient, RasaUnavailable
from channels.webchat.live import LiveLine, reply_for_page
from channels.webchat.sessions import Sessions
from telecom_assistant.language import ENGLISH, LANGUAGES
from telecom_assistant.text import clean_message
from telecom_assistant.texts import text, texts_of
from telecom_assistant.tickets.live import LiveDesk
from telecom_assistant.tickets.replies import WEBCHAT, ReplyOutbox
from telecom_assistant.web import SECURITY_HEADERS

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
STATIC_PREFIX = "/static/"
PAGE_TEMPLATE = PACKAGE_DIR / "index.html"
_PLACEHOLDER = re.compile(r"\{\{([\w.]+)\}\}")
MESSAGE_MAX_LENGTH = 5000
ACK_MAX_IDS = 100
# SQLite's largest integer: a bigger id would make the driver fail rather than match nothing.
REPLY_ID_MAX = 2**63 - 1

logger = logging.getLogger(__name__)


def create_app(
    rasa: RasaClient,
    outbox: ReplyOutbox,
    conversation_key: str,
    *,
    live_desk: LiveDesk | None = None,
    always_secure_cookies: bool = False,
    name: str = "webchat",
) -> Sanic:
    """`rasa` takes the customers' messages to Rasa, and is closed when the server stops;
    `conversation_key` signs the session cookies and derives the sender ids. With a
    `live_desk`, the page has its live line (live.py): agents' messages at once, typing, end.
    `always_secure_cookies` (the production profile) marks the cookie Secure even when this
    server cannot tell that the browser used HTTPS."""
    app = Sanic(name)
    sessions = Sessions(conversation_key, always_secure_cookies)
    relay = RasaRelay(rasa, sessions)
    inbox = ReplyInbox(outbox, sessions)
    page = ChatPage(sessions)
    app.static("/static", str(STATIC_DIR), name="static")
    app.add_route(page.index, "/", methods=["GET"], name="index")
    app.add_route(health, "/health", methods=["GET"], name="health")
    app.add_route(relay.message, "/api/message", methods=["POST"], name="message")
    app.add_route(inbox.replies, "/api/inbox", methods=["GET"], name="inbox")
    app.add_route(inbox.acknowledge, "/api/inbox/ack", methods=["POST"], name="inbox_ack")
    if live_desk is not None:
        line = LiveLine(outbox, live_desk, sessions)
        app.add_route(line.events, "/api/events", methods=["GET"], name="events")
        app.add_route(line.typing, "/api/typing", methods=["POST"], name="typing")
        app.add_route(line.end, "/api/end", methods=["POST"], name="end")
    app.exception(SQLAlchemyError)(database_unavailable)
    app.register_middleware(refuse_cross_origin_posts, "request")
    app.register_middleware(sessions.read, "request")
    app.register_middleware(sessions.write, "response")
    app.register_middleware(add_security_headers, "response")

    async def close_rasa_client(_app: Sanic, _loop: asyncio.AbstractEventLoop) -> None:
        await rasa.close()

    app.register_listener(close_rasa_client, "after_server_stop")
    return app


class ChatPage:
    """GET /: the page; every visit starts a session or renews the one it has."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self.body = chat_page()

    async def index(self, request: Request) -> HTTPResponse:
        self.sessions.renew(request)
        return html(self.body)


def chat_page() -> str:
    """The page with its texts: in English where the template names a text ({{webchat.title}}),
    and all of them in both languages where it says {{texts}}, for its script to switch."""
    texts = {language: texts_of(language, "webchat", "language") for language in LANGUAGES}
    # Inside a <script> element nothing may close it: "<" only as an escape.
    texts_json = json.dumps(texts, ensure_ascii=False).replace("<", "\\u003c")

    def fill(placeholder: re.Match[str]) -> str:
        key = placeholder[1]
        return texts_json if key == "texts" else escape(text(key, ENGLISH))

    return _PLACEHOLDER.sub(fill, PAGE_TEMPLATE.read_text(encoding="utf-8"))


async def health(request: Request) -> HTTPResponse:
    return json_response({"status": "ok"})


async def refuse_cross_origin_posts(request: Request) -> HTTPResponse | None:
    """Another site's page posting here. SameSite=Strict already keeps the cookie off such a
    request; this refuses it outright. The host alone is compared: behind a proxy that ends
    TLS, this server sees http while the browser's Origin says https."""
    origin = request.headers.get("origin")
    if request.method != "POST" or origin is None:
        return None
    if _host_of(origin) == request.headers.get("host", "").lower():
        return None
    logger.warning(
        "Cross-origin %s %s from %s refused (Origin %r)",
        request.method,
        request.path,
        request.ip,
        origin,
    )
    return _error(403, "cross_origin")


async def add_security_headers(request: Request, response: BaseHTTPResponse) -> None:
    response.headers.update(SECURITY_HEADERS)
    if not request.path.startswith(STATIC_PREFIX):
        # Replies may carry the customer's personal data: keep them out of caches.
        response.headers["Cache-Control"] = "no-store"


def database_unavailable(request: Request, failure: SQLAlchemyError) -> HTTPResponse:
    """Only the inbox uses the database; the page polls it again, and the chat goes on."""
    logger.warning("Database unavailable for %s %s: %s", request.method, request.path, failure)
    return _error(503, "unavailable")


class RasaRelay:
    """POST /api/message: hands one customer message to Rasa and returns its replies. The
    first message without a session starts one, like the page does."""

    def __init__(self, rasa: RasaClient, sessions: Sessions) -> None:
        self.rasa = rasa
        self.sessions = sessions

    async def message(self, request: Request) -> HTTPResponse:
        body = _json_object(request)
        if body is None:
            return _error(400, "invalid_json")
        if _names_a_sender(request, body):
            return _error(400, "sender_not_accepted")
        message = body.get("message")
        if not isinstance(message, str):
            return _error(400, "empty_message")
        # Measured before cleaning, so that cleaning never works on more than this.
        if len(message) > MESSAGE_MAX_LENGTH:
            return json_response(
                {"error": "message_too_long", "max_length": MESSAGE_MAX_LENGTH}, status=413
            )
        message = clean_message(message)
        if not message.strip():
            return _error(400, "empty_message")
        sender = self.sessions.sender(self.sessions.ensure(request))
        try:
            # Rasa's channel named "webchat", so that the tickets it files know a reply can
            # come back here.
            replies = await self.rasa.send(WEBCHAT, sender, message)
        except RasaUnavailable as failure:
            logger.warning("Rasa unavailable: %s", failure)
            return _error(503, "unavailable")
        return json_response([reply.as_json() for reply in replies])


class ReplyInbox:
    """GET /api/inbox and POST /api/inbox/ack: agents' replies waiting for one conversation.

    Delivery is at least once: a reply stays pending until the page acknowledges it, which
    it does once the reply is kept in the customer's history. The conversation is the
    session's; the outbox only marks replies of that conversation, so a page cannot
    acknowledge someone else's. Without a session there is no conversation to read: 401, and
    the page starts a new session.
    """

    def __init__(self, outbox: ReplyOutbox, sessions: Sessions) -> None:
        self.outbox = outbox
        self.sessions = sessions

    async def replies(self, request: Request) -> HTTPResponse:
        if _names_a_sender(request):
            return _error(400, "sender_not_accepted")
        sender = self.sessions.current_sender(request)
        if sender is None:
            return _error(401, "no_session")
        # The outbox blocks on the database: a slow one must not hold up the chat's relay.
        pending = await asyncio.to_thread(self.outbox.pending, WEBCHAT, sender)
        return json_response({"replies": [reply_for_page(reply) for reply in pending]})

    async def acknowledge(self, request: Request) -> HTTPResponse:
        body = _json_object(request)
        if body is None:
            return _error(400, "invalid_json")
        if _names_a_sender(request, body):
            return _error(400, "sender_not_accepted")
        sender = self.sessions.current_sender(request)
        if sender is None:
            return _error(401, "no_session")
        reply_ids = body.get("ids")
        if not _are_reply_ids(reply_ids):
            return _error(400, "invalid_ids")
        delivered = await asyncio.to_thread(self.outbox.mark_delivered, reply_ids, sender)
        return json_response({"delivered": delivered})


def _json_object(request: Request) -> dict | None:
    try:
        body = request.json
    except Exception:  # Sanic raises InvalidUsage on malformed JSON
        return None
    return body if isinstance(body, dict) else None


def _host_of(origin: str) -> str:
    try:
        return urlsplit(origin).netloc.lower()
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return ""


def _names_a_sender(request: Request, body: dict | None = None) -> bool:
    """A client choosing its conversation: refused, whatever the name."""
    return "sender" in request.args or (body is not None and "sender" in body)


def _are_reply_ids(value: Any) -> TypeGuard[list[int]]:
    # type() rather than isinstance(): JSON's true and false are ints to Python.
    return (
        isinstance(value, list)
        and len(value) <= ACK_MAX_IDS
        and all(type(item) is int and 0 < item <= REPLY_ID_MAX for item in value)
    )


def _error(status: int, code: str) -> HTTPResponse:
    return json_response({"error": code}, status=status)
