"""Which paid add-ons a customer means when they ask to cancel: the same rule on every channel,
the chat's (actions/subscriptions.py) and the SMS business hall's (channels/sms/).

The customer names add-ons loosely ("music", "彩铃"), or says "all"; naming none means the only
add-on the line has, if it has one. What the line does not have is told back in the customer's
words, or by the catalogue's name when the catalogue knows it. The cancellation itself, and the
dispute flag it carries ("I never ordered it"), is `AccountService.cancel_subscriptions`; the
customer confirms before it is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from telecom_assistant.accounts.service import (
    AccountService,
    AddOn,
    Subscription,
    UnknownSubscription,
)

# Every active add-on of the line (the chat's entity value, the SMS hall's "TD ALL").
ALL = "all"


@dataclass(frozen=True)
class Choice:
    """The add-ons a request to cancel means."""

    active: Sequence[Subscription]  # the line's, oldest first
    chosen: Sequence[Subscription]  # to confirm with the customer; empty: ask which
    # Named, but not on the line: the catalogue's add-on when it has one, else the words given.
    not_subscribed: Sequence[AddOn | str]


def choose_subscriptions(accounts: AccountService, msisdn: str, wanted: Sequence[str]) -> Choice:
    """The add-ons `wanted` names on the line (each once, in the order named)."""
    active = accounts.active_subscriptions(msisdn)
    if not active:
        return Choice(active, (), ())
    if ALL in wanted or (not wanted and len(active) == 1):
        return Choice(active, tuple(active), ())
    chosen: list[Subscription] = []
    missing: list[AddOn | str] = []
    for name in wanted:
        try:
            subscription = accounts.find_subscription(msisdn, name)
        except UnknownSubscription:
            missing.append(accounts.find_addon(name) or name)
            continue
        if subscription not in chosen:
            chosen.append(subscription)
    return Choice(active, tuple(chosen), tuple(missing))
