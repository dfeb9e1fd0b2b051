"""Shadow rules: evaluated beside the live ones, their hits stored apart, never an outcome.

The promises:

* ``judge(session, runtime, night)`` runs inside one county bank's scan transaction (``nightly``):
  the bank's shadow post-loan book over ``night.loans`` and its shadow collateral book over
  ``night.positions``, through the very seam the scan uses (``early_warning.evaluate``), their hits
  written set-wise as ``ShadowHit`` rows after deleting the bank's shadow hits of that date and
  stage (running a night twice changes nothing). Every rule of the live and shadow books is
  tallied (``RuleHitTally``, 0 hits included) per (date, bank, stage), delete-then-insert.
* A shadow hit never opens a warning or a task: nothing here touches them, and the scan writes its
  warnings from the live hits only.
* An unusable shadow book, or one that fails while judging, never affects the scan: it is logged
  and nothing is written for it (its stage's live tallies still are).
* ``admission(session, runtime, where, application, facts, today)`` evaluates the shadow admission
  book one record on the decision's facts and adds the hits as ``ShadowHit`` rows; any exception is
  logged and swallowed, nothing reaches the decision record, and an empty book costs no query.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any, Mapping, cast

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.early_warning.evaluate import BankRules, evaluate
from nongxin.core.institutions.models import Institution
from nongxin.core.rules.books import RuleBook
from nongxin.core.rules.models import RuleHitTally, ShadowHit
from nongxin.core.rules.stored import stored_id

if TYPE_CHECKING:
    from nongxin.core.credit.models import Application
    from nongxin.core.rules.nightly import BankNight

__all__ = ["admission", "judge"]

log = logging.getLogger("nongxin.rules.shadow")
HITS, TALLIES = (cast(sa.Table, m.__table__) for m in (ShadowHit, RuleHitTally))

#: stage -> (subject kind, key column, reference column) of the nightly frames
_SUBJECTS = {"post_loan": ("loan", "loan_id", "loan_no"), "collateral": ("pledge", "pledge_id", "item_number")}


def _tallies(night: "BankNight", stage: str, book: RuleBook, hits: pd.DataFrame, subjects: int,
             shadow: bool) -> list[dict[str, Any]]:
    """One tally row per rule of ``book`` (0 hits included)."""
    counts = hits["rule_code"].value_counts().to_dict() if len(hits) else {}
    return [{"business_date": night.as_of, "county_bank_id": night.bank.id, "stage": stage, "rule_code": r.code,
             "rule_version": r.version, "shadow": shadow, "hits": int(counts.get(r.code, 0)), "subjects": subjects}
            for r in book.rules]


def _branches(session: Session, frame: pd.DataFrame, stage: str) -> np.ndarray:
    """The branch id of each row of a nightly frame (positions carry the branch's code)."""
    if stage == "post_loan":
        return frame["institution_id"].to_numpy(dtype=np.int64)
    codes = {str(c) for c in frame["institution"]}
    ids: dict[str, int] = dict(session.execute(
        sa.select(Institution.code, Institution.id).where(Institution.code.in_(codes))).all())
    return np.fromiter((ids[str(c)] for c in frame["institution"]), np.int64, len(frame))


def _store(session: Session, night: "BankNight", stage: str, book: RuleBook, frame: pd.DataFrame) -> pd.DataFrame:
    """Evaluate the shadow book over ``frame`` and rewrite the bank's shadow hits of the date and stage."""
    kind, key, ref = _SUBJECTS[stage]
    hits = evaluate(frame, BankRules(night.bank.code, stage, tuple(book.rules), key))
    session.execute(sa.delete(ShadowHit).where(ShadowHit.county_bank_id == night.bank.id,
                                               ShadowHit.business_date == night.as_of, ShadowHit.stage == stage))
    if len(hits):
        ids = {r.code: stored_id(r) for r in book.rules}
        rows = frame.drop_duplicates(key).set_index(key)
        picked = rows.iloc[rows.index.get_indexer(hits[key].to_numpy())]  # the rows hit, in the hits' order
        refs = picked[ref].to_numpy(dtype=object)
        branches = _branches(session, picked, stage)
        session.execute(sa.insert(HITS), [
            {"rule_id": ids[str(code)], "stage": stage, "business_date": night.as_of, "county_bank_id": night.bank.id,
             "institution_id": int(branch), "subject_kind": kind, "subject_id": int(subject),
             "subject_ref": str(subject_ref)[:40], "outcome": str(colour)}
            for subject, code, colour, subject_ref, branch in zip(hits[key], hits["rule_code"], hits["colour"],
                                                                   refs, branches)])
    return hits


def judge(session: Session, runtime: Any, night: "BankNight") -> int:
    """The bank's shadow hits of the night (stored) and the tallies (module docstring); the hit count."""
    total = 0
    for stage, frame, live_hits in (("post_loan", night.loans, night.loan_hits),
                                    ("collateral", night.positions, night.position_hits)):
        tallies: list[dict[str, Any]] = []
        kinds = []
        live = runtime.rulebooks.get(session, night.bank, stage, night.as_of)
        if live.usable:
            tallies += _tallies(night, stage, live, live_hits, len(frame), shadow=False)
            kinds.append(False)
        book = runtime.rulebooks.shadow(session, night.bank, stage, night.as_of)
        if not book.usable:
            log.warning("the shadow %s rule book of %s is unusable, nothing of it was written: %s",
                        stage, night.bank.code, book.error)
        else:
            try:
                with session.begin_nested():  # a failure here is undone alone: the bank's scan goes on
                    hits = _store(session, night, stage, book, frame)
            except Exception:
                log.exception("the shadow %s rules of %s could not be judged, nothing of them was written",
                              stage, night.bank.code)
            else:
                total += len(hits)
                tallies += _tallies(night, stage, book, hits, len(frame), shadow=True)
                kinds.append(True)
        if kinds:
            session.execute(sa.delete(RuleHitTally).where(
                RuleHitTally.business_date == night.as_of, RuleHitTally.county_bank_id == night.bank.id,
                RuleHitTally.stage == stage, RuleHitTally.shadow.in_(kinds)))
        if tallies:
            session.execute(sa.insert(TALLIES), tallies)
    return total


def admission(session: Session, runtime: Any, where: Institution, application: "Application",
              facts: Mapping[str, Any], today: date) -> int:
    """The shadow admission hits of one decision, added to the session (module docstring); never raises."""
    try:
        book = runtime.rulebooks.shadow(session, where, "admission", today)
        if not book.rules:
            return 0
        if not book.usable or book.compiled is None:
            log.warning("the shadow admission rule book at %s is unusable: %s", where.code, book.error)
            return 0
        ids = {r.code: stored_id(r) for r in book.rules}
        hits = book.compiled.evaluate(facts)
        if hits:
            with session.begin_nested():  # a failing insert is undone alone, the decision goes on
                session.execute(sa.insert(HITS), [
                    {"rule_id": ids[h.code], "stage": "admission", "business_date": today,
                     "county_bank_id": application.county_bank_id, "institution_id": application.institution_id,
                     "subject_kind": "application", "subject_id": application.id,
                     "subject_ref": application.number, "outcome": h.outcome} for h in hits])
        return len(hits)
    except Exception:  # a shadow rule never stops or changes a decision
        log.exception("the shadow admission rules could not be judged for %s", application.number)
        return 0
