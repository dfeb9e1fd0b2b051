"""Backtests: what a rule would have done over a day's facts, before anyone ships it.

The promise: ``backtest(uow, principal, runtime, stage=..., expression=... | rule_ids=...,
institution=..., as_of=...)`` evaluates an ad-hoc expression (rule code ``BACKTEST``, outcome by
default the stage's severest) or stored rules (any status, each visible to the caller: owned in
its subtree or along its ancestry, else 404; all of ``stage``, else 422 ``rule_ids``) over the
subjects of the county banks the caller's ``institution`` sees (404 outside the caller's subtree),
and answers how many it would hit, by rule, county bank and branch, with a deterministic sample.
It writes nothing but its audit entry (``rules.backtest``).

* ``post_loan``: the facts the nightly scan kept (``facts_store``) when present for every bank,
  else the facts built live from the ledger (``early_warning.frames.post_loan_frame``; a date
  without a snapshot is 422 ``as_of``). A future ``as_of`` is 422 ``as_of``.
* ``collateral``: the pledged positions of the banks on ``as_of`` (``collateral.positions``).
* ``admission``: the decisions of the last ``days`` business dates up to ``as_of``, by
  ``core.rules.backtest_admission.admission`` (hits on the stored facts, outcome changes replayed).

Rules are evaluated vectorized (``CompiledRuleSet.evaluate_frame``) and the counts grouped with
pandas, never a Python loop over subjects. Money in the answer is a yuan string, never a float.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.collateral import positions as pledged
from nongxin.core.collateral.scan import county_banks
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.frames import post_loan_frame
from nongxin.core.errors import NotFound, field_error, invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution, Level
from nongxin.core.permissions import Action
from nongxin.core.rules import facts_store
from nongxin.core.rules.backtest_admission import admission
from nongxin.core.rules.models import StoredRule
from nongxin.core.rules.stored import as_rule
from nongxin.sdk.facts import SCHEMAS
from nongxin.sdk.rules import OUTCOMES, Rule, RuleError, check_expression
from nongxin.sdk.rules.fields import FieldType
from nongxin.sdk.rules.ruleset import CompiledRuleSet, compile_rule_set

__all__ = ["AD_HOC", "backtest"]

#: The code of an ad-hoc expression's rule.
AD_HOC = "BACKTEST"

#: Per stage: the subject's display column, its sort key, the branch column (an institution code).
_SUBJECT = {"post_loan": ("loan_no", "loan_id", "branch"), "collateral": ("item_number", "pledge_id", "institution")}


@dataclass
class _Tally:
    """What the banks' evaluations add up to."""

    population: int = 0
    hits: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    banks: list[tuple[str, int, int]] = field(default_factory=list)
    branches: list[pd.DataFrame] = field(default_factory=list)
    sample: list[dict[str, Any]] = field(default_factory=list)


def _plain(kind: FieldType | None, v: Any) -> Any:
    """A fact as JSON: decimals (int fen) as yuan strings, numbers as strings, dates ISO."""
    if v is None or (not isinstance(v, (list, dict, str)) and pd.isna(v)):
        return None
    if kind is FieldType.DECIMAL:
        return format(Decimal(int(v)).scaleb(-2), "f")
    if isinstance(v, (float, np.floating)):
        return format(Decimal(repr(float(v))), "f")
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    return v.item() if hasattr(v, "item") else v


def _compile(stage: str, rules: list[Rule], field_name: str) -> CompiledRuleSet:
    for rule in rules:
        try:
            check_expression(rule.expression, SCHEMAS[stage], code=rule.code)
        except RuleError as exc:
            raise field_error(field_name, exc) from None
    return compile_rule_set(rules, SCHEMAS[stage])


def _ad_hoc(principal: Principal, stage: str, expression: str, outcome: str | None) -> list[Rule]:
    chosen = outcome or OUTCOMES[stage][-1]
    if chosen not in OUTCOMES[stage]:
        raise invalid("outcome", f"{chosen!r} is not an outcome of {stage}; use one of {', '.join(OUTCOMES[stage])}")
    return [Rule(code=AD_HOC, name="backtest", expression=expression, stage=stage, outcome=chosen,
                 level="province", owner=principal.institution_code, reason="backtest")]


