"""The Telegram bridge: relays Telegram chats to the assistant's Rasa server over HTTP."""

from channels.telegram.bridge import Bridge, build_application

__all__ = ["Bridge", "build_application"]
