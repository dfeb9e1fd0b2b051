"""Effective rule set selection along the institution hierarchy."""

from __future__ import annotations

import datetime as dt

import pytest

from nongxin.sdk.rules import (
    DuplicateRuleError, Rule, RuleOverrideError, check_disable_allowed, drop_rules, effective_rules,
)

ANCESTRY = ["P00", "C01", "X0101"]
D = dt.date


def r(code: str, owner: str, level: str, frm: dt.date | None = None, to: dt.date | None = None,
      version: int = 1) -> Rule:
    return Rule(code, "规则", "score > 1", "post_loan", "red", level, owner, frm, to, version)


RULES = [
    r("P1", "P00", "province"),
    r("P2", "P00", "province", D(2024, 1, 1), D(2024, 6, 30)),
    r("C1", "C01", "city", D(2024, 3, 1)),
    r("X1", "X0101", "county"),
    r("Y1", "X0202", "county"),  # another county's rule
    r("C9", "C02", "city"),  # another city's rule
]


def codes(rules: list[Rule]) -> list[str]:
    return [x.code for x in rules]


def test_selects_ancestry_and_date_range() -> None:
    assert codes(effective_rules(RULES, ANCESTRY, D(2024, 2, 1))) == ["P1", "P2", "X1"]
    assert codes(effective_rules(RULES, ANCESTRY, D(2024, 6, 30))) == ["P1", "P2", "C1", "X1"]
    assert codes(effective_rules(RULES, ANCESTRY, D(2024, 7, 1))) == ["P1", "C1", "X1"]
    assert codes(effective_rules(RULES, ["P00", "C01"], D(2024, 7, 1))) == ["P1", "C1"]


def test_highest_version_in_force_wins() -> None:
    rules = [r("P1", "P00", "province", None, D(2024, 6, 30), 1), r("P1", "P00", "province", D(2024, 6, 1), None, 2)]
    assert [x.version for x in effective_rules(rules, ANCESTRY, D(2024, 6, 15))] == [2]
    assert [x.version for x in effective_rules(rules, ANCESTRY, D(2024, 1, 1))] == [1]


def test_same_code_same_version_is_duplicate() -> None:
    with pytest.raises(DuplicateRuleError):
        effective_rules([r("P1", "P00", "province"), r("P1", "P00", "province")], ANCESTRY, D(2024, 1, 1))


def test_county_may_not_redefine_province_rule() -> None:
    with pytest.raises(RuleOverrideError, match="X0101 may not redefine rule P1 owned by P00"):
        effective_rules([r("P1", "P00", "province"), r("P1", "X0101", "county")], ANCESTRY, D(2024, 1, 1))


def test_county_may_not_disable_province_rule() -> None:
    eff = effective_rules(RULES, ANCESTRY, D(2024, 7, 1))
    with pytest.raises(RuleOverrideError, match="X0101 may not disable rule P1 owned by P00"):
        drop_rules(eff, ["P1"], "X0101", ANCESTRY)
    with pytest.raises(RuleOverrideError):
        check_disable_allowed(eff[1], "X0101", ANCESTRY)  # city rule


def test_county_may_drop_its_own_rule_and_add_stricter() -> None:
    eff = effective_rules(RULES, ANCESTRY, D(2024, 7, 1))
    assert codes(drop_rules(eff, ["X1"], "X0101", ANCESTRY)) == ["P1", "C1"]
    stricter = r("X2", "X0101", "county")
    assert codes(effective_rules(RULES + [stricter], ANCESTRY, D(2024, 7, 1))) == ["P1", "C1", "X1", "X2"]
