"""Pure tariff arithmetic and name matching, shared by every backend implementation."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from telecom_assistant.accounts.service import (
    Bill,
    BillLine,
    ChargeCategory,
    Coverage,
    CycleUsage,
    Device,
    FiveGSupport,
    OutdoorCoverage,
    Plan,
    PlanRecommendation,
    RoamingRates,
)

MB_PER_GB = 1024
# The demo operator's prices abroad (fen): pay as you go is the source of "sky-high bills".
ROAMING_RATES = RoamingRates(day_pass_fee=2500, data_per_mb=50, voice_per_minute=199)

T = TypeVar("T")


@dataclass(frozen=True)
class Overage:
    category: ChargeCategory
    quantity: int
    unit_price: int

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price


def overages(plan: Plan, usage: CycleUsage) -> list[Overage]:
    """One cycle's domestic use beyond the plan's allowances, priced by the plan.

    Data is charged per started GB, as the operators' tariffs state it. Accepts anything with
    the attributes of ``Plan`` and ``CycleUsage`` (the seed passes ORM rows).
    """
    candidates = [
        Overage(
            ChargeCategory.DATA_OVERAGE,
            math.ceil(max(usage.data_used_mb - plan.data_mb, 0) / MB_PER_GB),
            plan.data_overage_per_gb,
        ),
        Overage(
            ChargeCategory.VOICE_OVERAGE,
            max(usage.minutes_used - plan.minutes, 0),
            plan.voice_overage_per_minute,
        ),
        Overage(
            ChargeCategory.SMS_OVERAGE, max(usage.sms_used - plan.sms, 0), plan.sms_overage_each
        ),
    ]
    return [overage for overage in candidates if overage.amount]


def average_monthly_cost(plan: Plan, history: Sequence[CycleUsage]) -> int:
    """Fee plus overage averaged over the given cycles (roaming is left out: it costs the
    same whichever domestic plan the customer is on)."""
    total = sum(
        plan.monthly_fee + sum(o.amount for o in overages(plan, usage)) for usage in history
    )
    return round(total / len(history))


def benefits_from_5g(device: Device, coverage: Coverage | None) -> bool:
    """A 5G plan is worth suggesting only when the phone speaks 5G and the area has it."""
    return (
        device.five_g != FiveGSupport.NONE
        and coverage is not None
        and coverage.outdoor != OutdoorCoverage.NONE
    )


def recommend(
    current: Plan,
    plans: Iterable[Plan],
    history: Sequence[CycleUsage],
    consider_5g: bool,
    customer_age: int,
) -> PlanRecommendation:
    """The cheapest plan for the customer's real use; the current plan wins ties so that
    nobody is told to switch for nothing. Plans the customer is not eligible for (age) are
    skipped. Broadband bundles are compared only with each other,
    since a mobile-only plan would silently drop the customer's home broadband."""
    if not history:
        raise ValueError("no closed billing cycle to base a recommendation on")
    candidates = [
        plan
        for plan in plans
        if (plan.broadband_mbps > 0) == (current.broadband_mbps > 0)
        and (consider_5g or not plan.is_5g or plan.id == current.id)
        and plan.min_age <= customer_age
    ]
    current_cost = average_monthly_cost(current, history)
    best, best_cost = current, current_cost
    for plan in candidates:
        cost = average_monthly_cost(plan, history)
        if cost < best_cost:
            best, best_cost = plan, cost
    return PlanRecommendation(
        current=current,
        recommended=best,
        current_monthly_cost=current_cost,
        recommended_monthly_cost=best_cost,
        cycles_considered=len(history),
    )


def normalise(text: str) -> str:
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]+", " ", text.lower()).strip()


def best_match(query: str, candidates: Iterable[tuple[T, Sequence[str]]]) -> T | None:
    """The candidate whose id, name or alias best matches a loosely written query.

    Exact and containment matches win; otherwise a fuzzy ratio of at least 0.6 is needed,
    so "music" finds "Music Pack" and "ringtone" finds "Colour Ringback Tone" (through its
    alias) but "pizza" finds nothing.
    """
    wanted = normalise(query)
    if not wanted:
        return None
    best: T | None = None
    best_score = 0.0
    for item, names in candidates:
        for name in map(normalise, names):
            if not name:
                continue
            if name == wanted:
                score = 2.0
            elif wanted in name or name in wanted:
                score = 1.0 + min(len(wanted), len(name)) / max(len(wanted), len(name))
            else:
                score = difflib.SequenceMatcher(None, wanted, name).ratio()
            if score > best_score:
                best, best_score = item, score
    return best if best_score >= 0.6 else None


