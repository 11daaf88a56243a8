"""The inbox's live side: one watch of the ticket desk per console, fanned out to every page an
agent has open as server-sent events.

The watch asks the desk for its activity mark (:meth:`TicketService.activity_mark`, a query
that reads indexes) twice a second while at least one page listens, and nothing while none
does. When the mark moves, every open stream gets a ``queue`` event, and the queue page fetches
its rows again; the event also names what an agent should hear about at once: a new urgent
ticket, a customer who started waiting for a person.

An event stream ends when its page goes away (Sanic cancels the handler) or when the console
stops (:meth:`QueueWatch.stop`, a before-stop listener), so neither a closed tab nor a stopping
server leaves anything running.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from urllib.parse import quote

from sanic.request import Request

from console.i18n import Translator
from telecom_assistant.language import LANGUAGES
from telecom_assistant.tickets.model import Priority, QueueFilter, Status, Ticket
from telecom_assistant.tickets.service import TicketService

POLL_SECONDS = 0.5
KEEP_ALIVE_SECONDS = 15
# How long a browser waits before it connects again to a stream that ended.
RECONNECT_MILLISECONDS = 2000
# Events a page has not read yet; a page this far behind is not reading at all.
BACKLOG = 100
QUEUE_EVENT = "queue"

log = logging.getLogger(__name__)


class Why(str, enum.Enum):
    """Why an agent is told about a ticket at once."""

    URGENT = "urgent"  # an urgent ticket was filed
    WAITING = "waiting"  # its customer waits in the chat for a person


@dataclass(frozen=True)
class Notice:
    ticket_id: str
    category: str
    priority: str
    why: Why
    texts: Mapping[str, str]  # what to show, in every language (the page picks its own)

    @classmethod
    def about(cls, ticket: Ticket, why: Why) -> Notice:
        return cls(
            ticket_id=ticket.id,
            category=ticket.category.value,
            priority=ticket.priority.value,
            why=why,
            texts={
                language: _notice_text(Translator(language), ticket, why) for language in LANGUAGES
            },
        )

    def as_json(self) -> dict[str, object]:
        return {
            "ticket_id": self.ticket_id,
            "url": f"/tickets/{quote(self.ticket_id)}",
            "category": self.category,
            "priority": self.priority,
            "why": self.why.value,
            "text": dict(self.texts),
        }


def _notice_text(t: Translator, ticket: Ticket, why: Why) -> str:
    return t(f"console.notice.{why.value}", ticket_id=ticket.id, category=t.label(ticket.category))


@dataclass(frozen=True)
class QueueChange:
    """The desk changed; ``notices`` is what to tell the agent about now."""

    notices: Sequence[Notice] = ()

    def as_event(self) -> str:
        data = json.dumps({"notices": [notice.as_json() for notice in self.notices]})
        return f"event: {QUEUE_EVENT}\ndata: {data}\n\n"


@dataclass(frozen=True)
class DeskSnapshot:
    """What the watch compares from one look at the desk to the next."""

    mark: Hashable
    just_filed_urgent: Sequence[Ticket]  # open urgent tickets nobody has moved yet
    waiting: Sequence[Ticket]  # their customer waits for a person

    def notices_since(self, earlier: DeskSnapshot) -> tuple[Notice, ...]:
        urgent_before = {ticket.id for ticket in earlier.just_filed_urgent}
        waiting_before = {ticket.id for ticket in earlier.waiting}
        return (
            *(
                Notice.about(ticket, Why.URGENT)
                for ticket in self.just_filed_urgent
                if ticket.id not in urgent_before
            ),
            *(
                Notice.about(ticket, Why.WAITING)
                for ticket in self.waiting
                if ticket.id not in waiting_before
            ),
        )


JUST_FILED_URGENT = QueueFilter(statuses=(Status.OPEN,), priorities=(Priority.URGENT,))


class QueueWatch:
    """One poller for every listening page of a console."""

    def __init__(self, tickets: TicketService, poll_seconds: float = POLL_SECONDS) -> None:
        self._tickets = tickets
        self._poll_seconds = poll_seconds
        self._listeners: set[asyncio.Queue[QueueChange | None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._last: DeskSnapshot | None = None

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[asyncio.Queue[QueueChange | None]]:
        """The changes from now on, then ``None`` once the console stops."""
        if self._poller is None:
            # The desk as it is now is the baseline: only what changes after it counts.
            self._last = self._snapshot(self._tickets.activity_mark())
            self._poller = asyncio.get_running_loop().create_task(self._poll())
        changes: asyncio.Queue[QueueChange | None] = asyncio.Queue(BACKLOG)
        self._listeners.add(changes)
        try:
            yield changes
        finally:
            self._listeners.discard(changes)
            if not self._listeners:
                self._stop_polling()

    async def stop(self, *_listener_args: object) -> None:
        """Ends every stream and the polling: a Sanic before-stop listener, so that a stopping
        console does not wait for open pages to go away."""
        for changes in self._listeners:
            _offer(changes, None)
        self._stop_polling()

    def _stop_polling(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None

    async def _poll(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                change = self._change()
            except Exception:
                # The database is away for a moment: say so once, and keep asking.
                if not failing:
                    log.exception("the queue watch cannot read the ticket desk")
                failing = True
                continue
            failing = False
            if change is not None:
                for changes in self._listeners:
                    _offer(changes, change)

    def _change(self) -> QueueChange | None:
        mark = self._tickets.activity_mark()
        if self._last is not None and mark == self._last.mark:
            return None
        now = self._snapshot(mark)
        notices = now.notices_since(self._last) if self._last is not None else ()
        self._last = now
        return QueueChange(notices)

    def _snapshot(self, mark: Hashable) -> DeskSnapshot:
        # Read after the mark: whatever changes in between moves the mark again, and the
        # next look compares with what this one saw.
        return DeskSnapshot(
            mark=mark,
            just_filed_urgent=[
                ticket
                for ticket in self._tickets.queue(JUST_FILED_URGENT)
                if len(ticket.history) == 1
            ],
            waiting=self._tickets.waiting_for_person(),
        )


def _offer(changes: asyncio.Queue[QueueChange | None], change: QueueChange | None) -> None:
    """A page that has not read its last BACKLOG events is not reading: it misses this one."""
    with suppress(asyncio.QueueFull):
        changes.put_nowait(change)


async def stream_queue_events(request: Request, watch: QueueWatch) -> None:
    """Serve the changes as server-sent events until the page goes away or the console stops."""
    async with watch.listening() as changes:
        response = await request.respond(
            content_type="text/event-stream; charset=utf-8",
            # nginx in front of the console would otherwise hold events back to fill a buffer.
            headers={"X-Accel-Buffering": "no"},
        )
        # The comment tells the page (and a test) that changes from now on will reach it.
        await response.send(f"retry: {RECONNECT_MILLISECONDS}\n: listening\n\n")
        while True:
            try:
                change = await asyncio.wait_for(changes.get(), KEEP_ALIVE_SECONDS)
            except asyncio.TimeoutError:
                # Proxies and browsers close a connection that stays silent too long.
                await response.send(": keep-alive\n\n")
                continue
            if change is None:  # the console stops
                return
            await response.send(change.as_event())
