"""The province's standard products, offered everywhere unless a county switches them off.

Registered ``trylast`` so a county bank's own limit and price for the same product win. Priced as
LPR plus a spread: the ``spread_bp`` setting, in basis points over the LPR of the loan's term (the
core keeps the LPR as a dated province parameter and adds the two).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from marshmallow import Schema, fields, validate

from nongxin.sdk import (
    AmountRange, ApplicationData, HookContext, LimitResult, PluginInfo, PluginKind, PriceResult,
    ProductSpec, hookimpl, round_down,
)


#: Default spread: 1-year LPR 3.00% + 135 bp = 4.35%.
SPREAD_BP = 135


class Settings(Schema):
    xin_e_dai_ceiling = fields.Decimal(load_default=Decimal("300000"), as_string=False,
                                       validate=validate.Range(min=Decimal("1000"), max=Decimal("3000000")))
    spread_bp = fields.Integer(load_default=SPREAD_BP, strict=True, validate=validate.Range(min=0, max=2000),
                               metadata={"description": "basis points over the LPR (100 bp = 1%)"})


PLUGIN = PluginInfo(
    name="provincial_products", version="1.0.0", kind=PluginKind.PRODUCT,
    description="省联社标准产品: 信e贷 (salaried, credit-only), 富农贷 (farmer households), 房抵贷 (small business, "
                "secured by real estate)",
    settings_schema=Settings, enabled_by_default=True,
)

XIN_E_DAI, FU_NONG_DAI, FANG_DI_DAI = "XIN_E_DAI", "FU_NONG_DAI", "FANG_DI_DAI"
#: 房抵贷's ceiling: the collateral's limit decides what is drawn; the formula what is granted.
FANG_DI_DAI_CEILING = Decimal("3000000")


@hookimpl(trylast=True)
def nongxin_products(ctx: HookContext) -> list[ProductSpec]:
    ceiling = ctx.settings.get("xin_e_dai_ceiling", Decimal("300000"))
    return [
        ProductSpec(code=XIN_E_DAI, name="信e贷", segment="salaried",
                    amount=AmountRange(Decimal("1000"), ceiling), term_months=(1, 36),
                    annual_rate=(Decimal("0.0365"), Decimal("0.0800")),
                    repayment_methods=("equal_installment", "monthly_interest"),
                    auto_approval_ceiling=Decimal("50000")),
        ProductSpec(code=FU_NONG_DAI, name="富农贷", segment="farmer",
                    amount=AmountRange(Decimal("5000"), Decimal("500000")), term_months=(6, 36),
                    annual_rate=(Decimal("0.0400"), Decimal("0.0700")),
                    repayment_methods=("quarterly_interest", "equal_principal", "bullet"),  # 利随本清: seasonal
                    auto_approval_ceiling=Decimal("100000")),
        # 房抵贷: secured by registered real estate; drawn only within the collateral's limit, and
        # never approved automatically (the property is valued and registered first)
        ProductSpec(code=FANG_DI_DAI, name="房抵贷", segment="small_business",
                    amount=AmountRange(Decimal("100000"), FANG_DI_DAI_CEILING), term_months=(12, 120),
                    annual_rate=(Decimal("0.0345"), Decimal("0.0650")),
                    repayment_methods=("equal_installment", "equal_principal", "monthly_interest"),
                    collateral_kind="real_estate", auto_approval_ceiling=Decimal("0")),
    ]


@hookimpl(trylast=True)
def nongxin_credit_limit(application: ApplicationData, facts: Mapping[str, Any], ctx: HookContext) -> LimitResult | None:
    if application.product_code not in (XIN_E_DAI, FU_NONG_DAI, FANG_DI_DAI):
        return None
    income = Decimal(str(facts.get("annual_income", 0)))
    if application.product_code == FANG_DI_DAI:
        limit = round_down(min(FANG_DI_DAI_CEILING, income * 5))
        return LimitResult(limit, f"five times annual income {income}, capped at {FANG_DI_DAI_CEILING}; drawn "
                                  "only within the pledged property's limit")
    cap = ctx.settings.get("xin_e_dai_ceiling", Decimal("300000")) if application.product_code == XIN_E_DAI else Decimal("500000")
    limit = round_down(min(cap, income * 2))
    return LimitResult(limit, f"twice annual income {income}, capped at {cap}")


@hookimpl(trylast=True)
def nongxin_price(application: ApplicationData, facts: Mapping[str, Any], ctx: HookContext) -> PriceResult | None:
    if application.product_code not in (XIN_E_DAI, FU_NONG_DAI, FANG_DI_DAI):
        return None
    spread = int(ctx.settings.get("spread_bp", SPREAD_BP))
    return PriceResult(spread_bp=spread, reason=f"LPR + {spread} bp (provincial standard spread)")
