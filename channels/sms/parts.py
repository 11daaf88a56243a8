"""A text as SMS: the gateway takes at most SMS_MAX_LENGTH characters a message."""

from __future__ import annotations

from telecom_assistant.sms.gateway import SMS_MAX_LENGTH


def sms_parts(body: str, limit: int = SMS_MAX_LENGTH) -> list[str]:
    """A text as SMS of at most `limit` characters, cut at line ends where it can be."""
    parts: list[str] = []
    current = ""
    for line in body.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        parts.append(current)
    return parts
