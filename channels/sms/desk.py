"""What the SMS hall answers to one message, apart from how messages arrive and go out
(hall.py): a keyword command answered from the account backend and the reminder store, in the
customer's language, or free text for the assistant.

- A line is its own verification here: the message came from it. A number that is not one of
  our lines is told so once a day, and nothing else (an operator's SMS centre would not even
  route it; once a day, so that two automatic senders never answer each other for ever).
- The language: a keyword in English or Chinese is answered in it, and remembered for the line
  (`ReminderStore.remember_language`: reminders follow it); a code ("0000", "CXLL") is
  answered in the line's remembered language, Chinese if none.
- Cancelling an add-on asks first ("reply Y within 10 minutes"); the question is kept in this
  process only (a restart, or another hall, forgets it: the customer sends TD again), and any
  other message ends it. Which add-ons a request means follows the chat's rule
  (telecom_assistant/accounts/unsubscribe.py); a customer who never ordered one says so in
  words, and the assistant takes it from there exactly as in the chat (dispute, refund ticket).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from channels.sms.keywords import Command, Keywords, Match
from channels.sms.questions import OpenQuestions, PendingCancel
from telecom_assistant.accounts.service import (
    AccountService,
    BillStatus,
    Line,
    Subscription,
    UnknownLine,
)
from telecom_assistant.accounts.unsubscribe import ALL, choose_subscriptions
from telecom_assistant.clock import Clock, operator_now
from telecom_assistant.language import CHINESE, LANGUAGES, detect_language
from telecom_assistant.reminders.model import ReminderKind
from telecom_assistant.reminders.render import kind_name
from telecom_assistant.reminders.store import ReminderStore
from telecom_assistant.text import clean_message
from telecom_assistant.texts import (
    format_data,
    format_date,
    format_datetime,
    format_money,
    local_name,
    text,
)

CONFIRM_MINUTES = 10
# The bills that can still be owed on a postpaid line.
BILLS_TO_OWE = 12
# Leading slashes are dropped: by SMS a "/" never presses a button, and Rasa would read
# "/intent{...}" as an intent, not as words.
_LEADING_SLASHES = re.compile(r"^[\s/／]+")
_NUMBERS = re.compile(r"\d+(?:[\s,，、]+\d+)*")


@dataclass(frozen=True)
class Answer:
    """The hall's own answer: one text per SMS (a long one goes as several); none: silence."""

    texts: tuple[str, ...]


@dataclass(frozen=True)
class ForAssistant:
    """Free text, for the assistant (Rasa) to answer."""

    text: str
    language: str | None  # the customer's, when the message or the line tells it


Handler = Callable[[Line, Match, str], "Answer | ForAssistant"]


