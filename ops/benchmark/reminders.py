"""`telecom benchmark --reminders`: what the reminder scan costs, per line.

The scan (telecom_assistant/reminders/scan.py) runs as the scheduler runs it, on the SQL account
backend, reminder store, SMS gateway and ticket service, over scratch databases (never
var/telecom.db): SQLite in a temporary directory, and PostgreSQL when it answers at
--postgres-admin-url. Its clock says 10:00 today, inside the sending hours, so that nothing
waits for the morning. Two bases on each database:

- **demo**: the demo base as the tests seed it (`demo.seed.reset_database`: 22 lines; no
  tickets, whose news the scan reads in two queries, and which would load spaCy to file them);
- **generated**: the demo base and --lines generated lines (default 100,000), inserted in bulk,
  where the share of lines in each situation a reminder is about is close to an operator's
  on an ordinary day (the shares below).

On each base the scan runs twice in a row: the first scan sends what is due; the second finds
every due event already sent and sends nothing, which is the state the scheduler is in nearly
every minute (the steady state). The very first scan runs on a new engine (SQLAlchemy's
statement cache empty, as when the scheduler starts) and is shown apart; on the demo base
ROUNDS more pairs follow, the reminders sent and their SMS forgotten before each; on the
generated base one first scan and three steady-state scans (the Runs below). The figures are
medians; the SQL statements of one scan are counted exactly.

The cost per line on the generated base gives the estimate for 1,000,000 lines; with --million
the PostgreSQL base is grown to 1,000,000 generated lines and scanned as well. Prints a table
and writes the figures to docs/benchmarks/reminders.json.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy import create_engine, delete, event, func, insert, select, text
from sqlalchemy.engine import Engine

from demo.catalogue import ADDONS, COVERAGE, DEVICES, PLANS
from demo.seed import APP, BILL_DUE_DAYS, HOTLINE, SMS_MARKETING, STORE, reset_database
from demo.tickets import stopped_clock
from ops.benchmark.machine import Machine, describe_machine
from ops.benchmark.options import DEFAULT_REMINDER_LINES
from scheduler.__main__ import policy_of
from telecom_assistant.accounts.service import ChargeCategory
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.accounts.tables import (
    BillLineRow,
    BillRow,
    CustomerRow,
    LineRow,
    PaymentRow,
    SmsOutboxRow,
    SubscriptionRow,
    UsageRow,
)
from telecom_assistant.clock import Clock, add_months, cycle_bounds, operator_now
from telecom_assistant.database import PROJECT_ROOT, make_engine, scratch_postgres_database
from telecom_assistant.reminders.scan import ReminderPolicy, ReminderScan, ScanReport
from telecom_assistant.reminders.sql import SqlReminderStore
from telecom_assistant.reminders.tables import ReminderRow
from telecom_assistant.settings import Settings
from telecom_assistant.sms.gateway import Purpose
from telecom_assistant.sms.sql import SqlSmsGateway
from telecom_assistant.tickets.sql import SqlTicketService

RESULTS_JSON = PROJECT_ROOT / "docs" / "benchmarks" / "reminders.json"
MILLION = 1_000_000
ROUNDS = 5
SCAN_AT = time(10, 0)
SQLITE, POSTGRESQL = "SQLite", "PostgreSQL"
DEMO, GENERATED = "demo", "generated"

# --- the generated lines --------------------------------------------------------------------
FIRST_GENERATED_NUMBER = 13900000000  # 139…: apart from the demo lines' 138…
CHUNK = 10_000  # lines generated and inserted per transaction
CLOSED_CYCLES = 2  # the closed cycles' usage and bills, as many as the scan reads
# Lines per plan, in percent: mostly the mid-range plans, a quarter prepaid.
PLAN_SHARES = {
    "senior_4g_18": 5,
    "lite_4g_19": 10,
    "prepaid_4g_29": 10,
    "basic_4g_39": 20,
    "plus_4g_59": 15,
    "prepaid_5g_59": 5,
    "starter_5g_79": 15,
    "plus_5g_129": 10,
    "fusion_5g_169": 5,
    "unlimited_5g_199": 5,
}
# Shares of all generated lines, unless said otherwise. A line far from every threshold is
# the common case: most lines are due nothing on a given day.
DATA_NEAR = 0.04  # this cycle's data at 80-99 % of the allowance
DATA_OVER = 0.015  # beyond it
MINUTES_NEAR, MINUTES_OVER = 0.007, 0.003  # the same for minutes
SMS_NEAR, SMS_OVER = 0.0035, 0.0015  # and for SMS
ROAMING = 0.015  # used abroad this cycle
WITH_ADDONS = 0.4  # one paid add-on or two (a third of them)
NEW_ADDON = 0.005  # a paid add-on started in the last three days
CANCELLED = 0.2  # of the older add-ons: cancelled since
PREPAID_LOW = 0.08  # of prepaid lines: the balance under the reminder's threshold
UNDER_CONTRACT = 0.7  # of lines on a plan with a contract; the ends spread over its length
UNPAID_LATEST = 0.03  # the latest bill not paid (overdue once its due date has passed)
CHANNELS = (APP, SMS_MARKETING, STORE, HOTLINE)
PAID_ADDONS = [addon for addon in ADDONS if addon["monthly_fee"] > 0]
# The tables of the generated rows, parents before children.
GENERATED_TABLES = (
    CustomerRow,
    LineRow,
    SubscriptionRow,
    UsageRow,
    BillRow,
    BillLineRow,
    PaymentRow,
)


@dataclass
class _Ids:
    """The next free id of each table whose generated rows others refer to."""

    customer: int
    subscription: int
    bill: int

    @classmethod
    def after_existing(cls, engine: Engine) -> _Ids:
        with engine.connect() as connection:

            def next_id(column: Any) -> int:
                return int(connection.scalar(select(func.coalesce(func.max(column), 0)))) + 1

            return cls(next_id(CustomerRow.id), next_id(SubscriptionRow.id), next_id(BillRow.id))


@dataclass
class _Rows:
    """Generated rows by table, ready for one executemany each."""

    by_table: dict[Any, list[dict[str, Any]]] = field(
        default_factory=lambda: {table: [] for table in GENERATED_TABLES}
    )

    def add(self, table: Any, **values: Any) -> None:
        self.by_table[table].append(values)


class _LineGenerator:
    """One generated line at a time: its customer, line, add-ons, usage, bills and payments."""

    def __init__(self, today: date, low_balance: int, ids: _Ids) -> None:
        self._today = today
        self._low_balance = low_balance
        self._ids = ids
        self._current = cycle_bounds(today)
        self._closed = [
            cycle_bounds(add_months(self._current[0], -ago)) for ago in range(CLOSED_CYCLES, 0, -1)
        ]
        self._plans = {plan["id"]: plan for plan in PLANS}

    def add_line(self, rows: _Rows, number: int, rng: random.Random) -> None:
        msisdn = str(FIRST_GENERATED_NUMBER + number)
        plan = self._plans[rng.choices(list(PLAN_SHARES), weights=list(PLAN_SHARES.values()))[0]]
        customer_id, self._ids.customer = self._ids.customer, self._ids.customer + 1
        rows.add(
            CustomerRow,
            id=customer_id,
            name=f"Customer {number}",
            birth_year=rng.randint(1945, 2006),
        )
        city, district, _, _ = rng.choice(COVERAGE)
        contract_days = plan["contract_months"] * 30
        rows.add(
            LineRow,
            msisdn=msisdn,
            customer_id=customer_id,
            plan_id=plan["id"],
            device_model=rng.choice(DEVICES)[0],
            city=city,
            district=district,
            activated_on=self._today - timedelta(days=rng.randint(60, 3000)),
            contract_end=(
                self._today + timedelta(days=rng.randint(0, contract_days))
                if contract_days and rng.random() < UNDER_CONTRACT
                else None
            ),
            prepaid_balance=self._balance(plan, rng),
            demo_story="",
        )
        subscriptions = self._subscriptions(rows, msisdn, rng)
        self._usage(rows, msisdn, plan, rng)
        latest = self._closed[-1]
        for start, end in self._closed:
            active = [
                (subscription_id, fee)
                for subscription_id, started, cancelled, fee in subscriptions
                if started <= end and (cancelled is None or cancelled.date() >= start)
            ]
            unpaid = (start, end) == latest and rng.random() < UNPAID_LATEST
            self._bill(rows, msisdn, plan, (start, end), active, paid=not unpaid)

    def _balance(self, plan: dict[str, Any], rng: random.Random) -> int | None:
        if plan["kind"] != "prepaid":
            return None
        if rng.random() < PREPAID_LOW:
            return rng.randrange(self._low_balance)
        return rng.randint(self._low_balance, 30_000)

    def _subscriptions(
        self, rows: _Rows, msisdn: str, rng: random.Random
    ) -> list[tuple[int, date, datetime | None, int]]:
        """(id, started, cancelled, fee) of the line's add-ons, old and new."""
        orders = []
        if rng.random() < WITH_ADDONS:
            for _ in range(2 if rng.random() < 1 / 3 else 1):
                started = self._today - timedelta(days=rng.randint(30, 900))
                cancelled = (
                    datetime.combine(started + timedelta(days=rng.randint(1, 25)), SCAN_AT)
                    if rng.random() < CANCELLED
                    else None
                )
                orders.append((started, cancelled))
        if rng.random() < NEW_ADDON:
            orders.append((self._today - timedelta(days=rng.randint(0, 2)), None))
        subscriptions = []
        for started, cancelled in orders:
            addon = rng.choice(PAID_ADDONS)
            subscription_id, self._ids.subscription = (
                self._ids.subscription,
                self._ids.subscription + 1,
            )
            rows.add(
                SubscriptionRow,
                id=subscription_id,
                msisdn=msisdn,
                addon_id=addon["id"],
                started_on=started,
                ordering_channel=rng.choice(CHANNELS),
                consent_record="confirmed by SMS" if rng.random() < 0.8 else None,
                cancelled_at=cancelled,
                consent_disputed=False,
            )
            subscriptions.append((subscription_id, started, cancelled, addon["monthly_fee"]))
        return subscriptions

    def _usage(self, rows: _Rows, msisdn: str, plan: dict[str, Any], rng: random.Random) -> None:
        """The closed cycles' use, well inside the allowances, and this cycle's."""

        def share(near: float, over: float) -> float:
            draw = rng.random()
            if draw < over:
                return rng.uniform(1.0, 1.3)
            if draw < over + near:
                return rng.uniform(0.8, 0.99)
            return rng.uniform(0.05, 0.78)

        abroad = rng.random() < ROAMING
        for cycle in self._closed:
            data, minutes, sms = rng.uniform(0.3, 0.9), rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.6)
            self._usage_row(rows, msisdn, plan, cycle, (data, minutes, sms), roaming=(0, 0))
        shares = (
            share(DATA_NEAR, DATA_OVER),
            share(MINUTES_NEAR, MINUTES_OVER),
            share(SMS_NEAR, SMS_OVER),
        )
        roaming = (rng.randint(20, 800), rng.randint(0, 60)) if abroad else (0, 0)
        self._usage_row(rows, msisdn, plan, self._current, shares, roaming)

    @staticmethod
    def _usage_row(
        rows: _Rows,
        msisdn: str,
        plan: dict[str, Any],
        cycle: tuple[date, date],
        shares: tuple[float, float, float],  # of the data, minutes and SMS allowances
        roaming: tuple[int, int],  # MB, minutes
    ) -> None:
        rows.add(
            UsageRow,
            msisdn=msisdn,
            cycle_start=cycle[0],
            cycle_end=cycle[1],
            data_used_mb=round(plan["data_mb"] * shares[0]),
            minutes_used=round(plan["minutes"] * shares[1]),
            sms_used=round(plan["sms"] * shares[2]),
            roaming_data_mb=roaming[0],
            roaming_minutes=roaming[1],
        )

    def _bill(
        self,
        rows: _Rows,
        msisdn: str,
        plan: dict[str, Any],
        cycle: tuple[date, date],
        addons: list[tuple[int, int]],  # (subscription id, fee) of the add-ons charged
        paid: bool,
    ) -> None:
        start, end = cycle
        bill_id, self._ids.bill = self._ids.bill, self._ids.bill + 1
        rows.add(
            BillRow,
            id=bill_id,
            msisdn=msisdn,
            cycle_start=start,
            cycle_end=end,
            due_date=end + timedelta(days=BILL_DUE_DAYS),
        )
        charges = [
            (None, ChargeCategory.PLAN_FEE, f"{plan['name']} monthly fee", plan["monthly_fee"])
        ] + [
            (subscription_id, ChargeCategory.ADDON, "Add-on monthly fee", fee)
            for subscription_id, fee in addons
        ]
        for subscription_id, category, description, amount in charges:
            rows.add(
                BillLineRow,
                bill_id=bill_id,
                category=category.value,
                description=description,
                amount=amount,
                quantity=None,
                unit_price=None,
                subscription_id=subscription_id,
                roaming_country=None,
            )
        if paid:
            rows.add(
                PaymentRow,
                bill_id=bill_id,
                amount=sum(charge[3] for charge in charges),
                paid_on=min(end + timedelta(days=3), self._today),
                method="bank auto-debit" if plan["kind"] == "postpaid" else "prepaid balance",
            )


