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
    result = directory.view(session, institution).collect("nongxin_products", expect=ProductSpec)
    return [OfferedProduct(c.provenance.plugin, c.value) for c in result.contributions], result.failures
