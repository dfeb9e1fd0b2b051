import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from nongxin.plugins import bureau_sim
from nongxin.plugins.bureau_sim import (
    MARKERS, SIMULATED_PROVIDER_NAME, marker_of, nongxin_bureau_query, simulate_report,
)
from nongxin.sdk.bureau import (
    BureauReport, BureauSubject, FiveTier, PublicRecordKind, Purpose, RecordStatus,
    report_from_dict, summarize, to_dict,
)
from nongxin.sdk.identity import make_resident_id, validate_uscc
from nongxin.sdk.types import HookContext

AS_OF = date(2024, 6, 15)


def person(seq: int, area: str = "330521", born: date = date(1980, 5, 1)) -> BureauSubject:
    return BureauSubject("resident_id", make_resident_id(area, born, seq), "测试")


def leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from leaves(v)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            yield from leaves(getattr(value, name))
    else:
        yield value


subjects = st.builds(
    person,
    seq=st.integers(0, 999),
    area=st.from_regex(r"\A[1-6][0-9]{5}\Z"),
    born=st.dates(min_value=date(1940, 1, 1), max_value=date(2005, 12, 31)),
)
as_of_dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


def test_deterministic():
    s = person(123)
    assert simulate_report(s, AS_OF) == simulate_report(s, AS_OF)
    assert to_dict(simulate_report(s, AS_OF)) == to_dict(simulate_report(person(123), AS_OF))
    assert simulate_report(person(125), AS_OF) != simulate_report(s, AS_OF)
    report = simulate_report(s, AS_OF)
    assert report.provider == SIMULATED_PROVIDER_NAME == "bureau_sim"
    assert report.generated_at.date() == AS_OF


@settings(max_examples=60, deadline=None)
@given(subject=subjects, as_of=as_of_dates)
def test_round_trip_and_no_floats(subject, as_of):
    report = simulate_report(subject, as_of)
    d = to_dict(report)
    assert not any(isinstance(v, float) for v in leaves(d))
    assert not any(isinstance(v, float) for v in leaves(report))
    assert report_from_dict(json.loads(json.dumps(d, ensure_ascii=False))) == report
    s = summarize(report, as_of)
    assert all(isinstance(v, (int, bool, Decimal, type(None))) for v in s.as_facts().values())


@settings(max_examples=60, deadline=None)
@given(subject=subjects, as_of=as_of_dates)
def test_reports_are_internally_consistent(subject, as_of):
    report = simulate_report(subject, as_of)
    for loan in report.loans:
        assert loan.opened <= as_of and loan.opened < loan.maturity
        assert Decimal(0) <= loan.balance <= loan.credit_amount
        assert loan.overdue_amount <= loan.balance
        assert len(loan.repayment_history) == 24
        assert (loan.overdue_days > 0) == (loan.overdue_amount > 0)
        if loan.five_tier.non_performing:
            assert loan.overdue_days > 90
        if loan.overdue_days:
            assert (as_of - loan.opened).days > loan.overdue_days and loan.repayment_history[-1] != "N"
    for card in report.credit_cards:
        assert card.used <= card.limit and card.overdue_amount <= card.used
    for q in report.queries:
        assert (as_of - q.queried_on).days < 365 and q.queried_on <= as_of
    for record in report.public_records:
        assert record.recorded_on <= as_of


def test_population_is_mostly_clean_but_varied():
    summaries = [summarize(simulate_report(person(seq, born=date(1970 + seq % 30, 1, 1)), AS_OF), AS_OF)
                 for seq in range(0, 900)]
    clean = sum(1 for s in summaries if s.worst_overdue_days_24m == 0 and not s.open_enforcement)
    assert 0.55 * len(summaries) < clean < 0.85 * len(summaries)
    assert any(s.non_performing_accounts for s in summaries)
    assert any(s.worst_overdue_days_24m and not s.current_overdue_amount for s in summaries)
    assert any(s.open_enforcement for s in summaries)
    assert any(s.consumption_restriction for s in summaries)
    assert sum(1 for s in summaries if s.outstanding_debt > 0) > 0.7 * len(summaries)
    assert any(s.guarantees_given for s in summaries)
    assert any(s.loan_approval_queries_3m for s in summaries)


@settings(max_examples=30, deadline=None)
@given(subject=st.builds(person, seq=st.just(999), area=st.from_regex(r"\A[1-6][0-9]{5}\Z"),
                         born=st.dates(date(1940, 1, 1), date(2005, 12, 31))), as_of=as_of_dates)
