"""The SQL implementation of :class:`AccountService` (SQLite or PostgreSQL through SQLAlchemy).

Every public method opens its own short session: the service object is shared by the whole
action server, sessions never are.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from telecom_assistant.accounts import tariffs
from telecom_assistant.accounts.service import (
    OTP_LENGTH,
    OTP_LOCK_SECONDS,
    OTP_MAX_WRONG_ATTEMPTS,
    OTP_TTL_SECONDS,
    AccountService,
    AddOn,
    Bill,
    BillLine,
    BillStatus,
    ChargeCategory,
    Coverage,
    CycleUsage,
    Device,
    FiveGAssessment,
    FiveGSupport,
    IndoorCoverage,
    Line,
    LineSnapshot,
    OutdoorCoverage,
    Plan,
    PlanChangeQuote,
    PlanKind,
    PlanRecommendation,
    PortabilityBlocker,
    PortabilityStatus,
    RoamingRates,
    Subscription,
    UnknownLine,
    UnknownPlan,
    UnknownSubscription,
    UsageReport,
    VerificationOutcome,
    VerificationResult,
)
from telecom_assistant.accounts.tables import (
    AddOnRow,
    BillLineRow,
    BillRow,
    CoverageRow,
    DeviceRow,
    LineRow,
    PaymentRow,
    PlanRow,
    SmsOutboxRow,
    SubscriptionRow,
    UsageRow,
    VerificationCodeRow,
    VerificationCounterRow,
)
from telecom_assistant.clock import Clock, add_months, cycle_bounds, operator_now
from telecom_assistant.database import SessionPerCall
from telecom_assistant.language import CHINESE, LANGUAGES
from telecom_assistant.settings import Verification
from telecom_assistant.texts import find_text, text

sms_log = logging.getLogger("telecom_assistant.sms")

MIN_DAYS_BEFORE_PORTING = 120
RECOMMENDATION_CYCLES = 3


@dataclass(frozen=True)
class Limit:
    """At most `count` events per `window` for one subject (a number or a conversation).

    The window is fixed, opened by its first event: around a window's end up to twice `count`
    events can fall within one `window`, which these limits allow for."""

    scope: str
    count: int
    window: timedelta


# Codes sent, per conversation whatever numbers it tries (one stranger flooding phones) and
# per number whatever conversation asks (many conversations flooding one phone). The price: a
# stranger can use up a number's codes, and its owner then waits for the window to end.
CODES_PER_CONVERSATION = Limit("codes per conversation, 10 min", 3, timedelta(minutes=10))
CODES_PER_NUMBER = Limit("codes per number, 10 min", 3, timedelta(minutes=10))
CODES_PER_NUMBER_DAILY = Limit("codes per number, day", 10, timedelta(days=1))
# Wrong codes per number, whatever conversation typed them. A conversation is locked out of a
# number after OTP_MAX_WRONG_ATTEMPTS, which a stranger's guesses cannot extend to the owner's
# own conversation; but a stranger can open one conversation after another. This caps their
# guesses at ten an hour, at a price: once a stranger has spent them, the owner cannot verify
# either until the hour is over. Wider than a conversation's three, so that a stranger's
# single conversation never locks the owner out.
WRONG_CODES_PER_NUMBER = Limit("wrong codes per number, hour", 10, timedelta(hours=1))


@dataclass(frozen=True)
class VerificationThrottles:
    """The throttles above; an operator may change their counts (not their windows) in the
    settings, e.g. for a load test whose few demo customers verify thousands of times."""

    codes_per_conversation: Limit = CODES_PER_CONVERSATION
    codes_per_number: Limit = CODES_PER_NUMBER
    codes_per_number_daily: Limit = CODES_PER_NUMBER_DAILY
    wrong_codes_per_number: Limit = WRONG_CODES_PER_NUMBER

    @classmethod
    def from_settings(cls, verification: Verification) -> VerificationThrottles:
        """The throttles with the counts of `verification` (its fields of the same names)."""
        return cls(
            **{
                throttle.name: replace(
                    getattr(cls, throttle.name), count=getattr(verification, throttle.name)
                )
                for throttle in fields(cls)
            }
        )


class _Refused(Exception):
    """Raised inside a session to roll back what it had counted, and answer `result`."""

    def __init__(self, result: VerificationResult) -> None:
        super().__init__(result.outcome.value)
        self.result = result


def _code_hash(msisdn: str, code: str) -> str:
    return hashlib.sha256(f"{msisdn}:{code}".encode("utf-8", "surrogatepass")).hexdigest()


def _conversation_key(conversation_id: str) -> str:
    """Conversation ids can be long and can name a person's account elsewhere: the tables
    keep a hash of them."""
    return hashlib.sha256(conversation_id.encode("utf-8", "surrogatepass")).hexdigest()


def _locked(until: datetime) -> VerificationResult:
    return VerificationResult(VerificationOutcome.LOCKED, attempts_left=0, retry_at=until)


_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_COUNTERS = VerificationCounterRow.__table__
_CODES = VerificationCodeRow.__table__


class _Statements:
    """The verification's statements, built once with bound parameters: SQLAlchemy builds a
    new statement's cache key at every execution, which here cost more than SQLite's work
    (docs/benchmarks.md). Each keeps the rules stated where it is used."""

    def __init__(self) -> None:
        scope, subject, now = bindparam("of_scope"), bindparam("of_subject"), bindparam("at")
        window_opened_before, limit = bindparam("window_opened_before"), bindparam("limit")
        counter = (_COUNTERS.c.scope == scope) & (_COUNTERS.c.subject == subject)
        window_passed = _COUNTERS.c.window_start <= window_opened_before
        self.new_counter = {
            dialect: insert(_COUNTERS)
            .values(scope=scope, subject=subject, window_start=now, count=0)
            .on_conflict_do_nothing()
            for dialect, insert in _INSERTS.items()
        }
        self.count = (
            update(_COUNTERS)
            .where(counter, window_passed | (_COUNTERS.c.count < limit))
            .values(
                count=case((window_passed, 1), else_=_COUNTERS.c.count + 1),
                window_start=case((window_passed, now), else_=_COUNTERS.c.window_start),
            )
        )
        self.window_start = select(_COUNTERS.c.window_start).where(counter)
        self.uncount = (
            update(_COUNTERS)
            .where(counter, _COUNTERS.c.count > 0)
            .values(count=_COUNTERS.c.count - 1)
        )
        self.full_window_start = select(_COUNTERS.c.window_start).where(
            counter, _COUNTERS.c.count >= limit, _COUNTERS.c.window_start > window_opened_before
        )
        self.new_code = {
            dialect: insert(_CODES)
            .values(
                msisdn=bindparam("of_msisdn"),
                conversation_key=bindparam("of_conversation"),
                wrong_attempts=0,
            )
            .on_conflict_do_nothing()
            for dialect, insert in _INSERTS.items()
        }
        # Locked until the transaction ends (on PostgreSQL: checks and sends of one
        # conversation and number take turns).
        self.code = (
            select(VerificationCodeRow)
            .where(
                VerificationCodeRow.msisdn == bindparam("of_msisdn"),
                VerificationCodeRow.conversation_key == bindparam("of_conversation"),
            )
            .with_for_update()
        )


_STATEMENTS = _Statements()


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _code_row(session: Session, msisdn: str, conversation: str) -> VerificationCodeRow | None:
    """A conversation's code for a number, locked until the transaction ends."""
    return session.scalar(_STATEMENTS.code, {"of_msisdn": msisdn, "of_conversation": conversation})