class SmsDesk:
    def __init__(
        self,
        accounts: AccountService,
        reminders: ReminderStore,
        questions: OpenQuestions,
        keywords: Keywords,
        clock: Clock = operator_now,
    ) -> None:
        self._accounts = accounts
        self._reminders = reminders
        # The cancellation each line was asked to confirm.
        self._questions = questions
        self._keywords = keywords
        self._now = clock
        # The numbers that are not ours, told so today.
        self._strangers_told: dict[str, date] = {}
        self._strangers_lock = threading.Lock()
        self._handlers: dict[Command, Handler] = {
            Command.LIST_ADDONS: self._list_addons,
            Command.CANCEL_ADDON: self._cancel_addon,
            Command.DATA_LEFT: self._data_left,
            Command.BILL: self._bill,
            Command.BALANCE: self._balance,
            Command.USAGE_REMINDERS_ON: self._usage_reminders,
            Command.USAGE_REMINDERS_OFF: self._usage_reminders,
            Command.REMINDERS_ON: self._reminders_of_kind,
            Command.REMINDERS_OFF: self._reminders_of_kind,
            Command.HELP: self._help,
        }

    def answer(self, msisdn: str, body: str) -> Answer | ForAssistant:
        """The answer to what the line `msisdn` (a well-formed number) sent."""
        said = _LEADING_SLASHES.sub("", clean_message(body)).strip()
        try:
            line = self._accounts.get_line(msisdn)
        except UnknownLine:
            return self._stranger(msisdn, said)
        # Whatever the customer sends next ends the question; only a yes confirms it.
        pending = self._questions.take(msisdn)
        match = self._keywords.match(said) if said else None
        if match is None:
            if any(character.isalnum() for character in said):
                return self._for_assistant(msisdn, said)
            # Nothing, or nothing but emoji and punctuation: there is nothing to answer.
            language = self._language(msisdn, None)
            return self._say(
                language,
                "sms_hall.unreadable" if said else "sms_hall.empty",
                keyword=self._keywords.shown_in(Command.HELP, language),
            )
        if match.command in (Command.CONFIRM, Command.DECLINE):
            if pending is None:  # "yes" to a question the assistant asked, perhaps
                known = match.keyword.language or self._reminders.language_of(msisdn)
                return ForAssistant(said, known)
            language = self._language(msisdn, match.keyword.language)
            return self._settle(line, pending, match.command is Command.CONFIRM, language)
        language = self._language(msisdn, match.keyword.language or self._language_of(match))
        return self._handlers[match.command](line, match, language)

    # --- who, and in which language -------------------------------------------------------

    def _stranger(self, msisdn: str, said: str) -> Answer:
        today = self._now().date()
        with self._strangers_lock:  # the hall answers several lines at once, in threads
            if self._strangers_told.get(msisdn) == today:
                return Answer(())
            self._strangers_told = {
                number: day for number, day in self._strangers_told.items() if day == today
            }
            self._strangers_told[msisdn] = today
        return Answer(
            (in_languages(detect_language(said), lambda each: text("sms_hall.not_customer", each)),)
        )

    def _language(self, msisdn: str, said: str | None) -> str:
        """`said`, the message's own language, is remembered for the line; without one, the
        line's remembered language, else Chinese."""
        if said:
            self._reminders.remember_language(msisdn, said)
            return said
        return self._reminders.language_of(msisdn) or CHINESE

    def _language_of(self, match: Match) -> str | None:
        """The language a command's argument is in: a keyword's ("全部"; none for a code such
        as "ALL" or "ZD"), or the words' ("TD 彩铃")."""
        argument = match.argument
        found = self._keywords.kind(argument)
        keyword = found[1] if found else self._keywords.means_all(argument)
        if keyword is not None:
            return keyword.language
        return detect_language(argument)

    def _for_assistant(self, msisdn: str, said: str) -> ForAssistant:
        language = detect_language(said)
        if language:
            self._reminders.remember_language(msisdn, language)
        return ForAssistant(said, language or self._reminders.language_of(msisdn))

    @staticmethod
    def _say(language: str, key: str, **params: object) -> Answer:
        return Answer((text(key, language, **params),))

    # --- add-ons ------------------------------------------------------------------------------

    def _list_addons(self, line: Line, match: Match, language: str) -> Answer:
        active = self._accounts.active_subscriptions(line.msisdn)
        if not active:
            return self._say(language, "sms_hall.no_addons")
        total = format_money(sum(sub.addon.monthly_fee for sub in active))
        return Answer(
            (
                "\n".join(
                    [
                        text("sms_hall.addons_intro", language, count=len(active), total=total),
                        *_addon_items(active, language),
                        text(
                            "sms_hall.how_to_cancel",
                            language,
                            keyword=self._keywords.shown(Command.CANCEL_ADDON),
                        ),
                    ]
                ),
            )
        )

    def _cancel_addon(self, line: Line, match: Match, language: str) -> Answer | ForAssistant:
        msisdn, argument = line.msisdn, match.argument
        active = self._accounts.active_subscriptions(msisdn)
        if not active:
            return self._say(language, "sms_hall.no_addons")
        list_code = self._keywords.shown(Command.LIST_ADDONS)
        if _NUMBERS.fullmatch(argument):
            chosen: list[Subscription] = []
            for number in map(int, re.findall(r"\d+", argument)):
                if not 1 <= number <= len(active):
                    return self._say(
                        language, "sms_hall.no_such_number", number=number, keyword=list_code
                    )
                if active[number - 1] not in chosen:
                    chosen.append(active[number - 1])
            return self._ask_to_cancel(msisdn, chosen, language)
        wanted = [ALL] if self._keywords.means_all(argument) else [argument] if argument else []
        choice = choose_subscriptions(self._accounts, msisdn, wanted)
        if choice.chosen:
            return self._ask_to_cancel(msisdn, choice.chosen, language)
        if choice.not_subscribed:
            if match.keyword.language is not None:
                # "退订了吗", "cancel everything you added last month": a sentence, which the
                # assistant reads better than a name look-up.
                return self._for_assistant(msisdn, match.text)
            missing = choice.not_subscribed[0]
            name = (
                missing
                if isinstance(missing, str)
                else local_name(language, missing.name, missing.name_zh)
            )
            return self._say(language, "sms_hall.not_subscribed", name=name, keyword=list_code)
        cancel_code = self._keywords.shown(Command.CANCEL_ADDON)
        return Answer(
            (
                "\n".join(
                    [
                        text("sms_hall.which_addon", language, keyword=cancel_code),
                        *_addon_items(active, language),
                    ]
                ),
            )
        )

    def _ask_to_cancel(self, msisdn: str, chosen: Sequence[Subscription], language: str) -> Answer:
        names = {each: _names(chosen, each) for each in LANGUAGES}
        self._questions.ask(
            msisdn, PendingCancel(tuple(sub.id for sub in chosen), names, self._now())
        )
        sentences = [
            text(
                "sms_hall.confirm_cancel",
                language,
                confirm=self._keywords.shown_in(Command.CONFIRM, language),
                minutes=CONFIRM_MINUTES,
                names=_names(chosen, language),
                total=format_money(sum(sub.addon.monthly_fee for sub in chosen)),
            )
        ]
        unconsented = [sub for sub in chosen if not sub.consent_recorded]
        if unconsented:
            sentences.append(
                text(
                    "sms_hall.no_consent_note",
                    language,
                    names=_names(unconsented, language),
                    example=_name(unconsented[0], language),
                )
            )
        return Answer((_joined(sentences, language),))

    def _settle(self, line: Line, pending: PendingCancel, confirmed: bool, language: str) -> Answer:
        names = pending.names.get(language, "")
        if self._now() - pending.asked_at > timedelta(minutes=CONFIRM_MINUTES):
            return self._say(
                language,
                "sms_hall.cancel_expired",
                minutes=CONFIRM_MINUTES,
                names=names,
                keyword=self._keywords.shown(Command.CANCEL_ADDON),
            )
        if not confirmed:
            return self._say(language, "sms_hall.cancel_declined", names=names)
        # Cancelled as the chat cancels: disputed only when the customer says they never
        # ordered it, which they say in words (to the assistant), not with a keyword.
        cancelled = self._accounts.cancel_subscriptions(
            line.msisdn, list(pending.subscription_ids), consent_disputed=False
        )
        if not cancelled:
            return self._say(language, "sms_hall.already_cancelled", names=names)
        at = cancelled[0].cancelled_at
        return self._say(
            language,
            "sms_hall.cancelled",
            names=_names(cancelled, language),
            at=format_datetime(at) if at else "",
        )

    # --- usage, bill, balance -------------------------------------------------------------

    def _data_left(self, line: Line, match: Match, language: str) -> Answer:
        report = self._accounts.current_usage(line.msisdn)
        return self._say(
            language,
            "sms_hall.data_left",
            left=format_data(report.data_left_mb),
            allowance=format_data(report.plan.data_mb),
            used=format_data(report.usage.data_used_mb),
            cycle_end=format_date(report.usage.cycle_end),
        )

    def _bill(self, line: Line, match: Match, language: str) -> Answer:
        try:
            bill = self._accounts.latest_bill(line.msisdn)
        except UnknownLine:  # a line without a bill yet
            sentences = [text("sms_hall.no_bill", language)]
        else:
            outstanding = format_money(bill.total - bill.amount_paid)
            sentences = [
                text(
                    "sms_hall.bill",
                    language,
                    cycle_start=format_date(bill.cycle_start),
                    cycle_end=format_date(bill.cycle_end),
                    total=format_money(bill.total),
                    due_date=format_date(bill.due_date),
                )
            ]
            if bill.status is BillStatus.PAID and bill.paid_on:
                sentences.append(
                    text("sms_hall.bill_paid", language, paid_on=format_date(bill.paid_on))
                )
            elif bill.status is BillStatus.UNPAID:
                sentences.append(text("sms_hall.bill_unpaid", language, outstanding=outstanding))
            elif bill.status is BillStatus.OVERDUE:
                sentences.append(text("sms_hall.bill_overdue", language, outstanding=outstanding))
        sentences.append(self._balance_sentence(line, language))
        return Answer((_joined(sentences, language),))

    def _balance(self, line: Line, match: Match, language: str) -> Answer:
        return Answer((self._balance_sentence(line, language),))

    def _balance_sentence(self, line: Line, language: str) -> str:
        if line.prepaid_balance is not None:
            return text(
                "sms_hall.balance_prepaid", language, balance=format_money(line.prepaid_balance)
            )
        try:
            bills = self._accounts.recent_bills(line.msisdn, BILLS_TO_OWE)
        except UnknownLine:  # no bill yet
            bills = []
        owed = sum(
            bill.total - bill.amount_paid for bill in bills if bill.status is not BillStatus.PAID
        )
        if not owed:
            return text("sms_hall.owes_nothing", language)
        if line.arrears:
            return text(
                "sms_hall.owes_overdue",
                language,
                owed=format_money(owed),
                overdue=format_money(line.arrears),
            )
        return text("sms_hall.owes", language, owed=format_money(owed))

    # --- reminders ----------------------------------------------------------------------------

    def _usage_reminders(self, line: Line, match: Match, language: str) -> Answer:
        on = match.command is Command.USAGE_REMINDERS_ON
        self._reminders.set_opt_out(line.msisdn, [ReminderKind.USAGE], out=not on)
        return self._say(
            language,
            "sms_hall.usage_reminders_on" if on else "sms_hall.usage_reminders_off",
            on=self._keywords.shown(Command.USAGE_REMINDERS_ON),
            off=self._keywords.shown(Command.USAGE_REMINDERS_OFF),
        )

    def _reminders_of_kind(self, line: Line, match: Match, language: str) -> Answer:
        on = match.command is Command.REMINDERS_ON
        kinds: Sequence[ReminderKind]
        if self._keywords.means_all(match.argument):
            kinds, code = list(ReminderKind), self._keywords.everything.shown
        elif (found := self._keywords.kind(match.argument)) is not None:
            kinds, code = [found[0]], self._keywords.kinds[found[0]].shown
        else:
            listed = text("list.separator", language).join(
                text(
                    "sms_hall.kind_item", language, code=entry.shown, name=kind_name(kind, language)
                )
                for kind, entry in self._keywords.kinds.items()
            )
            return self._say(
                language,
                "sms_hall.which_kind",
                keyword=match.keyword.word,
                kinds=listed,
                all=self._keywords.everything.shown,
            )
        self._reminders.set_opt_out(line.msisdn, kinds, out=not on)
        return self._say(
            language,
            "sms_hall.reminders_on" if on else "sms_hall.reminders_off",
            kinds=text("list.separator", language).join(
                kind_name(kind, language) for kind in kinds
            ),
            on=self._keywords.shown(Command.REMINDERS_ON),
            off=self._keywords.shown(Command.REMINDERS_OFF),
            code=code,
        )

    # --- help -------------------------------------------------------------------------------

    def _help(self, line: Line, match: Match, language: str) -> Answer:
        return Answer((help_text(self._keywords, language),))


