"""The scan's set-wise frame gives every line the figures ``domain.covers`` and
``services.cover_of_line`` give it, in integer fen and millionths."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from nongxin.core.collateral import domain, positions, services
from nongxin.core.collateral.models import Pledge, PledgeStatus, Registration
from nongxin.core.credit.models import CreditLine
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions import services as institutions
from nongxin.core.testing import open_test_item, open_test_line
from tests.core.collateral.test_services import _draw

D = Decimal
KINDS = ("real_estate", "vehicle", "deposit", "land_rights", "forest_rights")


def _fen(amount: Decimal | None) -> int:
    return int((amount or D(0)) * 100)


def _micro(rate: Decimal | None) -> int:
    return -1 if rate is None else int(rate * positions.MICRO)


@pytest.mark.parametrize("seed", [7, 2024])
def test_frame_figures_equal_the_domains_for_every_line(nongxin_app: Any, nongxin_demo: Any, seed: int) -> None:
    rnd = random.Random(seed)
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    lines = [open_test_line(nongxin_app, amount="900000.00") for _ in range(5)]
    items = []
    for _ in range(7):
        kind = rnd.choice(KINDS)
        value = D(rnd.randrange(1_000_000, 80_000_000)) / 100 if kind != "deposit" else D("150000.37")
        valued = today - timedelta(days=rnd.randrange(0, 40))
        until = valued + timedelta(days=rnd.choice([10, 365]))  # some expired: they lend nothing
        registration = rnd.choice(["registered", "pending"]) if kind in ("real_estate", "vehicle") else None
        items.append(open_test_item(nongxin_app, kind=kind, value=str(value), valued_on=valued, valid_until=until,
                                    line_id=rnd.choice(lines), registration=registration))
    with UnitOfWork(runtime.sessions) as unit:  # further claims on some items, ranked below
        for item in rnd.sample(items, 4):
            taken = {p.credit_line_id for p in unit.session.query(Pledge).filter_by(item_id=item)}
            free = [line for line in lines if line not in taken]
            unit.session.add(Pledge(item_id=item, credit_line_id=rnd.choice(free), rank=2,
                                    status=PledgeStatus.PLEDGED, registration=Registration.REGISTERED,
                                    pledged_on=today, pledged_by="test"))
        unit.commit()
    for line in lines:
        if rnd.random() < 0.8:
            _draw(nongxin_app, line, str(D(rnd.randrange(1_000_000, 60_000_000)) / 100))
    with UnitOfWork(runtime.sessions) as unit:
        session = unit.session
        bank = institutions.get_by_code(session, "JNRCB")
        frame = positions.positions(session, [bank], today)
        assert len(frame) == 11
        pos = {line: services.position(session, session.get(CreditLine, line), today) for line in lines}
        for line in set(frame["line_id"]):
            rows = frame[frame["line_id"] == line]
            cover = services.cover_of_line(session, session.get(CreditLine, int(line)), today)
            p = pos[int(line)]
            assert cover == domain.covers(p.holdings, p.claims, p.exposures)[int(line)]
            first = rows.iloc[0]
            assert first["exposure_fen"] == _fen(cover.exposure)
            assert first["eligible_fen"] == _fen(cover.eligible)
            assert first["limit_fen"] == _fen(cover.limit)
            assert first["shortfall_fen"] == _fen(cover.shortfall) == first["shortfall"]
            assert first["ltv_micro"] == _micro(cover.ltv)
            assert first["ltv_limit_micro"] == _micro(cover.ltv_limit)
            for item in cover.items:  # and each position's own figures
                row = rows[rows["item_id"] == item.item_id].iloc[0]
                assert (row["lendable_fen"], row["prior_fen"], row["item_eligible_fen"], row["item_limit_fen"]) == (
                    _fen(item.lendable), _fen(item.prior), _fen(item.eligible), _fen(item.limit))
        expired = frame[frame["valuation_expired"]]
        assert (expired["value"] == 0).all() and (expired["lendable_fen"] == 0).all()


def test_an_expired_valuation_counts_as_zero_and_the_latest_valid_one_is_read(nongxin_app: Any,
                                                                             nongxin_demo: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    line = open_test_line(nongxin_app, amount="500000.00")
    old = open_test_item(nongxin_app, value="300000.00", valued_on=today - timedelta(days=400),
                         valid_until=today - timedelta(days=1), line_id=line)
    fresh = open_test_item(nongxin_app, kind="deposit", value="100000.00", line_id=line)
    _draw(nongxin_app, line, "80000.00")
    with UnitOfWork(runtime.sessions) as unit:
        frame = positions.positions(unit.session, [institutions.get_by_code(unit.session, "JNRCB")], today)
    by_item = frame.set_index("item_id")
    assert bool(by_item.loc[old, "valuation_expired"]) and by_item.loc[old, "value"] == 0
    assert by_item.loc[old, "valuation_age_days"] == 400
    assert not bool(by_item.loc[fresh, "valuation_expired"]) and by_item.loc[fresh, "value"] == 10_000_000
    # only the deposit lends: 100,000 x 0.90 = 90,000 limit; 80,000 out -> ltv 0.8
    assert set(frame["limit_fen"]) == {9_000_000} and set(frame["ltv"]) == {0.8}
    assert np.isclose(frame["ltv_limit"].iloc[0], 0.9)
