"""A Telegram chat's conversation id: Rasa's sender id for the chat, and so also the id the
tickets filed from the chat record, which is how an agent's reply finds its way back."""
from __future__ import annotations

import re

CONVERSATION_PREFIX = "telegram-"
# Private chats have positive ids, groups negative ones.
_CONVERSATION_ID = re.compile(re.escape(CONVERSATION_PREFIX) + r"(-?\d+)")


def rasa_sender_id(chat_id: int) -> str:
    return f"{CONVERSATION_PREFIX}{chat_id}"


def chat_id_of(conversation_id: str) -> int:
    """The chat whose conversation id rasa_sender_id made; ValueError for anything else."""
    match = _CONVERSATION_ID.fullmatch(conversation_id)
    if match is None:
        raise ValueError(f"not a Telegram conversation id: {conversation_id!r}")
    return int(match.group(1))
