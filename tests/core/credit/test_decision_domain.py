"""The decision's arithmetic, pure: outcome combination, graded limit, LPR pricing."""

from decimal import Decimal

from nongxin.core.credit import domain
from nongxin.core.credit.domain import Failure, FindingHit, RuleHit, Terms, combine

TERMS = Terms(amount=Decimal("30000"), minimum=Decimal("1000"), ceiling=Decimal("50000"),
              rate_range=(Decimal("0.035"), Decimal("0.08")))
REJECT = RuleHit("R1", 2, "bureau_dishonest_debtor", "reject", "dishonest_debtor", "失信")
REVIEW = RuleHit("R2", 1, "amount > 10", "manual_review", "other")


def decide(**kw):
    args = dict(rule_hits=(), findings=(), failures=(), coefficient=Decimal("1"), limit=Decimal("40000"),
                rate=Decimal("0.0385"), terms=TERMS)
    args.update(kw)
    return combine(**args)


def test_clean_is_approved_for_the_requested_amount_at_the_rate():
    v = decide()
    assert (v.outcome, v.approved_amount, v.rate, v.refusal_category) == ("approved", Decimal("30000"),
                                                                          Decimal("0.0385"), None)


def test_a_limit_below_the_request_approves_the_graded_limit_rounded_down():
    v = decide(limit=Decimal("25000.70"), coefficient=Decimal("0.8"))
    assert v.outcome == "approved" and v.approved_amount == Decimal("20000")
    assert "approved 20000.00 of the 30000 requested" in v.reasons[0]


def test_reject_rule_wins_with_its_category_even_over_failures():
    v = decide(rule_hits=(REVIEW, REJECT), failures=(Failure("bureau", "sim", "down"),))
    assert (v.outcome, v.refusal_category, v.approved_amount) == ("rejected", "dishonest_debtor", None)


def test_reject_finding_is_category_other_and_uncategorised_rule_reads_other():
    assert decide(findings=(FindingHit("p", "F1", "reject", "no"),)).refusal_category == "other"
    assert decide(rule_hits=(RuleHit("R3", 1, "x", "reject", ""),)).refusal_category == "other"


def test_every_unsafe_condition_sends_to_manual_review():
    cases = {
        "rule": dict(rule_hits=(REVIEW,)),
        "finding": dict(findings=(FindingHit("p", "F2", "manual_review", "look"),)),
        "failure": dict(failures=(Failure("nongxin_credit_limit", "p", "boom"),)),
        "no grade": dict(coefficient=None),
        "no limit": dict(limit=None),
        "no price": dict(rate=None),
        "rate out of range": dict(rate=Decimal("0.09")),
        "amount above ceiling": dict(terms=Terms(Decimal("60000"), Decimal("1000"), Decimal("50000"),
                                                 TERMS.rate_range)),
        "below minimum": dict(limit=Decimal("500")),
    }
    for name, kw in cases.items():
        v = decide(**kw)
        assert v.outcome == "manual_review" and v.approved_amount is None and v.reasons, name
    assert "boom" in decide(failures=(Failure("nongxin_credit_limit", "p", "boom"),)).reasons[0]
    assert decide(rule_hits=(RuleHit("T", 1, "x", "tag", "other"),)).outcome == "approved"


def test_rate_is_lpr_plus_spread_or_the_whole_rate():
    assert domain.priced_rate(None, 85, Decimal("0.0300")) == Decimal("0.0385")
    assert domain.priced_rate(Decimal("0.05"), None, Decimal("0.03")) == Decimal("0.05")
    assert domain.priced_rate(None, None, Decimal("0.03")) is None
    assert domain.spread_of(Decimal("0.0385"), Decimal("0.03")) == Decimal("85")
    assert domain.in_range(Decimal("0.035"), TERMS.rate_range) and not domain.in_range(Decimal("0.0349"), TERMS.rate_range)


def test_graded_limit_never_rounds_up():
    assert domain.graded_limit(Decimal("10000"), Decimal("0.85")) == Decimal("8500")
    assert domain.graded_limit(Decimal("999.99"), Decimal("1")) == Decimal("999")


def test_a_granted_limit_above_the_exposure_room_is_manual_review_at_or_below_it_approved():
    from dataclasses import replace

    tight = decide(terms=replace(TERMS, exposure_room=Decimal("29999.99")))
    assert tight.outcome == "manual_review" and tight.approved_amount is None
    assert tight.reasons == ("limit 30000.00 is above the 29999.99 left under the customer's exposure cap",)
    assert decide(terms=replace(TERMS, exposure_room=Decimal("30000.00"))).outcome == "approved"
    # the room counts against what is granted (the graded limit), not what was asked
    assert decide(limit=Decimal("20000"), terms=replace(TERMS, exposure_room=Decimal("20000"))).outcome == "approved"
