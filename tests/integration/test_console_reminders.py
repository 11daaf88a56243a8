"""The console's view of reminders over real HTTP: a line's reminders (newest first, in the
agent's language, whether the SMS went and whether the chat got it) and its customer's opt-outs,
on the ticket page and the customer's page, shown but never changeable; and on the hot spots,
the reminders sent each ISO week beside the complaints. Both languages; nothing without a
session. No Rasa model: the seeded SQLite database, a fake clock, the console of
test_console.py with a reminder store, and Chromium for the README's screenshots."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest

from telecom_assistant.reminders.model import ChatAddress, Reminder, ReminderKind
from telecom_assistant.reminders.sql import SqlReminderStore
from telecom_assistant.schema import Area, migrate
from telecom_assistant.tickets.model import Category
from tests.conftest import FakeClock
from tests.integration import test_console
from tests.integration.test_console import AGENT, PASSWORD, VERIFIED_LINE
from tests.integration.test_console_inbox import file_ticket
from tests.stack import save_screenshot

# The console with its agent and tickets: test_console.py's fixtures.
agents = test_console.agents
tickets = test_console.tickets
desk = test_console.desk
start_console = test_console.start_console
agent = test_console.agent

OTHER_LINE = "13800000002"
UNKNOWN_LINE = "13900000999"  # a mobile number the account system does not have
RINGBACK = {
    "name": "Ringback Tone",
    "name_zh": "彩铃",
    "fee": "¥5.00",
    "started": "2026-11-21",
    "channel": "customer hotline",
    "channel_zh": "客服热线",
}
DATA_80 = {
    "resource": "data",
    "used": "8.5 GB",
    "allowance": "10 GB",
    "percent": 85,
    "overage_price": "¥5.00",
    "cycle_end": "2026-11-30",
}
BILL = {"total": "¥88.00", "owed": "¥88.00", "due_date": "2026-11-20"}


@pytest.fixture
def store(sqlite_engine, clock) -> SqlReminderStore:
    migrate(sqlite_engine, [Area.REMINDERS])
    return SqlReminderStore(sqlite_engine, clock)


@pytest.fixture
def console(start_console, store) -> test_console.Console:
    return start_console(reminders=store)


def send(
    store: SqlReminderStore,
    clock: FakeClock,
    kind: ReminderKind,
    topic: str,
    details: Mapping[str, Any],
    *,
    ago: timedelta = timedelta(0),
    msisdn: str = VERIFIED_LINE,
    event: str | None = None,
    language: str = "en",
    chat: str | None = None,
    sms: bool = True,
    reached: bool = False,
    urgent: bool = False,
) -> int:
    """A reminder as the scheduler records it, `ago` before now: claimed, its SMS sent
    (`sms`), to the customer's `chat` channel when one is known, which got it (`reached`)."""
    now = clock.now
    clock.now = now - ago
    try:
        address = ChatAddress(msisdn, chat, f"{chat}-conversation", language) if chat else None
        reminder = Reminder(
            msisdn,
            kind,
            event or f"{topic}:{clock.now.isoformat()}",
            topic,
            urgent=urgent,
            details=details,
        )
        reminder_id = store.claim(reminder, language, address)
        assert reminder_id is not None
        if sms:
            store.mark_sms_sent(reminder_id)
        if reached:
            store.mark_chat_delivered(reminder_id)
        return reminder_id
    finally:
        clock.now = now


def section(page: str, section_id: str) -> str:
    found = re.search(rf'<section class="card" id="{section_id}">.*?</section>', page, re.DOTALL)
    assert found, f"no section {section_id} on the page"
    return found.group(0)


