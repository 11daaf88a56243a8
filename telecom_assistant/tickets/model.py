"""Complaint and fault tickets: the rules of the domain, with no storage and no Rasa.

A ticket is what the assistant could not resolve. It carries the conversation (masked), a
category, a priority that follows from rules, a deadline that follows from the priority, and a
status whose lifecycle the agents move along. Every rule that decides something about a ticket
lives here so that it is tested once and shared by the assistant and the agent console.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta


class TicketError(Exception):
    """Base class for refusals the console shows to an agent."""


class UnknownTicket(TicketError):
    """No ticket has this id."""


class IllegalTransition(TicketError):
    def __init__(self, current: Status, wanted: Status) -> None:
        super().__init__(f"a {current.value} ticket cannot become {wanted.value}")
        self.current = current
        self.wanted = wanted


# Customers and agents read these values by the names in telecom_assistant/texts (category.*,
# priority.*, status.* ...).
class Category(str, enum.Enum):
    BILLING = "billing"
    UNAUTHORISED_ADDON = "unauthorised_addon"
    NETWORK = "network"
    FIVE_G = "five_g"
    BROADBAND = "broadband"
    TARIFF_MARKETING = "tariff_marketing"
    PRIVACY = "privacy"
    SPAM_FRAUD = "spam_fraud"
    OTHER = "other"


class Kind(str, enum.Enum):
    COMPLAINT = "complaint"
    FAULT = "fault"  # a network or broadband fault that troubleshooting did not fix
    SPAM_REPORT = "spam_report"


class NetworkIssue(str, enum.Enum):
    NO_SIGNAL = "no_signal"
    DROPPED_CALLS = "dropped_calls"
    SLOW_DATA = "slow_data"
    BROADBAND_DOWN = "broadband_down"
    BROADBAND_SLOW = "broadband_slow"

    @property
    def is_broadband(self) -> bool:
        return self in (NetworkIssue.BROADBAND_DOWN, NetworkIssue.BROADBAND_SLOW)

    @property
    def is_outage(self) -> bool:
        """The customer has no service at all, not a degraded one."""
        return self in (NetworkIssue.NO_SIGNAL, NetworkIssue.BROADBAND_DOWN)


class Priority(str, enum.Enum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"

    @property
    def rank(self) -> int:
        """Sort key: urgent first."""
        return list(Priority).index(self)


class Status(str, enum.Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_CUSTOMER = "waiting_for_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_active(self) -> bool:
        return self not in (Status.RESOLVED, Status.CLOSED)


# Where each status may go. A resolved ticket can be reopened (the customer says the fix did
# not work); a closed one is final, so the history an agent reads is never rewritten.
TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.IN_PROGRESS, Status.WAITING_FOR_CUSTOMER, Status.RESOLVED}),
    Status.IN_PROGRESS: frozenset({Status.WAITING_FOR_CUSTOMER, Status.RESOLVED}),
    Status.WAITING_FOR_CUSTOMER: frozenset({Status.IN_PROGRESS, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.OPEN}),
    Status.CLOSED: frozenset(),
}

# Promised first response by an agent, by priority.
RESPONSE_TIME: Mapping[Priority, timedelta] = {
    Priority.URGENT: timedelta(hours=2),
    Priority.HIGH: timedelta(hours=12),
    Priority.NORMAL: timedelta(hours=24),
}
# Promised repair of a fault: broadband within a day, the mobile network within two, as
# operators' published service standards commit.
REPAIR_TIME: Mapping[bool, timedelta] = {True: timedelta(hours=24), False: timedelta(hours=48)}
REPEAT_WINDOW = timedelta(days=30)
HOTSPOT_DAYS = 14
TICKET_ID_PREFIX = "TK"

# Words that turn a spam report into fraud: money was asked for or someone was impersonated.
FRAUD_MARKERS = (
    "transfer",
    "bank",
    "card",
    "money",
    "pay",
    "police",
    "refund",
    "account",
    "password",
    "code",
    "loan",
    "prize",
    "link",
    "safe account",
    "impersonat",
    "pretend",
    "scam",
    "fraud",
    "转账",
    "汇款",
    "银行",
    "卡号",
    "密码",
    "验证码",
    "公安",
    "警察",
    "冒充",
    "安全账户",
    "退款",
    "贷款",
    "中奖",
    "链接",
    "诈骗",
    "骗",
)


def check_transition(current: Status, wanted: Status) -> None:
    if wanted not in TRANSITIONS[current]:
        raise IllegalTransition(current, wanted)


def is_fraud(report: str) -> bool:
    text = report.lower()
    return any(marker in text for marker in FRAUD_MARKERS)


def decide_priority(
    category: Category,
    *,
    fraud: bool = False,
    outage: bool = False,
    repeat: bool = False,
) -> Priority:
    """Fraud and privacy are urgent (money or personal data are being lost now); a repeat
    complaint within 30 days or a total loss of service is high; the rest is normal."""
    if category is Category.PRIVACY or (category is Category.SPAM_FRAUD and fraud):
        return Priority.URGENT
    if repeat or outage:
        return Priority.HIGH
    return Priority.NORMAL


def response_due(created_at: datetime, priority: Priority) -> datetime:
    return created_at + RESPONSE_TIME[priority]


def repair_due(created_at: datetime, issue: NetworkIssue) -> datetime:
    return created_at + REPAIR_TIME[issue.is_broadband]


def format_ticket_id(day: date, sequence: int) -> str:
    """Readable over the phone: TK-261123-0007 is the 7th ticket of 23 November 2026."""
    return f"{TICKET_ID_PREFIX}-{day:%y%m%d}-{sequence:04d}"


def normalise_ticket_id(text: str) -> str | None:
    """'tk2611230007', 'TK 261123 0007' and 'TK-261123-0007' are the same ticket."""
    compact = "".join(ch for ch in text.upper() if ch.isalnum())
    if not (compact.startswith(TICKET_ID_PREFIX) and len(compact) == 12 and compact[2:].isdigit()):
        return None
    return f"{compact[:2]}-{compact[2:8]}-{compact[8:]}"


class Delivery(str, enum.Enum):
    """Where an agent's reply to the customer stands."""

    PENDING = "pending"  # waiting for the channel (web chat: until the customer's next visit)
    DELIVERED = "delivered"
    FAILED = "failed"  # the channel refused it for good, e.g. the customer blocked the bot


