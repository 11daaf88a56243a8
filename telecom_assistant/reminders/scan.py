"""The reminder scan: every line's due reminders (rules.py), each sent once (store.py), by SMS
always and to the customer's chat when one is known (a ChatDelivery: the scheduler's is Rasa,
which opens the conversation with it, then the reply outbox).

What is held back: a kind the customer turned off, and in quiet hours (outside
TELECOM_REMINDER_HOURS) every reminder that is not urgent. A reminder held back is not
recorded: the next scan after the quiet hours finds it again, while it still holds.
A chat that cannot take a reminder now (Rasa restarting) gets it at a later scan, for a day.
A reminder claimed by a scan that stopped before its SMS was recorded as sent (the scheduler
killed) is sent by the next scan, under the reminder's own reference: the gateway takes it once.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from telecom_assistant.accounts.service import AccountService
from telecom_assistant.clock import Clock, operator_now
from telecom_assistant.reminders import rules
from telecom_assistant.reminders.model import Reminder, ReminderKind, SentReminder
from telecom_assistant.reminders.render import SmsHint, sms_text
from telecom_assistant.reminders.store import ReminderStore
from telecom_assistant.service_hours import ServiceHours
from telecom_assistant.sms.gateway import Purpose, SmsGateway
from telecom_assistant.tickets.model import TicketUpdate, UpdateKind
from telecom_assistant.tickets.service import TicketService

# How many lines the scan reads per call to the account backend.
BATCH = 500
# A chat that could not take a reminder is tried again for this long.
CHAT_RETRY = timedelta(days=1)
# The reminders a scan looks up as sent before claiming: those that can still be due (a
# cycle's, a contract's last 30 days). A line's older reminders are not read at every scan; one
# still due (a bill overdue for months) is refused by the claim instead.
SENT_LOOKBACK = timedelta(days=62)
# Ticket news older than this when a scan first sees it is not announced (a scheduler
# started after a long stop does not send last month's news).
TICKET_NEWS_WINDOW = timedelta(days=2)

logger = logging.getLogger(__name__)


class ChatUnreachable(Exception):
    """The chat cannot take the reminder now; try again later."""


class ChatDelivery(abc.ABC):
    @abc.abstractmethod
    def deliver(self, reminder: SentReminder) -> None:
        """Put the reminder into its chat (raises ChatUnreachable)."""


@dataclass
class ScanReport:
    lines: int = 0
    due: int = 0
    sent: int = 0
    # SMS of reminders claimed by an earlier scan that stopped before recording them sent.
    sms_finished: int = 0
    already_sent: int = 0
    opted_out: int = 0
    held_for_morning: int = 0
    chats_reached: int = 0
    chats_missed: int = 0
    seconds: float = 0.0
    sent_by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReminderPolicy:
    sending_hours: ServiceHours  # outside them, only urgent reminders go out
    low_balance: int  # fen
    booster_addon: str | None  # the add-on id that buys more data, to name as a way out
    sms_hints: Mapping[ReminderKind, SmsHint] = field(default_factory=dict)


class ReminderScan:
    def __init__(
        self,
        accounts: AccountService,
        store: ReminderStore,
        sms: SmsGateway,
        policy: ReminderPolicy,
        chat: ChatDelivery | None = None,
        tickets: TicketService | None = None,
        clock: Clock = operator_now,
        batch: int = BATCH,
    ) -> None:
        self._accounts = accounts
        self._store = store
        self._sms = sms
        self._policy = policy
        self._chat = chat
        self._tickets = tickets
        self._now = clock
        self._batch = batch

    def run(self) -> ScanReport:
        started = time.perf_counter()
        now = self._now()
        report = ScanReport()
        # First what an earlier scan left undone: SMS it claimed but did not record sent, chats
        # it could not reach (this scan's misses wait for the next one).
        self._finish_sms(now, report)
        self._retry_chats(now, report)
        catalogue = self._catalogue()
        after: str | None = None
        while True:
            lines = self._accounts.line_snapshots(after, self._batch)
            if not lines:
                break
            report.lines += len(lines)
            due = [
                reminder for line in lines for reminder in rules.due(line, now.date(), catalogue)
            ]
            self._send(due, now, report)
            after = lines[-1].msisdn
        if self._tickets is not None:
            updates = self._tickets.updates_since(now - TICKET_NEWS_WINDOW)
            self._send([_ticket_reminder(update) for update in updates], now, report)
        report.seconds = time.perf_counter() - started
        return report

    def _catalogue(self) -> rules.Catalogue:
        booster_id = self._policy.booster_addon
        return rules.Catalogue(
            plans=self._accounts.list_plans(),
            booster=self._accounts.find_addon(booster_id) if booster_id else None,
            roaming=self._accounts.roaming_rates(),
            low_balance=self._policy.low_balance,
        )

    def _send(self, due: Sequence[Reminder], now: datetime, report: ScanReport) -> None:
        if not due:
            return
        report.due += len(due)
        lines = {reminder.msisdn for reminder in due}
        already = self._store.sent_among(lines, since=now - SENT_LOOKBACK)
        report.already_sent += sum((r.msisdn, r.event) in already for r in due)
        due = [reminder for reminder in due if (reminder.msisdn, reminder.event) not in already]
        if not due:
            return
        opted_out = self._store.opted_out_among(lines)
        chats = self._store.chats_among(lines)
        languages = self._store.languages_among(lines)
        quiet = not self._policy.sending_hours.are_open(now)
        for reminder in due:
            if reminder.kind in opted_out.get(reminder.msisdn, ()):
                report.opted_out += 1
                continue
            if quiet and not reminder.urgent:
                report.held_for_morning += 1
                continue
            # A ticket's own chat already has the agent's letter and the rating request.
            chat = None if reminder.kind is ReminderKind.TICKET else chats.get(reminder.msisdn)
            language = chat.language if chat else languages.get(reminder.msisdn)
            reminder_id = self._store.claim(reminder, language or "", chat)
            if reminder_id is None:
                report.already_sent += 1
                continue
            self._send_sms(reminder_id, reminder, language)
            report.sent += 1
            report.sent_by_kind[reminder.kind.value] = (
                report.sent_by_kind.get(reminder.kind.value, 0) + 1
            )
            if chat is not None:
                sent = self._store.get(reminder_id)
                if sent is not None:
                    self._to_chat(sent, report)

    def _send_sms(self, reminder_id: int, reminder: Reminder, language: str | None) -> None:
        hint = self._policy.sms_hints.get(reminder.kind)
        self._sms.send(
            reminder.msisdn,
            sms_text(reminder, language, hint),
            Purpose.REMINDER,
            reference=f"reminder:{reminder_id}",
        )
        self._store.mark_sms_sent(reminder_id)

    def _finish_sms(self, now: datetime, report: ScanReport) -> None:
        for sent in self._store.sms_pending(since=now - CHAT_RETRY):
            self._send_sms(sent.id, sent.reminder, sent.language)
            report.sms_finished += 1

    def _retry_chats(self, now: datetime, report: ScanReport) -> None:
        for sent in self._store.chat_pending(since=now - CHAT_RETRY):
            self._to_chat(sent, report)

    def _to_chat(self, sent: SentReminder, report: ScanReport) -> None:
        if self._chat is None:
            return
        try:
            self._chat.deliver(sent)
        except ChatUnreachable as unreachable:
            report.chats_missed += 1
            self._store.mark_chat_failed(sent.id, str(unreachable))
            logger.warning("Reminder %s did not reach its chat: %s", sent.id, unreachable)
            return
        self._store.mark_chat_delivered(sent.id)
        report.chats_reached += 1


def _ticket_reminder(update: TicketUpdate) -> Reminder:
    return Reminder(
        msisdn=update.msisdn,
        kind=ReminderKind.TICKET,
        event=f"ticket:{update.ticket_id}:{update.kind.value}:{update.key}",
        topic="ticket_reply" if update.kind is UpdateKind.REPLY else "ticket_resolved",
        subject=update.ticket_id,
        details={"ticket_id": update.ticket_id},
    )
