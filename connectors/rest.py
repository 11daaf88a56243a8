"""Rasa's REST channel with one promise added: every message gets an answer.

When Rasa cannot run an action (the action server or the database is down), it logs the error
and carries on without a word to the customer. Every turn of this assistant says something,
so a turn that produced no reply at all means something failed: the customer is told so,
instead of waiting in silence.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Awaitable, Callable

import yaml
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint

from . import speedups
from telecom_assistant.language import (
    ENGLISH,
    LANGUAGES,
    detect_language,
    response_text,
)

DOMAIN_FILE = Path(__file__).resolve().parents[1] / "domain.yml"
UNAVAILABLE_RESPONSE = "utter_assistant_unavailable"


def unavailable_texts() -> dict[str, str]:
    domain: dict[str, Any] = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
    return {
        language: response_text(domain, UNAVAILABLE_RESPONSE, language) or ""
        for language in LANGUAGES
    }


class AssistantRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        texts = unavailable_texts()

        async def always_answered(message: UserMessage) -> None:
            try:
                await on_new_message(message)
            finally:
                channel = message.output_channel
                if isinstance(channel, CollectingOutputChannel) and not channel.messages:
                    # The tracker may be out of reach too: judge the language by the message.
                    language = detect_language(message.text or "") or ENGLISH
                    await channel.send_text_message(message.sender_id, texts[language])

        blueprint = super().blueprint(always_answered)
        blueprint.listener("after_server_start")(speedups.freeze_start_up_objects)
        return blueprint


class TelegramBridgeInput(AssistantRestInput):
    """The Telegram bridge's door into Rasa (POST /webhooks/telegram/webhook): the same channel
    under its own name, so that a ticket records that the customer wrote on Telegram."""

    @classmethod
    def name(cls) -> str:
        return "telegram"


class WebChatInput(AssistantRestInput):
    """The web chat's door into Rasa (POST /webhooks/webchat/webhook), so that a ticket
    records the web chat, which can carry an agent's reply back."""

    @classmethod
    def name(cls) -> str:
        return "webchat"
