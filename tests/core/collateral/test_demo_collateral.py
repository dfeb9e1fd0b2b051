"""The demo's collateral, as `nongxin demo` registers it through the real services: several kinds
(one a third-party pledge), a pending mortgage that lends nothing, the land rights revalued by the
simulated valuer, and exactly one line in shortfall (its vehicle's valuation has expired)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from nongxin.core.collateral import services
from nongxin.core.collateral.models import CollateralItem, CollateralValuation
from nongxin.core.credit.models import CreditLine
from nongxin.core.demo import DEMO_COLLATERAL, demo_collateral, demo_ledger


def test_the_demo_collateral_has_several_kinds_and_one_shortfall(nongxin_app: Any, nongxin_demo: Any,
                                                                  nongxin_uow: Any) -> None:
    rt = nongxin_app.extensions["nongxin"]
    today = rt.clock.business_date()
    demo_ledger(rt)
    shown = demo_collateral(rt)
    assert len(shown) == len(DEMO_COLLATERAL)
    assert len({item.kind for item in shown}) >= 5
    short = [item for item in shown if "shortfall" in item.shows]
    assert [item.kind for item in short] == ["vehicle"] and short[0].value == "0.00"
    session = nongxin_uow.session
    # the land rights carry the simulated valuer's index price, after the appraiser's
    land = session.execute(sa.select(CollateralItem).where(CollateralItem.kind == "land_rights")).scalar_one()
    latest = session.execute(sa.select(CollateralValuation).where(CollateralValuation.item_id == land.id)
                             .order_by(CollateralValuation.id.desc())).scalars().first()
    assert latest is not None and latest.valuer_kind == "plugin" and latest.valuer == "collateral_sim"
    # every line's cover agrees with what the demo printed; the pending house lends nothing
    for item in shown:
        line = session.execute(sa.select(CreditLine).where(CreditLine.number == item.line)).scalar_one()
        cover = services.cover_of_line(session, line, today)
        assert (cover.shortfall > 0) == ("shortfall" in item.shows)
        if item.kind == "real_estate":
            house = next(c for c in cover.items if c.kind == "real_estate")
            assert not house.perfected and house.eligible == Decimal("0.00")
