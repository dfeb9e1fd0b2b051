"""沂蒙云贷: Linyi's whole-village credit (整村授信) for farmer households.

Before any application, village cadres and respected neighbours rate each household in a peer
review (评议): white (no opinion), green (recommended), grey (doubts) or black (do not lend). That
colour carries knowledge no bureau report has, so it scales the limit and decides what a person
must look at; land under cultivation (亩) and household assets give the base amount.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from marshmallow import Schema, fields, validate

from nongxin.sdk import (
    AmountRange, ApplicationData, Finding, HookContext, LimitResult, Outcome, PluginInfo, PluginKind,
    PriceResult, ProductSpec, fact, hookimpl, money, round_down, settings_with_defaults,
)

PRODUCT_CODE = "YMYD"
COLOURS = ("white", "green", "grey", "black")
RATE_FLOOR, RATE_CAP = Decimal("0.0400"), Decimal("0.0750")


def _decimal(default: str, low: str, high: str) -> fields.Decimal:
    return fields.Decimal(load_default=Decimal(default), as_string=False,
                          validate=validate.Range(min=Decimal(low), max=Decimal(high)))


class Settings(Schema):
    """What Linyi's product manager may tune as land prices and village practice change."""

    per_mu_amount = _decimal("2000", "0", "20000")
    asset_ratio = _decimal("0.30", "0", "1")
    base_amount = _decimal("20000", "0", "200000")
    ceiling = _decimal("300000", "10000", "1000000")
    green_boost = _decimal("1.20", "1", "2")
    grey_factor = _decimal("0.50", "0", "1")
    base_rate = _decimal("0.0550", "0.0400", "0.0750")
    green_discount = _decimal("0.0050", "0", "0.02")


PLUGIN = PluginInfo(
    name="yimeng_cloud_loan", version="1.0.0", kind=PluginKind.PRODUCT,
    description="沂蒙云贷: 临沂农商银行 whole-village credit for farmer households",
    allowed_institutions=("LYRCB",), settings_schema=Settings,
)


def _land_mu(value: Any) -> Decimal:
    # Land area is not money: the form and the land registry may send a float (12.5 mu), and its
    # shortest repr is the figure that was meant, so go through str rather than refuse it.
    return Decimal("0") if value in (None, "") else Decimal(str(value))


def _colour(application: ApplicationData, facts: Mapping[str, Any]) -> str | None:
    colour = fact(application, facts, "peer_review")
    return str(colour).strip().lower() if colour not in (None, "") else None


def colour_factor(colour: str | None, settings: Mapping[str, Any]) -> Decimal:
    """Unknown or missing colours count as grey: doubt, never a boost."""
    return {"white": Decimal("1"), "green": settings["green_boost"], "black": Decimal("0")}.get(
        colour or "", settings["grey_factor"])


def compute_limit(colour: str | None, household_assets: Decimal, land_mu: Decimal,
                  settings: Mapping[str, Any]) -> Decimal:
    """(base + mu × per-mu amount + assets × ratio) × colour factor, capped, down to the thousand."""
    base = (settings["base_amount"] + max(land_mu, Decimal("0")) * settings["per_mu_amount"]
            + max(household_assets, Decimal("0")) * settings["asset_ratio"])
    raw = min(settings["ceiling"], base * colour_factor(colour, settings))
    return round_down(raw)


@hookimpl
def nongxin_products(ctx: HookContext) -> list[ProductSpec]:
    ceiling = settings_with_defaults(ctx, Settings)["ceiling"]
    return [ProductSpec(
        code=PRODUCT_CODE, name="沂蒙云贷", segment="farmer",
        amount=AmountRange(Decimal("5000"), ceiling), term_months=(6, 36),
        annual_rate=(RATE_FLOOR, RATE_CAP),
        repayment_methods=("quarterly_interest", "equal_installment"),
        required_data=("peer_review", "household_assets", "land_mu"),
        collateral_kind=None, auto_approval_ceiling=min(ceiling, Decimal("100000")),
        description="整村授信：按村级评议颜色、家庭资产与承包土地亩数核定农户额度",
    )]


@hookimpl
def nongxin_assess_application(application: ApplicationData, facts: Mapping[str, Any],
                               ctx: HookContext) -> list[Finding]:
    if application.product_code != PRODUCT_CODE:
        return []
    colour = _colour(application, facts)
    if colour == "black":
        return [Finding("YMYD_BLACK", Outcome.REJECT, "household is on the village black list (评议黑名单)")]
    if colour is None:
        return [Finding("YMYD_NO_PEER_REVIEW", Outcome.MANUAL_REVIEW, "no village peer review on file")]
    if colour not in COLOURS:
        return [Finding("YMYD_BAD_COLOUR", Outcome.MANUAL_REVIEW, f"unknown peer review colour {colour!r}")]
    if colour == "grey":
        return [Finding("YMYD_GREY", Outcome.MANUAL_REVIEW, "village peer review has doubts (灰名单)")]
    return []


@hookimpl
def nongxin_credit_limit(application: ApplicationData, facts: Mapping[str, Any],
                         ctx: HookContext) -> LimitResult | None:
    if application.product_code != PRODUCT_CODE:
        return None
    settings = settings_with_defaults(ctx, Settings)
    colour = _colour(application, facts)
    assets = money(fact(application, facts, "household_assets"))
    land = _land_mu(fact(application, facts, "land_mu"))
    limit = compute_limit(colour, assets, land, settings)
    return LimitResult(limit, f"peer review {colour or 'missing'} × ({settings['base_amount']} + {land} mu × "
                              f"{settings['per_mu_amount']} + assets {assets} × {settings['asset_ratio']}), "
                              f"capped at {settings['ceiling']}")


@hookimpl
def nongxin_price(application: ApplicationData, facts: Mapping[str, Any], ctx: HookContext) -> PriceResult | None:
    if application.product_code != PRODUCT_CODE:
        return None
    settings = settings_with_defaults(ctx, Settings)
    rate, reason = settings["base_rate"], "Linyi farmer base rate"
    if _colour(application, facts) == "green":
        rate, reason = rate - settings["green_discount"], reason + " less the green-list discount"
    return PriceResult(min(RATE_CAP, max(RATE_FLOOR, rate)).quantize(Decimal("0.0001")), reason)
