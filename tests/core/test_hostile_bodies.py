"""Property: no generated hostile body on any JSON endpoint gets a 5xx, and a refusal writes nothing.

The endpoints come from the app's own url_map, so a new write endpoint is covered without touching
this file. Each is called as a user whose role may write there, so bodies get past the role check
and reach validation and the services. Bounded: a few dozen examples per endpoint.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import fields

WRITE_METHODS = {"POST", "PUT", "PATCH"}
#: Who may write where (by URL prefix); anything else is tried as the province admin.
WRITERS = {"/api/bureau/": "jinan.cm", "/api/plugins/": "jinan.pm", "/api/rules/": "jinan.params",
           "/api/applications": "jinan.cm", "/api/customers": "jinan.cm",
           "/api/applications/1/decide": "jinan.cm", "/api/applications/1/decision": "jinan.reviewer",
           "/api/credit-lines/1/drawdowns": "jinan.cm", "/api/credit-lines/": "jinan.admin"}
#: Path arguments naming things that exist, so the body is what decides the answer.
PATH_VALUES = {"code": "JNRCB-LX", "username": "jinan.reviewer", "name": "bureau_sim", "auth_id": "1",
               "day": "2027-02-06", "application_id": "1", "line_id": "1"}
PATH_VALUES["loan_no"] = "JNRCB-L2026-000001"  # repayments (issue 11, part A)
WRITERS["/api/loans/"] = "jinan.cm"
WRITERS["/api/collateral"] = "jinan.cm"  # collateral registry (issue 12, part A)
PATH_VALUES["item_id"] = "1"
PERSON = {"kind": "resident_id", "id_number": "11010519491231002X", "name": "张三"}
#: A valid body per endpoint: the generator breaks one part of it, so the hostile value gets past
#: the shape checks and reaches the field validation and the services.
VALID = {
    ("POST", "/api/institutions"): {"code": "X1", "name": "新支行", "level": "branch", "parent": "JNRCB"},
    ("PATCH", "/api/institutions/JNRCB-LX"): {"name": "历下支行", "parent": "JNRCB"},
    ("POST", "/api/users"): {"username": "new.user", "display_name": "新用户", "role": "reviewer",
                             "institution": "JNRCB"},
    ("PATCH", "/api/users/jinan.reviewer"): {"active": True},
    ("POST", "/api/users/jinan.reviewer/tokens"): {"days": 5},
    ("POST", "/api/plugins/bureau_sim/enable"): {"institution": "JNRCB"},
    ("POST", "/api/plugins/bureau_sim/disable"): {"institution": "JNRCB"},
    ("POST", "/api/plugins/bureau_sim/inherit"): {"institution": "JNRCB"},
    ("POST", "/api/plugins/bureau_sim/reset"): {"institution": "JNRCB"},
    ("PUT", "/api/plugins/bureau_sim/settings"): {"institution": "JNRCB", "settings": {}},
    ("POST", "/api/bureau/authorizations"): {
        "subject": PERSON, "purposes": ["02"], "channel": "paper",
        "evidence": {"ref": "archive://a.pdf", "sha256": "ab" * 32}, "granted_at": "2026-01-01T00:00:00+08:00"},
    ("POST", "/api/bureau/authorizations/1/revoke"): {},
    ("POST", "/api/bureau/queries"): {"subject": PERSON, "purpose": "02",
                                      "for": {"kind": "application", "ref": "APP-1"}},
    ("POST", "/api/rules/check"): {"stage": "admission", "expression": "age > 18", "code": "X1"},
    ("POST", "/api/rules/backtest"): {"stage": "post_loan", "expression": "overdue_days > 30", "institution": "JNRCB",
                                      "sample": 2},
    ("PUT", "/api/calendar/days/2027-02-06"): {"kind": "workday", "note": "春节调休"},
    ("POST", "/api/parameters"): {"name": "review.review_days", "institution": "JNRCB", "value": "5",
                                  "note": "县行审查时限"},
    ("POST", "/api/applications"): {
        "customer": 1, "product": "XIN_E_DAI", "amount": "50000.00", "term_months": 12,
        "repayment_method": "equal_installment", "purpose": "购置农机", "form": {"monthly_income": "8000"},
        "guarantors": [2], "channel": "qr_code", "channel_ref": "CM-jinan.cm"},
    ("POST", "/api/applications/1/withdraw"): {"reason": "客户不需要了"},
    ("POST", "/api/customers"): {
        "kind": "individual", "id_number": "11010519491231002X", "name": "张三", "grid": "JNRCB-LX-G01",
        "manager": "jinan.cm", "phone": "13900000000", "segment": "farmer", "annual_income": "36000.00",
        "household": {"village": "彩石村", "group": "一组", "household_no": "0016", "relation": "child"}},
    ("POST", "/api/customers/import"): {},
    ("POST", "/api/applications/1/decide"): {},
    ("POST", "/api/applications/1/decision/replay"): {"rules": "stored"},
    ("POST", "/api/applications/1/review"): {"opinion": "agree", "comment": "同意", "amount": "50000",
                                             "rate": "0.05", "refusal_category": "other"},
    ("PUT", "/api/users/jinan.reviewer/approval-limit"): {"amount": None},
    ("POST", "/api/credit-lines/1/drawdowns"): {"amount": "12000.00", "term_months": 12,
                                                "repayment_method": "equal_installment", "account": "6228480000000001",
                                                "product": "XIN_E_DAI"},
    ("POST", "/api/loans/JNRCB-L2026-000001/repayments"): {"amount": "1052.35", "paid_on": "2026-02-15"},
    ("POST", "/api/credit-lines/1/freeze"): {"reason": "客户涉诉"},
    ("POST", "/api/credit-lines/1/unfreeze"): {"reason": "诉讼已了结"},
    ("POST", "/api/credit-lines/1/close"): {"reason": "客户结清销户"},
    # collateral registry (issue 12, part A): customer 1 is a demo customer of JNRCB
    ("POST", "/api/collateral"): {"kind": "guarantee_person", "owner": 1, "description": "保证人",
                                  "fields": {"contract_no": "GR-HOSTILE-1", "amount": "100000.00"},
                                  "declared_value": "100000.00",
                                  "valuation": {"value": "100000.00", "method": "face_value", "valuer": "钱经理",
                                                "valued_on": "2026-01-05"}},
    ("POST", "/api/collateral/1/valuations"): {"value": "480000.00", "method": "market", "valuer": "钱经理",
                                               "valuer_kind": "external", "valued_on": "2026-01-05",
                                               "note": "复评"},

    ("POST", "/api/collateral/1/revalue"): {},  # issue 12, part C
}
# issue 12 part B: pledges (item 1 and line 1 at the Lixia branch; pledge 1 pending on line 2)
WRITERS = {"/api/collateral/": "jinan.admin", **WRITERS}
PATH_VALUES.update(item_id="1", pledge_id="1")
VALID.update({
    ("POST", "/api/collateral/1/pledges"): {"credit_line": 1, "rank": 3},
    ("POST", "/api/collateral/pledges/1/registration"): {"registration_no": "鲁(2026)济南市不动产证明第0000001号",
                                                         "registered_on": "2026-01-15"},
    ("POST", "/api/collateral/pledges/1/release"): {"reason": "贷款结清"},
})
# issue 15 part A: village rosters (multipart) and credit-village rating, as the Linyi county admin
WRITERS["/api/villages/"] = "linyi.admin"
VALID.update({
    ("POST", "/api/villages/roster"): {},
    ("POST", "/api/villages/rate"): {"institution": "LYRCB", "village": None},
})
VALID[("POST", "/api/watchlists/import")] = {  # court lists (issue 13, part E)
    "kind": "enforcement", "county": "JNRCB", "rows": [
        {"id_number": "11010519491231002X", "name": "张三", "case_no": "(2026)京0105执1号", "court": "朝阳区人民法院",
         "listed_on": "2026-01-05", "delisted_on": None}]}

# issue 13 part B: warning tasks (task 1: an open warning on a loan at the Lixia branch)
WRITERS["/api/tasks/"] = "jinan.postloan"
PATH_VALUES["task_id"] = "1"
VALID.update({
    ("POST", "/api/tasks/1/close"): {"findings": "走访核实，经营正常", "disposal": "monitor",
                                     "evidence": ["DOC-2026-0001", "现场照片.jpg"]},
    ("POST", "/api/tasks/1/reassign"): {"to": "jinan.cm", "note": "客户经理调整"},
})

# issue 13 part C: five-tier classification (a loan at the Lixia branch; request 1 pending on it)
WRITERS = {"/api/loans/JNRCB-L2026-000001/classification": "jinan.admin",
           "/api/classification/": "jinan.approver", **WRITERS}
PATH_VALUES.update(request_id="1")
VALID.update({
    ("POST", "/api/loans/JNRCB-L2026-000001/classification"): {"tier": "doubtful", "reason": "经营恶化"},
    ("POST", "/api/classification/requests/1/approve"): {},
    ("POST", "/api/classification/requests/1/reject"): {},
})
# issue 14 part D: monitoring models (model 1 kept by the Jinan county bank)
WRITERS["/api/monitoring/"] = "jinan.params"
PATH_VALUES["model_id"] = "1"
VALID.update({
    ("POST", "/api/monitoring/models"): {"code": "PL-M001", "name": "贷后资金回流", "stage": "post_loan",
                                         "description": "放款后资金回流借款人账户"},
    ("POST", "/api/monitoring/models/1/deactivate"): {"note": "模型调整"},
    ("POST", "/api/monitoring/models/1/activate"): {"note": "调整完毕"},
})
# issue 14 part A: stored rules (rule 1 at Jinan, arranged in the status each step starts from)
WRITERS["/api/rules"] = "jinan.params"
PATH_VALUES["rule_id"] = "1"
VALID.update({
    ("POST", "/api/rules"): {"code": "JN-HOSTILE-1", "name": "高龄拒绝", "stage": "admission", "outcome": "reject",
                             "level": "county", "expression": "age > 70", "reason": "年龄超过70岁",
                             "category": "other", "effective_from": "2030-01-01", "effective_to": "2030-12-31",
                             "shadow": False, "model": None},
    ("PATCH", "/api/rules/1"): {"name": "高龄复核", "expression": "age > 75", "effective_to": None},
    **{("POST", f"/api/rules/1/{step}"): {"note": "复核意见"}
       for step in ("submit", "withdraw", "approve", "reject", "retire")},
})
# back-to-back peer review (issue 15, part B): village 1 and its round 1 with reviewer 1, at Jinan
WRITERS["/api/review-rounds/1/close"] = "jinan.admin"
WRITERS["/api/review-rounds"] = "jinan.cm"
PATH_VALUES["round_id"] = "1"
VALID.update({
    ("POST", "/api/review-rounds"): {"village": 1, "name": "2026年背靠背评议"},
    ("POST", "/api/review-rounds/1/reviewers"): {"kind": "representative", "name": "村民代表",
                                                 "id_number": "11010519491231002X"},
    ("PUT", "/api/review-rounds/1/ratings"): {"reviewer": 1, "household": 1, "integrity": 4, "income": 3,
                                              "assets": 3, "business": 4, "health": 4, "colour": "black",
                                              "reason": "拖欠民间借贷"},
    ("POST", "/api/review-rounds/1/close"): {},
})
# issue 15 part D: batch pre-credit (offer 1: offered to a Jinan customer at the Lixia branch)
WRITERS.update({"/api/precredit/runs": "jinan.admin", "/api/precredit/offers/": "jinan.cm"})
PATH_VALUES["offer_id"] = "1"
VALID.update({
    ("POST", "/api/precredit/runs"): {"institution": "JNRCB", "product": "FU_NONG_DAI"},
    ("POST", "/api/precredit/offers/1/accept"): {"signature_ref": "esign://contract/2026-0001", "term_months": 12,
                                                 "repayment_method": "equal_installment"},
    ("POST", "/api/precredit/offers/1/decline"): {"reason": "外出务工，暂不需要"},
})
# issue 15 part E: the annual review of credit lines (a Jinan post-loan checker runs Jinan's)
WRITERS["/api/annual-reviews/"] = "jinan.postloan"
VALID[("POST", "/api/annual-reviews/run")] = {"institution": "JNRCB"}
# issue 17 part C: the scorecard stability monitor and model warnings
WRITERS["/api/scorecards/"] = WRITERS["/api/model-warnings/"] = "jinan.params"
VALID[("POST", "/api/scorecards/stability/run")] = {"institution": "JNRCB"}
PATH_VALUES["warning_id"] = "1"
VALID[("POST", "/api/model-warnings/1/close")] = {"note": "复核完毕"}


def _model_warning(app: Any) -> None:
    from decimal import Decimal

    from nongxin.core.db import UnitOfWork
    from nongxin.core.institutions import services as institutions
    from nongxin.core.scorecards.models import ModelWarning, ModelWarningStatus

    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        bank = institutions.get_by_code(unit.session, "JNRCB")
        assert bank is not None
        today = app.extensions["nongxin"].clock.business_date()
        unit.session.add(ModelWarning(county_bank_id=bank.id, scorecard_code="HOSTILE-SC", scorecard_version=1,
                                      segment="farmer", subject="age", threshold=Decimal("0.25"), psi=Decimal("0.5"),
                                      population=300, raised_on=today, last_psi=Decimal("0.5"), last_seen_on=today,
                                      status=ModelWarningStatus.OPEN, note=""))
        unit.commit()
RULE_STEP_STATUS = {"withdraw": "pending_approval", "approve": "pending_approval", "reject": "pending_approval",
                    "retire": "published"}

#: Headers an endpoint needs besides the token, made fresh for each request (a new idempotency
#: key each time, so a valid body reaches the service rather than a replay).
HEADERS = {"/api/credit-lines/": lambda: {"Idempotency-Key": uuid.uuid4().hex},
           "/api/loans/": lambda: {"Idempotency-Key": uuid.uuid4().hex}}


def _arrange(app: Any, path: str) -> None:
    """What an endpoint's path names, where the demo does not have it yet: credit line 1."""
    if path.startswith("/api/collateral/1/"):
        from nongxin.core.testing import open_test_item

        open_test_item(app)
    if path.startswith("/api/credit-lines/1/"):
        from nongxin.core.testing import open_test_line

        open_test_line(app, place="JNRCB-LX", amount="90000000.00")
    if path.startswith("/api/collateral/"):  # item 1 free; line 1; pledge 1: item 2 pending on line 2
        from nongxin.core.testing import open_test_item, open_test_line

        open_test_item(app, place="JNRCB-LX", line_id=None)
        open_test_line(app, place="JNRCB-LX")
        open_test_item(app, place="JNRCB-LX", line_id=open_test_line(app, place="JNRCB-LX"), registration="pending")
    if path.startswith("/api/tasks/"):  # issue 13 part B: warning task 1
        from nongxin.core.testing import open_test_loan, open_test_warning

        open_test_warning(app, open_test_loan(app))
    if path.startswith("/api/model-warnings/1/"):  # issue 17 part C: model warning 1, open, of Jinan
        _model_warning(app)
    if path.startswith("/api/monitoring/models/1/"):  # issue 14 part D: monitoring model 1
        from nongxin.core.testing import make_test_model

        make_test_model(app, "PL-M000", owner="JNRCB")
    if path.startswith("/api/rules/1"):  # issue 14 part A: stored rule 1, by the writer unless they decide it
        from nongxin.core.db import UnitOfWork
        from nongxin.core.rules.models import RuleStatus, StoredRule
        from nongxin.core.testing import publish_test_rule

        step = path.rsplit("/", 1)[-1]
        rule = publish_test_rule(app, "JN-HOSTILE-0", "age > 200", stage="admission", outcome="tag")
        with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
            row = unit.session.get(StoredRule, rule)
            assert row is not None and row.id == 1
            row.status = RuleStatus(RULE_STEP_STATUS.get(step, "draft"))
            row.author = "jinan.params2" if step in ("approve", "reject") else "jinan.params"
            unit.commit()
    if path.startswith("/api/review-rounds"):  # issue 15 part B
        _arrange_review_round(app, path)
    if path.startswith("/api/precredit/offers/1/"):  # issue 15 part D: offer 1
        _precredit_offer(app)
    if "/classification" in path:  # issue 13 part C
        from nongxin.core.credit.models import Loan
        from nongxin.core.db import UnitOfWork
        from nongxin.core.early_warning.models import ClassRequest, ClassRequestStatus
        from nongxin.core.testing import open_test_loan

        loan_no = open_test_loan(app, place="JNRCB-LX")
        with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
            loan = unit.session.execute(sa.select(Loan).where(Loan.loan_no == loan_no)).scalar_one()
            unit.session.add(ClassRequest(loan_id=loan.id, county_bank_id=loan.county_bank_id, tier="normal",
                                          floor="special_mention", reason="test", status=ClassRequestStatus.PENDING,
                                          requested_by="jinan.admin", requested_on=loan.disbursed_on))
            unit.commit()


