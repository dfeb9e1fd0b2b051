"""The portable pre-credit context: pickled, sent to a fresh worker process, rebuilt there, and
``evaluate_portable`` gives the reference's answer on every household."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from types import ModuleType

import pandas as pd
import pytest

from nongxin.core.customers.models import Customer
from nongxin.core.customers.services import customer_facts
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions.services import get_by_code
from nongxin.core.testing import make_test_village, publish_test_rule
from nongxin.core.village.engine import (
    batch_context, evaluate_one_by_one, evaluate_portable, facts_frame, portable,
)
from nongxin.sdk import PluginInfo, PluginKind


def frame_and_context(app):
    village = make_test_village(app, households=12, colours=["green", "white", "grey", "black", None, "green"] * 2)
    runtime = app.extensions["nongxin"]
    today = runtime.clock.business_date()
    with UnitOfWork(runtime.sessions, write=False) as unit:
        heads = [unit.session.get(Customer, i) for i in village.heads]
        frame = facts_frame([{"customer_id": c.id, "household_id": c.household_id, **customer_facts(c, today)}
                             for c in heads])
        ctx = batch_context(unit.session, runtime, get_by_code(unit.session, "LYRCB-LS-G01"), "YMYD", today)
        return frame, ctx, evaluate_one_by_one(frame, ctx)


def test_a_worker_process_computes_the_reference_answer(nongxin_app, nongxin_demo, nongxin_enable):
    nongxin_enable("yimeng_cloud_loan", "LYRCB")
    publish_test_rule(nongxin_app, "VIL-P-REV", "age > 45", stage="admission", outcome="manual_review", owner="LYRCB")
    frame, ctx, reference = frame_and_context(nongxin_app)
    shipped = pickle.loads(pickle.dumps(portable(ctx)))
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = pool.submit(evaluate_portable, frame, shipped).result(timeout=300)
    pd.testing.assert_frame_equal(there, reference)
    assert "VIL-P-REV" in set(reference["rule_hits"])


BUILT = ModuleType("built_at_run_time")
BUILT.PLUGIN = PluginInfo(name="built_at_run_time", version="0.1.0", kind=PluginKind.PRODUCT, enabled_by_default=True)


class TestAPluginBuiltAtRunTime:
    @pytest.fixture
    def nongxin_plugins(self):
        return [BUILT]

    def test_is_refused_a_worker_cannot_import_it(self, nongxin_app, nongxin_demo, nongxin_enable):
        nongxin_enable("yimeng_cloud_loan", "LYRCB")
        _, ctx, _ = frame_and_context(nongxin_app)
        with pytest.raises(ValueError, match="built_at_run_time is not importable"):
            portable(ctx)
