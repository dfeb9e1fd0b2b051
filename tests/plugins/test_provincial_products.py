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
