"""The SQL account service: every query and state change, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telecom_assistant.accounts.service import (
    BillStatus,
    ChargeCategory,
    FiveGSupport,
    IndoorCoverage,
    OutdoorCoverage,
    PlanKind,
    PortabilityBlocker,
    UnknownLine,
    UnknownPlan,
    UnknownSubscription,
    VerificationOutcome,
)
from telecom_assistant.accounts.sql import (
    CODES_PER_NUMBER,
    CODES_PER_NUMBER_DAILY,
    WRONG_CODES_PER_NUMBER,
    SqlAccountService,
    _conversation_key,
)
from telecom_assistant.accounts.tables import (
    SmsOutboxRow,
    VerificationCodeRow,
    VerificationCounterRow,
)
from telecom_assistant.clock import add_months, cycle_bounds
from telecom_assistant.settings import Verification
from tests.conftest import TODAY

CONTRACT_ENDING_SOON = "13800000001"
DATA_OVERAGE = "13800000002"
ROAMING = "13800000003"
NO_CONSENT = "13800000004"
ARREARS = "13800000005"
FOUR_G_PHONE_ON_5G = "13800000006"
INDOOR_NO_5G = "13800000007"
PREPAID_LOW = "13800000008"
BROADBAND = "13800000009"
SENIOR = "13800000010"
OVERPAYING_UNLIMITED = "13800000011"
LIGHT_USER = "13800000012"
NEW_LINE = "13800000013"
MANY_ADDONS = "13800000014"
CAN_PORT = "13800000017"
NEAR_DATA_LIMIT = "13800000018"


def sent_code(service, msisdn: str) -> str:
    return re.search(r"\b\d{6}\b", service.latest_sms(msisdn)).group()


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def outbox(engine, msisdn: str) -> int:
    with Session(engine) as session:
        return session.scalar(
            select(func.count()).select_from(SmsOutboxRow).where(SmsOutboxRow.msisdn == msisdn)
        )


def counted(engine, limit, subject: str) -> int:
    with Session(engine) as session:
        row = session.get(VerificationCounterRow, (limit.scope, subject))
        return row.count if row else 0


def wrong_attempts(engine, msisdn: str, conversation_id: str) -> int:
    with Session(engine) as session:
        row = session.get(VerificationCodeRow, (msisdn, _conversation_key(conversation_id)))
        return row.wrong_attempts


CUSTOMER = "customer-chat"
STRANGER = "stranger-chat"
UNKNOWN = "13999999999"  # well formed, not a line
SENT, VERIFIED, WRONG, LOCKED, THROTTLED = (
    VerificationOutcome.CODE_SENT,
    VerificationOutcome.VERIFIED,
    VerificationOutcome.WRONG_CODE,
    VerificationOutcome.LOCKED,
    VerificationOutcome.THROTTLED,
)


class TestVerification:
    def test_code_goes_to_the_outbox_not_the_caller(self, service):
        result = service.send_verification_code(DATA_OVERAGE, CUSTOMER)
        assert result.outcome == SENT
        code = sent_code(service, DATA_OVERAGE)
        assert code not in repr(result)
        assert service.check_verification_code(DATA_OVERAGE, code, CUSTOMER).outcome == VERIFIED

    def test_a_code_works_once(self, service):
        service.send_verification_code(DATA_OVERAGE, CUSTOMER)
        code = sent_code(service, DATA_OVERAGE)
        service.check_verification_code(DATA_OVERAGE, code, CUSTOMER)
        outcome = service.check_verification_code(DATA_OVERAGE, code, CUSTOMER).outcome
        assert outcome == VerificationOutcome.NO_CODE

    def test_a_code_belongs_to_the_conversation_that_asked_for_it(self, service):
        service.send_verification_code(DATA_OVERAGE, CUSTOMER)
        code = sent_code(service, DATA_OVERAGE)
        outcome = service.check_verification_code(DATA_OVERAGE, code, STRANGER).outcome
        assert outcome == VerificationOutcome.NO_CODE
        assert service.check_verification_code(DATA_OVERAGE, code, CUSTOMER).outcome == VERIFIED

    def test_a_new_code_replaces_the_old_one(self, service, monkeypatch):
        codes = iter([111111, 222222])
        monkeypatch.setattr(
            "telecom_assistant.accounts.sql.secrets.randbelow", lambda _: next(codes)
        )
        service.send_verification_code(DATA_OVERAGE, CUSTOMER)
        service.send_verification_code(DATA_OVERAGE, CUSTOMER)
        assert service.check_verification_code(DATA_OVERAGE, "111111", CUSTOMER).outcome == WRONG
        assert service.check_verification_code(DATA_OVERAGE, "222222", CUSTOMER).outcome == VERIFIED

    def test_code_expires_after_five_minutes(self, service, clock):
        service.send_verification_code(DATA_OVERAGE, CUSTOMER)
        code = sent_code(service, DATA_OVERAGE)
        clock.advance(minutes=5, seconds=1)
        outcome = service.check_verification_code(DATA_OVERAGE, code, CUSTOMER).outcome
        assert outcome == VerificationOutcome.EXPIRED

    def test_code_still_valid_just_before_five_minutes(self, service, clock):
        service.send_verification_code(DATA_OVERAGE, CUSTOMER)
        code = sent_code(service, DATA_OVERAGE)
        clock.advance(minutes=4, seconds=59)
        assert service.check_verification_code(DATA_OVERAGE, code, CUSTOMER).outcome == VERIFIED

    def test_three_wrong_codes_lock_the_conversation_for_fifteen_minutes(self, service, clock):
        service.send_verification_code(DATA_OVERAGE, CUSTOMER)
        code = sent_code(service, DATA_OVERAGE)
        wrong = wrong_code(code)
        first, second, third = (
            service.check_verification_code(DATA_OVERAGE, wrong, CUSTOMER) for _ in range(3)
        )
        assert (first.outcome, first.attempts_left) == (WRONG, 2)
        assert (second.outcome, second.attempts_left) == (WRONG, 1)
        assert third.outcome == LOCKED
        assert third.retry_at == clock.now + timedelta(minutes=15)
        # Locked: even the right code and a fresh code are refused.
        assert service.check_verification_code(DATA_OVERAGE, code, CUSTOMER).outcome == LOCKED
        assert service.send_verification_code(DATA_OVERAGE, CUSTOMER).outcome == LOCKED
        clock.advance(minutes=14, seconds=59)
        assert service.send_verification_code(DATA_OVERAGE, CUSTOMER).outcome == LOCKED
        clock.advance(seconds=2)
        assert service.send_verification_code(DATA_OVERAGE, CUSTOMER).attempts_left == 3
        fresh = sent_code(service, DATA_OVERAGE)
        assert service.check_verification_code(DATA_OVERAGE, fresh, CUSTOMER).outcome == VERIFIED

    def test_a_strangers_wrong_codes_do_not_lock_the_customer_out(self, service):
        service.send_verification_code(DATA_OVERAGE, STRANGER)
        guessed = wrong_code(sent_code(service, DATA_OVERAGE))
        outcomes = [
            service.check_verification_code(DATA_OVERAGE, guessed, STRANGER).outcome
            for _ in range(3)
        ]
        assert outcomes == [WRONG, WRONG, LOCKED]
        assert service.send_verification_code(DATA_OVERAGE, CUSTOMER).outcome == SENT
        code = sent_code(service, DATA_OVERAGE)
        assert service.check_verification_code(DATA_OVERAGE, code, CUSTOMER).outcome == VERIFIED

    def test_asking_for_new_codes_does_not_reset_wrong_attempts(self, service):
        for expected in (WRONG, WRONG, LOCKED):
            service.send_verification_code(DATA_OVERAGE, CUSTOMER)
            code = sent_code(service, DATA_OVERAGE)
            outcome = service.check_verification_code(
                DATA_OVERAGE, wrong_code(code), CUSTOMER
            ).outcome
            assert outcome == expected

    def test_lock_is_per_number(self, service):
        service.send_verification_code(DATA_OVERAGE, CUSTOMER)
        code = sent_code(service, DATA_OVERAGE)
        for _ in range(3):
            service.check_verification_code(DATA_OVERAGE, wrong_code(code), CUSTOMER)
        assert service.send_verification_code(ROAMING, CUSTOMER).outcome == SENT

    def test_ten_wrong_codes_an_hour_lock_the_number_in_every_conversation(self, service, clock):
        """Strangers in three conversations spend nine guesses; the owner's right code in a
        fourth is not counted; the tenth wrong code locks the number for the rest of the hour,
        for everyone."""
        started = clock.now
        for stranger in ("stranger-1", "stranger-2", "stranger-3"):
            service.send_verification_code(DATA_OVERAGE, stranger)
            guessed = wrong_code(sent_code(service, DATA_OVERAGE))
            for _ in range(3):
                service.check_verification_code(DATA_OVERAGE, guessed, stranger)
        clock.advance(minutes=10)  # codes per number: three per ten minutes
        service.send_verification_code(DATA_OVERAGE, CUSTOMER)
        code = sent_code(service, DATA_OVERAGE)
        assert service.check_verification_code(DATA_OVERAGE, code, CUSTOMER).outcome == VERIFIED
        service.send_verification_code(DATA_OVERAGE, "stranger-4")
        guessed = wrong_code(sent_code(service, DATA_OVERAGE))
        assert service.check_verification_code(DATA_OVERAGE, guessed, "stranger-4").outcome == WRONG
        refused = service.send_verification_code(DATA_OVERAGE, "customer-later")
        assert (refused.outcome, refused.retry_at) == (LOCKED, started + timedelta(hours=1))
        code = sent_code(service, DATA_OVERAGE)  # stranger-4's code, still valid
        assert service.check_verification_code(DATA_OVERAGE, code, "stranger-4").outcome == LOCKED
        clock.advance(minutes=50)
        assert service.send_verification_code(DATA_OVERAGE, "customer-later").outcome == SENT
        code = sent_code(service, DATA_OVERAGE)
        outcome = service.check_verification_code(DATA_OVERAGE, code, "customer-later").outcome
        assert outcome == VERIFIED

    def test_three_codes_per_number_in_ten_minutes(self, service, engine, clock):
        started = clock.now
        for conversation in ("chat-1", "chat-2", "chat-3"):
            assert service.send_verification_code(DATA_OVERAGE, conversation).outcome == SENT
        last_code = sent_code(service, DATA_OVERAGE)
        clock.advance(minutes=4)
        refused = service.send_verification_code(DATA_OVERAGE, "chat-4")
        assert (refused.outcome, refused.retry_at) == (THROTTLED, started + timedelta(minutes=10))
        assert outbox(engine, DATA_OVERAGE) == 3
        # Refused, nothing changed: chat-3's code still works.
        assert (
            service.check_verification_code(DATA_OVERAGE, last_code, "chat-3").outcome == VERIFIED
        )
        clock.advance(minutes=6)
        assert service.send_verification_code(DATA_OVERAGE, "chat-4").outcome == SENT

    def test_ten_codes_per_number_a_day(self, service, clock):
        started = clock.now
        for batch in range(4):
            for index in range(3 if batch < 3 else 1):
                outcome = service.send_verification_code(
                    DATA_OVERAGE, f"chat-{batch}-{index}"
                ).outcome
                assert outcome == SENT
            clock.advance(minutes=10)
        refused = service.send_verification_code(DATA_OVERAGE, "chat-late")
        assert (refused.outcome, refused.retry_at) == (THROTTLED, started + timedelta(days=1))

    def test_three_codes_per_conversation_in_ten_minutes_whatever_the_number(self, service, engine):
        for msisdn in (DATA_OVERAGE, ROAMING, NO_CONSENT):
            assert service.send_verification_code(msisdn, STRANGER).outcome == SENT
        assert service.send_verification_code(ARREARS, STRANGER).outcome == THROTTLED
        assert outbox(engine, ARREARS) == 0
        assert service.send_verification_code(ARREARS, CUSTOMER).outcome == SENT

    def test_a_throttled_send_counts_against_no_limit(self, service, engine):
        for msisdn in (DATA_OVERAGE, ROAMING, NO_CONSENT, ARREARS):
            service.send_verification_code(msisdn, STRANGER)
        assert counted(engine, CODES_PER_NUMBER, ARREARS) == 0
        assert counted(engine, CODES_PER_NUMBER_DAILY, ARREARS) == 0

    def test_an_unknown_number_is_answered_like_a_line_and_sent_nothing(self, service, engine):
        assert service.send_verification_code(UNKNOWN, STRANGER) == service.send_verification_code(
            DATA_OVERAGE, CUSTOMER
        )
        assert service.latest_sms(UNKNOWN) is None and outbox(engine, UNKNOWN) == 0
        outcomes = [
            service.check_verification_code(UNKNOWN, f"{guess:06d}", STRANGER).outcome
            for guess in range(3)
        ]
        assert outcomes == [WRONG, WRONG, LOCKED]
        assert counted(engine, WRONG_CODES_PER_NUMBER, UNKNOWN) == 3

    def test_an_unknown_number_is_throttled_like_a_line(self, service):
        for conversation in ("chat-1", "chat-2", "chat-3"):
            assert service.send_verification_code(UNKNOWN, conversation).outcome == SENT
        assert service.send_verification_code(UNKNOWN, "chat-4").outcome == THROTTLED

    def test_no_code_asked_for(self, service):
        outcome = service.check_verification_code(UNKNOWN, "123456", STRANGER).outcome
        assert outcome == VerificationOutcome.NO_CODE

    @pytest.mark.parametrize("conversation_id", ["x" * 5000, "\ud800\x00 chat", ""])
    def test_any_conversation_id_is_accepted(self, service, conversation_id):
        assert service.send_verification_code(DATA_OVERAGE, conversation_id).outcome == SENT
        code = sent_code(service, DATA_OVERAGE)
        outcome = service.check_verification_code(DATA_OVERAGE, code, conversation_id).outcome
        assert outcome == VERIFIED


def at_once(count: int, attempt) -> list:
    """`attempt(i)` from `count` threads released together."""
    start = threading.Barrier(count)

    def run(index: int):
        start.wait()
        return attempt(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.mark.postgres
class TestVerificationUnderConcurrency:
    """Requests that arrive together, on PostgreSQL (several action servers, one database)."""

    def test_twelve_guesses_at_once_count_three_and_lock_the_conversation(
        self, postgres_engine, clock
    ):
        service = SqlAccountService(postgres_engine, clock=clock)
        service.send_verification_code(DATA_OVERAGE, STRANGER)
        code = sent_code(service, DATA_OVERAGE)
        results = at_once(
            12, lambda _: service.check_verification_code(DATA_OVERAGE, wrong_code(code), STRANGER)
        )
        assert sorted(r.outcome.value for r in results) == ["locked"] * 10 + ["wrong_code"] * 2
        assert sorted(r.attempts_left for r in results if r.outcome == WRONG) == [1, 2]
        assert wrong_attempts(postgres_engine, DATA_OVERAGE, STRANGER) == 3
        assert counted(postgres_engine, WRONG_CODES_PER_NUMBER, DATA_OVERAGE) == 3
        assert service.check_verification_code(DATA_OVERAGE, code, STRANGER).outcome == LOCKED
        # The customer's own conversation is not locked out.
        service.send_verification_code(DATA_OVERAGE, CUSTOMER)
        code = sent_code(service, DATA_OVERAGE)
        assert service.check_verification_code(DATA_OVERAGE, code, CUSTOMER).outcome == VERIFIED

    def test_guesses_from_many_conversations_at_once_stop_at_the_numbers_limit(
        self, postgres_engine, clock
    ):
        """Two strangers have spent six guesses; three more, with live codes, guess three
        times each at once: four more guesses are compared, the number is then locked."""
        service = SqlAccountService(postgres_engine, clock=clock)
        first_guess_at = clock.now
        for stranger in ("stranger-0", "stranger-1"):
            service.send_verification_code(DATA_OVERAGE, stranger)
            guessed = wrong_code(sent_code(service, DATA_OVERAGE))
            for _ in range(3):
                service.check_verification_code(DATA_OVERAGE, guessed, stranger)
        clock.advance(minutes=10)  # codes per number: three per ten minutes
        strangers = ["stranger-2", "stranger-3", "stranger-4"]
        guesses = {}
        for stranger in strangers:
            service.send_verification_code(DATA_OVERAGE, stranger)
            guesses[stranger] = wrong_code(sent_code(service, DATA_OVERAGE))
        results = at_once(
            9,
            lambda i: service.check_verification_code(
                DATA_OVERAGE, guesses[strangers[i % 3]], strangers[i % 3]
            ),
        )
        assert counted(postgres_engine, WRONG_CODES_PER_NUMBER, DATA_OVERAGE) == 10
        assert sum(wrong_attempts(postgres_engine, DATA_OVERAGE, s) for s in strangers) == 4
        assert sum(r.outcome == LOCKED for r in results) >= 5
        refused = service.send_verification_code(DATA_OVERAGE, CUSTOMER)
        assert (refused.outcome, refused.retry_at) == (LOCKED, first_guess_at + timedelta(hours=1))
        clock.advance(minutes=50)
        service.send_verification_code(DATA_OVERAGE, CUSTOMER)
        code = sent_code(service, DATA_OVERAGE)
        assert service.check_verification_code(DATA_OVERAGE, code, CUSTOMER).outcome == VERIFIED

    def test_twelve_conversations_asking_at_once_get_three_codes(self, postgres_engine, clock):
        service = SqlAccountService(postgres_engine, clock=clock)
        results = at_once(12, lambda i: service.send_verification_code(DATA_OVERAGE, f"chat-{i}"))
        assert sorted(r.outcome.value for r in results) == ["code_sent"] * 3 + ["throttled"] * 9
        assert outbox(postgres_engine, DATA_OVERAGE) == 3
        assert counted(postgres_engine, CODES_PER_NUMBER_DAILY, DATA_OVERAGE) == 3

    def test_one_conversation_asking_for_six_numbers_at_once_gets_three_codes(
        self, postgres_engine, clock
    ):
        service = SqlAccountService(postgres_engine, clock=clock)
        numbers = [DATA_OVERAGE, ROAMING, NO_CONSENT, ARREARS, BROADBAND, SENIOR]
        results = at_once(6, lambda i: service.send_verification_code(numbers[i], STRANGER))
        assert sum(r.outcome == SENT for r in results) == 3
        assert sum(outbox(postgres_engine, msisdn) for msisdn in numbers) == 3


class TestPlans:
    def test_catalogue_covers_4g_5g_prepaid_and_contract(self, service):
        plans = service.list_plans()
        assert len(plans) >= 8
        assert {p.is_5g for p in plans} == {True, False}
        assert {p.kind for p in plans} == {PlanKind.PREPAID, PlanKind.POSTPAID}
        assert any(p.contract_months and p.termination_fee for p in plans)
        assert all(p.conditions and p.conditions_zh for p in plans)
        assert [p.monthly_fee for p in plans] == sorted(p.monthly_fee for p in plans)

    @pytest.mark.parametrize(
        "query, plan_id",
        [
            ("plus_5g_129", "plus_5g_129"),
            ("5G Plus 129", "plus_5g_129"),
            ("5g plus", "plus_5g_129"),
            ("unlimited", "unlimited_5g_199"),
            ("the basic 39 plan", "basic_4g_39"),
            ("5G全家融合169元套餐", "fusion_5g_169"),
        ],
    )
    def test_find_plan_by_loose_name(self, service, query, plan_id):
        assert service.find_plan(query).id == plan_id

    def test_unknown_plan(self, service):
        with pytest.raises(UnknownPlan):
            service.find_plan("pizza deluxe")

    def test_get_line(self, service):
        line = service.get_line(CONTRACT_ENDING_SOON)
        assert line.customer_name == "Li Wei"
        assert line.plan.id == "plus_5g_129"
        assert line.contract_end == date(2026, 12, 13)
        assert line.device.five_g == FiveGSupport.SA_NSA
        with pytest.raises(UnknownLine):
            service.get_line("13999999999")


class TestRecommendation:
    def test_overpaying_customer_is_shown_the_saving(self, service):
        rec = service.recommend_plan(OVERPAYING_UNLIMITED)
        assert rec.current.id == "unlimited_5g_199"
        assert rec.recommended.monthly_fee < rec.current.monthly_fee
        assert rec.monthly_saving == rec.current_monthly_cost - rec.recommended_monthly_cost > 5000
        assert rec.cycles_considered == 3

    def test_no_5g_push_for_a_4g_phone(self, service):
        rec = service.recommend_plan(FOUR_G_PHONE_ON_5G)
        assert not rec.recommended.is_5g
        assert rec.monthly_saving > 0

    def test_overage_counts_towards_the_real_cost(self, service):
        rec = service.recommend_plan(DATA_OVERAGE)
        assert rec.current_monthly_cost > rec.current.monthly_fee
        assert rec.recommended.data_mb > rec.current.data_mb

    def test_age_restricted_plans_only_for_eligible_customers(self, service):
        assert service.recommend_plan(LIGHT_USER).recommended.min_age == 0
        assert service.recommend_plan(SENIOR).recommended.id == "senior_4g_18"

    def test_broadband_customers_keep_broadband(self, service):
        assert service.recommend_plan(BROADBAND).recommended.broadband_mbps > 0


class TestPlanChange:
    def test_quote_states_the_termination_fee_in_contract(self, service):
        quote = service.quote_plan_change(OVERPAYING_UNLIMITED, "5g plus")
        assert quote.termination_fee == 50000
        assert quote.effective_from == date(2026, 12, 1)
        assert service.get_line(OVERPAYING_UNLIMITED).next_plan is None  # a quote changes nothing

    def test_no_fee_out_of_contract(self, service):
        assert service.quote_plan_change(LIGHT_USER, "basic_4g_39").termination_fee == 0

    def test_change_is_scheduled_for_next_cycle(self, service):
        service.change_plan(LIGHT_USER, "4G Basic 39")
        line = service.get_line(LIGHT_USER)
        assert line.plan.id == "plus_4g_59"
        assert line.next_plan.id == "basic_4g_39"
        assert line.next_plan_from == date(2026, 12, 1)


class TestUsageAndBills:
    def test_current_usage_and_days_left(self, service):
        report = service.current_usage(NEAR_DATA_LIMIT)
        assert report.days_left == 7
        assert report.allowances_near_limit() == ["data"]
        assert report.data_left_mb == report.plan.data_mb - report.usage.data_used_mb

    def test_no_warning_below_eighty_percent(self, service):
        assert service.current_usage(CAN_PORT).allowances_near_limit() == []

    def test_three_closed_cycles_of_history(self, service):
        history = service.usage_history(DATA_OVERAGE, 3)
        assert [u.cycle_start for u in history] == [
            date(2026, 10, 1),
            date(2026, 9, 1),
            date(2026, 8, 1),
        ]

    def test_roaming_bill_is_itemised(self, service):
        bill = service.latest_bill(ROAMING)
        roaming = [line for line in bill.lines if line.category == ChargeCategory.ROAMING]
        assert {line.roaming_country for line in roaming} == {"Japan"}
        assert bill.total == sum(line.amount for line in bill.lines)
        assert bill.status == BillStatus.PAID

    def test_arrears_make_the_bill_overdue(self, service):
        assert service.get_line(ARREARS).arrears > 0

    def test_addon_lines_carry_their_subscription(self, service):
        bill = service.latest_bill(NO_CONSENT)
        addons = [line for line in bill.lines if line.category == ChargeCategory.ADDON]
        assert {line.subscription.addon.id for line in addons} == {"ringback_tone", "news_sms"}
        assert not any(line.subscription.consent_recorded for line in addons)

    def test_prepaid_balance(self, service):
        line = service.get_line(PREPAID_LOW)
        assert line.prepaid_balance == 350 < line.plan.monthly_fee


class TestSubscriptions:
    def test_list_with_fee_start_and_channel(self, service):
        subs = service.active_subscriptions(MANY_ADDONS)
        assert len(subs) == 5
        assert all(s.addon.monthly_fee and s.started_on and s.ordering_channel for s in subs)
        assert sum(not s.consent_recorded for s in subs) == 3

    @pytest.mark.parametrize(
        "query, addon_id",
        [
            ("music", "music_pack"),
            ("GAME PACK", "game_pack"),
            ("the weather sms thing", "weather_sms"),
            ("云盘", "cloud_storage"),
        ],
    )
    def test_find_by_loose_name(self, service, query, addon_id):
        assert service.find_subscription(MANY_ADDONS, query).addon.id == addon_id

    def test_find_only_active_ones(self, service):
        with pytest.raises(UnknownSubscription):
            service.find_subscription(MANY_ADDONS, "video vip")

    def test_cancel_records_time_and_dispute(self, service, clock):
        music = service.find_subscription(MANY_ADDONS, "music")
        cancelled = service.cancel_subscriptions(MANY_ADDONS, [music.id], consent_disputed=True)
        assert [(s.id, s.cancelled_at, s.consent_disputed) for s in cancelled] == [
            (music.id, clock.now, True)
        ]
        assert music.id not in {s.id for s in service.active_subscriptions(MANY_ADDONS)}

    def test_cannot_cancel_another_customers_addon(self, service):
        other = service.active_subscriptions(NO_CONSENT)[0]
        assert service.cancel_subscriptions(MANY_ADDONS, [other.id], False) == []
        assert other.id in {s.id for s in service.active_subscriptions(NO_CONSENT)}


class TestNetwork:
    def test_district_coverage(self, service):
        (coverage,) = service.assess_5g("Shanghai", "Chongming", None).coverage
        assert (coverage.outdoor, coverage.indoor) == (OutdoorCoverage.NSA, IndoorCoverage.NONE)

    def test_city_coverage_lists_its_districts(self, service):
        assert len(service.assess_5g("beijing", None, None).coverage) == 5

    def test_verified_line_defaults_to_home_district_with_device_and_plan(self, service):
        assessment = service.assess_5g(None, None, INDOOR_NO_5G)
        assert [c.district for c in assessment.coverage] == ["chongming"]
        assert assessment.device.five_g == FiveGSupport.SA_NSA
        assert assessment.plan.is_5g

    def test_unknown_place(self, service):
        assert service.assess_5g("Atlantis", None, None).coverage == []

    def test_apostrophes_in_district_names(self, service):
        assert len(service.assess_5g(None, "Jing'an", None).coverage) == 1


class TestPortability:
    def test_eligible_line(self, service):
        assert service.portability_status(CAN_PORT).can_port_now

    def test_arrears_block(self, service):
        status = service.portability_status(ARREARS)
        assert status.blockers == [PortabilityBlocker.ARREARS] and status.arrears > 0

    def test_contract_blocks_until_its_end(self, service):
        status = service.portability_status(CONTRACT_ENDING_SOON)
        assert status.blockers == [PortabilityBlocker.IN_CONTRACT]
        assert status.eligible_from == date(2026, 12, 13)
        assert status.termination_fee == 30000

    def test_new_lines_wait_120_days(self, service):
        status = service.portability_status(NEW_LINE)
        assert PortabilityBlocker.TOO_NEW in status.blockers
        assert (status.eligible_from - service.get_line(NEW_LINE).activated_on).days == 120


def test_an_operator_may_change_the_throttles_counts_but_not_their_windows():
    from telecom_assistant.accounts.sql import VerificationThrottles

    throttles = VerificationThrottles.from_settings(
        Verification(codes_per_number=5, wrong_codes_per_number=20)
    )
    assert throttles.codes_per_number.count == 5
    assert throttles.codes_per_number.window == CODES_PER_NUMBER.window
    assert throttles.wrong_codes_per_number.count == 20
    assert throttles.codes_per_number_daily == CODES_PER_NUMBER_DAILY


def test_the_throttles_given_are_the_ones_applied(engine, clock):
    from telecom_assistant.accounts.sql import VerificationThrottles

    service = SqlAccountService(
        engine,
        clock=clock,
        limits=VerificationThrottles.from_settings(Verification(codes_per_number=1)),
    )
    assert (
        service.send_verification_code("13800000001", "a").outcome is VerificationOutcome.CODE_SENT
    )
    assert (
        service.send_verification_code("13800000001", "b").outcome is VerificationOutcome.THROTTLED
    )


# --- the reminder scan's view of the lines ------------------------------------------------


@pytest.mark.parametrize("batch", [5, 500])
def test_the_scans_snapshots_say_what_the_per_line_calls_say(service, batch):
    snapshots, after = [], None
    while page := service.line_snapshots(after, batch):
        snapshots += page
        after = page[-1].msisdn
    assert [snapshot.msisdn for snapshot in snapshots] == [
        f"138000000{n:02d}" for n in range(1, 23)
    ]
    for snapshot in snapshots:
        line = service.get_line(snapshot.msisdn)
        assert (snapshot.plan, snapshot.contract_end, snapshot.prepaid_balance) == (
            line.plan,
            line.contract_end,
            line.prepaid_balance,
        )
        assert snapshot.usage == service.current_usage(snapshot.msisdn).usage
        # This cycle's bill (none yet) and the two before, oldest first.
        bills = [
            replace(bill, lines=())
            for bill in service.recent_bills(snapshot.msisdn, 3)
            if bill.cycle_start >= add_months(cycle_bounds(TODAY)[0], -2)
        ]
        assert list(snapshot.recent_bills) == bills[::-1] and len(bills) == 2
        assert list(snapshot.subscriptions) == list(service.active_subscriptions(snapshot.msisdn))
    # Paid and unpaid latest bills both appear in the demo: the statuses are compared above.
    assert {snapshot.latest_bill.status for snapshot in snapshots} >= {
        BillStatus.PAID,
        BillStatus.UNPAID,
    }
