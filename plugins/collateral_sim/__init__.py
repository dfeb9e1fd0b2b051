"""The simulated collateral valuer (模拟估值) bundled for demos and tests.

``nongxin_value_collateral`` answers an index price for real estate, land and forest rights,
vehicles and warehouse receipts: the declared value times the kind's index from the plugin's
settings (``real_estate`` 0.97, ``vehicle`` 0.85, ...), rounded half up to the fen; a deposit is
worth its balance (method ``face_value``); guarantees are not its business (None, so another
valuer may answer). The valuation is dated ``ctx.business_date``. The same item and settings on
the same business date always give the same answer.

It answers last (``trylast``), so a real valuer enabled at an institution wins, and it is off
unless switched on: a real province must never lend on simulated prices by accident.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Mapping

from marshmallow import Schema, fields, validate

from nongxin.sdk import CollateralData, HookContext, PluginInfo, PluginKind, Valuation, hookimpl

__all__ = ["DEFAULT_INDEX", "NAME", "PLUGIN", "SettingsSchema", "nongxin_value_collateral", "simulate_value"]

NAME = "collateral_sim"
_FEN = Decimal("0.01")

#: Default index per kind (the share of the declared value the simulated market pays today).
DEFAULT_INDEX: Mapping[str, Decimal] = {
    "real_estate": Decimal("0.97"), "land_rights": Decimal("0.90"), "forest_rights": Decimal("0.88"),
    "vehicle": Decimal("0.85"), "warehouse_receipt": Decimal("0.92"),
}


def _index(kind: str) -> fields.Decimal:
    return fields.Decimal(load_default=DEFAULT_INDEX[kind], places=4, as_string=True,
                          validate=validate.Range(min=Decimal("0.01"), max=Decimal("2")),
                          metadata={"description": f"index applied to a {kind}'s declared value (0.01-2)"})


class SettingsSchema(Schema):
    """The plugin's settings at an institution: one index per kind it prices."""

    real_estate = _index("real_estate")
    land_rights = _index("land_rights")
    forest_rights = _index("forest_rights")
    vehicle = _index("vehicle")
    warehouse_receipt = _index("warehouse_receipt")


PLUGIN = PluginInfo(
    name=NAME, version="1.0.0", kind=PluginKind.VALUATION, settings_schema=SettingsSchema,
    enabled_by_default=False,
    description="模拟估值: deterministic index prices (declared value x a per-kind index) for demos and tests",
)


def simulate_value(collateral: CollateralData, settings: Mapping[str, Any], on: Any) -> Valuation | None:
    """The simulated valuation of ``collateral`` on ``on`` with ``settings`` (None: not priced here)."""
    if collateral.kind == "deposit":
        try:
            balance = Decimal(str(collateral.data.get("balance", "")))
        except InvalidOperation:
            return None
        return Valuation(balance.quantize(_FEN), "face_value", NAME, on) if balance > 0 else None
    if collateral.kind not in DEFAULT_INDEX:
        return None  # guarantees, and kinds this valuer does not know
    index = Decimal(str(settings.get(collateral.kind, DEFAULT_INDEX[collateral.kind])))
    value = (Decimal(collateral.declared_value) * index).quantize(_FEN, rounding=ROUND_HALF_UP)
    return Valuation(value, "index", NAME, on) if value > 0 else None


@hookimpl(trylast=True)
def nongxin_value_collateral(collateral: CollateralData, ctx: HookContext) -> Valuation | None:
    """Hook implementation: an index price (a deposit: its balance) as of ``ctx.business_date``."""
    if ctx.business_date is None:
        raise ValueError("the simulated valuer needs ctx.business_date (the core always sets it)")
    return simulate_value(collateral, ctx.settings, ctx.business_date)
