"""The web chat's sessions: the server, never the browser, names a customer's conversation.

The first visit gets a random session id in a signed, HttpOnly, SameSite=Strict cookie. Rasa's
sender id is an HMAC of that session id (trust.conversation_id), not the id itself: a sender id
seen elsewhere (the agent console, a log) cannot be turned back into a cookie, and a cookie
whose signature does not verify counts as no cookie at all, so a new session begins.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets

from sanic.request import Request
from sanic.response import BaseHTTPResponse

from telecom_assistant.trust import conversation_id

SESSION_COOKIE = "webchat_session"
SENDER_PREFIX = "webchat-"
# A month: the customer's history and the agents' replies survive reloads and days away.
SESSION_MAX_AGE_SECONDS = 30 * 24 * 60 * 60
SESSION_ID_BYTES = 24  # 192 bits
_COOKIE_VALUE = re.compile(r"([A-Za-z0-9_-]{32})\.([0-9a-f]{64})")
# The signing key is derived from the conversation key rather than the key itself, so that a
# signature and a sender id are HMACs under different keys whatever the text they cover.
_SIGNING_KEY_LABEL = b"webchat session cookie"

logger = logging.getLogger(__name__)


class Sessions:
    """Reads the session of each request (request.ctx.session_id, None without a valid
    cookie) and sets the cookie on the response when a handler started or renewed one."""

    def __init__(self, conversation_key: str, always_secure: bool = False) -> None:
        self._conversation_key = conversation_key
        self._signing_key = hmac.new(
            conversation_key.encode(), _SIGNING_KEY_LABEL, hashlib.sha256
        ).digest()
        self._always_secure = always_secure

    def sender(self, session_id: str) -> str:
        """The Rasa sender id, and the conversation id of the tickets and replies."""
        return conversation_id(SENDER_PREFIX, session_id, self._conversation_key)

    def current_sender(self, request: Request) -> str | None:
        """The sender id of the request's session; None without one."""
        session_id = request.ctx.session_id
        return None if session_id is None else self.sender(session_id)

    def ensure(self, request: Request) -> str:
        """The request's session id, starting a session if it has none."""
        if request.ctx.session_id is None:
            request.ctx.session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
            request.ctx.set_cookie = True
        return request.ctx.session_id

    def renew(self, request: Request) -> None:
        """Start the cookie's month again (the page itself does, at every visit)."""
        self.ensure(request)
        request.ctx.set_cookie = True

    async def read(self, request: Request) -> None:
        request.ctx.set_cookie = False
        request.ctx.session_id = self._verified(request.cookies.get(SESSION_COOKIE))
        if request.ctx.session_id is None and SESSION_COOKIE in request.cookies:
            logger.warning(
                "A web chat session cookie that does not verify, from %s: ignored", request.ip
            )

    def end(self, request: Request) -> None:
        """Forget the session: the browser drops its cookie (the customer ended the chat)."""
        request.ctx.end_session = True
        request.ctx.set_cookie = True

    async def write(self, request: Request, response: BaseHTTPResponse) -> None:
        if not getattr(request.ctx, "set_cookie", False):
            return
        ended = getattr(request.ctx, "end_session", False)
        response.cookies[SESSION_COOKIE] = "" if ended else self.cookie_for(request.ctx.session_id)
        cookie = response.cookies[SESSION_COOKIE]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = "/"
        cookie["max-age"] = 0 if ended else SESSION_MAX_AGE_SECONDS
        if self._always_secure or came_over_https(
            request.scheme, request.ip, request.headers.get("x-forwarded-proto")
        ):
            cookie["secure"] = True

    def cookie_for(self, session_id: str) -> str:
        """The cookie's value: the session id and its signature."""
        return f"{session_id}.{self._signature(session_id)}"

    def _signature(self, session_id: str) -> str:
        return hmac.new(self._signing_key, session_id.encode(), hashlib.sha256).hexdigest()

    def _verified(self, cookie: str | None) -> str | None:
        parts = _COOKIE_VALUE.fullmatch(cookie or "")
        if parts is None:
            return None
        session_id, signature = parts.groups()
        return session_id if hmac.compare_digest(signature, self._signature(session_id)) else None


def came_over_https(scheme: str, peer: str, forwarded_proto: str | None) -> bool:
    """Whether the browser used HTTPS. X-Forwarded-Proto counts only from a proxy on this
    machine (nginx): anyone else could send it."""
    if scheme == "https":
        return True
    return forwarded_proto == "https" and _is_loopback(peer)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # a Unix socket, or nothing
        return False
