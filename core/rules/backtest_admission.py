"""Backtest of admission rules over stored decisions: what the rules would have hit, and how many
decisions would have ended otherwise.

``admission`` reads the decisions of a window of business dates set-wise (one query joining the
applications, scoped to the given county banks and to the applications filed under ``within``),
and evaluates the rules on each decision's stored facts with the compiled one-record evaluator
through ``decision.apply_rules``, exactly as ``decide`` did: a hit here is a hit ``decide`` would
have found on those facts.

The outcome change is the stored decision replayed (``decision.replay_record``: its score, plugin
answers, terms and failures as stored) with the draft rules' hits added to the hits it had, and a
stored hit of a rule the draft replaces (the same code: a new version) taken away. Only a decision
hit by a draft rule, or whose replaced rule had hit, can change. When nothing is taken away the new
outcome follows from the hits added by ``domain.combine``'s own order (``settled``: a reject hit
rejects, a manual-review hit sends what was not rejected to review, a tag changes nothing; the tests
check it against the replay); only the decisions losing a stored hit are replayed, their whole
record read for those alone. Nothing is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.credit.decision import apply_rules, decode_facts, replay_record, stored_hits
from nongxin.core.credit.domain.verdict import MANUAL_REVIEW, REJECTED, RuleHit
from nongxin.core.credit.models import Application, Decision
from nongxin.core.errors import field_error, invalid
from nongxin.core.institutions.models import Institution
from nongxin.sdk._codec import encode
from nongxin.sdk.errors import NongxinSdkError
from nongxin.sdk.facts import ADMISSION
from nongxin.sdk.rules import CompiledRuleSet, Rule, compile_rule_set

#: Full records are read for the decisions to replay this many at a time.
CHUNK = 500


@dataclass
class _Row:
    """One decision of the window, as far as the backtest needs it."""

    id: int
    number: str
    bank_id: int
    branch_id: int
    outcome: str
    facts: dict[str, Any]
    found: tuple[RuleHit, ...]  # the draft rules' hits
    replaced: bool  # a stored hit of a rule the draft replaces
    would_be: str

    @property
    def rules(self) -> list[str]:
        return [h.code for h in self.found]


def _compiled(rules: list[Rule]) -> CompiledRuleSet:
    if not rules:
        raise invalid("rules", "no rules to backtest")
    stages = sorted({r.stage for r in rules} - {"admission"})
    if stages:
        raise invalid("rules", f"an admission backtest takes admission rules, not {', '.join(stages)}")
    try:
        return compile_rule_set(rules, ADMISSION)
    except NongxinSdkError as exc:
        raise field_error("rules", exc) from None


def _window(banks: list[Institution], within: Institution, first: date,
            as_of: date) -> sa.Select[Any]:
    return (sa.select(Decision.id, Decision.outcome, Decision.record["facts"], Decision.record["fact_types"],
                      Decision.record[("rules", "hits")], Application.number, Application.county_bank_id,
                      Application.institution_id)
            .join(Application, Application.id == Decision.application_id)
            .join(Institution, Institution.id == Application.institution_id)
            .where(Application.county_bank_id.in_([b.id for b in banks]),
                   Institution.path.startswith(within.path, autoescape=True),
                   Decision.business_date >= first, Decision.business_date <= as_of)
            .order_by(Decision.business_date.desc(), Decision.id.desc()))


def _evaluate(session: Session, compiled: CompiledRuleSet, stmt: sa.Select[Any]) -> list[_Row]:
    """Every decision of the window with the draft's hits; the rows to replay not yet replayed."""
    codes = {r.code for r in compiled.rules}
    rows = []
    for id_, outcome, values, types, hits, number, bank_id, branch_id in session.execute(stmt):
        facts = decode_facts(values or {}, types or {})
        found = apply_rules(compiled, facts)
        replaced = any(h["code"] in codes for h in hits or ())
        rows.append(_Row(id_, number, bank_id, branch_id, outcome, facts, found, replaced,
                         outcome))
    return rows