# Who speaks in a transcript.
CUSTOMER = "customer"
ASSISTANT = "assistant"
AGENT = "agent"


@dataclass(frozen=True)
class TranscriptTurn:
    speaker: str  # CUSTOMER, ASSISTANT or AGENT
    text: str
    at: datetime
    # Agents' replies only: who wrote it and whether it has reached the customer.
    author: str | None = None
    delivery: Delivery | None = None


@dataclass(frozen=True)
class StatusChange:
    from_status: Status | None  # None for the ticket's creation
    to_status: Status
    by: str
    at: datetime


class UpdateKind(str, enum.Enum):
    REPLY = "reply"  # an agent answered the ticket (a letter)
    RESOLVED = "resolved"


@dataclass(frozen=True)
class TicketUpdate:
    """News of a ticket for its customer's line (reminders of a ticket's progress)."""

    ticket_id: str
    msisdn: str
    kind: UpdateKind
    key: int  # the reply's or the status change's id: each update is told once
    at: datetime


@dataclass(frozen=True)
class Note:
    author: str
    text: str
    at: datetime


# The channel of a ticket whose channel is not known, or whose name no channel has.
UNKNOWN_CHANNEL = "unknown"
# The channels a ticket can come from, by the name it records (Rasa's input channels).
CHANNELS = ("webchat", "telegram", "rest", UNKNOWN_CHANNEL)


class Deadline(str, enum.Enum):
    """The two promises a ticket carries, each shown and marked on its own."""

    RESPONSE = "response"  # an agent's first answer
    REPAIR = "repair"  # a fault's repair


@dataclass(frozen=True)
class NewTicket:
    """What the assistant knows when it escalates. ``msisdn`` is the verified line only."""

    kind: Kind
    category: Category
    description: str
    contact_number: str
    channel: str
    conversation_id: str
    language: str
    transcript: Sequence[TranscriptTurn]
    # Retrying the same escalation sends the same key and gets the same ticket back.
    idempotency_key: str
    msisdn: str | None = None
    network_issue: NetworkIssue | None = None
    fraud: bool = False
    # The one-time codes typed in the conversation: masked in the transcript however written.
    known_codes: Sequence[str] = ()


