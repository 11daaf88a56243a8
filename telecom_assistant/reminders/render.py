"""A reminder's words in a language: the same sentences by SMS and in the chat."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telecom_assistant.language import CHINESE, LANGUAGES
from telecom_assistant.reminders.model import Reminder, ReminderKind
from telecom_assistant.texts import text


@dataclass(frozen=True)
class SmsHint:
    """A line under a reminder SMS: what to reply to the SMS hall (channels/sms/keywords.yml)."""

    text_key: str  # "reminder.stop_by_sms", with a {keyword} placeholder
    keyword: str


# A detail kept in both languages has its Chinese twin under this suffix ("name", "name_zh").
CHINESE_TWIN = "_zh"


def in_language(details: Mapping[str, Any], language: str) -> dict[str, Any]:
    """The details with each name in `language`: "name" is "name_zh" in Chinese."""
    localised = {key: value for key, value in details.items() if not key.endswith(CHINESE_TWIN)}
    if language == CHINESE:
        for key, value in details.items():
            if key.endswith(CHINESE_TWIN) and value:
                localised[key.removesuffix(CHINESE_TWIN)] = value
    resource = localised.get("resource")
    if resource:
        localised["resource_name"] = text(f"reminder.resource.{resource}", language)
        localised["unit"] = text(f"reminder.unit.{resource}", language)
    return localised


def render(reminder: Reminder, language: str) -> str:
    """What the reminder says, with the cheaper ways out it found."""
    details = in_language(reminder.details, language)
    sentences = [text(f"reminder.{reminder.topic}", language, **details)]
    if "booster" in details:
        sentences.append(text("reminder.way_out_booster", language, **details))
    if "fitting_plan" in details:
        sentences.append(text("reminder.way_out_plan", language, **details))
    separator = "" if language == CHINESE else " "
    return separator.join(sentences)


def kind_name(kind: ReminderKind, language: str) -> str:
    return text(f"reminder.kind.{kind.value}", language)


def sms_text(reminder: Reminder, language: str | None, hint: SmsHint | None = None) -> str:
    """The reminder as an SMS: in the customer's language, or in both when it is not known
    (as Chinese operators write their service messages), with what to reply to the SMS hall
    (cancel an add-on, stop these reminders) when it has a keyword for it."""

    def one(language: str) -> str:
        words = text("reminder.sms_prefix", language) + render(reminder, language)
        if hint is not None:
            separator = "" if language == CHINESE else " "
            words += separator + text(hint.text_key, language, keyword=hint.keyword)
        return words

    languages = (
        [language] if language else [CHINESE, *(lang for lang in LANGUAGES if lang != CHINESE)]
    )
    return "\n".join(one(each) for each in languages)