def _new_code_row(session: Session, msisdn: str, conversation: str) -> VerificationCodeRow:
    """The conversation's code row for a number, created unless it exists (two requests may
    race to create it), locked as _code_row's."""
    session.execute(
        _STATEMENTS.new_code[_dialect(session)],
        {"of_msisdn": msisdn, "of_conversation": conversation},
    )
    row = _code_row(session, msisdn, conversation)
    assert row is not None  # inserted just now, or by the request it raced
    return row


def _count_in(session: Session, limit: Limit, subject: str, now: datetime) -> datetime | None:
    """Count one event against `limit` for `subject`, unless its window is full: then nothing
    is counted and the answer is when the window ends.

    One UPDATE decides and counts (a window that has passed starts again at `now`): concurrent
    requests are counted one after the other and none is lost, on PostgreSQL (the row stays
    locked until the transaction ends) and on SQLite (one writer at a time)."""
    key = {"of_scope": limit.scope, "of_subject": subject}
    session.execute(_STATEMENTS.new_counter[_dialect(session)], {**key, "at": now})
    counted = session.execute(
        _STATEMENTS.count,
        {
            **key,
            "at": now,
            "window_opened_before": now - limit.window,
            "limit": limit.count,
        },
    ).rowcount
    if counted:
        return None
    return session.scalar(_STATEMENTS.window_start, key) + limit.window


