"""The SMS business hall at work: it takes the messages waiting at the service number (the SMS
gateway, telecom_assistant/sms/), answers each (desk.py; free text by the assistant, through
Rasa's "sms" channel) and sends the answer back to the line; sends agents' replies to tickets
filed by SMS (agent_replies.py); and serves GET /health.

- Each message is claimed before it is answered (`SmsGateway.mark_handled`): two halls never
  answer one twice. A hall killed between claiming a message and answering it leaves the claim
  unanswered: the message is taken again once the claim expires (`CLAIM_EXPIRES`, 10 minutes;
  a stop by signal lets the answers under way finish). The assistant, asked again with the
  message's key, does not run its turn twice.
- One line's messages are answered one after another, in the order they came; different
  lines' at the same time, so a slow turn of the assistant holds up nobody else.
- Free text goes to Rasa in the line's own conversation (an HMAC of the number under the
  conversation key, as the other channels name theirs) with the line in the metadata, which is
  its verification there (actions/common.py). The assistant's buttons become a line "Reply:
  Yes / No": a title sent back works as a press. Each message goes with a key, and is asked
  once more after a failure: a turn slower than the client's timeout still gets its answer to
  the customer, and never runs twice. Rasa out of reach: the customer is told so.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from channels.health import HealthServer, Reachable, rasa_state
from channels.rasa_client import BotMessage, RasaClient, RasaUnavailable
from channels.sms.agent_replies import SmsReplySender
from channels.sms.conversations import line_conversation
from channels.sms.desk import Answer, ForAssistant, SmsDesk, in_languages
from channels.sms.keywords import Command, Keywords
from channels.sms.parts import sms_parts
from telecom_assistant.accounts.msisdn import normalise_msisdn
from telecom_assistant.language import CHINESE, detect_language
from telecom_assistant.sms.gateway import Purpose, Sms, SmsGateway
from telecom_assistant.texts import text

POLL_SECONDS = 0.5
# The pause before asking the assistant again after a failure.
RETRY_SECONDS = 1.0
# Rasa's channel for the hall (rasa_plugins/channels.py, SmsInput) and the metadata key of the
# line a message came from (actions/common.py reads it).
RASA_CHANNEL = "sms"
LINE_METADATA = "msisdn"

logger = logging.getLogger(__name__)


class SmsHall:
    def __init__(
        self,
        desk: SmsDesk,
        gateway: SmsGateway,
        rasa: RasaClient,
        keywords: Keywords,
        conversation_key: str,
        poll_seconds: float = POLL_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        replies: SmsReplySender | None = None,
    ) -> None:
        self._desk = desk
        self._replies = replies
        self._gateway = gateway
        self._rasa = rasa
        self._keywords = keywords
        self._conversation_key = conversation_key
        self._poll_seconds = poll_seconds
        self._retry_seconds = retry_seconds
        # Each line's latest message being answered: the next one waits for it.
        self._answering: dict[str, asyncio.Task[None]] = {}
        self.answered = 0

    async def run(self, stopping: asyncio.Event) -> None:
        """Takes and answers messages until `stopping` is set, then finishes the answers under
        way."""
        while not stopping.is_set():
            await self.take_waiting()
            await self.send_replies()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopping.wait(), self._poll_seconds)
        await self.finish()

    async def take_waiting(self) -> int:
        """Claims the messages waiting and starts answering them; how many it claimed."""
        try:
            waiting = await asyncio.to_thread(self._gateway.waiting)
            claimed = [
                sms
                for sms in waiting
                if await asyncio.to_thread(self._gateway.mark_handled, sms.id)
            ]
        except SQLAlchemyError as failure:  # the database away: try again at the next poll
            logger.error("Cannot read the SMS waiting: %s", type(failure).__name__)
            return 0
        for sms in claimed:
            self._start_answering(sms)
        return len(claimed)

    async def send_replies(self) -> int:
        """Sends agents' replies to tickets filed by SMS (agent_replies.py); how many."""
        if self._replies is None:
            return 0
        try:
            return await asyncio.to_thread(self._replies.send_pending)
        except SQLAlchemyError as failure:  # they wait in the outbox for the next poll
            logger.error("Cannot send agents' replies: %s", type(failure).__name__)
            return 0

    async def finish(self) -> None:
        """Waits for every answer under way."""
        while self._answering:
            await asyncio.wait(list(self._answering.values()))

    @property
    def answering(self) -> int:
        return len(self._answering)

    def _start_answering(self, sms: Sms) -> None:
        before = self._answering.get(sms.msisdn)
        task = asyncio.create_task(self._answer_after(before, sms))
        self._answering[sms.msisdn] = task
        task.add_done_callback(functools.partial(self._done, sms.msisdn))

    def _done(self, msisdn: str, task: asyncio.Task[None]) -> None:
        if self._answering.get(msisdn) is task:
            del self._answering[msisdn]

    async def _answer_after(self, before: asyncio.Task[None] | None, sms: Sms) -> None:
        if before is not None:
            await asyncio.wait([before])
        try:
            await self.answer(sms)
        except Exception as failure:  # logged without what the customer wrote
            logger.error("Could not answer SMS %d: %s", sms.id, type(failure).__name__)
        # Answered, or given up after a failure of its own (not to be tried for ever): only a
        # hall killed before this point leaves the message to be taken again.
        try:
            await asyncio.to_thread(self._gateway.mark_answered, sms.id)
        except SQLAlchemyError as failure:
            logger.error("Could not record SMS %d answered: %s", sms.id, type(failure).__name__)

    async def answer(self, sms: Sms) -> None:
        msisdn = normalise_msisdn(sms.msisdn)
        if msisdn is None or msisdn != sms.msisdn:
            # A short code, a landline, a foreign number: no line of ours, and perhaps a machine.
            logger.info("SMS %d is from no mobile number: not answered", sms.id)
            return
        try:
            reply = await asyncio.to_thread(self._desk.answer, msisdn, sms.body)
        except SQLAlchemyError as failure:
            logger.error("The account backend failed SMS %d: %s", sms.id, type(failure).__name__)
            reply = Answer(
                (in_languages(None, lambda each: text("sms_hall.backend_unavailable", each)),)
            )
        if isinstance(reply, ForAssistant):
            texts = await self._ask_assistant(msisdn, sms, reply)
        else:
            texts = list(reply.texts)
        # Each part under a reference of its own: a message taken again after its hall was
        # killed is not answered twice (the gateway takes a reference once).
        parts = [part for body in texts for part in sms_parts(body)]
        for number, part in enumerate(parts):
            reference = f"answer:{sms.id}:{number}"
            await asyncio.to_thread(self._gateway.send, msisdn, part, Purpose.HALL, reference)
        self.answered += 1

    async def _ask_assistant(self, msisdn: str, sms: Sms, message: ForAssistant) -> list[str]:
        """The assistant's answer; asked once more after a failure (a turn slower than the
        client's timeout is still under way, and its answer comes back to the second asking
        without the turn running twice: the message's key), else "unavailable"."""
        for retry in (False, True):
            if retry:
                await asyncio.sleep(self._retry_seconds)
            try:
                answer = await self._rasa.send(
                    RASA_CHANNEL,
                    line_conversation(msisdn, self._conversation_key),
                    message.text,
                    {LINE_METADATA: msisdn},
                    message_key=f"sms-{sms.id:08d}",
                    retry=retry,
                )
            except RasaUnavailable as problem:
                logger.warning("The assistant could not answer SMS %d: %s", sms.id, problem)
                continue
            said = assistant_text(answer, message.language)
            return [said] if said else []
        return [
            in_languages(
                message.language,
                lambda each: text(
                    "sms_hall.assistant_unavailable",
                    each,
                    keyword=self._keywords.shown_in(Command.HELP, each),
                ),
            )
        ]


def assistant_text(answer: Sequence[BotMessage], language: str | None) -> str:
    """The assistant's messages as one SMS text: its texts and pictures' addresses, and each
    set of buttons as a line "Reply: <title> / <title>", in the language the answer is in."""
    lines: list[str] = []
    for message in answer:
        lines += [part for part in (message.text, message.image) if part]
    language = detect_language("\n".join(lines)) or language or CHINESE
    joined: list[str] = []
    for message in answer:
        joined += [part for part in (message.text, message.image) if part]
        if message.buttons:
            titles = text("sms_hall.buttons_separator", language).join(
                button.title for button in message.buttons
            )
            joined.append(text("sms_hall.buttons", language, titles=titles))
    return "\n".join(joined)


def hall_health(hall: SmsHall, rasa: Reachable, port: int) -> HealthServer:
    """GET /health: the hall is up; whether Rasa answers (the commands work without it); how
    many lines are being answered and how many messages were."""

    async def report() -> Mapping[str, Any]:
        return {
            "rasa": await rasa_state(rasa),
            "answering": hall.answering,
            "answered": hall.answered,
        }

    return HealthServer(port, report)
