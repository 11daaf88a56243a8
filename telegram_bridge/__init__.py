"""The Telegram bridge: relays Telegram chats to the assistant's Rasa server over HTTP."""
from telegram_bridge.bridge import (
    Bridge,
    RasaClient,
    RasaUnavailable,
    build_application,
)

__all__ = ["Bridge", "RasaClient", "RasaUnavailable", "build_application"]
