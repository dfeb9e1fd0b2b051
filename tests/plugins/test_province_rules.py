"""The province's post-loan rules: each compiles against POST_LOAN and fires on the facts it names."""

import numpy as np
import pandas as pd

from nongxin.plugins import province_rules
from nongxin.sdk.facts import POST_LOAN
from nongxin.sdk.rules import Rule, check_expression, compile_rule_set


def post_loan_rules():
    return [Rule(code=code, name=name, expression=expression, stage=stage, outcome=outcome, level="province",
                 owner="SD", reason=reason, origin="province_rules")
            for stage, code, name, expression, outcome, reason in province_rules.RULES if stage == "post_loan"]


def test_each_post_loan_rule_compiles_against_post_loan():
    rules = post_loan_rules()
    assert [r.code for r in rules] == [f"PROV-PL-{n:03d}" for n in range(1, 9)]
    for rule in rules:
        check_expression(rule.expression, POST_LOAN, rule.code)
    compile_rule_set(rules, POST_LOAN, key="loan_no")


def test_court_bureau_and_maturity_rules_fire_with_their_colours():
    frame = pd.DataFrame({
        "loan_no": ["dishonest", "restricted", "enforced", "npl_elsewhere", "maturing_late", "maturing_clean",
                    "no_report", "matured_long_ago"],
        "overdue_days": np.array([0, 0, 0, 0, 5, 0, 0, 5], dtype=np.int64),
        "days_to_maturity": np.array([300, 300, 300, 300, 12, 12, 300, -3], dtype=np.int64),
        "court_dishonest_debtor": [True, False, False, False, False, False, False, False],
        "court_consumption_restriction": [False, True, False, False, False, False, False, False],
        "court_enforcement": [False, False, True, False, False, False, False, False],
        "bureau_non_performing_accounts": pd.array([0, 0, 0, 2, 0, 0, None, 0], dtype="Int64"),
    })
    hits = compile_rule_set(post_loan_rules(), POST_LOAN, key="loan_no").hits_frame(frame)
    got = {(row.loan_no, row.rule_code, row.outcome) for row in hits.itertuples()}
    assert {(k, c, o) for k, c, o in got if c not in ("PROV-PL-003",)} == {
        ("dishonest", "PROV-PL-004", "red"), ("restricted", "PROV-PL-005", "orange"),
        ("enforced", "PROV-PL-006", "orange"), ("npl_elsewhere", "PROV-PL-007", "orange"),
        ("maturing_late", "PROV-PL-008", "yellow")}
