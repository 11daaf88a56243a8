"""Webhook mode: Telegram posts each update to a public https URL instead of being polled.

The bridge listens on 127.0.0.1 only, behind the proxy that holds the URL's TLS certificate
(the production profile's nginx). Anyone who finds the URL can post to it, so the bridge sets a
secret token with the webhook: Telegram sends it in the X-Telegram-Bot-Api-Secret-Token header
of every update, and python-telegram-bot refuses an update without it (HTTP 403).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

WEBHOOK_LISTEN = "127.0.0.1"
DEFAULT_WEBHOOK_PORT = 8443
# Telegram takes 1 to 256 of these characters; fewer than 32 would be guessable.
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,256}")
_HOW_TO_MAKE_A_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


class WebhookMisconfigured(ValueError):
    """Webhook mode cannot start as configured; says what to set."""


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    port: int
    secret_token: str

    def arguments(self) -> dict[str, Any]:
        """For python-telegram-bot's Application.run_webhook (and Updater.start_webhook)."""
        return {
            "listen": WEBHOOK_LISTEN,
            "port": self.port,
            "url_path": urlsplit(self.url).path.lstrip("/"),
            "webhook_url": self.url,
            "secret_token": self.secret_token,
        }


def webhook_settings(environ: Mapping[str, str]) -> Optional[WebhookSettings]:
    """Webhook mode's settings from TELEGRAM_WEBHOOK_URL, TELEGRAM_WEBHOOK_SECRET and
    TELEGRAM_WEBHOOK_PORT; None without a URL (long polling)."""
    url = environ.get("TELEGRAM_WEBHOOK_URL", "").strip()
    if not url:
        return None
    if urlsplit(url).scheme != "https" or not urlsplit(url).hostname:
        raise WebhookMisconfigured(
            f"TELEGRAM_WEBHOOK_URL={url!r}: Telegram posts only to https URLs, "
            "e.g. https://bot.example.com/telegram/webhook"
        )
    secret = environ.get("TELEGRAM_WEBHOOK_SECRET", "")
    if not secret:
        raise WebhookMisconfigured(
            "webhook mode needs TELEGRAM_WEBHOOK_SECRET, which Telegram sends with every update "
            "so that the bridge can refuse updates from anyone else: set it to 32 to 256 "
            f"characters of A-Z, a-z, 0-9, _ and - ({_HOW_TO_MAKE_A_SECRET})"
        )
    if not _SECRET_TOKEN.fullmatch(secret):
        raise WebhookMisconfigured(
            f"TELEGRAM_WEBHOOK_SECRET has {len(secret)} characters: it needs 32 to 256, "
            f"of A-Z, a-z, 0-9, _ and - only ({_HOW_TO_MAKE_A_SECRET})"
        )
    port = environ.get("TELEGRAM_WEBHOOK_PORT") or str(DEFAULT_WEBHOOK_PORT)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise WebhookMisconfigured(f"TELEGRAM_WEBHOOK_PORT={port!r}: give a port number")
    return WebhookSettings(url, int(port), secret)
