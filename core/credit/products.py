"""The products offered at an institution: whatever its enabled product plugins contribute.

A product the core could not lend on is not offered: it is dropped and reported as its plugin's
failure, while the plugin's other products stay on offer. That is a product naming a repayment
method outside ``nongxin.sdk.REPAYMENT_METHODS`` (or none), an allocation order that is not a
permutation of ``ALLOCATION_ORDER``, a prepayment policy outside ``PREPAYMENT_POLICIES``, a penalty
markup outside 0.3..0.5, a settlement day outside 1..28, or a collateral kind the core does not
know (``nongxin.sdk.collateral.KINDS``): an application could never be filed, drawn or repaid on
terms the core cannot honour.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from nongxin.core.institutions.models import Institution
from nongxin.core.plugin_state.services import PluginDirectory
from nongxin.core.credit.domain.interest import checked_markup
from nongxin.sdk.collateral import KINDS
from nongxin.sdk.types import ALLOCATION_ORDER, PREPAYMENT_POLICIES, REPAYMENT_METHODS, PluginFailure, ProductSpec


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
    if spec.allocation_order and sorted(spec.allocation_order) != sorted(ALLOCATION_ORDER):
        return (f"product {spec.code}'s allocation_order {list(spec.allocation_order)} is not an order of "
                f"all of {', '.join(ALLOCATION_ORDER)}")
    if spec.prepayment not in PREPAYMENT_POLICIES:
        return (f"product {spec.code}'s prepayment {spec.prepayment!r} is not one of "
                f"{', '.join(PREPAYMENT_POLICIES)}")
    try:
        checked_markup(spec.penalty_markup)
    except ValueError as exc:
        return f"product {spec.code}: {exc}"
    if isinstance(spec.settlement_day, bool) or not isinstance(spec.settlement_day, int) \
            or not 1 <= spec.settlement_day <= 28:
        return f"product {spec.code}'s settlement_day {spec.settlement_day!r} is not a day from 1 to 28"
    if spec.collateral_kind is not None and spec.collateral_kind not in KINDS:
        return (f"product {spec.code} needs collateral of kind {spec.collateral_kind!r}, which the core does not "
                f"know; one of: {', '.join(KINDS)}")
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