def _uncount(session: Session, limit: Limit, subject: str) -> None:
    session.execute(_STATEMENTS.uncount, {"of_scope": limit.scope, "of_subject": subject})


def _full_until(session: Session, limit: Limit, subject: str, now: datetime) -> datetime | None:
    """When the window of a full `limit` for `subject` ends (None: not full)."""
    window_start = session.scalar(
        _STATEMENTS.full_window_start,
        {
            "of_scope": limit.scope,
            "of_subject": subject,
            "limit": limit.count,
            "window_opened_before": now - limit.window,
        },
    )
    return window_start + limit.window if window_start is not None else None


class SqlAccountService(SessionPerCall, AccountService):
    def __init__(
        self,
        engine: Engine,
        clock: Clock = operator_now,
        limits: VerificationThrottles = VerificationThrottles(),
    ) -> None:
        super().__init__(engine, clock)
        self._limits = limits

    def _today(self) -> date:
        return self._now().date()

    # --- identity verification ---------------------------------------------------------
    def send_verification_code(self, msisdn: str, conversation_id: str) -> VerificationResult:
        now = self._now()
        conversation = _conversation_key(conversation_id)
        code = f"{secrets.randbelow(10**OTP_LENGTH):0{OTP_LENGTH}d}"
        try:
            with self._session() as session:
                state = _new_code_row(session, msisdn, conversation)
                if state.locked_until is not None and state.locked_until > now:
                    raise _Refused(_locked(state.locked_until))
                number_locked_until = _full_until(
                    session, self._limits.wrong_codes_per_number, msisdn, now
                )
                if number_locked_until is not None:
                    raise _Refused(_locked(number_locked_until))
                for limit, subject in (
                    (self._limits.codes_per_conversation, conversation),
                    (self._limits.codes_per_number, msisdn),
                    (self._limits.codes_per_number_daily, msisdn),
                ):
                    retry_at = _count_in(session, limit, subject, now)
                    if retry_at is not None:
                        # Raised to roll back what the other limits counted: nothing was sent.
                        raise _Refused(
                            VerificationResult(VerificationOutcome.THROTTLED, retry_at=retry_at)
                        )
                if state.locked_until is not None:
                    # The lock-out has passed: wrong codes are counted afresh.
                    state.locked_until = None
                    state.wrong_attempts = 0
                is_line = session.get(LineRow, msisdn) is not None
                # A number that is not a line gets a code that is sent to nobody: every code
                # typed for it is wrong, and counted, as for any line.
                state.code_hash = _code_hash(msisdn, code if is_line else secrets.token_hex(16))
                state.expires_at = now + timedelta(seconds=OTP_TTL_SECONDS)
                body = _verification_sms(code)
                if is_line:
                    session.add(SmsOutboxRow(msisdn=msisdn, body=body, sent_at=now, purpose="code"))
                attempts_left = OTP_MAX_WRONG_ATTEMPTS - state.wrong_attempts
        except _Refused as refused:
            return refused.result
        if is_line:
            # The demo gateway "delivers" by printing to the console of whoever runs the product.
            sms_log.info("demo SMS gateway -> %s: %s", msisdn, body)
        return VerificationResult(VerificationOutcome.CODE_SENT, attempts_left=attempts_left)

    def check_verification_code(
        self, msisdn: str, code: str, conversation_id: str
    ) -> VerificationResult:
        now = self._now()
        with self._session() as session:
            state = _code_row(session, msisdn, _conversation_key(conversation_id))
            if state is None:
                return VerificationResult(VerificationOutcome.NO_CODE)
            if state.locked_until is not None and state.locked_until > now:
                return _locked(state.locked_until)
            if state.code_hash is None:
                return VerificationResult(VerificationOutcome.NO_CODE)
            if state.expires_at <= now:
                state.code_hash = None
                return VerificationResult(VerificationOutcome.EXPIRED)
            # Counted before the code is compared, so that no guess beyond the number's limit
            # is ever compared, however many arrive at once; a right code is not a wrong one
            # and is given back.
            number_locked_until = _count_in(
                session, self._limits.wrong_codes_per_number, msisdn, now
            )
            if number_locked_until is not None:
                return _locked(number_locked_until)
            if hmac.compare_digest(state.code_hash, _code_hash(msisdn, code.strip())):
                _uncount(session, self._limits.wrong_codes_per_number, msisdn)
                state.code_hash = None
                state.wrong_attempts = 0
                return VerificationResult(VerificationOutcome.VERIFIED)
            # One UPDATE adds one to what is stored, whatever other checks did meanwhile; the
            # value read back is this guess's own count.
            state.wrong_attempts = VerificationCodeRow.wrong_attempts + 1
            session.flush()
            if state.wrong_attempts >= OTP_MAX_WRONG_ATTEMPTS:
                # This conversation is locked out of this number, and the code is burnt.
                state.locked_until = now + timedelta(seconds=OTP_LOCK_SECONDS)
                state.code_hash = None
                return _locked(state.locked_until)
            return VerificationResult(
                VerificationOutcome.WRONG_CODE,
                attempts_left=OTP_MAX_WRONG_ATTEMPTS - state.wrong_attempts,
            )

    def latest_sms(self, msisdn: str) -> str | None:
        with self._session() as session:
            return session.scalar(
                select(SmsOutboxRow.body)
                # The codes: reminders and the SMS hall's answers share the log.
                .where(
                    SmsOutboxRow.msisdn == msisdn,
                    SmsOutboxRow.direction == "out",
                    SmsOutboxRow.purpose == "code",
                )
                .order_by(SmsOutboxRow.id.desc())
                .limit(1)
            )

    # --- lines, plans and tariffs --------------------------------------------------------
    def get_line(self, msisdn: str) -> Line:
        with self._session() as session:
            return self._line(session, msisdn)

    def list_plans(self) -> Sequence[Plan]:
        with self._session() as session:
            rows = session.scalars(select(PlanRow).order_by(PlanRow.monthly_fee))
            return [_plan(row) for row in rows]

    def find_plan(self, name: str) -> Plan:
        with self._session() as session:
            return _plan(self._plan_row(session, name))

    def recommend_plan(self, msisdn: str) -> PlanRecommendation:
        line = self.get_line(msisdn)
        history = self.usage_history(msisdn, RECOMMENDATION_CYCLES)
        home = self.assess_5g(line.city, line.district, None).coverage
        consider_5g = tariffs.benefits_from_5g(line.device, home[0] if home else None)
        return tariffs.recommend(
            line.plan, self.list_plans(), history, consider_5g, line.customer_age
        )

    def quote_plan_change(self, msisdn: str, plan_id: str) -> PlanChangeQuote:
        with self._session() as session:
            return self._quote(session, self._line_row(session, msisdn), plan_id)

    def change_plan(self, msisdn: str, plan_id: str) -> PlanChangeQuote:
        with self._session() as session:
            line = self._line_row(session, msisdn)
            quote = self._quote(session, line, plan_id)
            line.next_plan_id = quote.target.id
            line.next_plan_from = quote.effective_from
            return quote

    def _quote(self, session: Session, line: LineRow, plan_id: str) -> PlanChangeQuote:
        target = self._plan_row(session, plan_id)
        today = self._today()
        in_contract = line.contract_end is not None and line.contract_end > today
        return PlanChangeQuote(
            current=_plan(line.plan),
            target=_plan(target),
            effective_from=add_months(cycle_bounds(today)[0], 1),
            termination_fee=line.plan.termination_fee if in_contract else 0,
            contract_end=line.contract_end if in_contract else None,
        )

    # --- usage and bills -------------------------------------------------------------------
    def current_usage(self, msisdn: str) -> UsageReport:
        today = self._today()
        start, end = cycle_bounds(today)
        with self._session() as session:
            line = self._line_row(session, msisdn)
            row = session.scalar(
                select(UsageRow).where(UsageRow.msisdn == msisdn, UsageRow.cycle_start == start)
            )
            usage = _usage(row) if row else CycleUsage(start, end, 0, 0, 0, 0, 0)
            return UsageReport(plan=_plan(line.plan), usage=usage, days_left=(end - today).days)

    def usage_history(self, msisdn: str, cycles: int) -> Sequence[CycleUsage]:
        current_start = cycle_bounds(self._today())[0]
        with self._session() as session:
            self._line_row(session, msisdn)
            rows = session.scalars(
                select(UsageRow)
                .where(UsageRow.msisdn == msisdn, UsageRow.cycle_start < current_start)
                .order_by(UsageRow.cycle_start.desc())
                .limit(cycles)
            )
            return [_usage(row) for row in rows]

    def latest_bill(self, msisdn: str) -> Bill:
        return self.recent_bills(msisdn, 1)[0]

    def recent_bills(self, msisdn: str, count: int) -> Sequence[Bill]:
        with self._session() as session:
            self._line_row(session, msisdn)
            rows = session.scalars(
                select(BillRow)
                .where(BillRow.msisdn == msisdn)
                .order_by(BillRow.cycle_start.desc())
                .limit(count)
            ).all()
            if not rows:
                raise UnknownLine(msisdn)
            today = self._today()
            return [_bill(row, today) for row in rows]

    # --- value-added services --------------------------------------------------------------
    def active_subscriptions(self, msisdn: str) -> Sequence[Subscription]:
        with self._session() as session:
            return [_subscription(row) for row in self._active_subscription_rows(session, msisdn)]

    def find_addon(self, name: str) -> AddOn | None:
        with self._session() as session:
            rows = session.execute(select(AddOnRow)).scalars().all()
            found = tariffs.best_match(name, ((row, _names(row)) for row in rows))
            return _addon(found) if found is not None else None

    def find_subscription(self, msisdn: str, name: str) -> Subscription:
        with self._session() as session:
            rows = self._active_subscription_rows(session, msisdn)
            found = tariffs.best_match(name, ((row, _names(row.addon)) for row in rows))
            if found is None:
                raise UnknownSubscription(name)
            return _subscription(found)

    def cancel_subscriptions(
        self, msisdn: str, subscription_ids: Sequence[int], consent_disputed: bool
    ) -> Sequence[Subscription]:
        now = self._now()
        with self._session() as session:
            rows = [
                row
                for row in self._active_subscription_rows(session, msisdn)
                if row.id in set(subscription_ids)
            ]
            for row in rows:
                row.cancelled_at = now
                row.consent_disputed = consent_disputed
            return [_subscription(row) for row in rows]

    def _active_subscription_rows(self, session: Session, msisdn: str) -> list[SubscriptionRow]:
        self._line_row(session, msisdn)
        return list(
            session.scalars(
                select(SubscriptionRow)
                .where(
                    SubscriptionRow.msisdn == msisdn,
                    SubscriptionRow.cancelled_at.is_(None),
                )
                .order_by(SubscriptionRow.started_on)
            )
        )

    def roaming_rates(self) -> RoamingRates:
        return tariffs.ROAMING_RATES

    # --- the reminder scan -------------------------------------------------------------------
    def line_snapshots(self, after: str | None, limit: int) -> Sequence[LineSnapshot]:
        # Columns, not ORM objects, and the bills' sums in SQL: the scan reads every line each
        # minute, and building ten objects a line cost it 800 µs a line (docs/benchmarks.md).
        today = self._today()
        cycle_start = cycle_bounds(today)[0]
        with self._session() as session:
            plans = {row.id: _plan(row) for row in session.scalars(select(PlanRow))}
            addons = {row.id: _addon(row) for row in session.scalars(select(AddOnRow))}
            query = select(
                LineRow.msisdn, LineRow.plan_id, LineRow.contract_end, LineRow.prepaid_balance
            ).order_by(LineRow.msisdn)
            if after is not None:
                query = query.where(LineRow.msisdn > after)
            lines = session.execute(query.limit(limit)).all()
            numbers = [line.msisdn for line in lines]
            usage = {
                row.msisdn: _usage(row)
                for row in session.execute(
                    select(UsageRow.__table__).where(
                        UsageRow.msisdn.in_(numbers), UsageRow.cycle_start == cycle_start
                    )
                )
            }
            bills = _recent_bills(session, numbers, add_months(cycle_start, -2), today)
            subscriptions: dict[str, list[Subscription]] = {}
            for row in session.execute(
                select(SubscriptionRow.__table__)
                .where(SubscriptionRow.msisdn.in_(numbers), SubscriptionRow.cancelled_at.is_(None))
                .order_by(SubscriptionRow.started_on, SubscriptionRow.id)
            ):
                subscriptions.setdefault(row.msisdn, []).append(
                    _subscription(row, addons[row.addon_id])
                )
            return [
                LineSnapshot(
                    msisdn=line.msisdn,
                    plan=plans[line.plan_id],
                    contract_end=line.contract_end,
                    prepaid_balance=line.prepaid_balance,
                    usage=usage.get(line.msisdn),
                    recent_bills=tuple(bills.get(line.msisdn, ())),
                    subscriptions=tuple(subscriptions.get(line.msisdn, ())),
                )
                for line in lines
            ]

    # --- network ---------------------------------------------------------------------------
    def assess_5g(
        self, city: str | None, district: str | None, msisdn: str | None
    ) -> FiveGAssessment:
        with self._session() as session:
            line = self._line_row(session, msisdn) if msisdn else None
            if line is not None and not city and not district:
                city, district = line.city, line.district
            query = select(CoverageRow).order_by(CoverageRow.district)
            if district:
                query = query.where(CoverageRow.district == _place_key(district))
            if city:
                query = query.where(CoverageRow.city == _place_key(city))
            rows = list(session.scalars(query)) if (city or district) else []
            return FiveGAssessment(
                coverage=[_coverage(row) for row in rows],
                device=_device(line.device) if line else None,
                plan=_plan(line.plan) if line else None,
            )

    def portability_status(self, msisdn: str) -> PortabilityStatus:
        today = self._today()
        with self._session() as session:
            line = self._line(session, msisdn)
        blockers = []
        eligible_dates: list[date] = []
        if line.arrears:
            blockers.append(PortabilityBlocker.ARREARS)
        contract_end = line.contract_end
        in_contract = contract_end is not None and contract_end > today
        if contract_end is not None and in_contract:
            blockers.append(PortabilityBlocker.IN_CONTRACT)
            eligible_dates.append(contract_end)
        old_enough_on = line.activated_on + timedelta(days=MIN_DAYS_BEFORE_PORTING)
        if old_enough_on > today:
            blockers.append(PortabilityBlocker.TOO_NEW)
            eligible_dates.append(old_enough_on)
        return PortabilityStatus(
            msisdn=msisdn,
            blockers=blockers,
            arrears=line.arrears,
            contract_end=line.contract_end if in_contract else None,
            termination_fee=line.plan.termination_fee if in_contract else 0,
            eligible_from=max(eligible_dates) if eligible_dates else None,
        )

    # --- row helpers -------------------------------------------------------------------------
    def _line_row(self, session: Session, msisdn: str) -> LineRow:
        row = session.get(LineRow, msisdn)
        if row is None:
            raise UnknownLine(msisdn)
        return row

    def _line(self, session: Session, msisdn: str) -> Line:
        row = self._line_row(session, msisdn)
        today = self._today()
        bills = session.scalars(select(BillRow).where(BillRow.msisdn == msisdn))
        arrears = sum(
            bill.total - bill.amount_paid
            for bill in (_bill(row, today) for row in bills)
            if bill.status == BillStatus.OVERDUE
        )
        return Line(
            msisdn=row.msisdn,
            customer_name=row.customer.name,
            customer_age=today.year - row.customer.birth_year,
            plan=_plan(row.plan),
            device=_device(row.device),
            city=row.city,
            district=row.district,
            activated_on=row.activated_on,
            contract_end=row.contract_end,
            prepaid_balance=row.prepaid_balance,
            arrears=arrears,
            next_plan=_plan(row.next_plan) if row.next_plan else None,
            next_plan_from=row.next_plan_from,
        )

    def _plan_row(self, session: Session, name: str) -> PlanRow:
        rows = session.scalars(select(PlanRow))
        found = tariffs.best_match(name, ((row, _names(row)) for row in rows))
        if found is None:
            raise UnknownPlan(name)
        return found