def match_charge(
    bill: Bill,
    amount: int | None = None,
    category: ChargeCategory | None = None,
    addon_id: str | None = None,
) -> BillLine | None:
    """The bill line a customer asks about, by add-on, category or amount (closest within
    one yuan), in that order of precision."""
    lines = list(bill.lines)
    if addon_id:
        for line in lines:
            if line.subscription is not None and line.subscription.addon.id == addon_id:
                return line
    if category is not None:
        matching = [line for line in lines if line.category == category]
        if matching:
            return max(matching, key=lambda line: line.amount)
    if amount is not None:
        closest = min(lines, key=lambda line: abs(line.amount - amount), default=None)
        if closest is not None and abs(closest.amount - amount) <= 100:
            return closest
    return None


@dataclass(frozen=True)
class PlanWishes:
    """What a customer asking about plans said they want: "what 5G plans do you have and what
    do they cost?", "最便宜的预付费套餐", "套餐带宽带吗". None: not said."""

    five_g: bool | None = None
    prepaid: bool | None = None
    broadband: bool | None = None
    cheapest: bool = False
    own_plan: bool = False
    catalogue: bool = False  # asks what there is, or what it costs

    _FIVE_G = re.compile(r"5g|５g", re.IGNORECASE)
    _FOUR_G = re.compile(r"4g|４g", re.IGNORECASE)
    _PREPAID = re.compile(r"prepaid|pre-paid|pay as you go|top.?up plan|预付费|预付|充值卡", re.I)
    _POSTPAID = re.compile(r"postpaid|post-paid|monthly bill|后付费|月结", re.IGNORECASE)
    _BROADBAND = re.compile(r"broadband|fibre|fiber|home internet|wi-?fi|宽带|融合|光纤", re.I)
    _CHEAPEST = re.compile(
        r"cheapest|cheaper|lowest|least expensive|budget|最便宜|便宜|最低|实惠", re.IGNORECASE
    )
    _OWN = re.compile(
        r"\bmy (?:current |own )?(?:plan|tariff|package)|what (?:plan|tariff) am i"
        r"|i'?m on|我的套餐|我现在的套餐|我这个套餐|我目前的套餐|我用的(?:是)?什么套餐"
        r"|我是什么套餐|现在(?:用的)?(?:是)?什么套餐"
        r"|我(?:现在|目前|这个)?(?:办|用|开|订)?的?(?:是)?(?:什么|哪个|啥)套餐",
        re.IGNORECASE,
    )
    _CATALOGUE = re.compile(
        r"what (?:plans|tariffs|packages)|which plans|plans do you|all (?:the )?"
        r"plans|cost|price|how much|fee|有哪些|有什么|多少钱|价格|资费|费用|都有",
        re.IGNORECASE,
    )

    @classmethod
    def from_text(cls, text: str) -> PlanWishes:
        five_g = bool(cls._FIVE_G.search(text))
        four_g = bool(cls._FOUR_G.search(text))
        prepaid = bool(cls._PREPAID.search(text))
        postpaid = bool(cls._POSTPAID.search(text))
        return cls(
            five_g=five_g if five_g != four_g else None,
            prepaid=prepaid if prepaid != postpaid else None,
            broadband=True if cls._BROADBAND.search(text) else None,
            cheapest=bool(cls._CHEAPEST.search(text)),
            own_plan=bool(cls._OWN.search(text)),
            catalogue=bool(cls._CATALOGUE.search(text)),
        )

    _PRICE = re.compile(r"cost|price|how much|cheap|fee|多少钱|价格|资费|便宜|月费", re.IGNORECASE)

    @classmethod
    def asks_price(cls, text: str) -> bool:
        """ "and the cheapest 5G one?", "how much are your 5G ones": plans, not coverage."""
        return bool(cls._PRICE.search(text or ""))

    _ADVICE = re.compile(
        r"recommend|suit|best|better|cheaper|save|worth|should|switch"
        r"|推荐|适合|划算|省钱|合适|换",
        re.IGNORECASE,
    )

    @classmethod
    def asks_own_plan_only(cls, text: str) -> bool:
        """ "what plan am I on?" rather than "which plan would suit me better?"."""
        return cls.from_text(text).own_plan and not cls._ADVICE.search(text or "")

    @property
    def filters(self) -> bool:
        return (self.five_g, self.prepaid, self.broadband) != (None, None, None) or self.cheapest

    def admits(self, plan: Plan) -> bool:
        return (
            (self.five_g is None or plan.is_5g == self.five_g)
            and (self.prepaid is None or (plan.kind.value == "prepaid") == self.prepaid)
            and (self.broadband is None or bool(plan.broadband_mbps) == self.broadband)
        )

    def select(self, plans: Sequence[Plan]) -> list[Plan]:
        """The plans that fit, cheapest first; only the cheapest when that was asked."""
        fitting = sorted(
            (plan for plan in plans if self.admits(plan)), key=lambda plan: plan.monthly_fee
        )
        return fitting[:1] if self.cheapest else fitting