def add_generated_lines(
    engine: Engine, count: int, first_number: int, today: date, low_balance: int
) -> None:
    """Add `count` generated lines, numbered from `first_number` on: one executemany per table
    and chunk (an ORM object per row would take longer than the scan)."""
    generator = _LineGenerator(today, low_balance, _Ids.after_existing(engine))
    end = first_number + count
    for chunk_start in range(first_number, end, CHUNK):
        rows = _Rows()
        rng = random.Random(chunk_start)  # the same numbers always make the same lines
        for number in range(chunk_start, min(chunk_start + CHUNK, end)):
            generator.add_line(rows, number, rng)
        with engine.begin() as connection:
            for table, values in rows.by_table.items():
                if values:
                    connection.execute(insert(table.__table__), values)
    if engine.dialect.name == "postgresql":
        # Autovacuum would soon analyse tables grown this much; the scan's plans depend on it.
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def forget_sent_reminders(engine: Engine) -> None:
    """The reminders sent and their SMS gone: the next scan sends everything due again."""
    with engine.begin() as connection:
        connection.execute(delete(ReminderRow.__table__))
        connection.execute(
            delete(SmsOutboxRow.__table__).where(SmsOutboxRow.purpose == Purpose.REMINDER.value)
        )


# --- measuring ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Runs:
    """How many scans measure a base: first scans, each after the reminders sent were
    forgotten and each followed by a steady-state scan; then steady-state scans up to
    `steady` in all."""

    first: int
    steady: int


