"""The console's inbox over real HTTP: the views and their counts, what a row says (the
customer, the last message, each deadline and whether it was missed), the channel filter, the
ticket page's canned replies and the customer's other tickets, and the live side: the queue's
server-sent events, the rows fragment the page swaps in, and a browser whose queue updates by
itself. No Rasa model: the seeded SQLite database, a fake clock, and the console of
test_console.py."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from console.queue_watch import QueueWatch
from telecom_assistant.texts import format_datetime
from telecom_assistant.tickets.model import Category, Kind, NewTicket, Status, Ticket
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.tickets.sql_live import SqlLiveDesk
from tests.integration import test_console
from tests.integration.test_console import (
    AGENT,
    PASSWORD,
    UNVERIFIED_CONTACT,
    VERIFIED_LINE,
    ticket_ids,
)

# The console with its agent and tickets: test_console.py's fixtures.
agents = test_console.agents
tickets = test_console.tickets
desk = test_console.desk
start_console = test_console.start_console
console = test_console.console
agent = test_console.agent

OTHER_AGENT = "wang.fang"
# The queue's columns, in order (the ticket id is the row's header).
COLUMNS = (
    "ticket",
    "customer",
    "last_message",
    "category",
    "priority",
    "status",
    "channel",
    "assignee",
    "response_due",
    "repair_due",
)


def file_ticket(
    tickets: SqlTicketService,
    *,
    category: Category = Category.OTHER,
    contact: str = "13700000199",
    channel: str = "webchat",
    msisdn: str | None = None,
    language: str = "en",
) -> Ticket:
    return tickets.file(
        NewTicket(
            kind=Kind.COMPLAINT,
            category=category,
            description=f"{category.value} problem",
            contact_number=contact,
            channel=channel,
            conversation_id=uuid.uuid4().hex,
            language=language,
            transcript=(),
            idempotency_key=uuid.uuid4().hex,
            msisdn=msisdn,
        )
    ).ticket


def tab_counts(page: str) -> dict[str, int]:
    return {
        view: int(count)
        for view, count in re.findall(
            r'class="tab tab-(\w+)"[^>]*>[^<]*<span class="tab-count">(\d+)</span>', page
        )
    }


def tab_link(page: str, view: str) -> str:
    match = re.search(rf'<a href="([^"]+)" class="tab tab-{view}"', page)
    assert match, f"no {view} tab"
    return match.group(1).replace("&amp;", "&")


def row(page: str, ticket_id: str) -> dict[str, Any]:
    """A queue row's cells as the agent reads them, by column; "overdue" says whether the
    row is marked so."""
    found = re.search(
        rf'<tr class="ticket-row( overdue)?">\s*<th scope="row"><a href="/tickets/{ticket_id}">'
        r".*?</tr>",
        page,
        re.DOTALL,
    )
    assert found, f"no row for {ticket_id}"
    cells = [
        " ".join(re.sub(r"<[^>]+>", " ", cell).split())
        for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", found.group(0), re.DOTALL)
    ]
    return {**dict(zip(COLUMNS, cells, strict=True)), "overdue": bool(found.group(1))}


@pytest.fixture
def live_desk(sqlite_engine, clock) -> SqlLiveDesk:
    return SqlLiveDesk(sqlite_engine, clock)


# ---- views and counts


def test_views_count_the_tickets_mine_unassigned_all_and_waiting(agent, desk, tickets, live_desk):
    tickets.assign(desk.slow_data, AGENT)
    tickets.assign(desk.privacy_urgent, OTHER_AGENT)
    live_desk.request_person(desk.outage_overdue)

    page = agent.get("/").text
    assert tab_counts(page) == {"mine": 1, "unassigned": 2, "all": 4, "waiting": 1}
    assert 'class="tab tab-all" aria-current="page"' in page  # a bare / is the whole list
    assert ticket_ids(agent.get("/?view=mine").text) == desk.ids("slow_data")
    assert ticket_ids(agent.get("/?view=unassigned").text) == desk.ids(
        "billing_overdue", "outage_overdue"
    )
    assert ticket_ids(agent.get("/?view=waiting").text) == desk.ids("outage_overdue")
    assert ticket_ids(agent.get("/?view=all").text) == desk.ids(
        "billing_overdue", "privacy_urgent", "outage_overdue", "slow_data"
    )


def test_the_filters_narrow_every_view_and_the_tabs_keep_them(agent, desk, tickets):
    tickets.assign(desk.privacy_urgent, AGENT)
    page = agent.get("/?channel=telegram&status=open&view=unassigned").text
    assert tab_counts(page) == {"mine": 1, "unassigned": 1, "all": 2, "waiting": 0}
    assert ticket_ids(page) == desk.ids("outage_overdue")
    mine = agent.get(tab_link(page, "mine")).text
    assert ticket_ids(mine) == desk.ids("privacy_urgent")
    assert 'name="channel" value="telegram" checked' in mine


def test_a_waiting_view_without_anyone_waiting_is_empty(agent, desk):
    page = agent.get("/?view=waiting").text
    assert ticket_ids(page) == []
    assert "No tickets match this filter." in page


# ---- rows


def test_a_row_names_the_customer_and_shows_the_last_message(agent, desk, tickets):
    long_reply = "We have blocked the number that called you. " * 4
    tickets.reply(desk.privacy_urgent, AGENT, long_reply)
    page = agent.get("/").text

    verified = row(page, desk.billing_overdue)
    assert verified["customer"] == "Liu Yang"  # the account's name of the verified line
    assert verified["last_message"] == (
        "Assistant · 2026-11-20 10:00 I have recorded your complaint for an agent."
    )
    assert verified["channel"] == "REST API"

    replied = row(page, desk.privacy_urgent)
    assert replied["customer"] == "137****0106"  # not verified: the contact number, masked
    assert replied["last_message"].startswith("Agent · 2026-11-23 10:00 We have blocked")
    assert replied["last_message"].endswith("…")
    assert len(replied["last_message"]) < len(long_reply)
    assert replied["channel"] == "Telegram"

    assert row(page, desk.slow_data)["last_message"] == "No messages"
    assert UNVERIFIED_CONTACT not in page


def test_chinese_rows_and_tabs(console, desk):
    client = console.client(lang="zh")
    client.sign_in()
    page = client.get("/").text
    assert "等待人工" in page and "最后一条消息" in page
    assert row(page, desk.billing_overdue)["last_message"].startswith("智能助理")


# ---- deadlines and the overdue mark


def test_a_fault_shows_both_deadlines_and_marks_the_one_missed(agent, desk, tickets, clock):
    outage = tickets.get(desk.outage_overdue)
    complaint = tickets.get(desk.billing_overdue)

    page = agent.get("/").text
    fault_row, complaint_row = row(page, outage.id), row(page, complaint.id)
    # Filed a day ago: its 12-hour answer is late, its 48-hour repair is not due yet.
    assert fault_row["response_due"] == f"{format_datetime(outage.response_due)} Response overdue"
    assert fault_row["repair_due"] == format_datetime(outage.repair_due)
    assert fault_row["overdue"]
    # A complaint has no repair deadline.
    assert (
        complaint_row["response_due"]
        == f"{format_datetime(complaint.response_due)} Response overdue"
    )
    assert complaint_row["repair_due"] == ""

    tickets.add_note(outage.id, AGENT, "Called the customer")
    fault_row = row(agent.get("/").text, outage.id)
    assert (
        fault_row["response_due"]
        == f"{format_datetime(outage.response_due)} answered 2026-11-23 10:00"
    )
    assert not fault_row["overdue"]  # the deadline shown is met, the other not yet passed

    clock.advance(days=1, minutes=1)
    agent.sign_in()  # a day later, the session has ended
    fault_row = row(agent.get("/").text, outage.id)
    assert fault_row["repair_due"] == f"{format_datetime(outage.repair_due)} Repair overdue"
    assert fault_row["overdue"]
    ticket_page = agent.get(f"/tickets/{outage.id}").text
    heading = re.search(r"<h1>(.*?)</h1>", ticket_page).group(1)
    assert "Repair overdue" in heading and "Response overdue" not in heading
    assert (
        f'{format_datetime(outage.repair_due)}</time> <span class="badge badge-overdue">'
        in ticket_page
    )


def test_a_resolved_ticket_is_not_overdue(agent, desk):
    page = agent.get("/?status=resolved").text
    assert not row(page, desk.five_g_resolved)["overdue"]
    assert "overdue" not in row(page, desk.five_g_resolved)["response_due"]


# ---- the channel filter


def test_the_channel_filter_takes_several_channels(agent, desk, tickets):
    web = file_ticket(tickets, channel="webchat").id
    page = agent.get("/").text
    for channel in ("webchat", "telegram", "rest", "unknown"):
        assert f'<input type="checkbox" name="channel" value="{channel}">' in page

    both = agent.get("/?status=open&channel=telegram&channel=webchat&sort=oldest").text
    assert ticket_ids(both) == [*desk.ids("outage_overdue", "privacy_urgent"), web]
    assert 'name="channel" value="telegram" checked' in both
    assert 'name="channel" value="webchat" checked' in both
    assert 'name="channel" value="rest">' in both
    rest = agent.get("/?status=open&channel=rest&sort=oldest").text
    assert ticket_ids(rest) == desk.ids("billing_overdue", "slow_data")
    # A channel that is not one is ignored, like any hand-edited value.
    assert len(ticket_ids(agent.get("/?status=open&channel=fax").text)) == 5


# ---- the ticket page


def test_canned_replies_are_filled_in_the_tickets_language(agent, tickets, clock):
    ticket = file_ticket(
        tickets, channel="webchat", msisdn=VERIFIED_LINE, contact=VERIFIED_LINE, language="zh"
    )
    page = agent.get(f"/tickets/{ticket.id}").text
    deadline = (
        f"尊敬的Liu Yang，您的工单 {ticket.id} 正在处理中，"
        f"我们最迟会在 {format_datetime(ticket.due)} 前给您答复。"
    )
    assert "Canned replies" in page and "in its language (中文)" in page
    assert f'data-text="{deadline}">Promise the deadline</a>' in page

    chosen = agent.get(f"/tickets/{ticket.id}?canned=deadline").text
    assert re.search(r'<textarea id="reply-text"[^>]*>(.*?)</textarea>', chosen).group(1) == (
        deadline
    )


def test_canned_replies_for_an_unverified_english_ticket(agent, desk, tickets):
    ticket = tickets.get(desk.privacy_urgent)
    page = agent.get(f"/tickets/{ticket.id}").text
    greeting = (
        f"Dear customer, this is customer service about your ticket {ticket.id}. "
        "I am looking into it now."
    )
    assert f'data-text="{greeting}">Greeting</a>' in page
    assert "canned-insert" not in agent.get(f"/tickets/{desk.slow_data}").text  # no reply


def test_the_customers_other_tickets_and_conversations_are_listed(agent, desk, tickets):
    same_line = file_ticket(tickets, msisdn=VERIFIED_LINE, contact="13900000001")
    same_contact = file_ticket(tickets, contact=VERIFIED_LINE)  # typed, not verified
    someone_else = file_ticket(tickets, contact="13900000002")

    page = agent.get(f"/tickets/{desk.billing_overdue}").text
    section = re.search(r'<section class="card" id="other-tickets">.*?</section>', page, re.DOTALL)
    listed = re.findall(r'<td><a href="/tickets/([^"]+)">', section.group(0))
    assert listed == [same_contact.id, same_line.id]  # newest first, not the ticket itself
    for other in (same_line, same_contact):
        assert f'<code>{other.conversation_id}</code>: <a href="/tickets/{other.id}">' in page
    assert someone_else.id not in page

    alone = agent.get(f"/tickets/{desk.privacy_urgent}").text
    assert "No other tickets from this line or contact number." in alone


def test_an_unverified_contacts_other_tickets_are_listed(agent, desk, tickets):
    again = file_ticket(tickets, contact=UNVERIFIED_CONTACT)
    page = agent.get(f"/tickets/{desk.slow_data}").text
    assert f'<td><a href="/tickets/{again.id}">{again.id}</a></td>' in page


# ---- live: what the console watches, the rows fragment and the event stream


def test_the_activity_mark_moves_with_what_the_queue_shows(desk, tickets, live_desk):
    def moves(change: Callable[[], object]) -> bool:
        before = tickets.activity_mark()
        change()
        return tickets.activity_mark() != before

    outage = tickets.get(desk.outage_overdue)
    assert not moves(lambda: None)
    assert moves(lambda: file_ticket(tickets))
    assert moves(lambda: tickets.assign(desk.slow_data, AGENT))
    assert moves(lambda: tickets.assign(desk.slow_data, OTHER_AGENT))  # as many owned as before
    assert moves(lambda: tickets.change_status(desk.slow_data, Status.IN_PROGRESS, by=AGENT))
    assert moves(lambda: tickets.add_note(desk.slow_data, AGENT, "Called back"))
    assert moves(lambda: tickets.reply(desk.privacy_urgent, AGENT, "Hello"))
    assert moves(lambda: live_desk.request_person(outage.id))
    assert moves(lambda: live_desk.take(outage.id, AGENT, "Li Na"))
    assert moves(lambda: live_desk.take_customer_message(outage.conversation_id, "Still no signal"))
    # The queue shows no typing: the pages are not refreshed for it.
    assert not moves(lambda: live_desk.customer_typing(outage.conversation_id))


def test_the_rows_fragment_is_the_queue_without_the_page(agent, desk, tickets):
    tickets.assign(desk.slow_data, AGENT)
    fragment = agent.get("/queue/rows?view=mine&status=open")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "<form" not in fragment.text
    assert ticket_ids(fragment.text) == desk.ids("slow_data")
    assert tab_counts(fragment.text) == {"mine": 1, "unassigned": 3, "all": 4, "waiting": 0}
    assert tab_link(fragment.text, "all") == "/?status=open&view=all"


def test_the_live_routes_need_a_signed_in_agent(console):
    for path in ("/events/queue", "/queue/rows"):
        response = console.client().get(path)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/login?next=")


@pytest.fixture
def queue_events(console, agent) -> Iterator[Iterator[str]]:
    """The lines of the signed-in agent's event stream, once it listens. (How fast events come
    is measured by `telecom benchmark --live-chat`, not here.)"""
    with (
        httpx.Client(
            base_url=console.base_url,
            cookies={"console_session": agent.http.cookies["console_session"]},
            timeout=httpx.Timeout(10),
        ) as http,
        http.stream("GET", "/events/queue") as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-store"
        lines = stream.iter_lines()
        assert ": listening" in read_until_blank(lines)
        yield lines


def read_until_blank(lines: Iterator[str]) -> list[str]:
    block: list[str] = []
    for line in lines:
        if not line:
            return block
        block.append(line)
    raise AssertionError("the stream ended")


def next_event(lines: Iterator[str]) -> tuple[str, dict]:
    """The next event's name and data; comments (keep-alives) are skipped."""
    while True:
        fields = dict(
            line.split(": ", 1) for line in read_until_blank(lines) if not line.startswith(":")
        )
        if fields:
            return fields["event"], json.loads(fields["data"])


