"""A product naming a repayment method the core does not know is not offered: it is reported as its
plugin's failure, and the plugin's other products stay on offer."""

from decimal import Decimal
from types import ModuleType

import pytest

from nongxin.sdk import REPAYMENT_METHODS, AmountRange, PluginInfo, PluginKind, ProductSpec, hookimpl


def _spec(code, methods):
    return ProductSpec(code=code, name=code, segment="salaried", amount=AmountRange(Decimal("1000"), Decimal("9000")),
                       term_months=(1, 12), annual_rate=(Decimal("0.04"), Decimal("0.08")), repayment_methods=methods)


@hookimpl
def mixed_products(ctx):
    return [_spec("GOOD", ("equal_installment", "bullet")),
            _spec("OLD_NAMES", ("equal_installment", "interest_monthly_principal_at_maturity")),
            _spec("NO_METHOD", ())]


MIXED = ModuleType("mixed")
MIXED.PLUGIN = PluginInfo(name="mixed", version="0.1.0", kind=PluginKind.PRODUCT, enabled_by_default=True)
MIXED.nongxin_products = mixed_products


@pytest.fixture
def nongxin_plugins():
    return [MIXED]


def test_unknown_repayment_methods_drop_the_product_and_name_the_plugin(nongxin_client):
    answer = nongxin_client.get("/api/products?institution=JNRCB").get_json()
    codes = {p["code"]: p for p in answer["products"]}
    assert "GOOD" in codes and "OLD_NAMES" not in codes and "NO_METHOD" not in codes
    failures = [f for f in answer["failures"] if f["plugin"] == "mixed"]
    assert len(failures) == 2, answer["failures"]
    assert "interest_monthly_principal_at_maturity" in failures[0]["error"]
    assert "equal_installment" in failures[0]["error"] and "no repayment method" in failures[1]["error"]


def test_the_bundled_products_use_only_known_methods(nongxin_client):
    answer = nongxin_client.get("/api/products?institution=JNRCB").get_json()
    bundled = [p for p in answer["products"] if p["plugin"] == "provincial_products"]
    assert {p["code"] for p in bundled} == {"XIN_E_DAI", "FU_NONG_DAI", "FANG_DI_DAI"}
    assert all(set(p["repayment_methods"]) <= set(REPAYMENT_METHODS) for p in bundled)
    assert not [f for f in answer["failures"] if f["plugin"] == "provincial_products"]
