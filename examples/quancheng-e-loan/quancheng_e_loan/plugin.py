"""泉城e贷: Jinan's credit-only loan for salaried staff and merchants.

The limit leans on the housing provident fund (公积金) because in Jinan it is the one income proof
the bank can verify with the fund centre; a salaried applicant without it is not refused, but a
person must look at the file. Everything here answers only for ``PRODUCT_CODE``: other products'
applications pass through untouched so the province's and other counties' plugins decide them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from marshmallow import Schema, fields, validate

from nongxin.sdk import (
    AmountRange, ApplicationData, Finding, HookContext, LimitResult, Outcome, PluginInfo, PluginKind,
    PriceResult, ProductSpec, fact, hookimpl, money, round_down, settings_with_defaults,
)

PRODUCT_CODE = "QCED"
MIN_AGE, MAX_AGE = 22, 55
SEGMENTS = ("salaried", "merchant")
RATE_FLOOR, RATE_CAP = Decimal("0.0385"), Decimal("0.0800")


class Settings(Schema):
    """What Jinan's product manager may tune without a new release."""

    ceiling = fields.Decimal(load_default=Decimal("300000"), as_string=False,
                             validate=validate.Range(min=Decimal("10000"), max=Decimal("1000000")))
    income_multiple = fields.Decimal(load_default=Decimal("1.5"), as_string=False,
                                     validate=validate.Range(min=Decimal("0.1"), max=Decimal("5")))
    provident_fund_multiple = fields.Decimal(load_default=Decimal("60"), as_string=False,
                                             validate=validate.Range(min=Decimal("0"), max=Decimal("240")))
    base_rate = fields.Decimal(load_default=Decimal("0.0420"), as_string=False,
                               validate=validate.Range(min=RATE_FLOOR, max=RATE_CAP))
    merchant_markup = fields.Decimal(load_default=Decimal("0.0080"), as_string=False,
                                     validate=validate.Range(min=Decimal("0"), max=Decimal("0.03")))


PLUGIN = PluginInfo(
    name="quancheng_e_loan", version="1.0.0", kind=PluginKind.PRODUCT,
    description="泉城e贷: 济南农商银行 credit-only loan for salaried staff and merchants",
    allowed_institutions=("JNRCB",), settings_schema=Settings,
)


def monthly_income(application: ApplicationData, facts: Mapping[str, Any]) -> Decimal:
    """The form's monthly figure, else the core's verified ``annual_income`` fact spread over 12."""
    monthly = fact(application, facts, "monthly_income")
    if monthly not in (None, ""):
        return money(monthly)
    return money(fact(application, facts, "annual_income")) / 12


def compute_limit(income: Decimal, provident_fund_monthly: Decimal, settings: Mapping[str, Any]) -> Decimal:
    """min(ceiling, 12 × monthly income × k + monthly provident fund × m), down to the thousand."""
    raw = (12 * income * settings["income_multiple"]
           + provident_fund_monthly * settings["provident_fund_multiple"])
    return round_down(min(settings["ceiling"], raw))


@hookimpl
def nongxin_products(ctx: HookContext) -> list[ProductSpec]:
    ceiling = settings_with_defaults(ctx, Settings)["ceiling"]
    return [ProductSpec(
        code=PRODUCT_CODE, name="泉城e贷", segment="salaried",
        amount=AmountRange(Decimal("1000"), ceiling), term_months=(1, 36),
        annual_rate=(RATE_FLOOR, RATE_CAP),
        repayment_methods=("equal_installment", "monthly_interest"),
        required_data=("age", "segment", "monthly_income", "provident_fund_monthly"),
        collateral_kind=None, auto_approval_ceiling=min(ceiling, Decimal("50000")),
        description="济南地区工薪族与个体工商户纯信用贷款，按收入与公积金缴存核定额度",
    )]


@hookimpl
def nongxin_assess_application(application: ApplicationData, facts: Mapping[str, Any],
                               ctx: HookContext) -> list[Finding]:
    if application.product_code != PRODUCT_CODE:
        return []
    findings: list[Finding] = []
    age = fact(application, facts, "age")
    if age is None:
        findings.append(Finding("QCED_AGE_MISSING", Outcome.MANUAL_REVIEW, "applicant's age is not known"))
    elif not MIN_AGE <= int(age) <= MAX_AGE:
        findings.append(Finding("QCED_AGE", Outcome.REJECT, f"age {age} is outside {MIN_AGE}-{MAX_AGE}"))
    segment = fact(application, facts, "segment")
    if segment not in SEGMENTS:
        findings.append(Finding("QCED_SEGMENT", Outcome.REJECT,
                                f"segment {segment!r} is not one of {', '.join(SEGMENTS)}"))
    if monthly_income(application, facts) <= 0:
        findings.append(Finding("QCED_NO_INCOME", Outcome.MANUAL_REVIEW, "monthly income is missing"))
    if segment == "salaried" and money(fact(application, facts, "provident_fund_monthly")) <= 0:
        findings.append(Finding("QCED_NO_PROVIDENT_FUND", Outcome.MANUAL_REVIEW,
                                "salaried applicant without housing provident fund contributions"))
    return findings


@hookimpl
def nongxin_credit_limit(application: ApplicationData, facts: Mapping[str, Any],
                         ctx: HookContext) -> LimitResult | None:
    if application.product_code != PRODUCT_CODE:
        return None
    settings = settings_with_defaults(ctx, Settings)
    income = monthly_income(application, facts)
    fund = money(fact(application, facts, "provident_fund_monthly"))
    limit = compute_limit(income, fund, settings)
    return LimitResult(limit, f"12 × {income} × {settings['income_multiple']} + {fund} × "
                              f"{settings['provident_fund_multiple']}, capped at {settings['ceiling']}")


@hookimpl
def nongxin_price(application: ApplicationData, facts: Mapping[str, Any], ctx: HookContext) -> PriceResult | None:
    if application.product_code != PRODUCT_CODE:
        return None
    settings = settings_with_defaults(ctx, Settings)
    rate = settings["base_rate"]
    reason = "Jinan base rate"
    if fact(application, facts, "segment") == "merchant":
        rate += settings["merchant_markup"]
        reason += " plus merchant markup"
    rate = min(RATE_CAP, max(RATE_FLOOR, rate)).quantize(Decimal("0.0001"))
    return PriceResult(rate, reason)
