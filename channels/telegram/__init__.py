"""The Telegram bridge: relays Telegram chats to the assistant's Rasa server over HTTP."""

from channels.telegram.program import BridgeProgram, build_bridge

__all__ = ["BridgeProgram", "build_bridge"]
