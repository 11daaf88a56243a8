"""The account backend as the assistant sees it: value objects and one service interface.

Nothing here knows about Rasa or SQL. The Rasa actions call an ``AccountService``; the SQL
implementation in :mod:`telecom_assistant.accounts.sql` is one implementation, and an operator
plugs in its own billing/CRM system by writing another class against this interface.

Money is always an integer number of fen (1/100 CNY) so that sums are exact.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

OTP_LENGTH = 6
OTP_TTL_SECONDS = 5 * 60
# Per number and conversation: the third wrong code locks that conversation out of that number.
OTP_MAX_WRONG_ATTEMPTS = 3
OTP_LOCK_SECONDS = 15 * 60
USAGE_WARNING_RATIO = 0.8


class AccountError(Exception):
    """Base class for errors the assistant turns into a message for the customer."""


class UnknownLine(AccountError):
    """No line with this phone number exists."""


class UnknownPlan(AccountError):
    """No plan matches the name the customer gave."""


class UnknownSubscription(AccountError):
    """No active add-on on this line matches the name the customer gave."""


class PlanKind(str, enum.Enum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


class FiveGSupport(str, enum.Enum):
    """What radio modes a device supports (SA: standalone 5G core; NSA: 5G on a 4G anchor)."""

    NONE = "none"
    NSA = "nsa"
    SA_NSA = "sa_nsa"


class OutdoorCoverage(str, enum.Enum):
    NONE = "none"
    NSA = "nsa"
    SA = "sa"


class IndoorCoverage(str, enum.Enum):
    NONE = "none"
    PARTIAL = "partial"
    GOOD = "good"


class ChargeCategory(str, enum.Enum):
    PLAN_FEE = "plan_fee"
    DATA_OVERAGE = "data_overage"
    VOICE_OVERAGE = "voice_overage"
    SMS_OVERAGE = "sms_overage"
    ROAMING = "roaming"
    ADDON = "addon"
    BROADBAND = "broadband"


class BillStatus(str, enum.Enum):
    PAID = "paid"
    UNPAID = "unpaid"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    name_zh: str
    kind: PlanKind
    monthly_fee: int
    data_mb: int
    minutes: int
    sms: int
    is_5g: bool
    contract_months: int
    termination_fee: int
    data_overage_per_gb: int
    voice_overage_per_minute: int
    sms_overage_each: int
    broadband_mbps: int
    min_age: int
    conditions: str
    conditions_zh: str


@dataclass(frozen=True)
class Device:
    model: str
    five_g: FiveGSupport


@dataclass(frozen=True)
class Line:
    msisdn: str
    customer_name: str
    customer_age: int
    plan: Plan
    device: Device
    city: str
    district: str
    activated_on: date
    contract_end: date | None
    prepaid_balance: int | None
    arrears: int
    next_plan: Plan | None
    next_plan_from: date | None


@dataclass(frozen=True)
class CycleUsage:
    cycle_start: date
    cycle_end: date
    data_used_mb: int
    minutes_used: int
    sms_used: int
    roaming_data_mb: int
    roaming_minutes: int


@dataclass(frozen=True)
class UsageReport:
    """This cycle's use measured against the plan's allowances."""

    plan: Plan
    usage: CycleUsage
    days_left: int

    @property
    def data_left_mb(self) -> int:
        return max(self.plan.data_mb - self.usage.data_used_mb, 0)

    @property
    def minutes_left(self) -> int:
        return max(self.plan.minutes - self.usage.minutes_used, 0)

    @property
    def sms_left(self) -> int:
        return max(self.plan.sms - self.usage.sms_used, 0)

    def ratios(self) -> dict[str, float]:
        """Share of each allowance used; an allowance of zero counts as never exceeded."""

        def ratio(used: int, allowance: int) -> float:
            return used / allowance if allowance else 0.0

        return {
            "data": ratio(self.usage.data_used_mb, self.plan.data_mb),
            "minutes": ratio(self.usage.minutes_used, self.plan.minutes),
            "sms": ratio(self.usage.sms_used, self.plan.sms),
        }

    def allowances_near_limit(self) -> list[str]:
        return [name for name, used in self.ratios().items() if used >= USAGE_WARNING_RATIO]


@dataclass(frozen=True)
class BillLine:
    id: int
    category: ChargeCategory
    description: str
    amount: int
    quantity: float | None = None
    unit_price: int | None = None
    subscription: Subscription | None = None
    roaming_country: str | None = None
    roaming_country_zh: str | None = None


@dataclass(frozen=True)
class Bill:
    cycle_start: date
    cycle_end: date
    total: int
    amount_paid: int
    due_date: date
    status: BillStatus
    paid_on: date | None
    lines: Sequence[BillLine] = field(default_factory=tuple)


@dataclass(frozen=True)
class AddOn:
    id: str
    name: str
    name_zh: str
    monthly_fee: int
    description: str


@dataclass(frozen=True)
class Subscription:
    id: int
    addon: AddOn
    started_on: date
    ordering_channel: str
    ordering_channel_zh: str
    consent_recorded: bool
    cancelled_at: datetime | None
    consent_disputed: bool


@dataclass(frozen=True)
class Coverage:
    city: str
    district: str
    city_zh: str
    district_zh: str
    outdoor: OutdoorCoverage
    indoor: IndoorCoverage


@dataclass(frozen=True)
class FiveGAssessment:
    """Everything needed to set honest 5G expectations for a place (one district, or every
    district of a city) and, for a verified line, its phone and plan."""

    coverage: Sequence[Coverage]
    device: Device | None
    plan: Plan | None


@dataclass(frozen=True)
class PlanChangeQuote:
    current: Plan
    target: Plan
    effective_from: date
    termination_fee: int
    contract_end: date | None


@dataclass(frozen=True)
class PlanRecommendation:
    current: Plan
    recommended: Plan
    current_monthly_cost: int
    recommended_monthly_cost: int
    cycles_considered: int

    @property
    def monthly_saving(self) -> int:
        return self.current_monthly_cost - self.recommended_monthly_cost


class PortabilityBlocker(str, enum.Enum):
    ARREARS = "arrears"
    IN_CONTRACT = "in_contract"
    TOO_NEW = "too_new"


@dataclass(frozen=True)
class PortabilityStatus:
    msisdn: str
    blockers: Sequence[PortabilityBlocker]
    arrears: int
    contract_end: date | None
    termination_fee: int
    eligible_from: date | None

    @property
    def can_port_now(self) -> bool:
        return not self.blockers


class VerificationOutcome(str, enum.Enum):
    CODE_SENT = "code_sent"
    VERIFIED = "verified"
    WRONG_CODE = "wrong_code"
    EXPIRED = "expired"
    NO_CODE = "no_code"
    LOCKED = "locked"
    THROTTLED = "throttled"  # too many codes asked for: none was sent


@dataclass(frozen=True)
class VerificationResult:
    outcome: VerificationOutcome
    attempts_left: int = OTP_MAX_WRONG_ATTEMPTS
    retry_at: datetime | None = None  # LOCKED or THROTTLED: when trying again may work


@dataclass(frozen=True)
class RoamingRates:
    """What using the line abroad costs: the day pass, or pay as you go."""

    day_pass_fee: int  # per day
    data_per_mb: int
    voice_per_minute: int


@dataclass(frozen=True)
class LineSnapshot:
    """What the reminder scan reads of one line (telecom_assistant/reminders/): read for many
    lines at once, so that a scan costs a few queries per batch, not per line."""

    msisdn: str
    plan: Plan
    contract_end: date | None
    prepaid_balance: int | None
    usage: CycleUsage | None  # this cycle's; None before its first record
    # The last three cycles' bills, oldest first, without their lines: the latest is news, an
    # earlier one may still be overdue.
    recent_bills: Sequence[Bill]
    subscriptions: Sequence[Subscription]  # active, oldest first

    @property
    def latest_bill(self) -> Bill | None:
        return self.recent_bills[-1] if self.recent_bills else None


class AccountService(abc.ABC):
    """What the assistant may ask of, and do to, the operator's billing/CRM system."""

    # --- identity verification ---------------------------------------------------------
    @abc.abstractmethod
    def send_verification_code(self, msisdn: str, conversation_id: str) -> VerificationResult:
        """Send a fresh one-time code for this conversation to the line by SMS (never return
        the code); sends are throttled per number and per conversation. A well-formed number
        that is not a line gets the same answers and throttles, and no SMS: whether a number
        is a customer's is not told to whoever types it."""

    @abc.abstractmethod
    def check_verification_code(
        self, msisdn: str, code: str, conversation_id: str
    ) -> VerificationResult:
        """Check a code the customer typed against the code sent for this conversation; wrong
        codes count towards a lock-out of this conversation and of the number."""

    @abc.abstractmethod
    def latest_sms(self, msisdn: str) -> str | None:
        """The newest one-time code SMS sent to a number (the demo gateway's outbox)."""

    # --- lines, plans and tariffs --------------------------------------------------------
    @abc.abstractmethod
    def get_line(self, msisdn: str) -> Line: ...

    @abc.abstractmethod
    def list_plans(self) -> Sequence[Plan]: ...

    @abc.abstractmethod
    def find_plan(self, name: str) -> Plan:
        """A plan by id or by a loosely written name; raises UnknownPlan."""

    @abc.abstractmethod
    def recommend_plan(self, msisdn: str) -> PlanRecommendation: ...

    @abc.abstractmethod
    def quote_plan_change(self, msisdn: str, plan_id: str) -> PlanChangeQuote: ...

    @abc.abstractmethod
    def change_plan(self, msisdn: str, plan_id: str) -> PlanChangeQuote:
        """Schedule the switch for the next billing cycle."""

    # --- usage and bills -------------------------------------------------------------------
    @abc.abstractmethod
    def current_usage(self, msisdn: str) -> UsageReport: ...

    @abc.abstractmethod
    def usage_history(self, msisdn: str, cycles: int) -> Sequence[CycleUsage]:
        """The last ``cycles`` closed billing cycles, newest first."""

    @abc.abstractmethod
    def latest_bill(self, msisdn: str) -> Bill: ...

    @abc.abstractmethod
    def recent_bills(self, msisdn: str, count: int) -> Sequence[Bill]:
        """The last ``count`` bills, newest first."""

    # --- value-added services --------------------------------------------------------------
    @abc.abstractmethod
    def active_subscriptions(self, msisdn: str) -> Sequence[Subscription]: ...

    @abc.abstractmethod
    def find_addon(self, name: str) -> AddOn | None:
        """Any add-on of the catalogue by id or loosely written name (None: no such add-on),
        to name it in the customer's words when the line does not have it."""

    @abc.abstractmethod
    def find_subscription(self, msisdn: str, name: str) -> Subscription:
        """An active add-on by id or loosely written name; raises UnknownSubscription."""

    @abc.abstractmethod
    def cancel_subscriptions(
        self, msisdn: str, subscription_ids: Sequence[int], consent_disputed: bool
    ) -> Sequence[Subscription]: ...

    @abc.abstractmethod
    def roaming_rates(self) -> RoamingRates: ...

    # --- the reminder scan -------------------------------------------------------------------
    @abc.abstractmethod
    def line_snapshots(self, after: str | None, limit: int) -> Sequence[LineSnapshot]:
        """Up to `limit` lines in the order of their numbers, from the first after `after`
        (None: from the first line): a scan pages through every line this way."""

    # --- network ---------------------------------------------------------------------------
    @abc.abstractmethod
    def assess_5g(
        self, city: str | None, district: str | None, msisdn: str | None
    ) -> FiveGAssessment:
        """Coverage for a place (the line's home district when no place is given) and, for
        a verified line, its device and plan."""

    @abc.abstractmethod
    def portability_status(self, msisdn: str) -> PortabilityStatus: ...