def _stored(session: Session, principal: Principal, stage: str, ids: Sequence[int]) -> tuple[list[Rule], list[int]]:
    rows = {row.id: (row, owner) for row, owner in session.execute(
        sa.select(StoredRule, Institution).join(Institution, Institution.id == StoredRule.owner_id)
        .where(StoredRule.id.in_(list(ids))))}
    rules: list[Rule] = []
    seen: list[int] = []
    for rule_id in dict.fromkeys(ids):
        found = rows.get(rule_id)
        if found is None or not (principal.can_see(found[1]) or principal.institution_path.startswith(found[1].path)):
            raise NotFound(f"rule {rule_id} not found", fields={"rule_ids": [f"rule {rule_id} not found"]})
        row, owner = found
        if row.stage != stage:
            raise invalid("rule_ids", f"rule {rule_id} ({row.code}) is a {row.stage} rule, not {stage}")
        if any(r.code == row.code for r in rules):
            raise invalid("rule_ids", f"rule {rule_id}: give one version of {row.code} per backtest")
        rules.append(as_rule(row, owner.code))
        seen.append(rule_id)
    return rules, seen


def _institutions(session: Session, banks: list[Institution]) -> pd.DataFrame:
    """code, name and path of the banks and every institution under them."""
    if not banks:
        return pd.DataFrame({"code": [], "name": [], "path": []})
    rows = session.execute(sa.select(Institution.code, Institution.name, Institution.path).where(
        sa.or_(*(Institution.path.startswith(b.path, autoescape=True) for b in banks)))).all()
    return pd.DataFrame({"code": [r[0] for r in rows], "name": [r[1] for r in rows], "path": [r[2] for r in rows]})


def _post_loan(session: Session, runtime: Any, bank: Institution, on: date, business_date: date,
               columns: list[str]) -> tuple[pd.DataFrame, str]:
    """The bank's facts (kept: without the loan numbers, read for the sample only)."""
    kept = facts_store.read(runtime.settings, "post_loan", on, [bank.code], [c for c in columns if c != "loan_no"])
    if kept is not None:
        return kept, "facts_store"
    try:
        frame = post_loan_frame(session, runtime.engine, bank, on, business_date)
    except NotFound as exc:
        if exc.code == "no_snapshot":
            raise invalid("as_of", f"no ledger snapshot for {on.isoformat()} at {bank.code}: the day close has "
                                   f"not closed that date and the scan kept no facts of it") from None
        raise
    return frame[[c for c in columns if c in frame.columns]], "ledger"


def _judge(compiled: CompiledRuleSet, stage: str, bank: Institution, frame: pd.DataFrame, sample: int,
           tally: _Tally, subjects: Callable[[list[int]], dict[int, Any]] | None = None) -> None:
    """Add one bank's evaluation to ``tally`` (pandas groupbys over the hit rows). ``subjects``:
    the sample's subjects by key, when the frame does not carry them (the kept facts)."""
    subject, key, branch = _SUBJECT[stage]
    frame = frame.reset_index(drop=True)
    result = compiled.evaluate_frame(frame)
    hits = result.hits
    rows = np.unique(hits["row"].to_numpy()) if len(hits) else np.empty(0, dtype=np.int64)
    tally.population += len(frame)
    tally.hits += len(rows)
    for code, n in hits.groupby("rule_code", observed=True).size().items():
        tally.by_rule[str(code)] = tally.by_rule.get(str(code), 0) + int(n)
    tally.banks.append((bank.code, len(frame), len(rows)))
    everyone = frame[branch].value_counts().rename("population")
    hit = frame[branch].iloc[rows].value_counts().rename("hits")
    counts = pd.concat([everyone, hit], axis=1).fillna(0).astype(np.int64).rename_axis("branch").reset_index()
    counts["county_bank"] = bank.code
    tally.branches.append(counts)
    room = sample - len(tally.sample)
    if room <= 0 or not len(rows):
        return
    chosen = frame.iloc[rows][[key]].sort_values(key, kind="stable").index[:room]
    codes = hits[hits["row"].isin(chosen)].groupby("row", observed=True)["rule_code"].agg(
        lambda s: sorted(str(c) for c in s))
    schema = SCHEMAS[stage]
    keys = [int(k) for k in frame[key].to_numpy()[chosen]]
    names = subjects(keys) if subjects is not None else dict(zip(keys, frame[subject].to_numpy()[chosen]))
    for row, number in zip(chosen, keys):
        read = sorted({name for code in codes[row] for name in compiled.reads[code]})
        tally.sample.append({
            "subject": str(names[number]), "county_bank": bank.code,
            "branch": str(frame[branch].iloc[row]), "rules": codes[row],
            "facts": {n: _plain(schema[n].type, frame[n].iloc[row]) if n in frame.columns else None for n in read}})


