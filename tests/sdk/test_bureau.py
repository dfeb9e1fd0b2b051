import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from nongxin.sdk.bureau import (
    AuthorizationRef, BureauReport, BureauSubject, BureauSummary, CreditCard, FiveTier, Guarantee,
    LoanAccount, LoanKind, PublicRecord, PublicRecordKind, Purpose, QueryRecord, RecordStatus, Refusal,
    report_from_dict, summarize, to_dict,
)
from nongxin.sdk.identity import IdentityKind, InvalidIdentity

AS_OF = date(2024, 3, 31)
D = Decimal


def walk(value):
    """Every leaf of a nested dict / list / dataclass."""
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from walk(v)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            yield from walk(getattr(value, name))
    else:
        yield value


def subject():
    return BureauSubject(IdentityKind.RESIDENT_ID, "11010519491231002x", "王秀英")


def loan(**kw):
    base = dict(account_id="L1", institution_type="rural_bank", kind=LoanKind.FARM,
                opened=date(2022, 4, 1), maturity=date(2025, 4, 1), credit_amount=D("100000"),
                balance=D("40000.50"))
    return LoanAccount(**{**base, **kw})


def hand_built() -> BureauReport:
    q = lambda d, reason: QueryRecord(d, "某农商行", reason)  # noqa: E731
    return BureauReport(
        subject=subject(), report_id="R1", generated_at=datetime(2024, 3, 31, 9, tzinfo=timezone.utc),
        provider="test",
        loans=(
            loan(repayment_history="NNNNNNNNNNNNNNNNNN1NNNNN"),
            loan(account_id="L2", kind=LoanKind.CONSUMER, balance=D("10000"),
                 five_tier=FiveTier.SUBSTANDARD, overdue_amount=D("2500.25"), overdue_days=95,
                 repayment_history="NNNNNNNNNNNNNNNNNNNN1234"),
            loan(account_id="L3", kind=LoanKind.MORTGAGE, balance=D("0"), five_tier=FiveTier.LOSS),
        ),
        credit_cards=(
            CreditCard("C1", "commercial_bank", date(2020, 1, 1), D("20000"), D("5000"),
                       overdue_amount=D("100"), overdue_days=10, repayment_history="NN1"),
            CreditCard("C2", "commercial_bank", date(2021, 1, 1), D("10000"), D("2500")),
        ),
        guarantees=(Guarantee("G1", "rural_bank", D("50000")),
                    Guarantee("G2", "microfinance", D("30000"), FiveTier.DOUBTFUL)),
        queries=(
            q(date(2024, 3, 31), Purpose.LOAN_APPROVAL),  # as_of itself: inside 1m
            q(date(2024, 2, 29), Purpose.CREDIT_CARD_APPROVAL),  # exactly one month back: inside
            q(date(2024, 2, 28), Purpose.LOAN_APPROVAL),  # outside 1m, inside 3m
            q(date(2024, 3, 15), Purpose.POST_LOAN_MANAGEMENT),  # never counted
            q(date(2024, 3, 10), Purpose.GUARANTOR_REVIEW),  # counts in 6m/12m only
            q(date(2023, 12, 31), Purpose.LIMIT_APPROVAL),  # 3m boundary: inside
            q(date(2023, 12, 30), Purpose.FINANCING_APPROVAL),  # outside 3m, inside 6m
            q(date(2023, 6, 1), Purpose.CREDIT_REVIEW),  # inside 12m only
            q(date(2023, 3, 30), Purpose.LOAN_APPROVAL),  # outside 12m
            q(date(2024, 4, 1), Purpose.LOAN_APPROVAL),  # after as_of: ignored
        ),
        public_records=(
            PublicRecord(PublicRecordKind.ENFORCEMENT, date(2023, 5, 1), D("12000"), RecordStatus.OPEN),
            PublicRecord(PublicRecordKind.DISHONEST_DEBTOR, date(2022, 5, 1), D("12000"),
                         RecordStatus.CLOSED),
            PublicRecord(PublicRecordKind.CONSUMPTION_RESTRICTION, date(2024, 5, 1), D("1"),
                         RecordStatus.OPEN),  # after as_of: ignored
        ),
    )


def test_purpose_codes_labels_and_authorization():
    assert [p.value for p in Purpose] == ["01", "02", "03", "08", "22", "23", "24", "25", "26"]
    assert Purpose("02") is Purpose.LOAN_APPROVAL
    assert Purpose.LOAN_APPROVAL.label_zh == "贷款审批"
    assert Purpose.GUARANTOR_REVIEW.label_zh == "担保资格审查"
    assert Purpose.CREDIT_REVIEW.label_en == "credit review"
    assert Purpose.LIMIT_APPROVAL.label_zh == "额度审批"
    assert [p.value for p in Purpose if not p.needs_authorization] == ["01"]
    assert all(p.label_zh and p.label_en for p in Purpose)