def settled(outcome: str, found: tuple[RuleHit, ...]) -> str:
    """The outcome of a decision with the draft's hits ``found`` added and none of its own taken away,
    read off ``domain.combine`` without a replay: a reject hit rejects whatever else the record holds;
    a manual-review hit sends to review what was not rejected (a rejection's own reject hits and
    findings stay); a tag changes nothing."""
    kinds = {h.outcome for h in found}
    if "reject" in kinds:
        return REJECTED
    if "manual_review" in kinds and outcome != REJECTED:
        return MANUAL_REVIEW
    return outcome


def _replay(session: Session, compiled: CompiledRuleSet, rows: list[_Row]) -> None:
    """``would_be`` of each row a draft rule hit or whose replaced rule had hit: read off the hits
    when nothing is taken away, else the stored record replayed."""
    outcome_of = {r.code: r.outcome for r in compiled.rules}
    for row in rows:
        if row.found and not row.replaced:
            row.would_be = settled(row.outcome, row.found)
    due = {r.id: r for r in rows if r.replaced}
    ids, memo = list(due), dict[str, Any]()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for id_, record in session.execute(sa.select(Decision.id, Decision.record).where(Decision.id.in_(chunk))):
            row = due[id_]
            kept = tuple(h for h in stored_hits(record) if h.code not in outcome_of)
            verdict, _, _ = replay_record(record, row.facts, kept + row.found, memo=memo)
            row.would_be = verdict.outcome


def admission(session: Session, rules: list[Rule], banks: list[Institution], within: Institution, as_of: date,
              days: int, sample: int) -> dict[str, Any]:
    """The backtest's answer (JSON-safe): population, hits by rule, county bank and branch, a sample
    and the outcome changes, over the decisions of ``as_of - days + 1 .. as_of``."""
    if days < 1:
        raise invalid("days", "must be at least 1")
    if sample < 0:
        raise invalid("sample", "must not be negative")
    compiled = _compiled(rules)
    rows = _evaluate(session, compiled, _window(banks, within, as_of - timedelta(days=days - 1), as_of))
    _replay(session, compiled, rows)
    places = {i.id: i for i in banks}
    branch_ids = {r.branch_id for r in rows} - set(places)
    if branch_ids:
        places.update({i.id: i for i in session.execute(
            sa.select(Institution).where(Institution.id.in_(branch_ids))).scalars()})
    by_rule = Counter(code for r in rows for code in r.rules)
    seen_banks = [b for b in banks if b.path.startswith(within.path) or within.path.startswith(b.path)]
    bank_pop, bank_hits = Counter(r.bank_id for r in rows), Counter(r.bank_id for r in rows if r.rules)
    branch_pop = Counter((r.bank_id, r.branch_id) for r in rows)
    branch_hits = Counter((r.bank_id, r.branch_id) for r in rows if r.rules)
    changes = Counter((r.outcome, r.would_be) for r in rows if r.would_be != r.outcome)
    shown = [r for r in rows if r.rules or r.would_be != r.outcome][:sample]
    return {
        "population": len(rows),
        "hits": sum(1 for r in rows if r.rules),
        "by_rule": [{"code": r.code, "hits": by_rule[r.code]} for r in compiled.rules],
        "by_county_bank": [{"county_bank": b.code, "name": b.name, "population": bank_pop[b.id],
                            "hits": bank_hits[b.id]} for b in sorted(seen_banks, key=lambda b: b.code)],
        "by_branch": [{"county_bank": places[bank].code, "branch": places[branch].code, "name": places[branch].name,
                       "population": count, "hits": branch_hits[(bank, branch)]}
                      for (bank, branch), count in sorted(branch_pop.items(),
                                                          key=lambda kv: (places[kv[0][0]].code, places[kv[0][1]].code))],
        "sample": [{"subject": r.number, "county_bank": places[r.bank_id].code, "branch": places[r.branch_id].code,
                    "rules": r.rules, "facts": {f: encode(r.facts.get(f)) for f in compiled.fields},
                    "outcome": r.outcome, "would_be": r.would_be} for r in shown],
        "changed": {"total": sum(changes.values()),
                    "from_to": [{"from": a, "to": b, "count": n} for (a, b), n in sorted(changes.items())]},
        "source": "decisions",
    }
