"""Challenger scorecards scored in shadow (冠军/挑战者): beside the champion, never instead of it.

The promises:

* ``shadow_score(session, cards, where, app, decision, facts)`` runs inside the decision's
  transaction, after the decision is added: every challenger card (``ScorecardSpec.challenger``)
  of the application's segment among ``cards`` (the ``nongxin_scorecards`` answers the decision
  already collected at the deciding institution, so a plugin disabled there never scores and no
  plugin is called twice) scores the SAME facts the champion scored; one ``ChallengerScore`` row
  each, with the champion's code, version, total and grade beside the challenger's.
* Stored apart: nothing is written to the decision, its record, outcome, limit or rate.
* A challenger that raises while scoring (a malformed card) is logged and skipped; the others are
  still stored. Anything else that goes wrong is logged and swallowed inside a savepoint: the
  decision is never changed or failed by a challenger.
* Two contributions of the same code and version store one row (the first, as the dispatch
  ordered them).
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.credit.models import Application, Decision
from nongxin.core.institutions.models import Institution
from nongxin.core.plugins.dispatch import HookResult
from nongxin.core.scorecards.models import ChallengerScore
from nongxin.sdk._codec import encode
from nongxin.sdk.scorecards import score
from nongxin.sdk.types import ScorecardSpec

__all__ = ["challenger_rows", "shadow_score"]

log = logging.getLogger("nongxin.scorecards.challenger")


def challenger_rows(cards: HookResult[ScorecardSpec], segment: str, facts: Mapping[str, Any],
                    base: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows to insert: ``base`` (decision, application, bank, champion) plus each challenger's
    score of ``facts``; a card that fails to score is logged and left out."""
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    for c in cards.contributions:
        card = c.value
        if not card.challenger or card.segment != segment or (card.code, card.version) in seen:
            continue
        seen.add((card.code, card.version))
        try:
            result = score(card, facts)
        except Exception:
            log.exception("challenger %s v%s of plugin %s could not score; skipped", card.code, card.version,
                          c.provenance.plugin)
            continue
        rows.append({**base, "challenger_code": card.code, "challenger_version": card.version,
                     "challenger_plugin": c.provenance.plugin[:64], "total": result.total,
                     "grade": result.grade.name if result.grade else None,
                     "lines": [encode(line) for line in result.lines], "missing": list(result.missing)})
    return rows


def shadow_score(session: Session, cards: HookResult[ScorecardSpec], where: Institution, app: Application,
                 decision: Decision, facts: Mapping[str, Any]) -> int:
    """Score the decision's facts with its segment's challengers; the number of rows stored."""
    segment = str(decision.record["application"]["segment"])
    if not any(c.challenger and c.segment == segment for c in cards.values):
        return 0  # no challenger: no query
    session.flush()  # the decision's id (a failure here is the decision's own, as at its commit)
    try:
        with session.begin_nested():
            base = {"decision_id": decision.id, "application_id": app.id, "county_bank_id": app.county_bank_id,
                    "institution_id": where.id, "business_date": decision.business_date, "segment": segment,
                    "champion_code": decision.scorecard_code, "champion_version": decision.scorecard_version,
                    "champion_total": decision.score, "champion_grade": decision.grade}
            rows = challenger_rows(cards, segment, facts, base)
            if rows:
                session.execute(sa.insert(ChallengerScore), rows)
        return len(rows)
    except Exception:
        log.exception("challenger scores of application %s not stored", app.number)
        return 0