def cells(markup: str) -> str:
    """What a reader sees of some markup: the text, tags gone, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def body_rows(table: str) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.DOTALL)
    assert body, "no table body"
    return [
        [cells(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.DOTALL)
    ]


@pytest.fixture
def seeded(store, clock) -> None:
    """Three reminders to the verified line and one to another, and two kinds turned off."""
    send(
        store,
        clock,
        ReminderKind.ADDON,
        "addon_started",
        RINGBACK,
        ago=timedelta(days=2),
        chat="telegram",
        reached=True,
        urgent=True,
    )
    send(
        store,
        clock,
        ReminderKind.USAGE,
        "usage_80",
        DATA_80,
        ago=timedelta(days=1),
        language="zh",
        chat="webchat",
    )
    send(store, clock, ReminderKind.BILL, "bill_overdue", BILL, language="", sms=False)
    send(store, clock, ReminderKind.BILL, "bill_overdue", BILL, msisdn=OTHER_LINE)
    store.set_opt_out(VERIFIED_LINE, [ReminderKind.USAGE, ReminderKind.ROAMING], out=True)
    store.set_opt_out(OTHER_LINE, [ReminderKind.CONTRACT], out=True)


# ---- without a session


@pytest.mark.parametrize("path", [f"/customers/{VERIFIED_LINE}", "/hotspots"])
def test_reminders_are_shown_only_to_a_signed_in_agent(console, seeded, path):
    response = console.client().get(path)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?")
    assert "Ringback" not in response.text and VERIFIED_LINE not in response.text


# ---- a line's reminders and opt-outs


def test_the_customers_page_shows_the_reminders_newest_first_and_how_each_went(agent, seeded):
    page = agent.get(f"/customers/{VERIFIED_LINE}")
    assert page.status_code == 200
    rows = body_rows(section(page.text, "reminders"))
    assert [row[0] for row in rows] == [
        "Bill 2026-11-23 10:00",
        "Usage 2026-11-22 10:00",
        "New service urgent 2026-11-21 10:00",
    ]
    bill, usage, addon = rows
    assert bill[1].startswith("Your bill was due on 2026-11-20 and ¥88.00 of ¥88.00 is still")
    assert bill[1].endswith("sent in both languages")
    assert bill[2] == "SMS not sent No chat known; SMS only"
    # Sent to the customer in Chinese; the agent reads it in English.
    assert usage[1].startswith("You have used 85% of your data this cycle (8.5 GB of 10 GB).")
    assert usage[1].endswith("sent in 中文")
    assert usage[2] == "SMS sent 2026-11-22 10:00 Web chat: not reached"
    assert addon[1].startswith(
        "A paid service started on your line: Ringback Tone, ¥5.00 a month, from 2026-11-21, "
        "ordered through customer hotline."
    )
    assert addon[2] == "SMS sent 2026-11-21 10:00 Telegram: reached 2026-11-21 10:00"


def test_the_customers_page_shows_the_opt_outs_and_offers_no_way_to_change_them(
    agent, seeded, store
):
    reminders = section(agent.get(f"/customers/{VERIFIED_LINE}").text, "reminders")
    opt_outs = re.search(r'<ul class="opt-outs">(.*?)</ul>', reminders, re.DOTALL)
    assert opt_outs and re.findall(
        r"<li>(\w+) <time[^>]*>since (.*?)</time></li>", opt_outs.group(1)
    ) == [
        ("Usage", "2026-11-23 10:00"),
        ("Roaming", "2026-11-23 10:00"),
    ]
    assert "Only the customer turns reminders off or on" in reminders
    assert "<form" not in reminders and "<input" not in reminders and "<button" not in reminders
    # Nor a route to do it by hand.
    refused = agent.post(
        f"/customers/{VERIFIED_LINE}",
        {"csrf_token": agent.csrf_token(), "kind": "usage", "out": "false"},
    )
    assert refused.status_code >= 400
    assert store.opted_out(VERIFIED_LINE) == {ReminderKind.USAGE, ReminderKind.ROAMING}
    assert agent.get(f"/customers/{OTHER_LINE}").text.count("<li>Contract <time") == 1


def test_a_line_without_reminders_or_opt_outs_says_so(agent, store):
    reminders = section(agent.get(f"/customers/{VERIFIED_LINE}").text, "reminders")
    assert "The customer gets every kind of reminder." in reminders
    assert "No reminders were sent to this line." in reminders


def test_the_customers_page_shows_the_account_and_the_lines_tickets(agent, desk, seeded):
    page = agent.get(f"/customers/{VERIFIED_LINE}").text
    assert "Liu Yang" in section(page, "account")
    assert re.findall(r'<td><a href="/tickets/([^"]+)">', section(page, "tickets")) == [
        desk.billing_overdue
    ]
    assert "Ringback" not in section(page, "tickets")


def test_a_number_outside_the_account_system_still_has_a_page(agent, store, clock):
    send(store, clock, ReminderKind.BILL, "bill_overdue", BILL, msisdn=UNKNOWN_LINE)
    page = agent.get(f"/customers/{UNKNOWN_LINE}")
    assert page.status_code == 200
    assert "This line is not in the account system." in page.text
    assert len(body_rows(section(page.text, "reminders"))) == 1


@pytest.mark.parametrize("path", ["12345", "138000000041", "+8613800000004", "line"])
def test_anything_but_a_mobile_number_is_not_found(agent, path):
    assert agent.get(f"/customers/{path}").status_code == 404


def test_a_reminder_whose_text_no_longer_fits_does_not_break_the_page(agent, store, clock):
    send(store, clock, ReminderKind.USAGE, "usage_95", DATA_80)  # a topic the texts lost
    send(store, clock, ReminderKind.BILL, "bill_overdue", {"total": "¥1.00"})  # details missing
    page = agent.get(f"/customers/{VERIFIED_LINE}")
    assert page.status_code == 200
    rows = body_rows(section(page.text, "reminders"))
    assert [row[1].split(" sent in")[0] for row in rows] == [
        "A reminder (bill_overdue) whose text can no longer be shown.",
        "A reminder (usage_95) whose text can no longer be shown.",
    ]


def test_the_ticket_page_shows_the_latest_reminders_and_links_the_customers_page(
    agent, desk, store, clock
):
    for day in range(6, -1, -1):  # oldest first, as the scheduler sends them
        send(store, clock, ReminderKind.BILL, "bill_overdue", BILL, ago=timedelta(days=day))
    page = agent.get(f"/tickets/{desk.billing_overdue}").text
    reminders = section(page, "reminders")
    assert [row[0].split()[-2] for row in body_rows(reminders)] == [
        "2026-11-23",
        "2026-11-22",
        "2026-11-21",
        "2026-11-20",
        "2026-11-19",
    ]
    assert f'<a href="/customers/{VERIFIED_LINE}#reminders">' in reminders
    assert f'<a href="/customers/{VERIFIED_LINE}">' in page
    full = section(agent.get(f"/customers/{VERIFIED_LINE}").text, "reminders")
    assert len(body_rows(full)) == 7
    # A ticket without a verified line has no line to look up.
    assert 'id="reminders"' not in agent.get(f"/tickets/{desk.slow_data}").text


def test_the_reminders_in_chinese(console, seeded):
    agent = console.client(lang="zh")
    assert agent.sign_in().status_code == 303
    reminders = section(agent.get(f"/customers/{VERIFIED_LINE}").text, "reminders")
    assert "客户不接收以下类型的提醒：" in reminders
    opt_outs = re.search(r'<ul class="opt-outs">(.*?)</ul>', reminders, re.DOTALL)
    assert opt_outs and re.findall(
        r"<li>(\w+) <time[^>]*>(.*?)</time></li>", opt_outs.group(1)
    ) == [
        ("用量", "自2026-11-23 10:00起"),
        ("漫游", "自2026-11-23 10:00起"),
    ]
    bill, usage, addon = body_rows(reminders)
    assert bill[0] == "账单 2026-11-23 10:00" and bill[1].endswith("发送语言：中英双语")
    assert bill[2] == "短信未发送 无已知聊天，仅短信"
    assert usage[1].startswith("本账期您的流量已用85%")
    assert usage[2] == "短信已发送 2026-11-22 10:00 网页聊天：未送达"
    assert addon[0] == "新开业务 紧急 2026-11-21 10:00"
    assert addon[1].startswith(
        "您的号码已开通付费业务：彩铃，每月¥5.00，自2026-11-21起，开通渠道：客服热线。"
    )
    assert addon[2] == "短信已发送 2026-11-21 10:00 Telegram：已送达 2026-11-21 10:00"


# ---- the hot spots: reminders beside complaints, by ISO week


def comparison_table(page: str) -> tuple[list[str], dict[str, list[str]]]:
    """The comparison's column headings and its rows by week."""
    table = re.search(r'<table aria-labelledby="bill-shock-heading".*?</table>', page, re.DOTALL)
    assert table, "no comparison table"
    header_rows = re.findall(r"<tr>(.*?)</tr>", table.group(0).split("<tbody>")[0], re.DOTALL)
    headings = [cells(cell) for cell in re.findall(r"<th[^>]*>(.*?)</th>", header_rows[1])]
    rows = {row[0].split()[0]: row[1:] for row in body_rows(table.group(0))}
    return headings, rows


