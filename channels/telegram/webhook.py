"""Webhook mode: Telegram posts each update to a public https URL instead of being polled.

The bridge listens on 127.0.0.1 only, behind the proxy that holds the URL's TLS certificate
(the production profile's nginx). Anyone who finds the URL can post to it, so the bridge sets a
secret token with the webhook: Telegram sends it in the X-Telegram-Bot-Api-Secret-Token header
of every update, and the bridge refuses an update without it (HTTP 403, updates.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from telecom_assistant.settings import LOOPBACK, Telegram

WEBHOOK_LISTEN = LOOPBACK


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    port: int
    secret_token: str

    @property
    def path(self) -> str:
        """The URL's path, which the bridge serves (on WEBHOOK_LISTEN:port), without its "/"."""
        return urlsplit(self.url).path.lstrip("/")


def webhook_settings(telegram: Telegram) -> WebhookSettings | None:
    """Webhook mode's settings (TELEGRAM_WEBHOOK_URL, _SECRET and _PORT, which the settings
    checked: an https URL, a secret fit for Telegram); None without a URL: long polling."""
    if not telegram.webhook_url or not telegram.webhook_secret:
        return None
    return WebhookSettings(telegram.webhook_url, telegram.webhook_port, telegram.webhook_secret)