def _arrange_review_round(app: Any, path: str) -> None:
    """Village 1 at JNRCB-LX-G01 holding household 1; for a round's paths its round 1 (open) with
    reviewer 1 (issue 15, part B)."""
    from nongxin.core.customers.models import Household
    from nongxin.core.db import UnitOfWork
    from nongxin.core.institutions.users import principal_named
    from nongxin.core.testing import make_test_village
    from nongxin.core.village import review

    village = make_test_village(app, grid="JNRCB-LX-G01", manager="jinan.cm", households=1, area="370102")
    rt = app.extensions["nongxin"]
    with UnitOfWork(rt.sessions) as unit:
        household = unit.session.get(Household, 1)
        assert household is not None and village.village_id == 1
        household.village_id = village.village_id
        if path.startswith("/api/review-rounds/1/"):
            cm, today = principal_named(unit.session, "jinan.cm"), rt.clock.business_date()
            rnd = review.open_round(unit, cm, village_id=village.village_id, today=today)
            review.add_reviewer(unit, cm, rnd.id, kind="official", name="村支书", id_number="110105194912310070",
                                today=today)
def _precredit_offer(app: Any) -> None:
    """Offer 1: offered for the first Jinan customer at the Lixia branch (no bureau consent)."""
    from datetime import timedelta
    from decimal import Decimal

    from nongxin.core.customers.models import Customer, Household
    from nongxin.core.db import UnitOfWork
    from nongxin.core.institutions.services import get_by_code
    from nongxin.core.village.models import OfferStatus, PrecreditOffer, PrecreditRun

    rt = app.extensions["nongxin"]
    today = rt.clock.business_date()
    with UnitOfWork(rt.sessions) as unit:
        place, bank = get_by_code(unit.session, "JNRCB-LX"), get_by_code(unit.session, "JNRCB")
        assert place is not None and bank is not None
        customer = unit.session.execute(sa.select(Customer).where(Customer.county_bank_id == bank.id)
                                        .order_by(Customer.id)).scalars().first()
        assert customer is not None
        household = Household(county_bank_id=bank.id, grid_id=place.id, village="敌意村", household_no="0001")
        run = PrecreditRun(institution_id=bank.id, product_code="XIN_E_DAI", business_date=today, started_by="test")
        unit.session.add_all([household, run])
        unit.session.flush()
        unit.session.add(PrecreditOffer(
            run_id=run.id, county_bank_id=bank.id, grid_id=place.id, household_id=household.id,
            customer_id=customer.id, product_code="XIN_E_DAI", outcome="approved", status=OfferStatus.OFFERED,
            limit=Decimal("20000.00"), rate=Decimal("0.0435"), business_date=today,
            expires_on=today + timedelta(days=30)))
        unit.commit()


