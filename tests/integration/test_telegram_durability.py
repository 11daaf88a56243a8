"""The Telegram bridge loses nothing and answers nothing twice: against a fake Bot API that
forgets the updates the bridge confirms, and Rasa's real channels with a scripted turn
(tests/scripted_rasa.py), through timeouts, stops, restarts, a database that fails, and an
update Telegram sends again."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from sqlalchemy.exc import OperationalError

from channels.rasa_client import RasaClient
from channels.telegram.inbox import Inbox, WaitingMessage
from channels.telegram.updates import TELEGRAM_SECRET_HEADER
from channels.telegram.webhook import WEBHOOK_LISTEN, WebhookSettings
from telecom_assistant.language import ENGLISH
from telecom_assistant.texts import text
from tests.bridge_harness import bridge_running, new_inbox
from tests.fake_telegram import FakeBotApi, free_port, wait_until
from tests.scripted_rasa import ScriptedRasa

CHANNEL_SECRET = "the-tests-channel-secret-0123456789abcdef"
CONVERSATION_KEY = "the-tests-conversation-key-0123456789abcdef"
WEBHOOK_SECRET = "the-tests-webhook-secret-0123456789_abcdef"
UNAVAILABLE = text("telegram.unavailable", ENGLISH)
NOWHERE = f"http://127.0.0.1:{free_port()}"  # a Rasa that is not there

Scenario = Callable[[FakeBotApi, ScriptedRasa, str, Inbox], Awaitable[None]]


def run(scenario: Scenario) -> None:
    """Runs scenario(telegram, rasa, rasa_url, inbox): the scenario runs the bridge itself
    (`bridge(...)`), as often as it likes, on the one inbox."""

    async def main(inbox: Inbox) -> None:
        telegram, rasa = FakeBotApi(), ScriptedRasa(CHANNEL_SECRET)
        telegram_url, rasa_url = await telegram.start(), await rasa.start()
        telegram.url = telegram_url  # type: ignore[attr-defined]
        try:
            await scenario(telegram, rasa, rasa_url, inbox)
        finally:
            await telegram.stop()
            await rasa.stop()

    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(main(new_inbox(directory)))


def bridge(
    telegram: FakeBotApi, rasa_url: str, inbox: Inbox, *, rasa_timeout: float = 30, **options: Any
):  # type: ignore[no-untyped-def]
    return bridge_running(
        RasaClient(rasa_url, CHANNEL_SECRET, timeout_seconds=rasa_timeout),
        telegram.url,  # type: ignore[attr-defined]
        conversation_key=CONVERSATION_KEY,
        inbox=inbox,
        first_retry_delay=0.05,
        **options,
    )


async def wait_for_count(telegram: FakeBotApi, chat_id: int, expected: str, count: int) -> None:
    await wait_until(
        lambda: telegram.texts_to(chat_id).count(expected) >= count or None,
        lambda: f"{expected!r} not sent {count} time(s); sent: {telegram.texts_to(chat_id)}",
    )


def test_a_turn_slower_than_the_bridge_waits_runs_once_and_its_answer_arrives_once():
    async def scenario(telegram, rasa, rasa_url, inbox) -> None:
        rasa.slow["13800000018"] = 1.0  # waits for the conversation's lock, say
        async with bridge(telegram, rasa_url, inbox, rasa_timeout=0.3):
            telegram.write(42, "13800000018")
            await telegram.wait_for_text(42, "echo: 13800000018")
            await asyncio.sleep(0.3)
        assert rasa.turns_of("13800000018") == 1
        # Told that the assistant is slow to answer, then answered once.
        assert telegram.texts_to(42) == [UNAVAILABLE, "echo: 13800000018"]

    run(scenario)


def test_messages_waiting_for_rasa_when_the_bridge_stops_are_answered_after_it_starts():
    async def scenario(telegram, rasa, rasa_url, inbox) -> None:
        async with bridge(telegram, NOWHERE, inbox):
            telegram.write(42, "what is my balance")
            await telegram.wait_for_text(42, UNAVAILABLE)
            telegram.write(42, "and my data")
            telegram.write(7, "hello")
            await wait_until(lambda: len(inbox.waiting()) == 3 or None, lambda: "not stored")
        # Confirmed to Telegram, which forgot them: they live in the inbox only.
        await wait_until(lambda: telegram.updates == [] or None, lambda: "not confirmed")

        async with bridge(telegram, rasa_url, inbox):
            await telegram.wait_for_text(42, "echo: and my data")
            await telegram.wait_for_text(7, "echo: hello")
        assert telegram.texts_to(42) == [
            UNAVAILABLE,
            "echo: what is my balance",
            "echo: and my data",
        ]
        turns = [turn_text for _, turn_text, _ in rasa.turns]
        assert [turn for turn in turns if turn != "hello"] == ["what is my balance", "and my data"]
        assert turns.count("hello") == 1
        assert inbox.waiting() == []

    run(scenario)


def test_a_turn_under_way_when_the_bridge_stops_is_not_run_again_after_it_starts():
    async def scenario(telegram, rasa, rasa_url, inbox) -> None:
        rasa.slow["13800000018"] = 1.0
        async with bridge(telegram, rasa_url, inbox):
            telegram.write(42, "13800000018")
            await wait_until(lambda: rasa.turns or None, lambda: "the turn never began")
        async with bridge(telegram, rasa_url, inbox):
            await telegram.wait_for_text(42, "echo: 13800000018")
        assert rasa.turns_of("13800000018") == 1
        assert telegram.texts_to(42) == ["echo: 13800000018"]

    run(scenario)


def test_an_update_telegram_sends_again_is_not_handled_again():
    async def scenario(telegram, rasa, rasa_url, inbox) -> None:
        async with bridge(telegram, rasa_url, inbox):
            telegram.write(42, "my bill")
            telegram.write(42, "/help")
            await telegram.wait_for_text(42, "echo: my bill")
            await telegram.wait_for_text(42, text("telegram.help", ENGLISH))
            handled = await wait_until(
                lambda: list(telegram.forgotten) if len(telegram.forgotten) == 2 else None,
                lambda: "the updates were not confirmed",
            )
            # The bridge died before it could confirm them: Telegram sends them again.
            telegram.updates.extend(handled)
            await wait_until(lambda: telegram.updates == [] or None, lambda: "not taken")
            telegram.write(42, "next")
            await telegram.wait_for_text(42, "echo: next")
        assert sorted(telegram.texts_to(42)) == sorted(
            ["echo: my bill", text("telegram.help", ENGLISH), "echo: next"]
        )
        assert rasa.turns_of("my bill") == 1

    run(scenario)


class FailingInbox(Inbox):
    """The inbox while its database is away, for the first `failures` messages."""

    def __init__(self, inbox: Inbox, failures: int) -> None:
        self.__dict__.update(inbox.__dict__)
        self.failures = failures

    def take(self, update_id: int, chat_id: int, text: str, language: str) -> WaitingMessage | None:
        if self.failures:
            self.failures -= 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return super().take(update_id, chat_id, text, language)


def test_an_update_the_inbox_cannot_store_is_not_confirmed_and_is_taken_again():
    async def scenario(telegram, rasa, rasa_url, inbox) -> None:
        failing = FailingInbox(inbox, failures=2)
        async with bridge(telegram, rasa_url, failing):
            telegram.write(42, "my bill")
            await wait_until(lambda: failing.failures == 0 or None, lambda: "never tried")
            assert [update["update_id"] for update in telegram.updates] == [1]  # kept
            await telegram.wait_for_text(42, "echo: my bill")
        assert rasa.turns_of("my bill") == 1

    run(scenario)


def test_a_webhook_update_the_inbox_cannot_store_is_refused_so_that_telegram_sends_it_again():
    settings = WebhookSettings("https://bot.example.com/telegram/hook", free_port(), WEBHOOK_SECRET)

    async def scenario(telegram, rasa, rasa_url, inbox) -> None:
        failing = FailingInbox(inbox, failures=1)
        async with (
            bridge(telegram, rasa_url, failing, webhook=settings),
            aiohttp.ClientSession() as http,
        ):
            telegram.write(42, "my bill")
            [update] = telegram.updates
            endpoint = f"http://{WEBHOOK_LISTEN}:{settings.port}/telegram/hook"
            statuses = []
            for _ in range(2):  # as Telegram sends an update again until it gets a 200
                async with http.post(
                    endpoint, json=update, headers={TELEGRAM_SECRET_HEADER: WEBHOOK_SECRET}
                ) as response:
                    statuses.append(response.status)
            await telegram.wait_for_text(42, "echo: my bill")
            async with http.post(
                endpoint, json=update, headers={TELEGRAM_SECRET_HEADER: WEBHOOK_SECRET}
            ) as response:
                statuses.append(response.status)  # once more, as after a lost 200
            await asyncio.sleep(0.2)
        assert statuses == [500, 200, 200]
        assert rasa.turns_of("my bill") == 1
        assert telegram.texts_to(42) == ["echo: my bill"]

    run(scenario)
