"""The web chat's live line to the customer's open page: GET /api/events (server-sent
events), POST /api/typing and POST /api/end.

The page keeps one EventSource open. Every POLL_SECONDS this server looks, for that page's
conversation only, for agents' messages waiting in the outbox (letters, live messages, the
desk's notices) and at the conversation's live chat (waiting, live with whom, whether the agent
is typing), and sends what changed: an agent's message reaches the page in well under a
second. Each reply still waits in the outbox until the page acknowledges it
(POST /api/inbox/ack), so a page that reconnects gets again what it had not kept.

The look is one query per page every POLL_SECONDS: enough for a desk's worth of open chats on
SQLite or PostgreSQL; the page also says, every PRESENCE_EVERY_SECONDS, that the customer is
there, which the agent sees.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response
from sqlalchemy.exc import SQLAlchemyError

from channels.webchat.sessions import Sessions
from telecom_assistant.clock import CHINA_TIME, operator_now
from telecom_assistant.tickets.live import LiveChat, LiveDesk
from telecom_assistant.tickets.replies import WEBCHAT, AgentReply, ReplyOutbox

POLL_SECONDS = 0.3
PRESENCE_EVERY_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 15.0
# How soon the browser reconnects a stream that ended (a restart, the database away).
RECONNECT_MILLISECONDS = 2000

logger = logging.getLogger(__name__)


def reply_for_page(reply: AgentReply) -> dict[str, Any]:
    # Stored times are naive China time: say so, or the browser would read them as its own.
    at = reply.at.replace(tzinfo=CHINA_TIME).isoformat()
    return {
        "id": reply.id,
        "kind": reply.kind.value,
        "text": reply.for_customer(),
        "author": reply.author_name,
        "at": at,
        "buttons": [{"title": button.title, "payload": button.payload} for button in reply.buttons],
    }


def live_status(chat: LiveChat | None) -> dict[str, Any]:
    if chat is None:
        return {"state": "ended", "agent": None}
    return {"state": chat.state.value, "agent": chat.agent_name}


class LiveLine:
    def __init__(self, outbox: ReplyOutbox, live_desk: LiveDesk, sessions: Sessions) -> None:
        self.outbox = outbox
        self.live_desk = live_desk
        self.sessions = sessions

    async def events(self, request: Request) -> HTTPResponse | None:
        sender = self.sessions.current_sender(request)
        if sender is None:
            return json_response({"error": "no_session"}, status=401)
        response = await request.respond(
            content_type="text/event-stream",
            # nginx would otherwise hold the events back to fill its buffer.
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        await response.send(f"retry: {RECONNECT_MILLISECONDS}\n\n")
        sent: set[int] = set()
        status: dict[str, Any] | None = None
        typing: bool | None = None
        said_present = kept_alive = 0.0
        try:
            while True:
                now = time.monotonic()
                if now - said_present >= PRESENCE_EVERY_SECONDS:
                    await asyncio.to_thread(self.live_desk.customer_here, sender)
                    said_present = now
                pending = await asyncio.to_thread(self.outbox.pending, WEBCHAT, sender)
                for reply in pending:
                    if reply.id not in sent:
                        await response.send(_event("reply", reply_for_page(reply)))
                        sent.add(reply.id)
                chat = await asyncio.to_thread(self.live_desk.open_chat, sender)
                if live_status(chat) != status:
                    status = live_status(chat)
                    await response.send(_event("live", status))
                agent_typing = chat is not None and chat.agent_typing(operator_now())
                if agent_typing != typing:
                    typing = agent_typing
                    author = chat.agent_name if chat is not None else None
                    await response.send(_event("typing", {"author": author, "typing": typing}))
                if now - kept_alive >= KEEP_ALIVE_SECONDS:
                    await response.send(": still here\n\n")
                    kept_alive = now
                await asyncio.sleep(POLL_SECONDS)
        except SQLAlchemyError as failure:
            # The page reconnects by itself (retry:), and finds the database back, or not.
            logger.warning("Web chat events: database unavailable (%s)", type(failure).__name__)
        await response.eof()
        return None

    async def typing(self, request: Request) -> HTTPResponse:
        sender = self.sessions.current_sender(request)
        if sender is None:
            return json_response({"error": "no_session"}, status=401)
        await asyncio.to_thread(self.live_desk.customer_typing, sender)
        return HTTPResponse(status=204)

    async def end(self, request: Request) -> HTTPResponse:
        """The customer ends the chat: an agent with them is told, and the session cookie goes
        (the page clears its history); the next visit is a new conversation."""
        sender = self.sessions.current_sender(request)
        if sender is not None:
            await asyncio.to_thread(self.live_desk.customer_left, sender)
            self.sessions.end(request)
        return HTTPResponse(status=204)


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
