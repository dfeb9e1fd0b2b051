"""The pre-credit reference path: the decision's own ``evaluate`` per household of a village."""

from __future__ import annotations

from nongxin.core.customers.models import Customer
from nongxin.core.customers.services import customer_facts
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions.services import get_by_code
from nongxin.core.testing import make_test_village
from nongxin.core.village.engine import batch_context, evaluate_one_by_one, facts_frame, row_facts


def test_reference_gives_the_decisions_answer_per_household(nongxin_app, nongxin_demo, nongxin_enable):
    nongxin_enable("yimeng_cloud_loan", "LYRCB")
    village = make_test_village(nongxin_app, households=6, colours=["green", "white", "grey", "black", None, "green"])
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    with UnitOfWork(runtime.sessions, write=False) as unit:
        heads = [unit.session.get(Customer, i) for i in village.heads]
        records = [{"customer_id": c.id, "household_id": c.household_id, **customer_facts(c, today)} for c in heads]
        frame = facts_frame(records)
        assert [row_facts(r) for r in frame.to_dict("records")] == [
            {k: v for k, v in r.items() if k not in ("customer_id", "household_id")} for r in records]
        ctx = batch_context(unit.session, runtime, get_by_code(unit.session, "LYRCB-LS-G01"), "YMYD", today)
        result = evaluate_one_by_one(frame, ctx)
    outcomes = list(result["outcome"])
    assert outcomes[0] == outcomes[5] == "approved"  # green, graded and priced
    assert outcomes[3] == "rejected"  # black: the product's finding rejects
    assert outcomes[2] == outcomes[4] == "manual_review"  # grey; never reviewed
    green = result.iloc[0]
    assert 0 < green["approved_fen"] <= green["limit_fen"] and green["rate_ppm"] > 0 and green["grade"] is not None