# --- rows to value objects ------------------------------------------------------------------
def _names(row) -> list[str]:
    """Every name a customer may use for a plan or add-on row."""
    return [row.id, row.name, row.name_zh, *filter(None, row.aliases.split(","))]


def _place_key(name: str) -> str:
    """Coverage rows are keyed by lower-case pinyin without punctuation ("Jing'an" -> jingan)."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _plan(row: PlanRow) -> Plan:
    return Plan(
        id=row.id,
        name=row.name,
        name_zh=row.name_zh,
        kind=PlanKind(row.kind),
        monthly_fee=row.monthly_fee,
        data_mb=row.data_mb,
        minutes=row.minutes,
        sms=row.sms,
        is_5g=row.is_5g,
        contract_months=row.contract_months,
        termination_fee=row.termination_fee,
        data_overage_per_gb=row.data_overage_per_gb,
        voice_overage_per_minute=row.voice_overage_per_minute,
        sms_overage_each=row.sms_overage_each,
        broadband_mbps=row.broadband_mbps,
        min_age=row.min_age,
        conditions=row.conditions,
        conditions_zh=row.conditions_zh,
    )


def _device(row: DeviceRow) -> Device:
    return Device(model=row.model, five_g=FiveGSupport(row.five_g))


def _verification_sms(code: str) -> str:
    """One text in both languages, as Chinese operators send them."""
    return " ".join(text("sms.verification_code", language, code=code) for language in LANGUAGES)


def _chinese_name(group: str, stored: str) -> str:
    """The catalogue's Chinese name of a place, ordering channel or country the tables keep in
    English ("Hong Kong" is country.hong_kong); the stored name where the catalogue has none."""
    key = re.sub(r"[^a-z0-9]+", "_", stored.lower()).strip("_")
    return find_text(f"{group}.{key}", CHINESE) or stored


def _coverage(row: CoverageRow) -> Coverage:
    return Coverage(
        city=row.city,
        district=row.district,
        city_zh=_chinese_name("place", row.city),
        district_zh=_chinese_name("place", row.district),
        outdoor=OutdoorCoverage(row.outdoor),
        indoor=IndoorCoverage(row.indoor),
    )


def _usage(row: UsageRow) -> CycleUsage:
    return CycleUsage(
        cycle_start=row.cycle_start,
        cycle_end=row.cycle_end,
        data_used_mb=row.data_used_mb,
        minutes_used=row.minutes_used,
        sms_used=row.sms_used,
        roaming_data_mb=row.roaming_data_mb,
        roaming_minutes=row.roaming_minutes,
    )


def _addon(row: AddOnRow) -> AddOn:
    return AddOn(
        id=row.id,
        name=row.name,
        name_zh=row.name_zh,
        monthly_fee=row.monthly_fee,
        description=row.description,
    )


def _subscription(row: SubscriptionRow, addon: AddOn | None = None) -> Subscription:
    """A subscription; `addon` spares reading the row's add-on when the caller has it."""
    return Subscription(
        id=row.id,
        addon=addon or _addon(row.addon),
        started_on=row.started_on,
        ordering_channel=row.ordering_channel,
        ordering_channel_zh=_chinese_name("ordering_channel", row.ordering_channel),
        consent_recorded=row.consent_record is not None,
        cancelled_at=row.cancelled_at,
        consent_disputed=row.consent_disputed,
    )


