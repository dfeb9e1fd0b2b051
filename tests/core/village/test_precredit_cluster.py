"""A county pre-credited through a local Dask cluster gives the offers of the single process."""

from __future__ import annotations

import pickle

import sqlalchemy as sa

from nongxin.core.db import UnitOfWork
from nongxin.core.institutions import users
from nongxin.core.institutions.services import get_by_code
from nongxin.core.village import engine
from nongxin.core.village.models import PrecreditOffer
from nongxin.core.village.precredit import LocalEvaluator, households_frame, run_precredit
from nongxin.core.village.engine import portable
from nongxin.core.village.precredit_cluster import evaluator_for

from .test_precredit import make_village

ANSWER = ("household_id", "customer_id", "outcome", "status", "limit", "rate", "score", "grade", "rule_hits",
          "reasons", "expires_on", "grid_id", "village_id")


def run_county(app, evaluator):
    runtime = app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        [result] = run_precredit(unit, users.principal_named(unit.session, "linyi.admin"), runtime,
                                 institution="LYRCB", product="YMYD", evaluator=evaluator)
    with UnitOfWork(runtime.sessions, write=False) as unit:
        offers = unit.session.execute(sa.select(PrecreditOffer).where(PrecreditOffer.run_id == result.run_id)
                                      .order_by(PrecreditOffer.household_id)).scalars()
        return [tuple(getattr(o, name) for name in ANSWER) for o in offers]


def test_the_context_travels_and_answers_the_same(nongxin_app, nongxin_demo, nongxin_enable):
    nongxin_enable("yimeng_cloud_loan", "LYRCB")
    village = make_village(nongxin_app, households=6, colours=["green", "white", "green", "white", "green", "grey"])
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    with UnitOfWork(runtime.sessions, write=False) as unit:
        frame = households_frame(unit.session, get_by_code(unit.session, "LYRCB"), today, village_id=village.village_id)
        frame = frame.drop(columns=["village_id", "grid_id"])
        ctx = engine.batch_context(unit.session, runtime, get_by_code(unit.session, "LYRCB-LS-G01"), "YMYD", today)
    travelled = pickle.loads(pickle.dumps(portable(ctx))).context()
    assert travelled.view is not ctx.view and travelled.book.compiled is not None
    assert engine.evaluate_batch(frame, travelled).equals(engine.evaluate_batch(frame, ctx))


def test_a_county_on_a_local_cluster_gets_the_same_offers(nongxin_app, nongxin_demo, nongxin_enable):
    nongxin_enable("yimeng_cloud_loan", "LYRCB")
    for grid in ("LYRCB-LS-G01", "LYRCB-LS", "LYRCB-LS-G01"):  # several villages and two contexts
        make_village(nongxin_app, households=4, colours=["green", "white", "black", "green"], grid=grid)
    local = run_county(nongxin_app, LocalEvaluator())
    with evaluator_for("local", 2) as evaluator:
        clustered = run_county(nongxin_app, evaluator)
    assert len(local) == 9 and clustered == local
    assert {row[2] for row in local} >= {"approved"} and None not in {row[2] for row in local}
    assert len({row[-2] for row in local}) == 2  # both grids answered
