"""Deterministic demo data: the catalogue plus 22 customers whose situations cover what
customers complain about. Dates are relative to ``today`` so that the demo always has three
closed billing cycles and a current one; the same ``today`` always gives the same database.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from demo.catalogue import ADDONS, COVERAGE, DEVICES, GB, PLANS
from telecom_assistant.accounts import tariffs
from telecom_assistant.accounts.tables import (
    AddOnRow,
    BillLineRow,
    BillRow,
    CoverageRow,
    CustomerRow,
    DeviceRow,
    LineRow,
    PaymentRow,
    PlanRow,
    SubscriptionRow,
    UsageRow,
)
from telecom_assistant.clock import add_months, cycle_bounds
from telecom_assistant.schema import Area, drop_areas, migrate

BILL_DUE_DAYS = 25  # a bill is due 25 days after its cycle ends
CLOSED_CYCLES = 3


@dataclass(frozen=True)
class AddOnOrder:
    addon_id: str
    months_ago: int
    channel: str
    consent: str | None  # None: the operator has no record of consent


@dataclass(frozen=True)
class DemoLine:
    msisdn: str
    name: str
    plan_id: str
    device: str
    city: str
    district: str
    story: str
    data_gb: float  # typical monthly use
    minutes: int
    sms: int
    age: int = 35
    months_active: int = 30
    contract_end_in_days: int | None = None  # from today; None: no contract running
    prepaid_balance: int | None = None
    addons: tuple[AddOnOrder, ...] = ()
    roaming: tuple[tuple[int, str, int, int], ...] = ()  # (cycles ago, country, MB, minutes)
    unpaid_cycles: tuple[int, ...] = ()  # cycles ago whose bill was never paid
    current_cycle_share: float | None = None  # force this cycle's data use (share of plan)
    gateway_rental: bool = False


APP = "mobile app"
SMS_MARKETING = "SMS marketing reply"
STORE = "retail store"
HOTLINE = "outbound sales call"

DEMO_LINES = [
    DemoLine(
        "13800000001",
        "Li Wei",
        "plus_5g_129",
        "Huawei Mate 60 Pro",
        "beijing",
        "haidian",
        "5G contract ending in 20 days; video add-on ordered in the app with consent",
        data_gb=45,
        minutes=420,
        sms=30,
        contract_end_in_days=20,
        addons=(
            AddOnOrder("video_vip", 10, APP, "tapped 'subscribe' in app, 2 SMS confirmations"),
        ),
    ),
    DemoLine(
        "13800000002",
        "Wang Fang",
        "basic_4g_39",
        "Xiaomi 14",
        "shanghai",
        "pudong",
        "data overage every month on a 10 GB plan",
        data_gb=15.5,
        minutes=150,
        sms=20,
    ),
    DemoLine(
        "13800000003",
        "Zhang Min",
        "plus_4g_59",
        "iPhone 15",
        "guangzhou",
        "tianhe",
        "roaming 'sky-high bill' after a trip to Japan last month",
        data_gb=18,
        minutes=300,
        sms=40,
        contract_end_in_days=200,
        roaming=((1, "Japan", 620, 35),),
    ),
    DemoLine(
        "13800000004",
        "Liu Yang",
        "basic_4g_39",
        "OPPO Reno 11",
        "changsha",
        "furong",
        "ringback tone and news SMS with no consent record",
        data_gb=7,
        minutes=180,
        sms=30,
        addons=(
            AddOnOrder("ringback_tone", 14, HOTLINE, None),
            AddOnOrder("news_sms", 8, SMS_MARKETING, None),
        ),
    ),
    DemoLine(
        "13800000005",
        "Chen Jing",
        "plus_4g_59",
        "Honor 9X",
        "jinan",
        "lixia",
        "arrears: two bills unpaid, one overdue (cannot port out)",
        data_gb=20,
        minutes=350,
        sms=20,
        contract_end_in_days=-30,
        unpaid_cycles=(1, 2),
    ),
    DemoLine(
        "13800000006",
        "Yang Lei",
        "starter_5g_79",
        "iPhone 11",
        "beijing",
        "chaoyang",
        "4G phone on a 5G plan: pays for 5G it cannot use",
        data_gb=9,
        minutes=200,
        sms=10,
        contract_end_in_days=-60,
    ),
    DemoLine(
        "13800000007",
        "Zhao Li",
        "plus_5g_129",
        "Huawei Mate 60 Pro",
        "shanghai",
        "chongming",
        "5G phone in a district with outdoor NSA only and no indoor 5G",
        data_gb=50,
        minutes=500,
        sms=20,
        contract_end_in_days=400,
    ),
    DemoLine(
        "13800000008",
        "Huang Mei",
        "prepaid_4g_29",
        "Redmi 9A",
        "chengdu",
        "pidu",
        "prepaid with a low balance (3.50 yuan)",
        data_gb=6,
        minutes=120,
        sms=15,
        prepaid_balance=350,
    ),
    DemoLine(
        "13800000009",
        "Zhou Jie",
        "fusion_5g_169",
        "Xiaomi 14",
        "changsha",
        "yuelu",
        "home broadband customer on a 5G + broadband bundle",
        data_gb=35,
        minutes=600,
        sms=40,
        contract_end_in_days=300,
        gateway_rental=True,
    ),
    DemoLine(
        "13800000010",
        "Wu Hao",
        "senior_4g_18",
        "Senior phone K1",
        "jinan",
        "licheng",
        "senior customer, low use, caller ID charged monthly",
        data_gb=0.8,
        minutes=260,
        sms=5,
        age=68,
        addons=(AddOnOrder("caller_id", 40, STORE, "signed paper form in store"),),
    ),
    DemoLine(
        "13800000011",
        "Xu Na",
        "unlimited_5g_199",
        "iPhone 15",
        "shanghai",
        "xuhui",
        "pays for 'unlimited' but uses ~40 GB: a cheaper 5G plan fits, contract fee applies",
        data_gb=40,
        minutes=500,
        sms=30,
        contract_end_in_days=150,
    ),
    DemoLine(
        "13800000012",
        "Sun Qiang",
        "plus_4g_59",
        "Honor 9X",
        "guangzhou",
        "yuexiu",
        "light user on a 30 GB plan, out of contract: a cheaper plan fits",
        data_gb=2,
        minutes=80,
        sms=10,
        contract_end_in_days=-100,
    ),
    DemoLine(
        "13800000013",
        "Ma Lin",
        "basic_4g_39",
        "OPPO Reno 11",
        "chengdu",
        "jinjiang",
        "line activated two months ago: too new to port out",
        data_gb=8,
        minutes=150,
        sms=10,
        months_active=2,
    ),
    DemoLine(
        "13800000014",
        "Zhu Tao",
        "basic_4g_39",
        "Samsung Galaxy S10 5G",
        "beijing",
        "dongcheng",
        "five add-ons, three without consent: 'cancel them all'",
        data_gb=9,
        minutes=190,
        sms=60,
        addons=(
            AddOnOrder("music_pack", 20, HOTLINE, None),
            AddOnOrder("game_pack", 12, SMS_MARKETING, None),
            AddOnOrder("weather_sms", 30, SMS_MARKETING, None),
            AddOnOrder("cloud_storage", 6, APP, "in-app purchase confirmed by SMS code"),
            AddOnOrder("reading_vip", 3, APP, "in-app purchase confirmed by SMS code"),
        ),
    ),
    DemoLine(
        "13800000015",
        "Hu Xin",
        "basic_4g_39",
        "Xiaomi 14",
        "guangzhou",
        "panyu",
        "talks a lot: voice overage every month",
        data_gb=6,
        minutes=420,
        sms=20,
    ),
    DemoLine(
        "13800000016",
        "Guo Ping",
        "prepaid_5g_59",
        "Xiaomi 14",
        "chengdu",
        "wuhou",
        "prepaid 5G in an SA district, healthy balance",
        data_gb=22,
        minutes=250,
        sms=20,
        prepaid_balance=8650,
    ),
    DemoLine(
        "13800000017",
        "He Yan",
        "basic_4g_39",
        "iPhone 15",
        "beijing",
        "chaoyang",
        "all paid, out of contract: can port out today",
        data_gb=8,
        minutes=160,
        sms=20,
        months_active=60,
    ),
    DemoLine(
        "13800000018",
        "Lin Hui",
        "plus_4g_59",
        "OPPO Reno 11",
        "shanghai",
        "jingan",
        "already used 85% of this month's data: usage warning",
        data_gb=26,
        minutes=320,
        sms=30,
        contract_end_in_days=90,
        current_cycle_share=0.85,
    ),
    DemoLine(
        "13800000019",
        "Luo Bin",
        "starter_5g_79",
        "Huawei Mate 20 X 5G",
        "guangzhou",
        "tianhe",
        "NSA-only 5G phone in an SA area",
        data_gb=30,
        minutes=400,
        sms=20,
        contract_end_in_days=120,
    ),
    DemoLine(
        "13800000020",
        "Gao Yu",
        "plus_5g_129",
        "iPhone 15",
        "beijing",
        "haidian",
        "roaming in Hong Kong with a roaming day pass; data booster add-on",
        data_gb=70,
        minutes=600,
        sms=40,
        contract_end_in_days=500,
        addons=(
            AddOnOrder("roaming_pass", 2, APP, "ordered in app before travel"),
            AddOnOrder("data_booster", 5, APP, "ordered in app"),
        ),
        roaming=((1, "Hong Kong", 900, 20), (2, "Hong Kong", 300, 10)),
    ),
    DemoLine(
        "13800000021",
        "Liang Qing",
        "lite_4g_19",
        "Redmi 9A",
        "changsha",
        "wangcheng",
        "student on a 3 GB prepaid plan, data overage, no 5G in the district",
        data_gb=5.2,
        minutes=60,
        sms=30,
        prepaid_balance=1220,
    ),
    DemoLine(
        "13800000022",
        "Song Jia",
        "starter_5g_79",
        "Xiaomi 14",
        "jinan",
        "lixia",
        "last bill not paid yet; missed call alert add-on",
        data_gb=28,
        minutes=380,
        sms=20,
        contract_end_in_days=250,
        unpaid_cycles=(1,),
        addons=(AddOnOrder("missed_call_alert", 18, STORE, "signed in store"),),
    ),
]


def reset_database(engine: Engine, today: date) -> None:
    """Drop the accounts, the tickets, the reminders sent to the demo lines and the SMS hall's
    open questions (about add-ons that are gone), migrate them afresh and load the demo data.
    Agents' console accounts are kept: they are not demo data, and their passwords are not in
    the repository."""
    drop_areas(engine, [Area.ACCOUNTS, Area.TICKETS, Area.REMINDERS, Area.SMS_HALL])
    migrate(engine, [Area.ACCOUNTS, Area.TICKETS, Area.AGENTS, Area.REMINDERS, Area.SMS_HALL])
    with Session(engine, future=True) as session, session.begin():
        seed(session, today)


def seed(session: Session, today: date) -> None:
    plans = {row["id"]: PlanRow(**row) for row in PLANS}
    session.add_all(plans.values())
    addons = {row["id"]: AddOnRow(**row) for row in ADDONS}
    session.add_all(addons.values())
    session.add_all(DeviceRow(model=model, five_g=support) for model, support in DEVICES)
    session.add_all(
        CoverageRow(city=city, district=district, outdoor=outdoor, indoor=indoor)
        for city, district, outdoor, indoor in COVERAGE
    )
    session.flush()
    for demo in DEMO_LINES:
        _seed_line(session, demo, plans[demo.plan_id], addons, today)


def _seed_line(
    session: Session,
    demo: DemoLine,
    plan: PlanRow,
    addons: dict[str, AddOnRow],
    today: date,
) -> None:
    rng = random.Random(demo.msisdn)  # per line, so adding a customer changes no other
    customer = CustomerRow(name=demo.name, birth_year=today.year - demo.age)
    session.add(customer)
    current_start, current_end = cycle_bounds(today)
    contract_end = (
        today + timedelta(days=demo.contract_end_in_days)
        if demo.contract_end_in_days is not None
        else None
    )
    line = LineRow(
        msisdn=demo.msisdn,
        customer=customer,
        plan_id=plan.id,
        device_model=demo.device,
        city=demo.city,
        district=demo.district,
        activated_on=add_months(current_start, -demo.months_active) + timedelta(days=9),
        contract_end=contract_end,
        prepaid_balance=demo.prepaid_balance,
        demo_story=demo.story,
    )
    session.add(line)
    subscriptions = [
        SubscriptionRow(
            msisdn=demo.msisdn,
            addon=addons[order.addon_id],
            started_on=add_months(current_start, -order.months_ago)
            + timedelta(days=rng.randint(2, 25)),
            ordering_channel=order.channel,
            consent_record=order.consent,
        )
        for order in demo.addons
    ]
    session.add_all(subscriptions)
    session.flush()

    roaming = {
        cycles_ago: (country, mb, minutes) for cycles_ago, country, mb, minutes in demo.roaming
    }
    for cycles_ago in range(CLOSED_CYCLES, 0, -1):
        start = add_months(current_start, -cycles_ago)
        end = cycle_bounds(start)[1]
        country, roaming_mb, roaming_minutes = roaming.get(cycles_ago, (None, 0, 0))
        usage = UsageRow(
            msisdn=demo.msisdn,
            cycle_start=start,
            cycle_end=end,
            data_used_mb=round(demo.data_gb * GB * rng.uniform(0.9, 1.1)),
            minutes_used=round(demo.minutes * rng.uniform(0.9, 1.1)),
            sms_used=round(demo.sms * rng.uniform(0.8, 1.2)),
            roaming_data_mb=roaming_mb,
            roaming_minutes=roaming_minutes,
        )
        session.add(usage)
        active = [sub for sub in subscriptions if sub.started_on <= end]
        bill = _bill(demo, plan, usage, active, country)
        session.add(bill)
        if cycles_ago not in demo.unpaid_cycles:
            paid_on = min(end + timedelta(days=3), today)
            session.flush()
            session.add(
                PaymentRow(
                    bill_id=bill.id,
                    amount=sum(item.amount for item in bill.lines),
                    paid_on=paid_on,
                    method="prepaid balance" if plan.kind == "prepaid" else "bank auto-debit",
                )
            )

    elapsed = (today - current_start).days + 1
    month_share = elapsed / ((current_end - current_start).days + 1)
    data_mb = (
        round(plan.data_mb * demo.current_cycle_share)
        if demo.current_cycle_share is not None
        else round(demo.data_gb * GB * month_share * rng.uniform(0.9, 1.1))
    )
    session.add(
        UsageRow(
            msisdn=demo.msisdn,
            cycle_start=current_start,
            cycle_end=current_end,
            data_used_mb=data_mb,
            minutes_used=round(demo.minutes * month_share * rng.uniform(0.9, 1.1)),
            sms_used=round(demo.sms * month_share),
        )
    )


def _bill(
    demo: DemoLine,
    plan: PlanRow,
    usage: UsageRow,
    subscriptions: list[SubscriptionRow],
    roaming_country: str | None,
) -> BillRow:
    bill = BillRow(
        msisdn=demo.msisdn,
        cycle_start=usage.cycle_start,
        cycle_end=usage.cycle_end,
        due_date=usage.cycle_end + timedelta(days=BILL_DUE_DAYS),
    )
    bill.lines.append(
        BillLineRow(
            category="plan_fee", description=f"{plan.name} monthly fee", amount=plan.monthly_fee
        )
    )
    descriptions = {
        "data_overage": "Data beyond the plan",
        "voice_overage": "Calls beyond the plan",
        "sms_overage": "SMS beyond the plan",
    }
    for overage in tariffs.overages(plan, usage):
        bill.lines.append(
            BillLineRow(
                category=overage.category.value,
                description=descriptions[overage.category.value],
                quantity=overage.quantity,
                unit_price=overage.unit_price,
                amount=overage.amount,
            )
        )
    if roaming_country:
        pass_sub = next((s for s in subscriptions if s.addon_id == "roaming_pass"), None)
        if pass_sub is not None:
            days = max(1, math.ceil(usage.roaming_data_mb / GB)) + 2
            bill.lines.append(
                BillLineRow(
                    category="roaming",
                    description=f"Roaming day pass: {roaming_country}",
                    quantity=days,
                    unit_price=tariffs.ROAMING_RATES.day_pass_fee,
                    amount=days * tariffs.ROAMING_RATES.day_pass_fee,
                    subscription_id=pass_sub.id,
                    roaming_country=roaming_country,
                )
            )
        else:
            bill.lines.append(
                BillLineRow(
                    category="roaming",
                    description=f"Roaming data: {roaming_country}",
                    quantity=usage.roaming_data_mb,
                    unit_price=tariffs.ROAMING_RATES.data_per_mb,
                    amount=usage.roaming_data_mb * tariffs.ROAMING_RATES.data_per_mb,
                    roaming_country=roaming_country,
                )
            )
        if usage.roaming_minutes:
            bill.lines.append(
                BillLineRow(
                    category="roaming",
                    description=f"Roaming calls: {roaming_country}",
                    quantity=usage.roaming_minutes,
                    unit_price=tariffs.ROAMING_RATES.voice_per_minute,
                    amount=usage.roaming_minutes * tariffs.ROAMING_RATES.voice_per_minute,
                    roaming_country=roaming_country,
                )
            )
    for sub in subscriptions:
        if sub.addon.monthly_fee:
            bill.lines.append(
                BillLineRow(
                    category="addon",
                    description=sub.addon.name,
                    amount=sub.addon.monthly_fee,
                    subscription_id=sub.id,
                )
            )
    if demo.gateway_rental:
        bill.lines.append(
            BillLineRow(category="broadband", description="Broadband gateway rental", amount=500)
        )
    return bill
