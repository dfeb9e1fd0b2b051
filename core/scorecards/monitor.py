"""The scorecard stability monitor (模型稳定性监测): each night, for each scorecard that scored a
county bank's recent decisions, the population stability index (PSI) of its score and of each of
its variables, recent decisions against the card's development sample.

The promises:

* Each county bank is watched in its **own** transaction, its institution row locked (like the
  post-loan scan): one bank's failure never undoes another's; two runs of a bank wait for each
  other; re-running a date replaces that date's figures of the bank (idempotent per date).
* The window is the bank's last ``scorecard.monitor_days`` calendar days up to the date. The
  decisions are read set-wise: one select of their champion card and the ``score`` part of their
  record, grouped by ``(scorecard_code, scorecard_version)``; challengers' shadow scores the same
  way from ``challenger_scores``. Production counts use the same indexes as the development counts
  (``sdk.scorecards.band_index`` for the score; for a variable, the bin the stored line names, by
  ``bin_label``, "missing" and a label no bin has being the last), so the two are comparable.
* The card's spec comes from the plugins at the bank (``nongxin_scorecards``). A card no longer
  contributed, or without a development sample, is listed (a "score" row) with no PSI and the
  reason, never an error; so is a card with fewer than ``scorecard.min_population`` decisions.
* A PSI above the bank's ``scorecard.psi_threshold`` raises a model warning (``ModelWarning``): one
  open warning per card, bank and subject; a later night refreshes its ``last_psi`` and
  ``last_seen_on``. Each warning raised and each closed is audited; one audit entry per bank and
  run with the counts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Callable, Iterable, cast

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.credit.models import Application, Decision
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.scan import BanksReport, county_bank_ids, each_bank
from nongxin.core.errors import invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.parameters.services import value
from nongxin.core.permissions import Action, require
from nongxin.core.runtime import Runtime
from nongxin.core.scoping import PAGE, page
from nongxin.core.scorecards import stability_domain as domain
from nongxin.core.scorecards.models import ChallengerScore, ModelWarning, ModelWarningStatus, ScorecardStability
from nongxin.sdk.scorecards import bin_label, variables
from nongxin.sdk.types import ScorecardSpec

__all__ = ["ACTOR", "STATUSES", "BankMonitor", "Card", "MonitorReport", "Scored", "cards_at", "close_warning", "measure",
           "run", "run_nightly", "stability", "warnings"]

ACTOR = "system:scorecard_monitor"
THRESHOLD, DAYS, MINIMUM = "scorecard.psi_threshold", "scorecard.monitor_days", "scorecard.min_population"
SCORE = "score"
STABILITY = cast(sa.Table, ScorecardStability.__table__)
Progress = Callable[[str, int], None]  # (county bank code, cards watched), after each bank


@dataclass
class BankMonitor:
    county_bank: str
    cards: int = 0
    decisions: int = 0
    figures: int = 0
    raised: int = 0
    refreshed: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class MonitorReport(BanksReport[BankMonitor]):
    """The monitor's report: one ``BankMonitor`` per county bank."""