def test_a_new_urgent_ticket_reaches_the_agents_open_queue(queue_events, tickets):
    filed = file_ticket(tickets, category=Category.PRIVACY, channel="telegram")
    name, data = next_event(queue_events)
    assert name == "queue"
    assert data == {
        "notices": [
            {
                "ticket_id": filed.id,
                "url": f"/tickets/{filed.id}",
                "category": "privacy",
                "priority": "urgent",
                "why": "urgent",
                "text": {
                    "en": f"New urgent ticket {filed.id}: Privacy and personal data",
                    "zh": f"新的紧急工单 {filed.id}：个人信息与隐私",
                },
            }
        ]
    }


def test_a_change_without_news_refreshes_without_a_notice(queue_events, desk, tickets):
    tickets.assign(desk.slow_data, OTHER_AGENT)
    assert next_event(queue_events) == ("queue", {"notices": []})
    tickets.assign(desk.slow_data, AGENT)  # another owner, as many owned tickets as before
    assert next_event(queue_events) == ("queue", {"notices": []})


def test_a_customer_waiting_for_a_person_is_announced(queue_events, desk, live_desk):
    live_desk.request_person(desk.outage_overdue)
    name, data = next_event(queue_events)
    [notice] = data["notices"]
    assert (notice["ticket_id"], notice["why"], notice["priority"]) == (
        desk.outage_overdue,
        "waiting",
        "high",
    )
    assert notice["text"]["en"] == (
        f"A customer is waiting for a person: {desk.outage_overdue} (Mobile network)"
    )