def _json_endpoints(app: Any) -> list[tuple[str, str, Any]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/console/"):
            continue  # the console's forms: tests/core/console (they need a session, not a token)
        view = app.view_functions[rule.endpoint]
        params = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
        bodies = [p["schema"] for p in params if p.get("in") == "json"]
        for method in sorted((rule.methods or set()) & WRITE_METHODS):
            path = rule.rule
            for arg in rule.arguments:
                path = path.replace(f"<{arg}>", PATH_VALUES[arg]).replace(f"<int:{arg}>", PATH_VALUES[arg])
            schema = bodies[0] if bodies else None
            found.append((method, path, schema() if isinstance(schema, type) else schema))
    return found


def _names(schema: Any) -> list[str]:
    """Every field name of the schema and its nested schemas: keys a hostile body may use."""
    names: list[str] = ["bogus", "__proto__", ""]
    stack = [schema] if schema is not None else []
    while stack:
        current = stack.pop()
        for name, field in current.fields.items():
            names.append(field.data_key or name)
            if isinstance(field, fields.Nested):
                stack.append(field.schema)
    return sorted(set(names))


HOSTILE_STRINGS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["\ud800", "a\x00b", "\x1b[2J", "abc\u202eexe", "\u2066x", "9999-12-31",
                     "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+08:00", "2026-02-30T00:00:00Z",
                     "NaN", "-1", "1e400", "JNRCB", "../../etc", "' OR 1=1 --", "02", "paper", "loan",
                     "resident_id", "11010519491231002X", "ab" * 32, "admission", "x" * 70_000]),
    st.integers(min_value=0, max_value=40).map(lambda n: "长" * (n * 10)),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), HOSTILE_STRINGS,
    st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False, allow_infinity=False),
)


