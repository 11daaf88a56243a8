"""The rules of live chat with agents: when the desk is open (TELECOM_SERVICE_HOURS), and how
long a side is shown typing and a customer's page counts as open."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

import pytest

from telecom_assistant.service_hours import ServiceHours
from telecom_assistant.tickets.live import (
    PRESENCE_SECONDS,
    TYPING_SECONDS,
    LiveChat,
    LiveState,
)

DAY = datetime(2026, 11, 23)
DAYTIME = ServiceHours.parse("08:00-22:00")


def at(clock_time: str, day: datetime = DAY) -> datetime:
    hours, minutes, *seconds = (int(part) for part in clock_time.split(":"))
    return day.replace(hour=hours, minute=minutes, second=seconds[0] if seconds else 0)


# ---- service hours


@pytest.mark.parametrize(
    "written, opens, closes",
    [
        ("08:00-22:00", time(8), time(22)),
        (" 8:30 - 17:45 ", time(8, 30), time(17, 45)),
        ("00:00-24:00", time(0), time.max),
    ],
)
def test_service_hours_are_read_as_written(written, opens, closes):
    hours = ServiceHours.parse(written)
    assert (hours.opens, hours.closes) == (opens, closes)


@pytest.mark.parametrize(
    "written, complaint",
    [
        ("", "give the hours as HH:MM-HH:MM"),
        ("8-22", "give the hours as HH:MM-HH:MM"),
        ("08:00 to 22:00", "give the hours as HH:MM-HH:MM"),
        ("08:00-22:00-23:00", "give the hours as HH:MM-HH:MM"),
        ("24:00-24:00", "hours run 00:00 to 24:00"),
        ("08:60-22:00", "hours run 00:00 to 24:00"),
        ("08:00-25:00", "hours run 00:00 to 24:00"),
        ("08:00-24:30", "hours run 00:00 to 24:00"),
        ("22:00-08:00", "must close after it opens"),
        ("08:00-08:00", "must close after it opens"),
    ],
)
def test_service_hours_that_make_no_day_are_refused_with_the_reason(written, complaint):
    with pytest.raises(ValueError, match=complaint):
        ServiceHours.parse(written)


@pytest.mark.parametrize(
    "moment, open_",
    [
        ("07:59:59", False),
        ("08:00", True),
        ("12:00", True),
        ("21:59:59", True),
        ("22:00", False),
        ("23:30", False),
        ("00:00", False),
    ],
)
def test_the_desk_is_open_from_its_opening_until_just_before_its_closing(moment, open_):
    assert DAYTIME.are_open(at(moment)) is open_


def test_a_desk_open_all_day_is_open_at_every_moment():
    always = ServiceHours.parse("00:00-24:00")
    assert always.are_open(at("00:00"))
    assert always.are_open(at("23:59:59"))  # the operator's clock counts whole seconds


@pytest.mark.parametrize(
    "moment, opening",
    [
        ("00:30", at("08:00")),
        ("07:59:59", at("08:00")),
        ("08:00", at("08:00", DAY + timedelta(days=1))),  # today's opening has passed
        ("22:00", at("08:00", DAY + timedelta(days=1))),
        ("23:59", at("08:00", DAY + timedelta(days=1))),
    ],
)
def test_the_next_opening_is_today_before_it_and_tomorrow_after_it(moment, opening):
    assert DAYTIME.next_opening(at(moment)) == opening


def test_the_next_opening_crosses_a_month_end():
    assert DAYTIME.next_opening(datetime(2026, 11, 30, 23)) == datetime(2026, 12, 1, 8)


@pytest.mark.parametrize("written", ["08:00-22:00", "00:00-24:00", "09:30-18:05"])
def test_service_hours_are_written_back_as_they_are_read(written):
    assert str(ServiceHours.parse(written)) == written
    assert ServiceHours.parse(str(ServiceHours.parse(written))) == ServiceHours.parse(written)


# ---- a live chat's typing and presence windows


LIVE = LiveChat(
    id=1,
    ticket_id="TK-261123-0001",
    conversation_id="webchat-1",
    channel="webchat",
    language="en",
    state=LiveState.LIVE,
    requested_at=at("10:00"),
    agent="li.na",
    agent_name="Li Na",
    taken_at=at("10:00"),
)


def test_a_side_is_typing_for_a_few_seconds_after_its_last_keystroke():
    keystroke = at("10:01")
    typing = replace(LIVE, customer_typing_at=keystroke, agent_typing_at=keystroke)
    for seconds, shown in ((0, True), (TYPING_SECONDS, True), (TYPING_SECONDS + 1, False)):
        now = keystroke + timedelta(seconds=seconds)
        assert typing.customer_typing(now) is shown
        assert typing.agent_typing(now) is shown


def test_nobody_types_before_a_keystroke_is_reported():
    quiet = LIVE
    assert not quiet.customer_typing(at("10:01")) and not quiet.agent_typing(at("10:01"))


def test_the_customer_is_here_while_the_page_reports_in_then_away():
    seen = at("10:01")
    page = replace(LIVE, customer_seen_at=seen)
    assert page.customer_present(seen + timedelta(seconds=PRESENCE_SECONDS)) is True
    assert page.customer_present(seen + timedelta(seconds=PRESENCE_SECONDS + 1)) is False


def test_a_channel_that_never_reports_presence_cannot_tell():
    assert LIVE.customer_present(at("10:01")) is None  # Telegram


@pytest.mark.parametrize(
    "state, open_", [(LiveState.WAITING, True), (LiveState.LIVE, True), (LiveState.ENDED, False)]
)
def test_a_chat_is_open_until_it_ends(state, open_):
    assert replace(LIVE, state=state).is_open is open_
