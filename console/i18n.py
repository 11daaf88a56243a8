"""How a request to the console picks the agent's language, and the texts its pages get as ``t``
(from the catalogue, telecom_assistant/texts)."""

from __future__ import annotations

import enum

from telecom_assistant.language import ENGLISH, LANGUAGES
from telecom_assistant.reminders.model import ReminderKind
from telecom_assistant.reminders.render import kind_name
from telecom_assistant.texts import Texts, find_text, language_of_tag
from telecom_assistant.tickets.model import Category


class Translator(Texts):
    """The texts of the agent's language, with the console's way of naming values."""

    def label(self, member: enum.Enum) -> str:
        name = super().label(member)
        if isinstance(member, Category):
            # The names the assistant gives customers inside its sentences, so both sides use
            # the same words; standing alone in a table they start with a capital.
            return _capitalised(name)
        return name

    def reminder_kind(self, kind: ReminderKind) -> str:
        """A kind of reminder by the name customers use to turn it off ("stop usage
        reminders"), with a capital."""
        return _capitalised(kind_name(kind, self.language))

    def speaker(self, speaker: str) -> str:
        """Who said or did something: the assistant, the customer or an agent are named in
        this language; anyone else (an agent's username in the history) as stored."""
        return find_text(f"console.speaker.{speaker}", self.language) or speaker

    def channel(self, channel: str) -> str:
        """A channel by its name in this language; one the catalogue does not know as stored."""
        return find_text(f"console.channel.{channel}", self.language) or channel


def _capitalised(name: str) -> str:
    return name[:1].upper() + name[1:]


def pick_language(chosen: str | None, accept_language: str | None) -> str:
    """The agent's own choice (the ``lang`` cookie) first, else the browser's preference."""
    if chosen in LANGUAGES:
        return chosen
    return _from_accept_language(accept_language or "")


def _from_accept_language(header: str) -> str:
    """The most preferred of our languages in an Accept-Language header ("zh-CN,zh;q=0.9")."""
    ranked = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        language = language_of_tag(tag)
        if language and quality > 0:
            # Equal qualities keep the header's order.
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else ENGLISH
