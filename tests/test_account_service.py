"""The SQL account service: every query and state change, on SQLite and on PostgreSQL."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from telecom_assistant.backend.interface import (
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


class TestVerification:
    def test_code_goes_to_the_outbox_not_the_caller(self, service):
        result = service.send_verification_code(DATA_OVERAGE)
        assert result.outcome == VerificationOutcome.CODE_SENT
        code = sent_code(service, DATA_OVERAGE)
        assert code not in repr(result)
        assert service.check_verification_code(DATA_OVERAGE, code).outcome == VerificationOutcome.VERIFIED

    def test_a_code_works_once(self, service):
        service.send_verification_code(DATA_OVERAGE)
        code = sent_code(service, DATA_OVERAGE)
        service.check_verification_code(DATA_OVERAGE, code)
        assert service.check_verification_code(DATA_OVERAGE, code).outcome == VerificationOutcome.NO_CODE

    def test_a_new_code_replaces_the_old_one(self, service, monkeypatch):
        codes = iter([111111, 222222])
        monkeypatch.setattr("telecom_assistant.backend.sql.secrets.randbelow", lambda _: next(codes))
        service.send_verification_code(DATA_OVERAGE)
        service.send_verification_code(DATA_OVERAGE)
        assert service.check_verification_code(DATA_OVERAGE, "111111").outcome == VerificationOutcome.WRONG_CODE
        assert service.check_verification_code(DATA_OVERAGE, "222222").outcome == VerificationOutcome.VERIFIED

    def test_code_expires_after_five_minutes(self, service, clock):
        service.send_verification_code(DATA_OVERAGE)
        code = sent_code(service, DATA_OVERAGE)
        clock.advance(minutes=5, seconds=1)
        assert service.check_verification_code(DATA_OVERAGE, code).outcome == VerificationOutcome.EXPIRED

    def test_code_still_valid_just_before_five_minutes(self, service, clock):
        service.send_verification_code(DATA_OVERAGE)
        code = sent_code(service, DATA_OVERAGE)
        clock.advance(minutes=4, seconds=59)
        assert service.check_verification_code(DATA_OVERAGE, code).outcome == VerificationOutcome.VERIFIED

    def test_three_wrong_codes_lock_for_fifteen_minutes(self, service, clock):
        service.send_verification_code(DATA_OVERAGE)
        code = sent_code(service, DATA_OVERAGE)
        wrong = wrong_code(code)
        first = service.check_verification_code(DATA_OVERAGE, wrong)
        second = service.check_verification_code(DATA_OVERAGE, wrong)
        third = service.check_verification_code(DATA_OVERAGE, wrong)
        assert (first.outcome, first.attempts_left) == (VerificationOutcome.WRONG_CODE, 2)
        assert (second.outcome, second.attempts_left) == (VerificationOutcome.WRONG_CODE, 1)
        assert third.outcome == VerificationOutcome.LOCKED
        assert third.locked_until == clock.now + timedelta(minutes=15)
        # Locked: even the right code and a fresh code are refused.
        assert service.check_verification_code(DATA_OVERAGE, code).outcome == VerificationOutcome.LOCKED
        assert service.send_verification_code(DATA_OVERAGE).outcome == VerificationOutcome.LOCKED
        clock.advance(minutes=14, seconds=59)
        assert service.send_verification_code(DATA_OVERAGE).outcome == VerificationOutcome.LOCKED
        clock.advance(seconds=2)
        assert service.send_verification_code(DATA_OVERAGE).outcome == VerificationOutcome.CODE_SENT
        fresh = sent_code(service, DATA_OVERAGE)
        assert service.check_verification_code(DATA_OVERAGE, fresh).outcome == VerificationOutcome.VERIFIED

    def test_asking_for_new_codes_does_not_reset_wrong_attempts(self, service):
        for expected in (VerificationOutcome.WRONG_CODE, VerificationOutcome.WRONG_CODE,
                         VerificationOutcome.LOCKED):
            service.send_verification_code(DATA_OVERAGE)
            code = sent_code(service, DATA_OVERAGE)
            assert service.check_verification_code(DATA_OVERAGE, wrong_code(code)).outcome == expected

    def test_lock_is_per_number(self, service):
        service.send_verification_code(DATA_OVERAGE)
        code = sent_code(service, DATA_OVERAGE)
        for _ in range(3):
            service.check_verification_code(DATA_OVERAGE, wrong_code(code))
        assert service.send_verification_code(ROAMING).outcome == VerificationOutcome.CODE_SENT

    def test_unknown_number(self, service):
        with pytest.raises(UnknownLine):
            service.send_verification_code("13999999999")
        assert service.check_verification_code("13999999999", "123456").outcome == VerificationOutcome.NO_CODE


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
        [("plus_5g_129", "plus_5g_129"), ("5G Plus 129", "plus_5g_129"),
         ("5g plus", "plus_5g_129"), ("unlimited", "unlimited_5g_199"),
         ("the basic 39 plan", "basic_4g_39"), ("5G全家融合169元套餐", "fusion_5g_169")],
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
        assert [u.cycle_start for u in history] == [date(2026, 10, 1), date(2026, 9, 1), date(2026, 8, 1)]

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

    @pytest.mark.parametrize("query, addon_id", [("music", "music_pack"), ("GAME PACK", "game_pack"),
                                                 ("the weather sms thing", "weather_sms"),
                                                 ("云盘", "cloud_storage")])
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
