"""Concurrent registrations of one item through a real server (waitress) on whichever database the
suite runs on: exactly one 201, every other answer a 409 ``duplicate_collateral`` naming it, never
a 500, and one row."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from nongxin.core import loadgen
from nongxin.core.collateral.models import CollateralItem

CLIENTS = 6


def test_concurrent_registrations_of_one_item_make_one_and_409_the_rest(nongxin_app: Any, nongxin_demo: Any,
                                                                        new_customer: Any, nongxin_uow: Any) -> None:
    owner = new_customer("JNRCB-LX-G01")
    body = {"kind": "vehicle", "owner": owner, "declared_value": "90000.00",
            "fields": {"vin": "LSVAM4187C2184847", "plate": "鲁A12345"}}
    answers = loadgen.race(nongxin_app, nongxin_demo.tokens,
                           [("jinan.cm", "POST", "/api/collateral", body, {}) for _ in range(CLIENTS)])

    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * (CLIENTS - 1), answers
    (number,) = [b["number"] for s, b in answers if s == 201]
    assert all(b["error"] == "duplicate_collateral" and number in b["message"] for s, b in answers if s == 409)
    assert nongxin_uow.session.execute(sa.select(sa.func.count()).select_from(CollateralItem)).scalar_one() == 1
