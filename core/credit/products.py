"""The products offered at an institution: whatever its enabled product plugins contribute."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from nongxin.core.institutions.models import Institution
from nongxin.core.plugin_state.services import PluginDirectory
from nongxin.sdk.types import PluginFailure, ProductSpec


@dataclass(frozen=True)
class OfferedProduct:
    plugin: str
    spec: ProductSpec


def offered(session: Session, directory: PluginDirectory, institution: Institution) -> tuple[list[OfferedProduct], list[PluginFailure]]:
    view = directory.view(session, institution)
    hook = view.hook("nongxin_products")
    products: list[OfferedProduct] = []
    failures: list[PluginFailure] = []
    # One implementation at a time, to know which plugin offered which product.
    for impl in reversed(hook.get_hookimpls()):
        value = impl.function(*[view.ctx for _ in impl.argnames])  # the hook's only parameter is ctx
        if isinstance(value, PluginFailure):
            failures.append(value)
        elif not isinstance(value, (list, tuple)) or not all(isinstance(s, ProductSpec) for s in value):
            failures.append(PluginFailure(impl.plugin_name, "nongxin_products",
                                          f"returned {type(value).__name__}, not a list of ProductSpec"))
        else:
            products.extend(OfferedProduct(impl.plugin_name, spec) for spec in value)
    return products, failures