def _bill_status(total: int, paid: int, due_date: date, today: date) -> BillStatus:
    if paid >= total:
        return BillStatus.PAID
    return BillStatus.OVERDUE if due_date < today else BillStatus.UNPAID


def _recent_bills(
    session: Session, numbers: Sequence[str], since: date, today: date
) -> dict[str, list[Bill]]:
    """Each line's bills since `since`, oldest first, without their lines: their sums come
    from SQL."""
    total = (
        select(func.coalesce(func.sum(BillLineRow.amount), 0))
        .where(BillLineRow.bill_id == BillRow.id)
        .scalar_subquery()
    )
    of_the_bill = PaymentRow.bill_id == BillRow.id
    paid = select(func.coalesce(func.sum(PaymentRow.amount), 0)).where(of_the_bill)
    paid_on = select(func.max(PaymentRow.paid_on)).where(of_the_bill)
    rows = session.execute(
        select(
            BillRow.msisdn,
            BillRow.cycle_start,
            BillRow.cycle_end,
            BillRow.due_date,
            total.label("total"),
            paid.scalar_subquery().label("paid"),
            paid_on.scalar_subquery().label("paid_on"),
        )
        .where(BillRow.msisdn.in_(numbers), BillRow.cycle_start >= since)
        .order_by(BillRow.cycle_start)
    )
    bills: dict[str, list[Bill]] = {}
    for row in rows:
        status = _bill_status(row.total, row.paid, row.due_date, today)
        bills.setdefault(row.msisdn, []).append(
            Bill(
                cycle_start=row.cycle_start,
                cycle_end=row.cycle_end,
                total=row.total,
                amount_paid=row.paid,
                due_date=row.due_date,
                status=status,
                paid_on=row.paid_on if status is BillStatus.PAID else None,
            )
        )
    return bills


def _bill(row: BillRow, today: date) -> Bill:
    total = sum(line.amount for line in row.lines)
    paid = sum(payment.amount for payment in row.payments)
    status = _bill_status(total, paid, row.due_date, today)
    return Bill(
        cycle_start=row.cycle_start,
        cycle_end=row.cycle_end,
        total=total,
        amount_paid=paid,
        due_date=row.due_date,
        status=status,
        paid_on=max((p.paid_on for p in row.payments), default=None)
        if status == BillStatus.PAID
        else None,
        lines=tuple(
            BillLine(
                id=line.id,
                category=ChargeCategory(line.category),
                description=line.description,
                amount=line.amount,
                quantity=line.quantity,
                unit_price=line.unit_price,
                subscription=_subscription(line.subscription) if line.subscription else None,
                roaming_country=line.roaming_country,
                roaming_country_zh=(
                    _chinese_name("country", line.roaming_country) if line.roaming_country else None
                ),
            )
            for line in row.lines
        ),
    )