def test_marker_999_blacklisted(subject, as_of):
    assert marker_of(subject) == "blacklisted"
    report = simulate_report(subject, as_of)
    s = summarize(report, as_of)
    assert s.dishonest_debtor and s.open_enforcement and s.consumption_restriction
    assert s.non_performing_accounts >= 1
    assert s.current_overdue_amount > 0 and s.worst_overdue_days_24m > 180
    assert any(r.kind is PublicRecordKind.DISHONEST_DEBTOR and r.status is RecordStatus.OPEN
               for r in report.public_records)


@settings(max_examples=30, deadline=None)
@given(subject=st.builds(person, seq=st.just(998), area=st.from_regex(r"\A[1-6][0-9]{5}\Z"),
                         born=st.dates(date(1940, 1, 1), date(2005, 12, 31))), as_of=as_of_dates)
def test_marker_998_always_clean(subject, as_of):
    report = simulate_report(subject, as_of)
    s = summarize(report, as_of)
    assert s.worst_overdue_days_24m == 0 and s.current_overdue_amount == 0
    assert s.non_performing_accounts == 0 and not report.public_records
    assert s.queries_12m <= 2 and s.loan_approval_queries_3m == 0
    assert all(loan.five_tier is FiveTier.NORMAL for loan in report.loans)
    assert all(g.debtor_status is FiveTier.NORMAL for g in report.guarantees)


@settings(max_examples=30, deadline=None)
@given(subject=st.builds(person, seq=st.just(997), area=st.from_regex(r"\A[1-6][0-9]{5}\Z"),
                         born=st.dates(date(1940, 1, 1), date(2005, 12, 31))), as_of=as_of_dates)
def test_marker_997_past_overdue_only(subject, as_of):
    report = simulate_report(subject, as_of)
    s = summarize(report, as_of)
    assert 1 <= s.worst_overdue_days_24m <= 31
    assert s.current_overdue_amount == 0 and s.non_performing_accounts == 0
    assert not report.public_records


def test_marker_996_thin_file_and_995_credit_hungry():
    thin = simulate_report(person(996), AS_OF)
    assert not (thin.loans or thin.credit_cards or thin.guarantees or thin.queries
                or thin.public_records)
    assert summarize(thin, AS_OF).card_utilization is None
    for area in ("110105", "440524", "330521"):
        hungry = summarize(simulate_report(person(995, area=area), AS_OF), AS_OF)
        assert hungry.loan_approval_queries_1m == 6 and hungry.loan_approval_queries_3m == 10
        assert hungry.worst_overdue_days_24m == 0 and not hungry.open_enforcement
    assert set(MARKERS) == {"999", "998", "997", "996", "995"}


def test_uscc_subjects_use_the_same_positions():
    body = "91350100M00010999"
    from stdnum.cn import uscc
    number = validate_uscc(body + uscc.calc_check_digit(body))
    company = BureauSubject("uscc", number, "某合作社")
    assert marker_of(company) == "blacklisted"
    assert summarize(simulate_report(company, AS_OF), AS_OF).dishonest_debtor


def test_hook_function_reports_as_of_the_business_date():
    s = person(123)
    report = nongxin_bureau_query(s, Purpose.LOAN_APPROVAL, None, HookContext("JNRCB", business_date=AS_OF))
    assert isinstance(report, BureauReport)
    assert report == simulate_report(s, AS_OF)
    later = date(AS_OF.year + 1, 1, 2)
    other = nongxin_bureau_query(s, Purpose.POST_LOAN_MANAGEMENT, None, HookContext("JNRCB", business_date=later))
    assert other.generated_at.date() == later
    with pytest.raises(ValueError, match="business_date"):
        nongxin_bureau_query(s, Purpose.LOAN_APPROVAL, None, HookContext("JNRCB"))
    assert bureau_sim.SIMULATED_PROVIDER_NAME == "bureau_sim"


def test_minors_have_no_credit_history_unless_marked():
    child = person(123, born=date(2015, 1, 1))
    report = simulate_report(child, AS_OF)
    assert not (report.loans or report.credit_cards or report.queries or report.public_records)
    assert summarize(simulate_report(person(999, born=date(2015, 1, 1)), AS_OF), AS_OF).dishonest_debtor