DEMO_RUNS = Runs(first=1 + ROUNDS, steady=1 + ROUNDS)
# A first scan of a large base sends thousands of reminders: once is enough (and it is what
# happens once, when the scheduler first starts on a base); the steady state is what repeats.
GENERATED_RUNS = Runs(first=1, steady=3)
MILLION_RUNS = Runs(first=1, steady=1)


@dataclass(frozen=True)
class ScanFigures:
    """One base on one database: the first scan (it sends what is due) and the steady-state
    scan (it finds everything sent already), seconds as medians."""

    database: str
    base: str
    lines: int
    due: int  # reminders due at each scan
    sent: int  # by a first scan
    sent_again: int  # by all the steady-state scans together: 0 when "once" holds
    new_engine_seconds: float  # the first scan on a new engine (empty statement cache)
    first_seconds: float  # the median of the first scans after it (or it, if alone)
    steady_seconds: float
    first_statements: int  # SQL statements of one first scan
    steady_statements: int
    first_scans: int  # how many the medians are of
    steady_scans: int

    def per_line_us(self, seconds: float) -> float:
        return seconds / self.lines * 1e6

    def per_million_seconds(self, seconds: float) -> float:
        return seconds / self.lines * MILLION


@dataclass(frozen=True)
class ReminderBenchmark:
    machine: Machine
    scan_at: str  # the scan's clock
    generated_lines: int
    scans: list[ScanFigures]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )


class _StatementCounter:
    """Counts the SQL statements an engine sends (an executemany once)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._one)

    def _one(self, *_: object) -> None:
        self.count += 1


def scan_figures(
    database: str, base: str, url: str, policy: ReminderPolicy, clock: Clock, runs: Runs
) -> ScanFigures:
    """The scans of `runs`, on a new engine on `url`."""
    engine = make_engine(url)
    counter = _StatementCounter(engine)
    scan = ReminderScan(
        SqlAccountService(engine, clock),
        SqlReminderStore(engine, clock),
        SqlSmsGateway(engine, clock),
        policy,
        tickets=SqlTicketService(engine, clock),
        clock=clock,
    )

    def counted_scan() -> tuple[ScanReport, int]:
        before = counter.count
        report = scan.run()
        return report, counter.count - before

    firsts, steadies = [], []
    for _ in range(runs.first):
        forget_sent_reminders(engine)
        firsts.append(counted_scan())
        steadies.append(counted_scan())
    while len(steadies) < runs.steady:
        steadies.append(counted_scan())
    engine.dispose()
    (first, first_statements), steady_statements = firsts[-1], steadies[-1][1]
    warm_firsts = [report for report, _ in firsts[1:]] or [firsts[0][0]]
    return ScanFigures(
        database=database,
        base=base,
        lines=first.lines,
        due=first.due,
        sent=first.sent,
        sent_again=sum(report.sent for report, _ in steadies),
        new_engine_seconds=firsts[0][0].seconds,
        first_seconds=statistics.median(report.seconds for report in warm_firsts),
        steady_seconds=statistics.median(report.seconds for report, _ in steadies),
        first_statements=first_statements,
        steady_statements=steady_statements,
        first_scans=len(warm_firsts),
        steady_scans=len(steadies),
    )


def measure_database(
    database: str,
    url: str,
    today: date,
    policy: ReminderPolicy,
    lines: int,
    million: bool,
) -> list[ScanFigures]:
    """The demo base, then the generated one (grown to a million lines with `million`)."""
    clock = stopped_clock(datetime.combine(today, SCAN_AT))
    engine = make_engine(url)
    reset_database(engine, today)
    print(f"{database}: the demo base…", flush=True)
    figures = [scan_figures(database, DEMO, url, policy, clock, DEMO_RUNS)]
    sizes = [lines, MILLION - lines] if million and lines < MILLION else [lines]
    generated = 0
    for size in sizes:
        started = perf_counter()
        add_generated_lines(engine, size, generated, today, policy.low_balance)
        generated += size
        seconds = perf_counter() - started
        print(f"{database}: {generated:,} generated lines ({seconds:.0f} s to insert)…", flush=True)
        runs = GENERATED_RUNS if generated < MILLION else MILLION_RUNS
        figures.append(scan_figures(database, GENERATED, url, policy, clock, runs))
    engine.dispose()
    return figures


def postgres_reachable(admin_url: str) -> bool:
    engine = create_engine(admin_url, future=True)
    try:
        with engine.connect():
            return True
    except Exception:
        return False
    finally:
        engine.dispose()


def measure_reminders(
    settings: Settings,
    lines: int = DEFAULT_REMINDER_LINES,
    million: bool = False,
    postgres_admin_url: str | None = None,
    results_path: Path = RESULTS_JSON,
) -> int:
    """Prints the scan's figures and writes them to `results_path`. PostgreSQL too when
    `postgres_admin_url` answers; `million` needs it."""
    # The scheduler's own policy: its sending hours, threshold, and the SMS hall's keywords in
    # the texts.
    today, policy = operator_now().date(), policy_of(settings)
    with tempfile.TemporaryDirectory(prefix="telecom-reminders-") as temporary:
        url = f"sqlite:///{Path(temporary) / 'telecom.db'}"
        scans = measure_database(SQLITE, url, today, policy, lines, million=False)
    if postgres_admin_url is not None and postgres_reachable(postgres_admin_url):
        with scratch_postgres_database(postgres_admin_url, "telecom_reminders") as url:
            scans += measure_database(POSTGRESQL, url, today, policy, lines, million)
    elif postgres_admin_url is not None:
        print(f"PostgreSQL does not answer at {postgres_admin_url}: SQLite only.")
    results = ReminderBenchmark(
        describe_machine(), datetime.combine(today, SCAN_AT).isoformat(" "), lines, scans
    )
    print("\n" + render(results, settings.reminders.scan_seconds))
    results.save(results_path)
    print(f"\nWrote {_shown(results_path)}.")
    return 0


def render(results: ReminderBenchmark, interval_seconds: float) -> str:
    def duration(seconds: float) -> str:
        return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"

    rows = [
        f"Reminder scan at {results.scan_at}: a first scan (sends what is due), then a second "
        "(the steady state: nothing new); medians",
        "",
        "| database | base | lines | due | first scan | µs a line | steady scan | µs a line "
        "| first scan, new engine | SQL statements (first / steady) | scans (first / steady) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scan in results.scans:
        rows.append(
            f"| {scan.database} | {scan.base} | {scan.lines:,} | {scan.due:,} "
            f"| {duration(scan.first_seconds)} | {scan.per_line_us(scan.first_seconds):.0f} "
            f"| {duration(scan.steady_seconds)} | {scan.per_line_us(scan.steady_seconds):.0f} "
            f"| {duration(scan.new_engine_seconds)} "
            f"| {scan.first_statements:,} / {scan.steady_statements:,} "
            f"| {scan.first_scans} / {scan.steady_scans} |"
        )
    rows += ["", f"{MILLION:,} lines (the scheduler scans every {interval_seconds:.0f} s):"]
    for scan in results.scans:
        if scan.base != GENERATED:
            continue
        if scan.lines >= MILLION:
            how, first, steady = (
                f"measured on {scan.lines:,} lines",
                scan.first_seconds,
                scan.steady_seconds,
            )
        else:
            how = f"estimated from {scan.lines:,} lines"
            first = scan.per_million_seconds(scan.first_seconds)
            steady = scan.per_million_seconds(scan.steady_seconds)
        rows.append(
            f"  {scan.database}, {how}: first scan {first:,.0f} s, steady scan {steady:,.0f} s"
        )
    if any(scan.sent_again for scan in results.scans):
        rows.append("\nA second scan sent reminders again: the scan's once-only rule is broken.")
    return "\n".join(rows)


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)
