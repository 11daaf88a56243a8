"""Live chat in the console: an agent takes a customer's conversation, talks with them, sees
them type, and hands the conversation back to the assistant or closes it
(telecom_assistant/tickets/live.py has the rules).

The ticket page shows the live panel (templates/live_panel.html) and keeps a server-sent-events
stream open (GET /tickets/<id>/live/events): every POLL_SECONDS this server looks at the
ticket's conversation and live chat, and tells the page when something changed (a message of
either side, the customer typing or leaving, another agent taking the chat); the page then
refreshes the panel and the conversation (static/live.js). The agent's actions are plain
form posts, with the session's CSRF token like every post of the console, so they also work
without the script.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable
from typing import Any

from jinja2 import Environment
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, redirect
from sanic.response import json as json_response

from telecom_assistant.agents.accounts import Agent
from telecom_assistant.clock import Clock
from telecom_assistant.tickets.live import (
    EndReason,
    LiveChat,
    LiveChatError,
    LiveDesk,
    NoLiveChannel,
    NotLive,
    NotYours,
)
from telecom_assistant.tickets.model import Ticket
from telecom_assistant.tickets.replies import REPLY_MAX_LENGTH, ReplyRefused
from telecom_assistant.tickets.service import TicketService

POLL_SECONDS = 0.3
KEEP_ALIVE_SECONDS = 15.0
RECONNECT_MILLISECONDS = 2000

# The console's own: a message shown once by the next page, and a text in the agent's language.
Flash = Callable[..., None]
Translate = Callable[[Request, str], str]
# What the agent is told when the desk refuses an action (console.live.refused.*).
REFUSALS: dict[type[LiveChatError], str] = {
    NotYours: "console.live.refused.not_yours",
    NotLive: "console.live.refused.not_live",
    NoLiveChannel: "console.live.refused.no_channel",
}


class LiveViews:
    def __init__(
        self,
        live_desk: LiveDesk,
        tickets: TicketService,
        clock: Clock,
        flash: Flash,
        translate: Translate,
        after_closing: Callable[[Ticket], object] | None = None,
    ) -> None:
        self.live_desk = live_desk
        self.tickets = tickets
        self.clock = clock
        self.flash = flash
        self.translate = translate
        self.after_closing = after_closing

    async def take(self, request: Request, ticket_id: str) -> HTTPResponse:
        agent = _agent(request)
        return await self._act(
            request, ticket_id, self.live_desk.take, ticket_id, agent.username, agent.display_name
        )

    async def say(self, request: Request, ticket_id: str) -> HTTPResponse:
        text = request.form.get("text") or ""
        return await self._act(
            request, ticket_id, self.live_desk.say, ticket_id, _agent(request).username, text
        )

    async def typing(self, request: Request, ticket_id: str) -> HTTPResponse:
        with contextlib.suppress(LiveChatError):  # not live (any more): nobody to show it to
            await asyncio.to_thread(
                self.live_desk.agent_typing, ticket_id, _agent(request).username
            )
        return HTTPResponse(status=204)

    async def hand_back(self, request: Request, ticket_id: str) -> HTTPResponse:
        return await self._act(
            request,
            ticket_id,
            self.live_desk.end,
            ticket_id,
            _agent(request).username,
            EndReason.HANDED_BACK,
        )

    async def close(self, request: Request, ticket_id: str) -> HTTPResponse:
        agent = _agent(request).username

        def close_and_follow_up() -> None:
            self.live_desk.end(ticket_id, agent, EndReason.CLOSED)
            if self.after_closing is not None:
                self.after_closing(self.tickets.get(ticket_id))

        return await self._act(request, ticket_id, close_and_follow_up)

    async def events(self, request: Request, ticket_id: str) -> HTTPResponse | None:
        self.tickets.get(ticket_id)  # UnknownTicket: 404, before the stream starts
        response = await request.respond(
            content_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        await response.send(f"retry: {RECONNECT_MILLISECONDS}\n\n")
        seen: str | None = None
        kept_alive = 0.0
        loop = asyncio.get_running_loop()
        while True:
            state = await asyncio.to_thread(self._state, ticket_id)
            fingerprint = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
            if fingerprint != seen:
                if seen is not None:
                    await response.send(f"event: changed\ndata: {json.dumps(state)}\n\n")
                seen = fingerprint
            if loop.time() - kept_alive >= KEEP_ALIVE_SECONDS:
                await response.send(": still here\n\n")
                kept_alive = loop.time()
            await asyncio.sleep(POLL_SECONDS)

    def _state(self, ticket_id: str) -> dict[str, Any]:
        """What the agent's page shows of the ticket's conversation, in short."""
        ticket = self.tickets.get(ticket_id)
        chat = self.live_desk.chat_of_ticket(ticket_id)
        now = self.clock()
        last = ticket.transcript[-1] if ticket.transcript else None
        return {
            "turns": len(ticket.transcript),
            "last": [
                last.speaker,
                last.at.isoformat(),
                last.delivery.value if last.delivery else None,
            ]
            if last
            else None,
            "deliveries": [turn.delivery.value for turn in ticket.transcript if turn.delivery],
            "status": ticket.status.value,
            "live": _live_state(chat),
            "customer_typing": bool(chat and chat.is_open and chat.customer_typing(now)),
            "customer_present": chat.customer_present(now) if chat and chat.is_open else None,
        }

    async def _act(
        self, request: Request, ticket_id: str, action: Callable[..., Any], *arguments: Any
    ) -> HTTPResponse:
        """Runs the desk's action; a script gets 204 or 409 with the reason, a form a
        redirect back to the ticket with the reason flashed."""
        problem: str | None = None
        try:
            await asyncio.to_thread(action, *arguments)
        except LiveChatError as refusal:
            problem = REFUSALS[type(refusal)]
        except ReplyRefused as refusal:
            problem = f"console.flash.reply_{refusal.reason.value}"
        if request.headers.get("x-requested-with") == "fetch":
            if problem is None:
                return HTTPResponse(status=204)
            return json_response({"error": self.translate(request, problem)}, status=409)
        response = redirect(f"/tickets/{ticket_id}#live-panel", status=303)
        if problem is not None:
            self.flash(request, response, "error", problem, limit=REPLY_MAX_LENGTH)
        return response


def _live_state(chat: LiveChat | None) -> list[Any] | None:
    if chat is None:
        return None
    return [
        chat.id,
        chat.state.value,
        chat.agent,
        chat.end_reason.value if chat.end_reason else None,
    ]


def _agent(request: Request) -> Agent:
    return request.ctx.agent_session.agent


def add_live_routes(
    app: Sanic,
    live_desk: LiveDesk,
    tickets: TicketService,
    templates: Environment,
    clock: Clock,
    flash: Flash,
    translate: Translate,
    after_closing: Callable[[Ticket], object] | None = None,
) -> None:
    """The live chat's routes, and what the ticket page's live panel reads (`live_chat_of`).
    after_closing is told of the ticket a closed chat resolved (to ask for a rating)."""
    views = LiveViews(live_desk, tickets, clock, flash, translate, after_closing)
    for name, handler, method in (
        ("take", views.take, "POST"),
        ("say", views.say, "POST"),
        ("typing", views.typing, "POST"),
        ("hand-back", views.hand_back, "POST"),
        ("close", views.close, "POST"),
        ("events", views.events, "GET"),
    ):
        app.add_route(
            handler,
            f"/tickets/<ticket_id>/live/{name}",
            methods=[method],
            name=f"live_{name.replace('-', '_')}",
        )
    templates.globals.update(live_chat_of=live_desk.chat_of_ticket, live_now=clock)
