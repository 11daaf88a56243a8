"""Simulated customers: who they are and what they say.

Every customer has a demo line of their own (the 22 lines are shared round-robin beyond 22
customers) and talks in English or Chinese, alternately. A conversation is what customers of
this assistant do most: a greeting, a usage question that needs verification (the number,
then the one-time code from the SMS outbox), the bill, a question about a plan, an add-on
they want to cancel (declined at the confirmation, so every conversation finds the line as
seeded), and thanks.
"""

from __future__ import annotations

from dataclasses import dataclass

from demo.catalogue import ADDONS, PLANS
from demo.seed import DEMO_LINES, DemoLine
from telecom_assistant.language import CHINESE, ENGLISH

# The customer types the number and the code: the load generator fills these in.
PHONE_NUMBER = "{phone number}"
ONE_TIME_CODE = "{one-time code}"

_ADDONS = {addon["id"]: addon for addon in ADDONS}


@dataclass(frozen=True)
class Turn:
    step: str  # what this message does, to tell where a conversation's time goes
    text: str


@dataclass(frozen=True)
class Customer:
    index: int
    line: DemoLine
    language: str

    @property
    def msisdn(self) -> str:
        return self.line.msisdn


def customers(count: int) -> list[Customer]:
    return [
        Customer(index, DEMO_LINES[index % len(DEMO_LINES)], (ENGLISH, CHINESE)[index % 2])
        for index in range(count)
    ]


def conversation(customer: Customer) -> list[Turn]:
    """The same nine messages every time for a customer; customers differ in line, language,
    the plan they ask about and the add-on they try to cancel."""
    plan = PLANS[customer.index % len(PLANS)]
    addon = _ADDONS[customer.line.addons[0].addon_id] if customer.line.addons else None
    if customer.language == CHINESE:
        return [
            Turn("greeting", "你好"),
            Turn("usage, needs verification", "我的流量还剩多少"),
            Turn("phone number", PHONE_NUMBER),
            Turn("one-time code, then usage", ONE_TIME_CODE),
            Turn("bill", "查一下我的账单"),
            Turn("plan question", f"{plan['name_zh']}多少钱"),
            _unsubscribe_turn(
                f"帮我退订{addon['name_zh']}" if addon else None, "我开通了哪些增值业务"
            ),
            Turn("declines", "不用了"),
            Turn("thanks", "谢谢"),
        ]
    return [
        Turn("greeting", "hello"),
        Turn("usage, needs verification", "how much data do I have left this month?"),
        Turn("phone number", PHONE_NUMBER),
        Turn("one-time code, then usage", ONE_TIME_CODE),
        Turn("bill", "what's my bill?"),
        Turn("plan question", f"how much is the {plan['name']} plan?"),
        _unsubscribe_turn(
            f"cancel my {addon['name']}" if addon else None, "what add-ons am I paying for?"
        ),
        Turn("declines", "no thanks"),
        Turn("thanks", "thanks a lot!"),
    ]


def _unsubscribe_turn(cancel_addon: str | None, list_addons: str) -> Turn:
    """A line with add-ons cancels one (and is asked to confirm); a line without asks what it
    pays for, as such customers do."""
    return (
        Turn("cancel an add-on", cancel_addon)
        if cancel_addon
        else Turn("list add-ons", list_addons)
    )
