"""The channels' one client for Rasa: hands a customer's message to one of Rasa's REST channels
(rasa_plugins/channels.py: POST {rasa_url}/webhooks/<channel>/webhook) and returns the bot's
messages for that turn; and tells whether Rasa answers at all.

Every request carries the channel secret: Rasa's "webchat" and "telegram" channels refuse a
message without it. Every way a message can fail (Rasa not listening, too slow, an error
status, an answer that is not a list of messages) is the one error RasaUnavailable, which each
channel turns into its "the assistant is unavailable" behaviour. Its text says what went wrong
and never quotes what the customer wrote, so the channels can log it as it is.

One client per process, with one connection pool: the program's composition root makes it,
hands it to the channel, and the channel closes it when it stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from telecom_assistant.trust import CHANNEL_SECRET_HEADER

# A turn runs the model and the actions (which read the database) before Rasa answers; a
# customer kept waiting longer is told that the assistant is unavailable.
TURN_TIMEOUT_SECONDS = 30.0
# A health check must not hang on Rasa: a second tells "there" from "not there".
REACHABLE_TIMEOUT_SECONDS = 1.0
# No cap on the requests in flight: a cap would queue customers behind each other here, out of
# sight, while Rasa takes each conversation's turns one at a time anyway. Idle connections stay
# open for the next messages.
CONNECTION_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=20)
NOT_A_LIST_OF_MESSAGES = "Rasa answered JSON that is not a list of messages"


class RasaUnavailable(Exception):
    """Rasa could not take the message now; the same message may be sent again later."""


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    """One message of the bot's answer: a text, an image, buttons, a custom payload (any JSON
    an action sent); any of them may be missing."""

    text: str | None = None
    image: str | None = None
    buttons: tuple[Button, ...] = ()
    custom: Any = None

    @classmethod
    def from_rasa(cls, message: Any) -> BotMessage:
        """One entry of the REST channel's answer. A button needs a title or a payload; the
        one stands in for the other."""
        if not isinstance(message, dict):
            raise RasaUnavailable(NOT_A_LIST_OF_MESSAGES)
        buttons = tuple(
            Button(
                title=str(button.get("title") or button.get("payload")),
                payload=str(button.get("payload") or button.get("title")),
            )
            for button in message.get("buttons") or ()
            if isinstance(button, dict) and (button.get("title") or button.get("payload"))
        )
        return cls(
            text=_string_or_none(message.get("text")),
            image=_string_or_none(message.get("image")),
            buttons=buttons,
            custom=message.get("custom"),
        )

    def as_json(self) -> dict[str, Any]:
        """The parts it has, in the shape of the REST channel's answer."""
        parts: dict[str, Any] = {}
        if self.text is not None:
            parts["text"] = self.text
        if self.image is not None:
            parts["image"] = self.image
        if self.buttons:
            parts["buttons"] = [
                {"title": button.title, "payload": button.payload} for button in self.buttons
            ]
        if self.custom is not None:
            parts["custom"] = self.custom
        return parts


class RasaClient:
    def __init__(
        self, rasa_url: str, channel_secret: str, *, timeout_seconds: float = TURN_TIMEOUT_SECONDS
    ) -> None:
        self._base_url = rasa_url.rstrip("/")
        self._timeout_seconds = timeout_seconds
        self._http = httpx.AsyncClient(
            timeout=timeout_seconds,
            limits=CONNECTION_LIMITS,
            headers={CHANNEL_SECRET_HEADER: channel_secret},
        )

    async def send(
        self,
        channel: str,
        conversation_id: str,
        message: str,
        metadata: Mapping[str, Any] | None = None,
        *,
        message_key: str | None = None,
        retry: bool = False,
    ) -> list[BotMessage]:
        """The bot's messages in answer to one customer message on `channel` ("webchat",
        "telegram"), in the conversation Rasa knows as the sender `conversation_id`. Rasa keeps
        `metadata` with the message in the conversation's tracker.

        A message with a `message_key` (8 to 64 letters, digits, - or _) may be sent again,
        saying it is a `retry`: Rasa answers it without running its turn a second time
        (rasa_plugins/answered_once.py)."""
        body: dict[str, Any] = {"sender": conversation_id, "message": message}
        if metadata is not None:
            body["metadata"] = dict(metadata)
        if message_key is not None:
            body["message_id"] = message_key
            body["retry"] = retry
        return await self._post(f"{self._base_url}/webhooks/{channel}/webhook", body)

    async def remind(
        self, channel: str, conversation_id: str, reminder_id: int
    ) -> list[BotMessage]:
        """The bot's messages opening the conversation with a reminder the scheduler stored
        (telecom_assistant/reminders/): Rasa runs the reminder's turn as an external event,
        so the customer can answer it."""
        body = {"sender": conversation_id, "reminder": reminder_id}
        return await self._post(f"{self._base_url}/webhooks/{channel}/reminder", body)

    async def _post(self, url: str, body: Mapping[str, Any]) -> list[BotMessage]:
        try:
            response = await self._http.post(url, json=body)
        except httpx.TimeoutException as error:
            raise RasaUnavailable(
                f"Rasa did not answer within {self._timeout_seconds:g} s at {url}"
            ) from error
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"cannot reach Rasa at {url}: {error!r}") from error
        # Any refusal counts as "unavailable", not just 5xx: a 404 means the channel is not
        # registered yet, and trying again until someone fixes that beats dropping the message.
        if response.status_code in {401, 403}:
            raise RasaUnavailable(
                f"Rasa refused the channel secret (HTTP {response.status_code}): "
                "TELECOM_CHANNEL_SECRET must be the same for Rasa and the channels"
            )
        if not response.is_success:
            raise RasaUnavailable(f"Rasa answered HTTP {response.status_code} at {url}")
        try:
            messages = response.json()
        except ValueError as error:
            raise RasaUnavailable("Rasa answered something that is not JSON") from error
        if not isinstance(messages, list):
            raise RasaUnavailable(NOT_A_LIST_OF_MESSAGES)
        return [BotMessage.from_rasa(entry) for entry in messages]

    async def is_reachable(self, timeout_seconds: float = REACHABLE_TIMEOUT_SECONDS) -> bool:
        """Whether Rasa's server answers at all (its GET / says hello)."""
        try:
            response = await self._http.get(self._base_url, timeout=timeout_seconds)
        except httpx.HTTPError:
            return False
        return response.is_success

    async def close(self) -> None:
        await self._http.aclose()


def _string_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