def _frames(session: Session, runtime: Any, stage: str, banks: list[Institution], on: date, business_date: date,
            compiled: CompiledRuleSet, within: set[str] | None, sample: int) -> tuple[_Tally, str]:
    tally, sources = _Tally(by_rule={r.code: 0 for r in compiled.rules}), set()
    subject, key, branch = _SUBJECT[stage]
    for bank in banks:
        if stage == "post_loan":
            frame, source = _post_loan(session, runtime, bank, on, business_date,
                                       [key, subject, branch, *compiled.fields])
        else:
            frame, source = pledged.positions(session, [bank], on), "positions"
        sources.add(source)
        if within is not None:
            frame = frame[frame[branch].isin(within)]
        subjects = None
        if source == "facts_store":
            subjects = partial(facts_store.lookup, runtime.settings, stage, on, bank.code, key, subject)
        _judge(compiled, stage, bank, frame, sample, tally, subjects)
    return tally, ("ledger" if "ledger" in sources else sources.pop() if sources else
                   ("facts_store" if stage == "post_loan" else "positions"))


def _answer(tally: _Tally, names: pd.DataFrame) -> dict[str, Any]:
    bank_names = dict(zip(names["code"], names["name"]))
    branches = (pd.concat(tally.branches, ignore_index=True) if tally.branches
                else pd.DataFrame({"county_bank": [], "branch": [], "population": [], "hits": []}))
    branches = branches.sort_values(["county_bank", "branch"], kind="stable")
    return {
        "population": tally.population, "hits": tally.hits,
        "by_rule": [{"code": code, "hits": n} for code, n in tally.by_rule.items()],  # in the rules' order
        "by_county_bank": [{"county_bank": code, "name": bank_names.get(code), "population": population,
                            "hits": hits} for code, population, hits in tally.banks],
        "by_branch": [{"county_bank": str(b), "branch": str(br), "name": bank_names.get(str(br)),
                       "population": int(p), "hits": int(h)}
                      for b, br, p, h in zip(branches["county_bank"], branches["branch"], branches["population"],
                                             branches["hits"])],
        "sample": tally.sample,
        "changed": None,
    }


def backtest(uow: UnitOfWork, principal: Principal, runtime: Any, *, stage: str, expression: str | None = None,
             outcome: str | None = None, rule_ids: Sequence[int] | None = None, institution: str,
             as_of: date | None = None, days: int = 30, sample: int = 20) -> dict[str, Any]:
    """The backtest of ``expression`` or ``rule_ids`` at ``institution`` on ``as_of`` (module docstring)."""
    started = time.perf_counter()
    session = uow.session
    if stage not in SCHEMAS:
        raise invalid("stage", f"{stage!r} is not a stage; use one of {', '.join(SCHEMAS)}")
    inst = institutions.visible_for(session, principal, institution, Action.RULES_BACKTEST)
    if (expression is None) == (not rule_ids):
        raise invalid("expression", "give exactly one of expression and rule_ids")
    if not 1 <= days <= 366:
        raise invalid("days", "from 1 to 366")
    if not 0 <= sample <= 200:
        raise invalid("sample", "from 0 to 200")
    business_date = runtime.clock.business_date()
    on = as_of or business_date
    if on > business_date:
        raise invalid("as_of", f"{on.isoformat()} is after the current business date {business_date.isoformat()}")
    ids: list[int | None]
    if expression is not None:
        rules, ids = _ad_hoc(principal, stage, expression, outcome), [None]
        compiled = _compile(stage, rules, "expression")
    else:
        rules, seen = _stored(session, principal, stage, list(rule_ids or ()))
        ids = [*seen]
        compiled = _compile(stage, rules, "rule_ids")
    banks = county_banks(session, inst)
    below = inst.level not in (Level.PROVINCE, Level.CITY, Level.COUNTY)
    names = _institutions(session, banks)
    within = set(names["code"][names["path"].str.startswith(inst.path)]) if below else None
    if stage == "admission":
        body = admission(session, rules, banks, inst, on, days, sample)
        source = "decisions"
    else:
        tally, source = _frames(session, runtime, stage, banks, on, business_date, compiled, within, sample)
        body = _answer(tally, names)
    answer = {
        "stage": stage, "institution": inst.code, "as_of": on.isoformat(),
        "days": days if stage == "admission" else None, "source": source,
        "rules": [{"code": r.code, "version": r.version, "outcome": r.outcome, "expression": r.expression, "id": i}
                  for r, i in zip(rules, ids)],
        **body, "seconds": round(time.perf_counter() - started, 3)}
    record(session, actor=principal.username, action="rules.backtest", target=f"institution:{inst.code}",
           institution_code=inst.code, after={
               "stage": stage, "as_of": on.isoformat(), "source": source,
               "rules": [f"{r.code} v{r.version}" for r in rules], "rule_ids": [i for i in ids if i is not None],
               "expression": expression, "population": answer["population"], "hits": answer["hits"]})
    return answer