@dataclass(frozen=True)
class Ticket:
    id: str
    kind: Kind
    category: Category
    priority: Priority
    status: Status
    description: str
    contact_number: str
    channel: str
    conversation_id: str
    language: str
    created_at: datetime
    response_due: datetime
    msisdn: str | None = None
    network_issue: NetworkIssue | None = None
    repair_due: datetime | None = None
    responded_at: datetime | None = None
    assigned_to: str | None = None
    transcript: Sequence[TranscriptTurn] = field(default_factory=tuple)
    history: Sequence[StatusChange] = field(default_factory=tuple)
    notes: Sequence[Note] = field(default_factory=tuple)

    def missed_deadlines(self, now: datetime) -> tuple[Deadline, ...]:
        """The deadlines passed unmet: no agent answered in time, or a fault is still
        unrepaired past its repair deadline. A resolved or closed ticket misses none."""
        if not self.status.is_active:
            return ()
        missed = []
        if self.responded_at is None and now > self.response_due:
            missed.append(Deadline.RESPONSE)
        if self.repair_due is not None and now > self.repair_due:
            missed.append(Deadline.REPAIR)
        return tuple(missed)

    def is_overdue(self, now: datetime) -> bool:
        return bool(self.missed_deadlines(now))

    @property
    def due(self) -> datetime:
        """The deadline the customer was promised: the repair for a fault, else the answer."""
        return self.repair_due or self.response_due


@dataclass(frozen=True)
class Filing:
    """The outcome of an escalation: the ticket and whether this call created it."""

    ticket: Ticket
    created: bool


@dataclass(frozen=True)
class QueueFilter:
    statuses: Sequence[Status] = ()
    categories: Sequence[Category] = ()
    priorities: Sequence[Priority] = ()
    channels: Sequence[str] = ()
    overdue_only: bool = False
    sort: str = "due"  # one of QUEUE_SORTS


QUEUE_SORTS = {
    "due": lambda ticket: (ticket.due, ticket.priority.rank),
    "priority": lambda ticket: (ticket.priority.rank, ticket.due),
    "newest": lambda ticket: (-ticket.created_at.timestamp(),),
    "oldest": lambda ticket: (ticket.created_at,),
}


def sort_queue(tickets: Iterable[Ticket], sort: str) -> list[Ticket]:
    return sorted(tickets, key=QUEUE_SORTS.get(sort, QUEUE_SORTS["due"]))


class QueueView(str, enum.Enum):
    """The inbox's tabs: slices of the filtered queue."""

    MINE = "mine"  # assigned to the signed-in agent
    UNASSIGNED = "unassigned"
    ALL = "all"
    WAITING = "waiting"  # the customer waits for a person to answer


def queue_views(
    tickets: Sequence[Ticket], agent: str, waiting: Collection[str]
) -> dict[QueueView, list[Ticket]]:
    """Each view's tickets, in the queue's order; ``waiting`` holds the ids of the tickets
    whose customer waits for a person."""
    belongs = {
        QueueView.MINE: lambda ticket: ticket.assigned_to == agent,
        QueueView.UNASSIGNED: lambda ticket: ticket.assigned_to is None,
        QueueView.ALL: lambda ticket: True,
        QueueView.WAITING: lambda ticket: ticket.id in waiting,
    }
    return {view: [ticket for ticket in tickets if belongs[view](ticket)] for view in QueueView}


@dataclass(frozen=True)
class HotspotReport:
    days: Sequence[date]
    counts: Mapping[Category, Sequence[int]]  # one count per day, aligned with ``days``
    rising: Category | None  # the category that rose most this week, if any rose
    this_week: Mapping[Category, int]
    last_week: Mapping[Category, int]


@dataclass(frozen=True)
class WeeklyComplaints:
    """Complaints filed in one ISO week (its Monday) in one category."""

    week: date
    category: Category
    count: int


def hotspots(created: Iterable[tuple[date, Category]], today: date) -> HotspotReport:
    """Tickets per category per day over the last 14 days, and the category whose count grew
    most from the previous 7 days to the last 7 (the regulator's "find hot issues early")."""
    days = [today - timedelta(days=offset) for offset in range(HOTSPOT_DAYS - 1, -1, -1)]
    index = {day: position for position, day in enumerate(days)}
    counts = {category: [0] * HOTSPOT_DAYS for category in Category}
    for day, category in created:
        if day in index:
            counts[category][index[day]] += 1
    half = HOTSPOT_DAYS // 2
    this_week = {category: sum(row[half:]) for category, row in counts.items()}
    last_week = {category: sum(row[:half]) for category, row in counts.items()}
    growth = {category: this_week[category] - last_week[category] for category in Category}
    rising = max(Category, key=lambda category: (growth[category], this_week[category]))
    return HotspotReport(
        days=days,
        counts=counts,
        rising=rising if growth[rising] > 0 else None,
        this_week=this_week,
        last_week=last_week,
    )
