"""The collateral kinds the SDK declares, and the checks of their fields: what a county developer's
valuer plugin can rely on, and what the core refuses before registering an item."""

from __future__ import annotations

from decimal import Decimal

import pytest

from nongxin.sdk import collateral
from nongxin.sdk.collateral import KINDS, check_fields, check_vin, kind_spec, make_vin


def test_every_kind_the_issue_names_is_declared_with_a_key_field() -> None:
    assert set(KINDS) == {"real_estate", "vehicle", "deposit", "land_rights", "forest_rights",
                          "warehouse_receipt", "guarantee_company", "guarantee_person"}
    for spec in KINDS.values():
        assert spec.key in {f.name for f in spec.fields}
        assert spec.methods
    assert {k for k, s in KINDS.items() if s.guarantee} == {"guarantee_company", "guarantee_person"}


def test_all_names_what_the_module_offers() -> None:
    import inspect

    defined = {n for n, v in vars(collateral).items() if not n.startswith("_") and
               (inspect.isclass(v) or inspect.isfunction(v)) and v.__module__ == collateral.__name__}
    assert defined <= set(collateral.__all__)
    assert all(hasattr(collateral, n) for n in collateral.__all__)


@pytest.mark.parametrize("vin, reason", [
    ("1M8GDM9AXKP04278", "17 characters"),
    ("1M8GDM9AXKP04278O", "never contains O"),
    ("1M8GDM9A1KP042788", "check digit"),
])
def test_a_bad_vin_says_what_is_wrong(vin: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_vin(vin)


def test_vins_round_trip_through_make_vin() -> None:
    assert check_vin("1m8gdm9axkp042788") == "1M8GDM9AXKP042788"  # the ISO 3779 textbook example
    for serial in range(50):
        assert check_vin(make_vin(f"LSVAM418C2{serial:06d}")).startswith("LSVAM418")


def test_fields_are_normalized_and_every_problem_is_named_at_once() -> None:
    clean, problems = check_fields("real_estate", {"certificate_no": "鲁（2023）济南市不动产权第0012345号",
                                                   "address": " 历城区 1 号 "})
    assert problems == {} and clean["certificate_no"] == "鲁(2023)济南市不动产权第0012345号"
    clean, problems = check_fields("deposit", {"account": "6228-48", "balance": 1.5, "colour": "red"})
    assert set(problems) == {"account", "balance", "bank", "colour"}
    assert "float" in problems["balance"][0]
    assert "no field 'colour'" in problems["colour"][0]
    _, problems = check_fields("guarantee_company", {"contract_no": "B1", "guarantor": "某担保公司",
                                                     "guarantor_uscc": "91370000MA3C9QXK1Z", "amount": "1"})
    assert set(problems) == {"guarantor_uscc"}
    _, problems = check_fields("deposit", {"account": "622848001234", "bank": "x", "balance": "-1"})
    assert "positive" in problems["balance"][0]
    clean, problems = check_fields("deposit", {"account": "622848001234", "bank": "x", "balance": Decimal("10.50")})
    assert not problems and clean["balance"] == "10.50"


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="real_estate, vehicle"):
        kind_spec("boat")