def test_summary_math_on_a_hand_built_report():
    s = summarize(hand_built(), AS_OF)
    assert s == BureauSummary(
        loan_approval_queries_1m=2,
        loan_approval_queries_3m=4,
        queries_6m=6,
        queries_12m=7,
        worst_overdue_days_24m=95,  # current 95 days beats history digit 4 (>= 91 days)
        current_overdue_amount=D("2600.25"),
        non_performing_accounts=2,  # substandard and loss; the doubtful guarantee is not a loan
        outstanding_debt=D("40000.50") + D("10000") + D("0") + D("5000") + D("2500"),
        guarantees_given=D("80000"),
        open_enforcement=True,
        consumption_restriction=False,
        dishonest_debtor=False,
        card_utilization=D("0.2500"),
    )


def test_history_digits_count_as_their_least_days():
    report = BureauReport(subject(), "R", datetime(2024, 1, 1), "t",
                          loans=(loan(repayment_history="N3NNN7"),))
    assert summarize(report, AS_OF).worst_overdue_days_24m == 181
    report = BureauReport(subject(), "R", datetime(2024, 1, 1), "t",
                          loans=(loan(repayment_history="N1"),))
    assert summarize(report, AS_OF).worst_overdue_days_24m == 1


def test_empty_report_summary():
    s = summarize(BureauReport(subject(), "R", datetime(2024, 1, 1), "t"), AS_OF)
    assert s.card_utilization is None and s.outstanding_debt == 0 and s.worst_overdue_days_24m == 0
    assert isinstance(s.outstanding_debt, Decimal)


def test_as_facts_are_prefixed_and_typed():
    s = summarize(hand_built(), AS_OF)
    facts = s.as_facts()
    assert facts["bureau_loan_approval_queries_1m"] == 2
    assert facts["bureau_open_enforcement"] is True
    assert all(k.startswith("bureau_") for k in facts)
    assert len(facts) == 13
    types = BureauSummary.fact_types()
    assert types.keys() == facts.keys()
    assert types["bureau_card_utilization"] == "decimal"
    assert types["bureau_dishonest_debtor"] == "boolean"
    assert types["bureau_queries_6m"] == "integer"
    assert not any(isinstance(v, float) for v in facts.values())


def test_round_trip_through_json():
    report = hand_built()
    d = to_dict(report)
    assert not any(isinstance(v, float) for v in walk(d))
    assert d["loans"][0]["balance"] == "40000.50"
    assert d["generated_at"] == "2024-03-31T09:00:00+00:00"
    assert d["queries"][0] == {"queried_on": "2024-03-31", "institution": "某农商行", "reason": "02"}
    back = report_from_dict(json.loads(json.dumps(d, ensure_ascii=False)))
    assert back == report
    assert back.loans[0].balance.as_tuple() == D("40000.50").as_tuple()  # trailing zero kept


def test_report_from_dict_rejects_corruption():
    d = to_dict(hand_built())
    d["loans"][0]["balance"] = 40000.5
    with pytest.raises(ValueError, match="money must be a string"):
        report_from_dict(d)
    d = to_dict(hand_built())
    d["format"] = 99
    with pytest.raises(ValueError, match="format"):
        report_from_dict(d)
    d = to_dict(hand_built())
    d["subject"]["id_number"] = "110105194912310023"
    with pytest.raises(InvalidIdentity):
        report_from_dict(d)


def test_money_must_be_decimal_never_float():
    with pytest.raises(TypeError):
        loan(balance=40000.5)
    with pytest.raises(TypeError):
        Guarantee("G", "x", 1.0)
    with pytest.raises(ValueError):
        loan(balance=D("-1"))
    with pytest.raises(ValueError):
        loan(balance=D("NaN"))
    assert loan(balance="12.30").balance == D("12.30")
    assert loan(balance=5).balance == D("5")
    report = hand_built()
    assert not any(isinstance(v, float) for v in walk(report))


def test_values_are_validated():
    with pytest.raises(ValueError):
        loan(repayment_history="NNX")
    with pytest.raises(ValueError):
        loan(repayment_history="N" * 25)
    with pytest.raises(ValueError):
        loan(overdue_days=-1)
    with pytest.raises(ValueError):
        loan(kind="yacht")
    assert loan(kind="farm", five_tier="loss").five_tier is FiveTier.LOSS
    assert QueryRecord(AS_OF, "x", "25").reason is Purpose.CREDIT_REVIEW


