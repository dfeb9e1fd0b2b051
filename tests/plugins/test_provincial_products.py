"""The province's standard products: limits are whole thousands, never above the formula."""

from decimal import Decimal

from nongxin.plugins import provincial_products as plugin
from nongxin.sdk import Applicant, ApplicationData, HookContext


def application(product: str) -> ApplicationData:
    return ApplicationData("A-1", product, "JNRCB", Applicant("resident_id", "11010519491231002X", "张三"),
                           Decimal("50000"), 12)


def test_limit_is_twice_income_rounded_down_to_the_thousand():
    ctx = HookContext("JNRCB", ("SD", "JNRCB"), {"xin_e_dai_ceiling": Decimal("300000")}, plugin.PLUGIN.name)
    result = plugin.nongxin_credit_limit(application(plugin.XIN_E_DAI), {"annual_income": "61999.50"}, ctx)
    assert result.amount == Decimal("123000")
    capped = plugin.nongxin_credit_limit(application(plugin.XIN_E_DAI), {"annual_income": "900000"}, ctx)
    assert capped.amount == Decimal("300000")


def test_other_products_are_not_answered():
    assert plugin.nongxin_credit_limit(application("QCED"), {}, HookContext("JNRCB")) is None


def test_price_is_the_lpr_plus_the_spread_setting():
    default = plugin.nongxin_price(application(plugin.XIN_E_DAI), {"lpr_1y": Decimal("0.03")},
                                   HookContext("JNRCB", ("SD", "JNRCB"), {}, plugin.PLUGIN.name))
    assert (default.spread_bp, default.annual_rate) == (plugin.SPREAD_BP, None)
    ctx = HookContext("JNRCB", ("SD", "JNRCB"), {"spread_bp": 150}, plugin.PLUGIN.name)
    assert plugin.nongxin_price(application(plugin.FU_NONG_DAI), {}, ctx).spread_bp == 150
    assert plugin.nongxin_price(application("QCED"), {}, ctx) is None


def test_settings_refuse_a_spread_out_of_range_and_products_use_the_sdk_method_names():
    from nongxin.sdk import REPAYMENT_METHODS

    assert "spread_bp" in plugin.Settings().validate({"spread_bp": 5000})
    assert plugin.Settings().load({})["spread_bp"] == plugin.SPREAD_BP
    for spec in plugin.nongxin_products(HookContext("JNRCB")):
        assert spec.repayment_methods and set(spec.repayment_methods) <= set(REPAYMENT_METHODS), spec


def test_fang_di_dai_needs_real_estate_and_is_limited_by_income():
    ctx = HookContext("JNRCB", ("SD", "JNRCB"), {}, plugin.PLUGIN.name)
    [spec] = [p for p in plugin.nongxin_products(ctx) if p.code == plugin.FANG_DI_DAI]
    assert spec.collateral_kind == "real_estate" and spec.segment == "small_business"
    assert spec.auto_approval_ceiling == 0 and spec.term_months == (12, 120)
    result = plugin.nongxin_credit_limit(application(plugin.FANG_DI_DAI), {"annual_income": "150500"}, ctx)
    assert result.amount == Decimal("752000")
    capped = plugin.nongxin_credit_limit(application(plugin.FANG_DI_DAI), {"annual_income": "9000000"}, ctx)
    assert capped.amount == plugin.FANG_DI_DAI_CEILING
    assert plugin.nongxin_price(application(plugin.FANG_DI_DAI), {}, ctx).spread_bp == plugin.SPREAD_BP
