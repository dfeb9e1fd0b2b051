"""The scorecards in use at an institution (``GET /api/scorecards``): the cards the plugins
contribute there, as the decision sees them, each with its role (champion: the segment's first
card that is not a challenger; challenger: scores in shadow; a card behind the champion and not a
challenger is ``unused``), its variables and whether it carries a development sample (without
one the stability monitor lists it without a PSI). Another county bank's institution is 404; a
role without ``scorecard.read`` is 403. Plugins that failed to answer are named, not hidden.
"""

from __future__ import annotations

from typing import Any

from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions import services as institutions
from nongxin.core.permissions import Action
from nongxin.core.runtime import Runtime
from nongxin.core.scorecards.monitor import cards_at
from nongxin.sdk.scorecards import variables

__all__ = ["scorecards"]


def scorecards(uow: UnitOfWork, principal: Principal, runtime: Runtime, institution: str | None = None) -> dict[str, Any]:
    """``{"institution", "items", "failures"}``: the cards at ``institution`` (default: the caller's)."""
    where = institutions.visible_for(uow.session, principal, institution or principal.institution_code,
                                     Action.SCORECARD_READ)
    cards, failures = cards_at(uow.session, runtime, where)
    champions: set[str] = set()
    items = []
    for card in cards:
        spec = card.spec
        if spec.challenger:
            role = "challenger"
        elif spec.segment in champions:
            role = "unused"
        else:
            role = "champion"
            champions.add(spec.segment)
        items.append({"code": spec.code, "version": spec.version, "name": spec.name, "segment": spec.segment,
                      "plugin": card.plugin, "role": role, "variables": list(variables(spec)),
                      "has_development": spec.development is not None,
                      "development_rows": spec.development.rows if spec.development is not None else None})
    return {"institution": where.code, "items": items, "failures": failures}
