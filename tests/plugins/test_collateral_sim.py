"""The simulated valuer, through the SDK only: index prices, face value for deposits, nothing for
guarantees, settings with defaults and bounds, deterministic."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from marshmallow import ValidationError

from nongxin.plugins import collateral_sim
from nongxin.plugins.collateral_sim import DEFAULT_INDEX, NAME, PLUGIN, SettingsSchema, nongxin_value_collateral
from nongxin.sdk import CollateralData, HookContext, PluginKind, Valuation
from nongxin.sdk.collateral import KINDS, check_fields

DAY = date(2026, 3, 2)


def ctx(settings=None, day=DAY):
    return HookContext(institution_code="JNRCB", settings=SettingsSchema().load(settings or {}),
                       plugin_name=NAME, business_date=day)


def item(kind, declared="500000.00", **data):
    return CollateralData(f"JNRCB-K2026-{len(kind):06d}", kind, f"a {kind}", Decimal(declared), data)


@pytest.mark.parametrize("kind, expected", [
    ("real_estate", "485000.00"), ("vehicle", "425000.00"), ("land_rights", "450000.00"),
    ("forest_rights", "440000.00"), ("warehouse_receipt", "460000.00")])
def test_assets_get_the_index_price_of_their_kind_dated_the_business_date(kind, expected):
    answer = nongxin_value_collateral(item(kind), ctx())
    assert answer == Valuation(Decimal(expected), "index", NAME, DAY)
    assert answer.method in KINDS[kind].methods


def test_a_deposit_is_worth_its_balance_at_face_value():
    clean, problems = check_fields("deposit", {"account": "6228480012345678", "bank": "济南农商银行",
                                               "balance": "200000.00"})
    assert not problems
    answer = nongxin_value_collateral(item("deposit", "250000.00", **clean), ctx())
    assert answer == Valuation(Decimal("200000.00"), "face_value", NAME, DAY)


@pytest.mark.parametrize("kind", ["guarantee_company", "guarantee_person", "spaceship"])
def test_guarantees_and_unknown_kinds_are_not_its_business(kind):
    assert nongxin_value_collateral(item(kind), ctx()) is None


def test_settings_change_the_index_and_round_half_up_to_the_fen():
    answer = nongxin_value_collateral(item("vehicle", "100000.05"), ctx({"vehicle": "0.9"}))
    assert answer.value == Decimal("90000.05")  # 90000.045 rounds up
    assert nongxin_value_collateral(item("vehicle", "0.01"), ctx({"vehicle": "0.5"})).value == Decimal("0.01")


def test_settings_have_defaults_and_refuse_nonsense():
    assert SettingsSchema().load({}) == dict(DEFAULT_INDEX)
    for bad in ({"vehicle": "0"}, {"vehicle": "3"}, {"vehicle": "abc"}, {"boat": "1"}):
        with pytest.raises(ValidationError):
            SettingsSchema().load(bad)


def test_same_item_same_day_same_answer_and_no_date_no_answer():
    assert nongxin_value_collateral(item("real_estate"), ctx()) == nongxin_value_collateral(item("real_estate"), ctx())
    with pytest.raises(ValueError, match="business_date"):
        nongxin_value_collateral(item("real_estate"), HookContext(institution_code="JNRCB", plugin_name=NAME))


def test_it_declares_itself_a_valuer_off_by_default_answering_last():
    assert PLUGIN.kind is PluginKind.VALUATION and PLUGIN.name == NAME and not PLUGIN.enabled_by_default
    assert PLUGIN.settings_schema is SettingsSchema
    assert nongxin_value_collateral.nongxin_impl["trylast"]  # a real valuer enabled there answers first
    source = Path(collateral_sim.__file__).read_text(encoding="utf-8")
    imported = {line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert all(not name.startswith("nongxin.") or name.startswith("nongxin.sdk") for name in imported), imported
