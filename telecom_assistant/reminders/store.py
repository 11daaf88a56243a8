"""Where reminders, opt-outs and customers' chat addresses are kept: one interface, SQL is one
implementation (sql.py)."""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from datetime import datetime

from telecom_assistant.reminders.model import (
    ChatAddress,
    Reminder,
    ReminderKind,
    SentReminder,
    WeeklyVolume,
)


class ReminderStore(abc.ABC):
    # --- sending once ------------------------------------------------------------------------
    @abc.abstractmethod
    def claim(self, reminder: Reminder, language: str, chat: ChatAddress | None) -> int | None:
        """Record the reminder as being sent, in `language`, to SMS and to `chat`: its id, or
        None when its line already had this event (another scan, another scheduler, sent it)."""

    @abc.abstractmethod
    def sent_among(self, msisdns: Collection[str], since: datetime) -> set[tuple[str, str]]:
        """The (line, event) pairs sent to these lines since `since`: one call per batch of
        lines spares the scan a refused claim for every reminder that still holds. (Older
        ones are still refused by `claim`.)"""

    @abc.abstractmethod
    def mark_sms_sent(self, reminder_id: int) -> None: ...

    @abc.abstractmethod
    def sms_pending(self, since: datetime, limit: int = 100) -> Sequence[SentReminder]:
        """Reminders claimed since `since` whose SMS was not recorded as sent: a scheduler
        stopped between the claim and the send."""

    @abc.abstractmethod
    def mark_chat_delivered(self, reminder_id: int) -> None: ...

    @abc.abstractmethod
    def mark_chat_failed(self, reminder_id: int, reason: str) -> None:
        """The chat could not take it this time; it is tried again until `chat_pending`'s
        cut-off passes."""

    @abc.abstractmethod
    def chat_pending(self, since: datetime, limit: int = 100) -> Sequence[SentReminder]:
        """Reminders created since `since` that have a chat and have not reached it yet."""

    @abc.abstractmethod
    def get(self, reminder_id: int) -> SentReminder | None: ...

    # --- the customer's say -------------------------------------------------------------------
    @abc.abstractmethod
    def opt_outs(self, msisdn: str) -> dict[ReminderKind, datetime]:
        """The kinds the line's customer turned off, and since when."""

    def opted_out(self, msisdn: str) -> frozenset[ReminderKind]:
        return frozenset(self.opt_outs(msisdn))

    @abc.abstractmethod
    def opted_out_among(self, msisdns: Collection[str]) -> dict[str, frozenset[ReminderKind]]:
        """The opt-outs of many lines in one call (the scan's), lines without any left out."""

    @abc.abstractmethod
    def set_opt_out(self, msisdn: str, kinds: Collection[ReminderKind], out: bool) -> None:
        """Turn `kinds` off (`out`) or back on for the line."""

    # --- where the customer chats -------------------------------------------------------------
    @abc.abstractmethod
    def remember_chat(self, address: ChatAddress) -> None:
        """The customer proved to own the line in this chat (verified there): reminders go to
        it from now on, in its language (the latest chat of each channel)."""

    @abc.abstractmethod
    def forget_chat(self, msisdn: str, conversation_id: str) -> None:
        """The customer signed out in this chat: no more reminders there."""

    @abc.abstractmethod
    def chats_among(self, msisdns: Collection[str]) -> dict[str, ChatAddress]:
        """The chat each line's reminders go to (the one verified most recently)."""

    @abc.abstractmethod
    def language_of(self, msisdn: str) -> str | None:
        """The language the customer last used with us (a chat or the SMS hall), if known."""

    @abc.abstractmethod
    def languages_among(self, msisdns: Collection[str]) -> dict[str, str]:
        """The known languages of many lines in one call, lines without one left out."""

    @abc.abstractmethod
    def remember_language(self, msisdn: str, language: str) -> None: ...

    # --- what the console shows ---------------------------------------------------------------
    @abc.abstractmethod
    def sent_to(self, msisdn: str, limit: int = 50) -> Sequence[SentReminder]:
        """A line's reminders, newest first."""

    @abc.abstractmethod
    def weekly_volumes(self, since: datetime) -> Sequence[WeeklyVolume]: ...

    # --- one scheduler at a time ----------------------------------------------------------------
    @abc.abstractmethod
    def hold_lease(self, holder: str, now: datetime, seconds: float) -> bool:
        """Take or renew the scheduler's lease: True while `holder` is the one scheduler
        scanning (the lease of a scheduler that died runs out after `seconds`)."""
