"""The shadow report: what each shadow rule would have hit, day by day, beside the live rules.

The promise: ``report(uow, principal, runtime, institution=, start=, end=, stage=, rule_id=)`` reads
the county banks at or below ``institution`` (a branch reads its own bank; another county bank's
institution is 404, exactly as a missing one) and answers one row per business date and shadow rule:

* ``shadow_hits``: the rule's hits that day (post-loan and collateral: the scan's tallies; admission:
  its ``ShadowHit`` rows, one per application);
* ``live_hits``: the hits of the live rule with the same code that day (post-loan and collateral:
  the live tallies; admission: the decisions whose record's ``rules.hits`` has the code), null when
  no live rule had the code (no live tally; no decision's stored rule book with the code);
* admission only: ``both``, ``shadow_only``, ``live_only`` per application, and ``would_change``:
  decisions the shadow hit would have moved (a reject on a decision not rejected, a manual review
  on an approved one); null for the nightly stages (the live hits per loan are not kept per day);
* ``subjects``: the loans or positions judged that night by the banks that ran the rule, or the
  decisions of that day.

``totals`` sums each rule's rows (a null stays null only when every day's is null). Reads only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.auth import Principal
from nongxin.core.collateral.scan import county_banks
from nongxin.core.credit.models import Application, Decision, DecisionRuleBook
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action
from nongxin.core.rules.models import RuleHitTally, ShadowHit, StoredRule
from nongxin.sdk.facts import SCHEMAS

__all__ = ["FIGURES", "report"]

NIGHTLY = ("post_loan", "collateral")
#: The figures of a row and of a total, in the order the CLI shows them.
FIGURES = ("subjects", "shadow_hits", "live_hits", "both", "shadow_only", "live_only", "would_change")
#: decision outcome -> the shadow outcomes that would have moved it
_MOVES = {"approved": {"reject", "manual_review"}, "manual_review": {"reject"}}


@dataclass
class _Row:
    day: date
    stage: str
    rule: StoredRule
    shadow_hits: int = 0
    subjects: int = 0
    live_hits: int | None = None
    both: int | None = None
    shadow_only: int | None = None
    live_only: int | None = None
    would_change: int | None = None
    banks: set[int] = field(default_factory=set)

    def as_dict(self, owners: dict[int, str]) -> dict[str, Any]:
        return {"business_date": self.day, "stage": self.stage, "rule_id": self.rule.id, "rule_code": self.rule.code,
                "rule_version": self.rule.version, "owner": owners.get(self.rule.owner_id, ""),
                "outcome": self.rule.outcome, **{f: getattr(self, f) for f in FIGURES}}


def _add(a: int | None, b: int | None) -> int | None:
    return a if b is None else (b if a is None else a + b)


def _owner_of(rules: Iterable[StoredRule], paths: dict[int, str],
              bank_path: str) -> dict[tuple[str, str, int], StoredRule]:
    """(stage, code, version) -> the shadow rule a bank ran: owned along its ancestry, the deepest owner."""
    found: dict[tuple[str, str, int], StoredRule] = {}
    for r in rules:
        path = paths.get(r.owner_id)
        if path is None or not bank_path.startswith(path):
            continue
        key = (r.stage, r.code, r.version)
        if key not in found or len(paths[found[key].owner_id]) < len(path):
            found[key] = r
    return found


def _nightly(session: Session, banks: list[Institution], start: date, end: date,
             stages: list[str]) -> list[_Row]:
    tallies = session.execute(sa.select(RuleHitTally).where(
        RuleHitTally.county_bank_id.in_([b.id for b in banks]), RuleHitTally.business_date.between(start, end),
        RuleHitTally.stage.in_(stages))).scalars().all()
    shadow = [t for t in tallies if t.shadow]
    if not shadow:
        return []
    live: dict[tuple[date, int, str, str], int] = defaultdict(int)
    for t in tallies:
        if not t.shadow:
            live[(t.business_date, t.county_bank_id, t.stage, t.rule_code)] += t.hits
    ancestors = {int(i) for b in banks for i in b.path.strip("/").split("/")}
    paths: dict[int, str] = dict(session.execute(
        sa.select(Institution.id, Institution.path).where(Institution.id.in_(ancestors))).all())
    candidates = session.execute(sa.select(StoredRule).where(
        StoredRule.shadow.is_(True), StoredRule.stage.in_(stages), StoredRule.owner_id.in_(ancestors),
        StoredRule.code.in_({t.rule_code for t in shadow}))).scalars().all()
    ran = {b.id: _owner_of(candidates, paths, b.path) for b in banks}
    rows: dict[tuple[date, str, int], _Row] = {}
    for t in shadow:
        rule = ran[t.county_bank_id].get((t.stage, t.rule_code, t.rule_version))
        if rule is None:  # a tally whose rule row is gone: nothing to name it by
            continue
        row = rows.setdefault((t.business_date, t.stage, rule.id), _Row(t.business_date, t.stage, rule))
        row.shadow_hits += t.hits
        row.subjects += t.subjects
        key = (t.business_date, t.county_bank_id, t.stage, t.rule_code)
        row.live_hits = _add(row.live_hits, live[key] if key in live else None)
    return list(rows.values())


def _admission(session: Session, banks: list[Institution], start: date, end: date) -> list[_Row]:
    bank_ids = [b.id for b in banks]
    hits = session.execute(sa.select(ShadowHit.business_date, ShadowHit.rule_id, ShadowHit.subject_id,
                                     ShadowHit.outcome).where(
        ShadowHit.stage == "admission", ShadowHit.county_bank_id.in_(bank_ids),
        ShadowHit.business_date.between(start, end))).all()
    if not hits:
        return []
    rules = {r.id: r for r in session.execute(sa.select(StoredRule).where(
        StoredRule.id.in_({h.rule_id for h in hits}))).scalars()}
    decisions = session.execute(sa.select(Decision.business_date, Decision.application_id, Decision.outcome,
                                          Decision.rule_book_hash, Decision.record)
                                .join(Application, Application.id == Decision.application_id)
                                .where(Application.county_bank_id.in_(bank_ids),
                                       Decision.business_date.in_({h.business_date for h in hits}))).all()
    books = {h: {str(d.get("code")) for d in definitions} for h, definitions in session.execute(
        sa.select(DecisionRuleBook.hash, DecisionRuleBook.definitions).where(
            DecisionRuleBook.hash.in_({d.rule_book_hash for d in decisions}))).all()}
    per_day: dict[date, int] = defaultdict(int)
    outcome: dict[int, str] = {}
    in_book: dict[date, set[str]] = defaultdict(set)
    live_hit: dict[tuple[date, str], set[int]] = defaultdict(set)
    for d in decisions:
        per_day[d.business_date] += 1
        outcome[d.application_id] = d.outcome
        in_book[d.business_date] |= books.get(d.rule_book_hash, set())
        for h in ((d.record or {}).get("rules") or {}).get("hits") or []:
            live_hit[(d.business_date, str(h.get("code")))].add(d.application_id)
    shadow: dict[tuple[date, int], dict[int, str]] = defaultdict(dict)
    for h in hits:
        shadow[(h.business_date, h.rule_id)][h.subject_id] = h.outcome
    rows = []
    for (day, rule_id), apps in shadow.items():
        rule = rules[rule_id]
        row = _Row(day, "admission", rule, shadow_hits=len(apps), subjects=per_day[day])
        row.would_change = sum(1 for app, said in apps.items() if said in _MOVES.get(outcome.get(app, ""), ()))
        if rule.code in in_book[day]:
            live = live_hit[(day, rule.code)]
            row.live_hits, row.both = len(live), len(live & apps.keys())
            row.shadow_only, row.live_only = len(apps.keys() - live), len(live - apps.keys())
        rows.append(row)
    return rows


def report(uow: UnitOfWork, principal: Principal, runtime: Any, *, institution: str, start: date, end: date,
           stage: str | None = None, rule_id: int | None = None) -> dict[str, Any]:
    """The shadow report (module docstring)."""
    session = uow.session
    inst = institutions.visible_for(session, principal, institution, Action.RULES_READ)
    if start > end:
        raise invalid("from", f"{start.isoformat()} is after to ({end.isoformat()})")
    if stage is not None and stage not in SCHEMAS:
        raise invalid("stage", f"{stage!r} is not one of {', '.join(SCHEMAS)}")
    banks = county_banks(session, inst)
    rows: list[_Row] = []
    if banks:
        nightly = [s for s in NIGHTLY if stage in (None, s)]
        if nightly:
            rows += _nightly(session, banks, start, end, nightly)
        if stage in (None, "admission"):
            rows += _admission(session, banks, start, end)
    rows = sorted((r for r in rows if rule_id in (None, r.rule.id)),
                  key=lambda r: (r.day, r.stage, r.rule.code, r.rule.id))
    owners = dict(session.execute(sa.select(Institution.id, Institution.code).where(
        Institution.id.in_({r.rule.owner_id for r in rows}))).all()) if rows else {}
    totals: dict[int, dict[str, Any]] = {}
    for r in rows:
        line = r.as_dict(owners)
        total = totals.setdefault(r.rule.id, {**{k: line[k] for k in (
            "stage", "rule_id", "rule_code", "rule_version", "owner", "outcome")}, "days": 0,
            **{f: None for f in FIGURES}})
        total["days"] += 1
        for f in FIGURES:
            total[f] = _add(total[f], line[f])
    return {"institution": inst.code, "start": start, "end": end, "rows": [r.as_dict(owners) for r in rows],
            "totals": sorted(totals.values(), key=lambda t: (t["stage"], t["rule_code"], t["rule_id"]))}
