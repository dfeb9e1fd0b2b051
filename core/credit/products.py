"""The products offered at an institution: whatever its enabled product plugins contribute.

A product naming a repayment method outside ``nongxin.sdk.REPAYMENT_METHODS`` is not offered: it is
dropped and reported as its plugin's failure (an application could never be filed or repaid on a
method the core does not know), while the plugin's other products stay on offer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from nongxin.core.institutions.models import Institution
from nongxin.core.plugin_state.services import PluginDirectory
from nongxin.sdk.types import REPAYMENT_METHODS, PluginFailure, ProductSpec


@dataclass(frozen=True)
class OfferedProduct:
    plugin: str
    spec: ProductSpec


def spec_problem(spec: ProductSpec) -> str | None:
    """Why the core cannot offer ``spec``, or None."""
    unknown = [m for m in spec.repayment_methods if m not in REPAYMENT_METHODS]
    if unknown:
        return (f"product {spec.code} names unknown repayment method(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(REPAYMENT_METHODS)}")
    if not spec.repayment_methods:
        return f"product {spec.code} names no repayment method; known: {', '.join(REPAYMENT_METHODS)}"
    return None


def offered(session: Session, directory: PluginDirectory, institution: Institution) -> tuple[list[OfferedProduct], list[PluginFailure]]:
    result = directory.view(session, institution).collect("nongxin_products", expect=ProductSpec)
    products: list[OfferedProduct] = []
    failures = list(result.failures)
    for c in result.contributions:
        problem = spec_problem(c.value)
        if problem is None:
            products.append(OfferedProduct(c.provenance.plugin, c.value))
        else:
            failures.append(PluginFailure(c.provenance.plugin, "nongxin_products", problem))
    return products, failures