def test_the_hot_spots_show_reminders_beside_complaints_per_iso_week(
    agent, desk, tickets, store, clock
):
    """Today is Monday of 2026-W48; the desk filed two billing complaints in W46, one billing
    and one 5G complaint in W47 (and a fault, which is no complaint), one privacy complaint in
    W48."""
    monday = clock.now.replace(hour=0, minute=0)
    first_monday = monday - timedelta(weeks=7)  # 2026-W41

    def reminder(kind: ReminderKind, at: datetime, name: str) -> None:
        send(store, clock, kind, "bill_issued", BILL, ago=clock.now - at, event=name)

    reminder(ReminderKind.USAGE, first_monday - timedelta(minutes=1), "W40, before the chart")
    reminder(ReminderKind.USAGE, first_monday, "W41")
    reminder(ReminderKind.USAGE, monday - timedelta(days=3), "W47 a")
    reminder(ReminderKind.USAGE, monday - timedelta(days=2), "W47 b")
    reminder(ReminderKind.ADDON, monday - timedelta(minutes=1), "W47 c")
    reminder(ReminderKind.BILL, monday, "W48")
    file_ticket(tickets, category=Category.UNAUTHORISED_ADDON)

    page = agent.get("/hotspots").text
    headings, rows = comparison_table(page)
    assert headings == [
        "Week",
        "Usage",
        "Bill",
        "New service",
        "Total",
        "Billing",
        "Add-on ordered without consent",
        "All complaints",
    ]
    assert rows == {
        "2026-W41": ["1", "0", "0", "1", "0", "0", "0"],
        "2026-W42": ["0", "0", "0", "0", "0", "0", "0"],
        "2026-W43": ["0", "0", "0", "0", "0", "0", "0"],
        "2026-W44": ["0", "0", "0", "0", "0", "0", "0"],
        "2026-W45": ["0", "0", "0", "0", "0", "0", "0"],
        "2026-W46": ["0", "0", "0", "0", "2", "0", "2"],
        "2026-W47": ["2", "0", "1", "3", "1", "0", "2"],
        "2026-W48": ["0", "1", "0", "1", "0", "1", "2"],
    }
    assert list(rows) == sorted(rows)  # oldest first, as the charts read
    assert '<svg class="chart" viewBox' in section(page, "bill-shock")
    for chart in ("reminders-chart", "complaints-chart"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in page


def test_the_hot_spots_comparison_in_chinese(console, desk, store, clock):
    send(store, clock, ReminderKind.ADDON, "addon_started", RINGBACK)
    agent = console.client(lang="zh")
    assert agent.sign_in().status_code == 303
    page = agent.get("/hotspots").text
    assert "提醒与账单类投诉（按周）" in page
    headings, rows = comparison_table(page)
    assert headings == ["周", "新开业务", "合计", "账单与扣费", "不知情定制业务", "全部投诉"]
    assert rows["2026-W48"] == ["1", "1", "0", "0", "1"]


def test_weeks_without_reminders_or_complaints_say_so(console, store, clock):
    clock.advance(weeks=20)  # the desk's tickets are long past
    agent = console.client()
    assert agent.sign_in().status_code == 303
    comparison = section(agent.get("/hotspots").text, "bill-shock")
    assert "No reminders sent and no complaints filed in the last 8 weeks." in comparison
    assert "<table" not in comparison and "<svg" not in comparison


def test_a_console_without_a_reminder_store_leaves_reminders_out(start_console, desk):
    plain = start_console().client()
    assert plain.sign_in().status_code == 303
    assert 'id="bill-shock"' not in plain.get("/hotspots").text
    assert 'id="reminders"' not in plain.get(f"/tickets/{desk.billing_overdue}").text
    assert 'id="reminders"' not in plain.get(f"/customers/{VERIFIED_LINE}").text


# ---- in a browser, for the README (last: the module's Chromium keeps an event loop in this
# thread)


def test_a_customers_reminders_and_the_weekly_comparison_in_a_browser(
    browser, console, desk, tickets, store, clock, seeded
):
    """Eight weeks in which reminders went out more and more while bill-shock complaints fell:
    what the README's screenshots show."""
    monday = clock.now.replace(hour=0, minute=0)
    customers = [f"138000000{number:02d}" for number in range(10, 23)]
    # Oldest week first: reminders sent, then billing, unauthorised add-on and other complaints.
    weeks = [
        (2, 5, 4, 3),
        (3, 5, 3, 2),
        (6, 4, 3, 3),
        (8, 4, 2, 2),
        (11, 3, 2, 3),
        (13, 2, 1, 2),
        (15, 1, 1, 3),
        (4, 0, 0, 1),  # this week: its Monday morning
    ]
    for position, (sent, billing, addons, other) in enumerate(weeks):
        week_start = monday - timedelta(weeks=len(weeks) - 1 - position)
        for index in range(sent):
            send(
                store,
                clock,
                list(ReminderKind)[index % len(ReminderKind)],
                "bill_issued",
                BILL,
                ago=clock.now - (week_start + timedelta(minutes=10 * index)),
                msisdn=customers[index % len(customers)],
                event=f"week {position}, reminder {index}",
            )
        now = clock.now
        clock.now = week_start + timedelta(hours=8)
        for category, count in (
            (Category.BILLING, billing),
            (Category.UNAUTHORISED_ADDON, addons),
            (Category.OTHER, other),
        ):
            for _ in range(count):
                file_ticket(tickets, category=category)
        clock.now = now

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{console.base_url}/login")
    page.fill("#username", AGENT)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()

    page.goto(f"{console.base_url}/hotspots#bill-shock")
    assert page.locator("#bill-shock svg").count() == 2
    assert page.locator("#bill-shock tbody tr").count() == 8
    page.locator("#bill-shock").scroll_into_view_if_needed()
    save_screenshot(page, "console-reminders-vs-complaints.png", full_page=False)

    page.goto(f"{console.base_url}/tickets/{desk.billing_overdue}")
    page.click(f"a[href='/customers/{VERIFIED_LINE}']")
    page.wait_for_load_state()
    assert page.url.endswith(f"/customers/{VERIFIED_LINE}")
    rows = page.locator("#reminders tbody tr")
    assert rows.count() == 3
    assert "Ringback Tone" in rows.nth(2).inner_text()
    assert page.locator("#reminders .opt-outs li").all_inner_texts() == [
        "Usage since 2026-11-23 10:00",
        "Roaming since 2026-11-23 10:00",
    ]
    save_screenshot(page, "console-customer-reminders.png")
    page.close()
