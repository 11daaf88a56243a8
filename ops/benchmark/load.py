"""The load generator: simulated customers talking to a bot over Rasa's REST channel at the
same time, each message's round trip timed.

Each customer waits for the answer, pauses as if reading and typing, then sends the next
message; a finished conversation is followed by a new one under a new sender id, as a new
customer would start it (so conversations keep a realistic length instead of growing for the
whole run).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from ops.benchmark.conversations import (
    ONE_TIME_CODE,
    PHONE_NUMBER,
    Customer,
    conversation,
    customers,
)
from ops.benchmark.stats import LatencySummary
from telecom_assistant.settings import Settings
from telecom_assistant.trust import CHANNEL_SECRET, CHANNEL_SECRET_HEADER

REST_WEBHOOK = "/webhooks/rest/webhook"
# Generous: a message slower than this counts as failed rather than hanging the benchmark.
MESSAGE_TIMEOUT_SECONDS = 60

CodeReader = Callable[[str], Awaitable[str]]

# httpx logs every request at INFO: thousands of lines around the figures.
logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass(frozen=True)
class LoadSchedule:
    """How long customers keep talking, and how they pace themselves."""

    concurrency: int
    think_seconds: float  # the mean pause between an answer and the next message
    duration_seconds: float | None = None  # stop sending after this long...
    conversations_per_customer: int | None = None  # ...or after this many conversations

    def __post_init__(self) -> None:
        if (self.duration_seconds is None) == (self.conversations_per_customer is None):
            raise ValueError("a schedule needs either a duration or a number of conversations")

    def start_delay(self, customer_index: int) -> float:
        """Customers join spread over one mean pause, rather than all at the same instant,
        which no real crowd does."""
        return self.think_seconds * customer_index / self.concurrency

    def pause(self, rng: random.Random) -> float:
        """Between half and one and a half times the mean, evenly."""
        return self.think_seconds * rng.uniform(0.5, 1.5)

    def keeps_talking(self, elapsed_seconds: float, conversations_finished: int) -> bool:
        """Asked before every message: a duration stops customers mid-conversation, a number
        of conversations lets each finish its last one."""
        if self.conversations_per_customer is not None:
            return conversations_finished < self.conversations_per_customer
        assert self.duration_seconds is not None  # one of the two, checked at construction
        return elapsed_seconds < self.duration_seconds


@dataclass(frozen=True)
class Message:
    customer: int
    step: str
    latency_ms: float
    ok: bool


@dataclass
class LevelRun:
    """One load level against one bot."""

    concurrency: int
    wall_seconds: float  # from the start until the last answer arrived
    messages: list[Message] = field(default_factory=list)

    @property
    def latencies_ms(self) -> list[float]:
        return [message.latency_ms for message in self.messages if message.ok]

    @property
    def errors(self) -> int:
        return sum(not message.ok for message in self.messages)

    @property
    def messages_per_second(self) -> float:
        return len(self.latencies_ms) / self.wall_seconds

    def summary(self) -> LatencySummary:
        return LatencySummary.of(self.latencies_ms)


async def send(client: httpx.AsyncClient, url: str, sender: str, text: str) -> tuple[float, bool]:
    """One round trip: the milliseconds until the whole answer arrived, and whether it did."""
    started = time.perf_counter()
    try:
        response = await client.post(url, json={"sender": sender, "message": text})
        ok = response.status_code == 200
    except httpx.HTTPError:
        ok = False
    return (time.perf_counter() - started) * 1000, ok


async def run_level(
    base_url: str, schedule: LoadSchedule, read_code: CodeReader, run_name: str
) -> LevelRun:
    """`schedule.concurrency` customers at once; `run_name` keeps sender ids apart between
    levels and runs."""
    crowd = customers(schedule.concurrency)
    # Customers who share a line take turns from giving the number until the code is in,
    # or the second code would replace the first.
    verification_turns = {customer.msisdn: asyncio.Lock() for customer in crowd}
    limits = httpx.Limits(
        max_connections=schedule.concurrency, max_keepalive_connections=schedule.concurrency
    )
    level = LevelRun(schedule.concurrency, wall_seconds=0.0)
    started = last_answer = time.monotonic()
    # As the channel programs do: the production profile's Rasa refuses messages without it.
    headers = {CHANNEL_SECRET_HEADER: CHANNEL_SECRET.value(Settings.from_environment())}
    async with httpx.AsyncClient(
        timeout=MESSAGE_TIMEOUT_SECONDS, limits=limits, headers=headers
    ) as client:

        async def customer_talks(customer: Customer) -> None:
            nonlocal last_answer
            rng = random.Random(f"{run_name}-{customer.index}")
            line_lock = verification_turns[customer.msisdn]
            await asyncio.sleep(schedule.start_delay(customer.index))
            finished = 0
            while schedule.keeps_talking(time.monotonic() - started, finished):
                sender = f"{run_name}-{customer.index}-{finished}"
                holding_line = False
                try:
                    for turn in conversation(customer):
                        if not schedule.keeps_talking(time.monotonic() - started, finished):
                            return
                        if turn.text == PHONE_NUMBER:
                            await line_lock.acquire()
                            holding_line = True
                            text = customer.msisdn
                        elif turn.text == ONE_TIME_CODE:
                            text = await read_code(customer.msisdn)
                        else:
                            text = turn.text
                        latency_ms, ok = await send(client, base_url + REST_WEBHOOK, sender, text)
                        level.messages.append(Message(customer.index, turn.step, latency_ms, ok))
                        last_answer = max(last_answer, time.monotonic())
                        if turn.text == ONE_TIME_CODE:
                            line_lock.release()
                            holding_line = False
                        await asyncio.sleep(schedule.pause(rng))
                finally:
                    if holding_line:
                        line_lock.release()
                finished += 1

        await asyncio.gather(*(customer_talks(customer) for customer in crowd))
    level.wall_seconds = last_answer - started
    return level