def test_the_watch_stops_with_the_console_and_with_its_last_page(tickets):
    async def listen_then_stop() -> tuple[object, int, int]:
        watch = QueueWatch(tickets, poll_seconds=0.01)
        async with watch.listening() as changes:
            polling = len(asyncio.all_tasks())
            await watch.stop()
            told = await changes.get()
        await asyncio.sleep(0)  # the cancelled poller finishes
        async with watch.listening():
            pass  # a page that comes and goes
        await asyncio.sleep(0)
        return told, polling, len(asyncio.all_tasks())

    told, while_listening, after = asyncio.run(listen_then_stop())
    assert told is None  # the stream's end
    assert (while_listening, after) == (2, 1)  # the poller ran, and nothing is left but us


# ---- in a browser (last: the module's Chromium keeps an event loop in this thread)


def test_the_queue_updates_by_itself_when_a_ticket_is_filed(browser, console, desk, tickets):
    """In two tabs of one browser, which share one event stream."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        first = context.new_page()
        first.goto(f"{console.base_url}/login")
        first.fill("#username", AGENT)
        first.fill("#password", PASSWORD)
        first.click("form[action='/login'] button[type=submit]")
        second = context.new_page()
        second.goto(f"{console.base_url}/?view=unassigned")
        tabs = (first, second)
        for page in tabs:
            page.wait_for_selector("#live-status.on")
            page.evaluate("window.notReloaded = true")
        before = [int(page.inner_text(".tab-all .tab-count")) for page in tabs]

        filed = file_ticket(tickets, category=Category.PRIVACY, channel="telegram")

        for page, count in zip(tabs, before, strict=True):
            page.wait_for_selector(f"#inbox a[href='/tickets/{filed.id}']")
            assert page.evaluate("window.notReloaded") is True  # swapped in, not reloaded
            assert int(page.inner_text(".tab-all .tab-count")) == count + 1
            notice = page.wait_for_selector(f".notice[data-ticket='{filed.id}']")
            assert notice.inner_text().startswith(f"New urgent ticket {filed.id}")
        assert "view=unassigned" in second.url  # its view and filters kept
    finally:
        context.close()
