"""沂蒙云贷: Linyi's whole-village credit (整村授信) for farmer households.

Before any application, village cadres and respected neighbours rate each household in a peer
review (评议): white (no opinion), green (recommended), grey (doubts) or black (do not lend). That
colour carries knowledge no bureau report has, so it scales the limit and decides what a person
must look at; land under cultivation (亩) and household assets give the base amount.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import lcm
from typing import Any, Mapping

from marshmallow import Schema, fields, validate

from nongxin.sdk import (
    AmountRange, ApplicationData, BatchTerms, Finding, HookContext, LimitResult, Outcome, PluginInfo, PluginKind,
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
    name="yimeng_cloud_loan", version="1.1.0", kind=PluginKind.PRODUCT,
    description="沂蒙云贷: 临沂农商银行 whole-village credit for farmer households",
    allowed_institutions=("LYRCB",), settings_schema=Settings,
)


def _land_mu(value: Any) -> Decimal:
    # Land area is not money: the form and the land registry may send a float (12.5 mu), and its
    # shortest repr is the figure that was meant, so go through str rather than refuse it.
    return Decimal("0") if value in (None, "") else Decimal(str(value))


def normal_colour(colour: Any) -> str | None:
    """The colour as the product reads it (trimmed, lower case); None when there is none."""
    return str(colour).strip().lower() if colour not in (None, "") else None


def _colour(application: ApplicationData, facts: Mapping[str, Any]) -> str | None:
    return normal_colour(fact(application, facts, "peer_review"))


def assess_colour(colour: str | None) -> Finding | None:
    """What the colour alone says about the household (a finding), or None."""
    if colour == "black":
        return Finding("YMYD_BLACK", Outcome.REJECT, "household is on the village black list (评议黑名单)")
    if colour is None:
        return Finding("YMYD_NO_PEER_REVIEW", Outcome.MANUAL_REVIEW, "no village peer review on file")
    if colour not in COLOURS:
        return Finding("YMYD_BAD_COLOUR", Outcome.MANUAL_REVIEW, f"unknown peer review colour {colour!r}")
    if colour == "grey":
        return Finding("YMYD_GREY", Outcome.MANUAL_REVIEW, "village peer review has doubts (灰名单)")
    return None


def colour_rate(colour: str | None, settings: Mapping[str, Any]) -> tuple[Decimal, str]:
    """The annual rate for the colour (green earns the discount), within the product's range."""
    rate, reason = settings["base_rate"], "Linyi farmer base rate"
    if colour == "green":
        rate, reason = rate - settings["green_discount"], reason + " less the green-list discount"
    return min(RATE_CAP, max(RATE_FLOOR, rate)).quantize(Decimal("0.0001")), reason


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
    finding = assess_colour(_colour(application, facts))
    return [] if finding is None else [finding]


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
    rate, reason = colour_rate(_colour(application, facts), settings_with_defaults(ctx, Settings))
    return PriceResult(rate, reason)


def _fen_column(frame: Any, name: str) -> Any:
    """A decimal fact's column as int64 fen, missing as 0 (as ``money`` reads a missing amount)."""
    import numpy as np

    if name not in frame:
        return np.zeros(len(frame), dtype=np.int64)
    return frame[name].to_numpy(dtype=np.int64, na_value=0)


def batch_limits(factor_num: Any, factor_den: Any, land: Any, assets: Any, settings: Mapping[str, Any]) -> Any:
    """``compute_limit`` over columns, in integers: ``land`` in hundredths of a mu and ``assets`` in
    fen (int64 arrays), each row's colour factor as the fraction ``factor_num / factor_den``; the
    limit in fen (int64)."""
    import numpy as np

    base, per_mu, ratio = (Fraction(settings[k]) for k in ("base_amount", "per_mu_amount", "asset_ratio"))
    # fen x den: base x 100 + land (1/100 mu) x per_mu + assets (fen) x ratio, over one denominator
    den = lcm(base.denominator, per_mu.denominator, ratio.denominator)
    b, p, r = int(base * 100 * den), int(per_mu * den), int(ratio * den)
    land, assets = np.maximum(land, 0), np.maximum(assets, 0)
    unit = 1000 * 100  # limits go down to the thousand yuan: in fen
    cap = int(Fraction(settings["ceiling"]) * 100 // unit)
    top = (int(land.max(initial=0)) * p + int(assets.max(initial=0)) * r + b) * int(np.max(factor_num, initial=1))
    kind: Any = object if top >= 2**62 or int(np.max(factor_den, initial=1)) * den * unit >= 2**62 else np.int64
    scaled = b + land.astype(kind) * p + assets.astype(kind) * r
    steps = (scaled * factor_num.astype(kind)) // (factor_den.astype(kind) * (den * unit))
    return (np.minimum(steps, cap) * unit).astype(np.int64)


@hookimpl
def nongxin_batch_terms(product_code: str, frame: Any, ctx: HookContext) -> BatchTerms | None:
    """The limit, price and findings of every row at once: per distinct colour the factor, rate
    and finding are computed once with the functions the one-record hooks use; the figures in
    integers (fen, hundredths of a mu), so each row equals ``nongxin_credit_limit``,
    ``nongxin_price`` and ``nongxin_assess_application``."""
    if product_code != PRODUCT_CODE:
        return None
    import numpy as np
    import pandas as pd

    settings = settings_with_defaults(ctx, Settings)
    n = len(frame)
    raw = frame["peer_review"] if "peer_review" in frame else pd.Series([None] * n, dtype=object)
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    colours = [normal_colour(None if pd.isna(v) else v) for v in uniques] + [None]  # code -1: missing
    factors = [Fraction(colour_factor(c, settings)) for c in colours]
    rates = [int(colour_rate(c, settings)[0] * 1_000_000) for c in colours]
    findings = [assess_colour(c) for c in colours]
    codes = np.asarray(codes)
    nums = np.array([f.numerator for f in factors], dtype=np.int64)[codes]
    dens = np.array([f.denominator for f in factors], dtype=np.int64)[codes]
    limit = batch_limits(nums, dens, _fen_column(frame, "land_mu"), _fen_column(frame, "household_assets"), settings)
    outcome = np.array(["" if f is None else f.outcome.value for f in findings], dtype=object)[codes]
    reason = np.array(["" if f is None else f.reason for f in findings], dtype=object)[codes]
    code = np.array(["" if f is None else f.code for f in findings], dtype=object)[codes]
    return BatchTerms(limit_fen=limit, annual_rate_ppm=np.array(rates, dtype=np.int64)[codes],
                      outcome=outcome, reason=reason, code=code)
