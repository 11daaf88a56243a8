"""Each line's conversation with the assistant over SMS: its Rasa sender id is an HMAC of the
number under the conversation key, as the other channels name theirs (telecom_assistant/trust.py):
knowing one id tells nothing of another line's."""

from __future__ import annotations

from telecom_assistant import trust

CONVERSATION_PREFIX = "sms-"


def line_conversation(msisdn: str, conversation_key: str) -> str:
    return trust.conversation_id(CONVERSATION_PREFIX, msisdn, conversation_key)