def test_subject_validates_and_masks_in_repr():
    s = subject()
    assert s.id_number == "11010519491231002X"
    assert "19491231" not in repr(s) and "110105********002X" in repr(s)
    assert BureauSubject("uscc", "91350100M000100Y43", "某合作社").kind is IdentityKind.USCC
    with pytest.raises(InvalidIdentity):
        BureauSubject("resident_id", "110105194912310023", "x")


def test_authorization_covers():
    auth = AuthorizationRef("A1", "11010519491231002x", ("02", Purpose.GUARANTOR_REVIEW),
                            signed_on=date(2024, 3, 1), expires_on=date(2024, 5, 31))
    assert auth.purposes == (Purpose.LOAN_APPROVAL, Purpose.GUARANTOR_REVIEW)
    assert auth.covers(subject(), Purpose.LOAN_APPROVAL, date(2024, 3, 1))
    assert auth.covers(subject(), Purpose.GUARANTOR_REVIEW, date(2024, 5, 31))
    assert not auth.covers(subject(), Purpose.LOAN_APPROVAL, date(2024, 6, 1))
    assert not auth.covers(subject(), Purpose.CREDIT_REVIEW, date(2024, 3, 2))
    other = BureauSubject("resident_id", "440524188001010014", "x")
    assert not auth.covers(other, Purpose.LOAN_APPROVAL, date(2024, 3, 2))


def test_authorization_refusal_names_the_reason():
    auth = AuthorizationRef("A1", "11010519491231002X", ("02",), signed_on=date(2024, 3, 1),
                            expires_on=date(2024, 5, 31))
    assert auth.refusal(subject(), Purpose.LOAN_APPROVAL, date(2024, 5, 31)) is None
    assert auth.refusal(subject(), Purpose.LOAN_APPROVAL, date(2024, 6, 1)) is Refusal.EXPIRED
    assert auth.refusal(subject(), Purpose.LOAN_APPROVAL, date(2024, 2, 29)) is Refusal.NOT_YET_VALID
    assert auth.refusal(subject(), Purpose.CREDIT_REVIEW, date(2024, 3, 2)) is Refusal.PURPOSE_NOT_COVERED
    other = BureauSubject("resident_id", "440524188001010014", "x")
    assert auth.refusal(other, Purpose.LOAN_APPROVAL, date(2024, 3, 2)) is Refusal.OTHER_SUBJECT
    revoked = AuthorizationRef("A1", "11010519491231002X", ("02",), date(2024, 3, 1), date(2024, 5, 31), revoked=True)
    assert revoked.refusal(subject(), Purpose.LOAN_APPROVAL, date(2024, 3, 2)) is Refusal.REVOKED
    assert not revoked.covers(subject(), Purpose.LOAN_APPROVAL, date(2024, 3, 2))


def test_consent_starts_at_the_moment_given_and_ends_with_its_last_day_in_china():
    from datetime import timedelta, timezone

    cst = timezone(timedelta(hours=8))
    signed = datetime(2024, 3, 1, 10, 0, tzinfo=cst)
    auth = AuthorizationRef("A1", "11010519491231002X", ("02",), date(2024, 3, 1), date(2024, 5, 31),
                            signed_at=signed)
    loan = Purpose.LOAN_APPROVAL
    assert auth.refusal(subject(), loan, signed - timedelta(minutes=1)) is Refusal.NOT_YET_VALID
    assert auth.refusal(subject(), loan, signed) is None
    assert auth.refusal(subject(), loan, date(2024, 3, 1)) is None  # a day: any moment of it
    # 23:30 on the last day in China is 15:30 UTC: covered; half past midnight the next day is not
    assert auth.covers(subject(), loan, datetime(2024, 5, 31, 15, 30, tzinfo=timezone.utc))
    assert auth.refusal(subject(), loan, datetime(2024, 5, 31, 16, 30, tzinfo=timezone.utc)) is Refusal.EXPIRED
    with pytest.raises(TypeError, match="aware"):
        auth.refusal(subject(), loan, datetime(2024, 4, 1, 12, 0))


def test_reports_are_frozen_and_hashable():
    report = hand_built()
    with pytest.raises(AttributeError):
        report.provider = "x"  # type: ignore[misc]
    assert hash(report) == hash(report_from_dict(to_dict(report)))
    assert isinstance(BureauReport(subject(), "R", datetime(2024, 1, 1), "t",
                                   loans=[loan()]).loans, tuple)