def help_text(keywords: Keywords, language: str) -> str:
    """The commands, as the help SMS lists them."""
    shown = keywords.shown
    kinds = text("list.separator", language).join(entry.shown for entry in keywords.kinds.values())
    return "\n".join(
        [
            text("sms_hall.help", language),
            *(
                text(f"sms_hall.help_item.{command.value}", language, keyword=shown(command))
                for command in (
                    Command.LIST_ADDONS,
                    Command.CANCEL_ADDON,
                    Command.DATA_LEFT,
                    Command.BILL,
                    Command.BALANCE,
                )
            ),
            text(
                "sms_hall.help_item.usage_reminders",
                language,
                on=shown(Command.USAGE_REMINDERS_ON),
                off=shown(Command.USAGE_REMINDERS_OFF),
            ),
            text(
                "sms_hall.help_item.reminders",
                language,
                on=shown(Command.REMINDERS_ON),
                off=shown(Command.REMINDERS_OFF),
                kinds=kinds,
            ),
            text(
                "sms_hall.help_item.help",
                language,
                keyword=keywords.shown_in(Command.HELP, language),
            ),
            text("sms_hall.help_free_text", language),
        ]
    )


def in_languages(language: str | None, say: Callable[[str], str]) -> str:
    """What `say` says in `language`; in every language, Chinese first, when it is not known
    (as Chinese operators write their service messages)."""
    chinese_first = [CHINESE, *(other for other in LANGUAGES if other != CHINESE)]
    return "\n".join(say(each) for each in ([language] if language else chinese_first))


def _addon_items(active: Sequence[Subscription], language: str) -> list[str]:
    return [
        text(
            "sms_hall.addon_item",
            language,
            number=number,
            name=_name(sub, language),
            fee=format_money(sub.addon.monthly_fee),
            since=format_date(sub.started_on),
            channel=local_name(language, sub.ordering_channel, sub.ordering_channel_zh),
        )
        + ("" if sub.consent_recorded else text("sms_hall.addon_no_consent", language))
        for number, sub in enumerate(active, start=1)
    ]


def _name(subscription: Subscription, language: str) -> str:
    return local_name(language, subscription.addon.name, subscription.addon.name_zh)


def _names(subscriptions: Sequence[Subscription], language: str) -> str:
    return text("list.separator", language).join(_name(sub, language) for sub in subscriptions)


def _joined(sentences: Sequence[str], language: str) -> str:
    """Sentences one after another, as each language writes them."""
    return ("" if language == CHINESE else " ").join(sentences)