@dataclass
class Scored:
    """One card's scores in the window: the totals and each decision's lines (field, bin, ...)."""

    code: str
    version: int
    segment: str
    totals: list[int] = field(default_factory=list)
    lines: list[list[dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True)
class Card:
    """A card as the plugins at the bank contribute it: its spec and role."""

    spec: ScorecardSpec
    plugin: str


# -- reading the window -------------------------------------------------------------------------

def _window(as_of: date, days: int) -> tuple[date, date]:
    return as_of - timedelta(days=days - 1), as_of


def champion_scores(session: Session, bank: Institution, start: date, end: date) -> list[Scored]:
    """The decisions of the bank in ``[start, end]`` per champion card: one select."""
    rows = session.execute(sa.select(Decision.scorecard_code, Decision.scorecard_version, Decision.score,
                                     Decision.record[("score", "lines")])
                           .join(Application, Application.id == Decision.application_id)
                           .where(Application.county_bank_id == bank.id, Decision.business_date >= start,
                                  Decision.business_date <= end, Decision.scorecard_code.is_not(None),
                                  Decision.score.is_not(None))
                           .order_by(Decision.id)).all()
    return _grouped((str(c), int(v), "", int(t), lines) for c, v, t, lines in rows)


def challenger_scores(session: Session, bank: Institution, start: date, end: date) -> list[Scored]:
    """The challengers' shadow scores of the bank in ``[start, end]`` per card: one select."""
    rows = session.execute(sa.select(ChallengerScore.challenger_code, ChallengerScore.challenger_version,
                                     ChallengerScore.segment, ChallengerScore.total, ChallengerScore.lines)
                           .where(ChallengerScore.county_bank_id == bank.id, ChallengerScore.business_date >= start,
                                  ChallengerScore.business_date <= end)
                           .order_by(ChallengerScore.id)).all()
    return _grouped((str(c), int(v), str(s), int(t), lines) for c, v, s, t, lines in rows)


def _grouped(rows: Iterable[tuple[str, int, str, int, Any]]) -> list[Scored]:
    groups: dict[tuple[str, int], Scored] = {}
    for code, version, segment, total, lines in rows:
        group = groups.setdefault((code, version), Scored(code, version, segment))
        group.totals.append(total)
        group.lines.append(list(lines or []))
    return list(groups.values())


# -- measuring one card ---------------------------------------------------------------------------

def _line_frame(lines: list[list[dict[str, Any]]]) -> pd.DataFrame:
    """Every stored score line of the decisions as one frame of (field, bin) columns."""
    flat = [(line.get("field"), line.get("bin")) for one in lines for line in one]
    return pd.DataFrame(flat, columns=["field", "bin"], dtype=object)


def _bin_counts(spec: ScorecardSpec, name: str, frame: pd.DataFrame) -> list[int]:
    """Per bin of ``name`` (then missing, and a label no bin has), how many stored lines fell in it."""
    labels: dict[str, int] = {}
    for i, b in enumerate(x for x in spec.bins if x.field == name):
        labels.setdefault(bin_label(b), i)
    last = sum(1 for b in spec.bins if b.field == name)
    found = frame.loc[frame["field"] == name, "bin"].astype(str).map(labels).fillna(last).to_numpy(dtype=np.int64)
    return [int(n) for n in np.bincount(found, minlength=last + 1)]


def measure(spec: ScorecardSpec | None, scored: Scored, minimum: int) -> list[dict[str, Any]]:
    """The figures of one card (pure): a "score" row, then one per variable of its development
    sample; each with population, psi (None: no spec, no development sample, too few decisions)
    and the shares (and a reason when there is no PSI)."""
    population = len(scored.totals)
    segment = spec.segment if spec is not None else scored.segment
    base = {"scorecard_code": scored.code, "scorecard_version": scored.version, "segment": segment,
            "population": population}
    if spec is None or spec.development is None:
        why = ("the card is no longer contributed at the bank" if spec is None
               else "the card has no development sample")
        return [{**base, "subject": SCORE, "psi": None, "shares": {"expected": [], "actual": [], "reason": why}}]
    dev = spec.development
    pairs: list[tuple[str, list[int], list[int]]] = [(SCORE, list(dev.score_counts), [
        int(n) for n in np.bincount(np.searchsorted(np.array(dev.score_edges, dtype=np.int64),
                                                    np.array(scored.totals, dtype=np.int64), side="right"),
                                    minlength=len(dev.score_edges) + 1)])]
    frame = _line_frame(scored.lines)
    for name in variables(spec):
        if name in dev.bin_counts:
            pairs.append((name, list(dev.bin_counts[name]), _bin_counts(spec, name, frame)))
    rows = []
    for subject, expected, actual in pairs:
        few = population < minimum
        shares: dict[str, Any] = {"expected": domain.share_text(expected), "actual": domain.share_text(actual)}
        if few:
            shares["reason"] = f"fewer than {minimum} decisions in the window"
        rows.append({**base, "subject": subject, "psi": None if few else domain.psi(expected, actual),
                     "shares": shares})
    return rows


# -- one bank, every bank -------------------------------------------------------------------------

def _warn(session: Session, bank: Institution, row: dict[str, Any], threshold: Decimal, as_of: date,
          actor: str, result: BankMonitor) -> None:
    """Open a warning for a PSI above the threshold, or refresh the open one."""
    psi = row["psi"]
    if psi is None or psi <= threshold:
        return
    open_ = session.execute(sa.select(ModelWarning).where(
        ModelWarning.county_bank_id == bank.id, ModelWarning.scorecard_code == row["scorecard_code"],
        ModelWarning.scorecard_version == row["scorecard_version"], ModelWarning.subject == row["subject"],
        ModelWarning.status == ModelWarningStatus.OPEN).with_for_update()).scalars().first()
    if open_ is not None:
        open_.last_psi, open_.last_seen_on = psi, as_of
        result.refreshed += 1
        return
    warning = ModelWarning(county_bank_id=bank.id, scorecard_code=row["scorecard_code"],
                           scorecard_version=row["scorecard_version"], segment=row["segment"],
                           subject=row["subject"], threshold=threshold, psi=psi, population=row["population"],
                           raised_on=as_of, last_psi=psi, last_seen_on=as_of, status=ModelWarningStatus.OPEN,
                           note="")
    session.add(warning)
    session.flush()
    record(session, actor=actor, action="model_warning.raise", target=f"model_warning:{warning.id}",
           institution_code=bank.code, after={"scorecard": row["scorecard_code"], "version": row["scorecard_version"],
                                              "subject": row["subject"], "psi": format(psi, "f"),
                                              "threshold": format(threshold, "f"), "population": row["population"],
                                              "raised_on": as_of.isoformat()})
    result.raised += 1


def cards_at(session: Session, runtime: Runtime, where: Institution) -> tuple[list[Card], list[str]]:
    """The cards the plugins contribute at ``where`` (champions and challengers), and the plugins
    that failed to answer."""
    found = runtime.plugins.view(session, where).collect("nongxin_scorecards", expect=ScorecardSpec)
    return ([Card(c.value, c.provenance.plugin) for c in found.contributions],
            [f"{f.plugin}: {f.error}" for f in found.failures])


def _bank(runtime: Runtime, bank_id: int, as_of: date, actor: str) -> tuple[BankMonitor, bool]:
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        bank = session.execute(sa.select(Institution).where(Institution.id == bank_id).with_for_update()).scalar_one()
        result = BankMonitor(bank.code)
        threshold = Decimal(value(session, bank, THRESHOLD, as_of))
        start, end = _window(as_of, int(value(session, bank, DAYS, as_of)))
        minimum = int(value(session, bank, MINIMUM, as_of))
        cards, _failures = cards_at(session, runtime, bank)
        specs = {(c.spec.code, c.spec.version): c.spec for c in cards}
        scored = champion_scores(session, bank, start, end) + challenger_scores(session, bank, start, end)
        rows = [row for group in scored for row in measure(specs.get((group.code, group.version)), group, minimum)]
        session.execute(sa.delete(ScorecardStability).where(ScorecardStability.county_bank_id == bank.id,
                                                            ScorecardStability.business_date == as_of))
        if rows:
            session.execute(sa.insert(STABILITY), [{**row, "business_date": as_of, "county_bank_id": bank.id}
                                                   for row in rows])
        for row in rows:
            _warn(session, bank, row, threshold, as_of, actor, result)
        result.cards, result.figures = len(scored), len(rows)
        result.decisions = sum(len(g.totals) for g in scored)
        record(session, actor=actor, action="scorecard.monitor", target=f"institution:{bank.code}",
               institution_code=bank.code, after={"as_of": as_of.isoformat(), **{
                   k: v for k, v in dataclasses.asdict(result).items() if k != "county_bank"}})
        uow.commit()
        return result, False


def run_nightly(runtime: Runtime, as_of: date | None = None, institution: str | None = None,
                progress: Progress | None = None, *, actor: str = ACTOR) -> MonitorReport:
    """The monitor (module docstring) of every county bank, or of those of ``institution`` (a
    code), on ``as_of`` (default: the business date); ``actor`` signs the audit entries."""
    on = as_of or runtime.clock.business_date()
    report = MonitorReport(on)
    for result, _ in each_bank(county_bank_ids(runtime, institution),
                               lambda bank_id, _code: _bank(runtime, bank_id, on, actor),
                               lambda code, why: BankMonitor(code, failures=[why]), "the scorecard monitor"):
        report.banks.append(result)
        if progress is not None:
            progress(result.county_bank, result.cards)
    return report


def run(uow: UnitOfWork, principal: Principal, runtime: Runtime, institution_code: str | None = None,
        as_of: date | None = None, progress: Progress | None = None) -> MonitorReport:
    """The monitor run by a user: the county banks of ``institution_code`` (default: the caller's
    own), 404 outside the caller's subtree, then 403 without ``scorecard.monitor``; a date after the
    business date is 422. The caller's unit of work is committed (empty) before the banks' own
    transactions begin; audited as the caller."""
    top = institutions.visible(uow.session, principal, institution_code or principal.institution_code)
    require(principal, Action.SCORECARD_MONITOR)
    today = runtime.clock.business_date()
    if as_of is not None and as_of > today:
        raise invalid("as_of", f"{as_of.isoformat()} is after the business date {today.isoformat()}")
    code = top.code
    uow.commit()
    return run_nightly(runtime, as_of or today, code, progress, actor=principal.username)


# -- what callers read and close ------------------------------------------------------------------

def _banks_seen(session: Session, principal: Principal, institution: str | None) -> list[Institution]:
    """The county banks whose figures the caller reads: those of ``institution`` (default: the
    caller's own; 404 outside the subtree), or its own bank when it lies below one; 403 without
    ``scorecard.read``."""
    from nongxin.core.collateral.scan import county_banks

    top = institutions.visible(session, principal, institution or principal.institution_code)
    require(principal, Action.SCORECARD_READ)
    return county_banks(session, top)


def _sees_bank(principal: Principal, bank: Institution) -> bool:
    """A county bank's figures are seen from above it and from within it."""
    return bank.path.startswith(principal.institution_path) or principal.institution_path.startswith(bank.path)


def stability(uow: UnitOfWork, principal: Principal, institution: str | None = None,
              as_of: date | None = None) -> dict[str, Any]:
    """The figures of the county banks the caller reads, on ``as_of`` (default: the latest date
    with figures): ``{"as_of", "items"}``, each item with its status."""
    session = uow.session
    banks = {b.id: b for b in _banks_seen(session, principal, institution)}
    if as_of is None:
        as_of = session.execute(sa.select(sa.func.max(ScorecardStability.business_date)).where(
            ScorecardStability.county_bank_id.in_(list(banks)))).scalar()
    if as_of is None:
        return {"as_of": None, "items": []}
    rows = session.execute(sa.select(ScorecardStability).where(
        ScorecardStability.county_bank_id.in_(list(banks)), ScorecardStability.business_date == as_of)
        .order_by(ScorecardStability.county_bank_id, ScorecardStability.scorecard_code,
                  ScorecardStability.scorecard_version, ScorecardStability.id)).scalars().all()
    thresholds = {i: Decimal(value(session, b, THRESHOLD, as_of)) for i, b in banks.items()}
    return {"as_of": as_of, "items": [shown_figure(r, banks[r.county_bank_id].code, thresholds[r.county_bank_id])
                                      for r in rows]}


def shown_figure(row: ScorecardStability, bank: str, threshold: Decimal) -> dict[str, Any]:
    judged = domain.status(row.psi, threshold)
    return {"id": row.id, "business_date": row.business_date, "county_bank": bank, "scorecard_code": row.scorecard_code,
            "scorecard_version": row.scorecard_version, "segment": row.segment, "subject": row.subject,
            "population": row.population, "psi": None if row.psi is None else format(row.psi, "f"),
            "threshold": format(threshold, "f"), "status": judged, "status_label": domain.LABELS[judged],
            "reason": dict(row.shares).get("reason"), "expected": list(dict(row.shares).get("expected", [])),
            "actual": list(dict(row.shares).get("actual", []))}


STATUSES = tuple(s.value for s in ModelWarningStatus)


def warnings(uow: UnitOfWork, principal: Principal, status: str | None = None, institution: str | None = None,
             limit: int = PAGE, offset: int = 0) -> list[dict[str, Any]]:
    """The model warnings of the county banks the caller reads, newest first, one page."""
    session = uow.session
    banks = {b.id: b.code for b in _banks_seen(session, principal, institution)}
    stmt = sa.select(ModelWarning).where(ModelWarning.county_bank_id.in_(list(banks)))
    if status is not None:
        stmt = stmt.where(ModelWarning.status == ModelWarningStatus(status))
    return [shown_warning(w, banks[w.county_bank_id]) for w in
            session.execute(page(stmt.order_by(ModelWarning.id.desc()), limit, offset)).scalars()]


def shown_warning(w: ModelWarning, bank: str, closed_by: str | None = None) -> dict[str, Any]:
    def text(d: Decimal) -> str:
        return format(Decimal(d).quantize(domain.PLACES), "f")

    return {"id": w.id, "county_bank": bank, "scorecard_code": w.scorecard_code,
            "scorecard_version": w.scorecard_version, "segment": w.segment, "subject": w.subject,
            "threshold": text(w.threshold), "psi": text(w.psi), "population": w.population, "raised_on": w.raised_on,
            "last_psi": text(w.last_psi), "last_seen_on": w.last_seen_on, "status": w.status.value,
            "closed_at": w.closed_at, "note": w.note}


def close_warning(uow: UnitOfWork, principal: Principal, warning_id: int, note: str) -> dict[str, Any]:
    """Close an open model warning with a note: another county bank's (or a missing) one is 404,
    then 403 without ``scorecard.monitor``; a closed one is 409; audited."""
    from nongxin.core.db import utcnow
    from nongxin.core.errors import Conflict, NotFound
    from nongxin.core.institutions.models import User

    session = uow.session
    warning = session.execute(sa.select(ModelWarning).where(ModelWarning.id == warning_id)
                              .with_for_update()).scalar_one_or_none()
    bank = session.get(Institution, warning.county_bank_id) if warning is not None else None
    if warning is None or bank is None or not _sees_bank(principal, bank):
        raise NotFound(f"model warning {warning_id} not found", fields={"warning_id": ["not found"]})
    require(principal, Action.SCORECARD_MONITOR)
    if not note.strip():
        raise invalid("note", "say why the warning is closed")
    if warning.status is ModelWarningStatus.CLOSED:
        raise Conflict(f"model warning {warning_id} is closed already", code="model_warning_closed",
                       fields={"warning_id": ["closed already"]})
    warning.status, warning.note, warning.closed_at = ModelWarningStatus.CLOSED, note.strip(), utcnow()
    warning.closed_by_id = session.execute(sa.select(User.id).where(User.username == principal.username)).scalar()
    record(session, actor=principal.username, action="model_warning.close", target=f"model_warning:{warning.id}",
           institution_code=bank.code, before={"status": "open"}, after={"status": "closed", "note": warning.note})
    uow.commit()
    return shown_warning(warning, bank.code)