def _leaves(body: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every value of a body, containers included, and to an unknown top-level key."""
    found = [path] if path else [("bogus",)]
    if isinstance(body, dict):
        for key, value in body.items():
            found.extend(_leaves(value, path + (key,)))
    elif isinstance(body, list):
        for i, value in enumerate(body):
            found.extend(_leaves(value, path + (i,)))
    return found


def _get(body: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        if not isinstance(body, (dict, list)) or (isinstance(body, dict) and key not in body):
            return None
        body = body[key]
    return body


def _replace(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    body = json.loads(json.dumps(body))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


#: Appended to a valid value, so it keeps its format (an identity number, a date) and only the
#: hostile part is wrong.
SPOILERS = ["\ud800", "\udfff", "\x00", "\x1b[31m", "\u202e", "\u2066", "\x07", "\n", "\u200f", "\x9b"]


def _spoiled(original: Any) -> st.SearchStrategy[Any]:
    text = original if isinstance(original, str) else ""
    return st.one_of(
        st.sampled_from(SPOILERS).map(lambda c: text + c),
        st.sampled_from(SPOILERS).map(lambda c: c + text),
        st.integers(min_value=2, max_value=5000).map(lambda n: (text or "x") * n),
    )


def _bodies(schema: Any, valid: dict[str, Any]) -> st.SearchStrategy[bytes]:
    keys = st.sampled_from(_names(schema))
    values = st.recursive(SCALARS, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=12)
    shaped = st.dictionaries(keys, values, max_size=6)
    paths = _leaves(valid)
    broken = st.sampled_from(paths).flatmap(lambda p: st.one_of(
        _spoiled(_get(valid, p)), _spoiled(_get(valid, p)), SCALARS, values).map(lambda v: _replace(valid, p, v)))
    as_json = st.one_of(broken, broken, broken, shaped, values).map(
        lambda v: json.dumps(v, ensure_ascii=True).encode())
    deep = st.integers(min_value=30, max_value=3000).map(lambda n: b"[" * n + b"]" * n)
    junk = st.sampled_from([b"", b"{", b"\xff\xfe{}", b"null", b"[]", b'{"a": NaN}', b"1e999999",
                            b'"\\ud800"', b'{"a": 1, "a": 2}'])
    return st.one_of(as_json, as_json, as_json, as_json, deep, junk)


def test_every_write_endpoint_is_found_and_has_a_valid_body(nongxin_app: Any) -> None:
    found = {(m, p) for m, p, _ in _json_endpoints(nongxin_app)}
    assert found == set(VALID), "add a valid body for each new write endpoint to VALID"


@pytest.mark.parametrize("method, path", sorted(VALID), ids=[f"{m} {p}" for m, p in sorted(VALID)])
def test_hostile_bodies_never_5xx_and_refusals_write_nothing(nongxin_app, nongxin_client, db_snapshot,
                                                             method, path):
    schema = {(m, p): s for m, p, s in _json_endpoints(nongxin_app)}[(method, path)]
    user = next((u for prefix, u in WRITERS.items() if path.startswith(prefix)), "province.admin")
    client = nongxin_client.as_user(user)
    _arrange(nongxin_app, path)
    headers = next((make for prefix, make in HEADERS.items() if path.startswith(prefix)), dict)

    @settings(max_examples=30, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])
    @given(body=_bodies(schema, VALID[(method, path)]),
           content_type=st.sampled_from(["application/json"] * 6 + ["text/plain", "application/json; charset=latin-1"]))
    def run(body: bytes, content_type: str) -> None:
        before = db_snapshot()
        resp = getattr(client, method.lower())(path, data=body, content_type=content_type, headers=headers())
        assert resp.status_code < 500, (method, path, body[:300], resp.get_json())
        answer = resp.get_json()
        assert answer is not None and (resp.status_code < 400 or set(answer) == {"error", "message", "fields"})
        if resp.status_code >= 400:
            assert db_snapshot() == before, (method, path, body[:300], answer)

    run()
