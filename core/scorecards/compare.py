"""Champion against challenger: the challengers scored in a subtree, and one comparison.

The promises:

* Everything is inside the caller's subtree: ``institution`` outside it (another county bank's) is
  404 exactly as a missing one, and only then is ``scorecard.read`` required (403).
* ``challengers`` counts the shadow scores (``ChallengerScore``) per segment, challenger code and
  version at and below ``institution``.
* ``compare`` reads the shadow scores of one segment and challenger (the only one there when none
  is named; several is 422 naming them) in ``[since, until]`` set-wise, and computes with
  ``compare_domain``: Pearson and Spearman correlation of the champion's and the challenger's
  totals, the grade migration matrix, and each score's KS against the outcomes
  (``outcomes.outcomes``, as of the business date) once ``min_each`` goods and bads are known.
  Figures are Decimal strings of 6 places, or ints.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action, require
from nongxin.core.scorecards import compare_domain as cd
from nongxin.core.scorecards.models import ChallengerScore
from nongxin.core.scorecards.outcomes import DEFAULT_MIN_MONTHS, outcomes
from nongxin.core.scoping import in_subtree

__all__ = ["MIN_EACH", "challengers", "compare", "scope"]

#: Goods and bads each needed before a KS is shown.
MIN_EACH = 20


def scope(uow: UnitOfWork, principal: Principal, institution: str) -> Institution:
    """``institution`` if the caller sees it (404 otherwise), then ``scorecard.read`` (403)."""
    inst = institutions.visible(uow.session, principal, institution)
    require(principal, Action.SCORECARD_READ)
    return inst


def challengers(uow: UnitOfWork, principal: Principal, institution: str) -> list[dict[str, Any]]:
    inst = scope(uow, principal, institution)
    c = ChallengerScore
    stmt = in_subtree(sa.select(c.segment, c.challenger_code, c.challenger_version, sa.func.count(),
                                sa.func.min(c.business_date), sa.func.max(c.business_date)),
                      c.institution_id, inst.path)
    stmt = stmt.group_by(c.segment, c.challenger_code, c.challenger_version).order_by(
        c.segment, c.challenger_code, c.challenger_version)
    return [{"segment": s, "challenger": code, "version": v, "decisions": n, "first": first, "last": last}
            for s, code, v, n, first, last in uow.session.execute(stmt).all()]


def _pick(codes: list[str], wanted: str | None, segment: str) -> str | None:
    if wanted is not None:
        return wanted
    if len(codes) > 1:
        raise invalid("challenger", f"segment {segment!r} has several challengers ({', '.join(codes)}): name one")
    return codes[0] if codes else None


def compare(uow: UnitOfWork, principal: Principal, institution: str, segment: str, challenger_code: str | None,
            since: date | None, until: date | None, *, today: date, min_months: int = DEFAULT_MIN_MONTHS,
            min_each: int = MIN_EACH) -> dict[str, Any]:
    inst = scope(uow, principal, institution)
    if since is not None and until is not None and since > until:
        raise invalid("since", "must not be after until")
    c = ChallengerScore

    def where(stmt: sa.Select[Any]) -> sa.Select[Any]:
        stmt = in_subtree(stmt, c.institution_id, inst.path).where(c.segment == segment)
        if since is not None:
            stmt = stmt.where(c.business_date >= since)
        return stmt if until is None else stmt.where(c.business_date <= until)

    code = _pick(sorted(uow.session.execute(where(sa.select(c.challenger_code).distinct())).scalars()),
                 challenger_code, segment)
    stmt = where(sa.select(c.application_id, c.champion_code, c.champion_total, c.champion_grade,
                           c.challenger_version, c.total, c.grade)).where(c.challenger_code == code)
    rows = uow.session.execute(stmt.order_by(c.application_id)).all()
    paired = [r for r in rows if r.champion_total is not None]
    champ = [float(r.champion_total) for r in paired]
    chall = [float(r.total) for r in paired]
    known = outcomes(uow.session, [r.application_id for r in rows], today, min_months)
    scored = [r for r in rows if r.application_id in known.known]
    ks_champ, why = cd.ks([float(r.champion_total) for r in scored if r.champion_total is not None],
                          [known.known[r.application_id] for r in scored if r.champion_total is not None], min_each)
    ks_chall, why_chall = cd.ks([float(r.total) for r in scored], [known.known[r.application_id] for r in scored],
                                min_each)
    return {
        "institution": inst.code, "segment": segment, "challenger": code,
        "versions": sorted({r.challenger_version for r in rows}),
        "champions": sorted({r.champion_code for r in rows if r.champion_code is not None}),
        "since": since, "until": until, "decisions": len(rows), "paired": len(paired),
        "pearson": cd.figure(cd.pearson(champ, chall)), "spearman": cd.figure(cd.spearman(champ, chall)),
        "migration": cd.migration([r.champion_grade for r in rows], [r.grade for r in rows]),
        "outcomes": {"as_of": today, "min_months": min_months, "goods": known.goods, "bads": known.bads,
                     "unknown": known.unknown, "min_each": min_each},
        "ks": {"champion": cd.figure(ks_champ), "challenger": cd.figure(ks_chall), "reason": why or why_chall},
    }
