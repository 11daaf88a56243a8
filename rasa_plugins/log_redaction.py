"""Rasa's logs without the customer's secrets: one-time codes, ID-card and bank-card numbers
are masked in every record the Rasa server's handlers write (messages, structured events and
tracebacks alike; Rasa's structlog output goes through the same handlers)."""

from __future__ import annotations

import logging

from telecom_assistant.tickets.redaction import redact_secrets, redaction_pipeline

_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatters print exc_text when it is set: the traceback, masked.
            record.exc_text = redact_secrets(_FORMATTER.formatException(record.exc_info))
        return True


def redact_logs() -> None:
    """Installs the filter on every handler of the root logger (once each), and builds the
    redaction pipeline now rather than at the first message that needs it."""
    redaction_pipeline()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())
