"""Off-site monitoring models (非现场监测模型): who keeps them, who sees their suspicious records, and
how the nightly scan writes them.

The promises:

* A model is created at the caller's own institution (``rules.draft``; province, city or county
  level, else 403 ``level``), its code unique per owner (409 ``duplicate``), its stage post_loan or
  collateral (422 ``stage``); only staff of the owner institution deactivate or activate it (403
  ``not_owner``). Every change is audited in the same transaction.
* A caller sees the models owned along its ancestry (the province's, its city's, its county bank's)
  and those owned in its subtree: another county bank's model is 404, exactly as a missing one.
* Suspicious records are listed inside the caller's subtree (``scoping.in_subtree`` on the loan's
  or pledge's branch, so a branch user sees its own branch only), newest business date first, with
  totals by model and colour over everything the filters match (one ``GROUP BY``).
* ``judge`` (called by the scan for each county bank, inside the bank's transaction): every
  published condition in force of every **active** model owned along the bank's ancestry, evaluated
  vectorized over the night's loans (post_loan) or pledged positions (collateral) by the scan's own
  evaluator, one ``BankRules`` per stage; the bank's records of the business date are deleted and
  the hits inserted set-wise with the facts each condition read, so a second run changes nothing.
  A condition that cannot be built or compiled fails its model only (logged; no records of that
  model for the bank that night); nothing here raises into the scan for it. No warning, no task.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.domain import COLOURS
from nongxin.core.early_warning.evaluate import BankRules, compiled, evaluate
from nongxin.core.early_warning.frames import fact_json
from nongxin.core.early_warning.warnings import check_choice
from nongxin.core.errors import Conflict, Forbidden, NotFound, invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action, require
from nongxin.core.rules.domain import RULE_LEVELS
from nongxin.core.rules.models import MonitoringModel, RuleStatus, SuspiciousRecord, StoredRule
from nongxin.core.rules.stored import as_rule, in_force
from nongxin.core.scoping import PAGE, in_subtree, page
from nongxin.sdk.facts import SCHEMAS
from nongxin.sdk.rules import FieldType, Rule

if TYPE_CHECKING:
    from nongxin.core.rules.nightly import BankNight

__all__ = ["CODE_RE", "STAGES", "create_model", "judge", "model_detail", "models", "records", "set_active",
           "visible_model"]

log = logging.getLogger("nongxin.rules.monitoring")

#: The stages a model's conditions may have, with the key column of the night's frame of each.
STAGES = {"post_loan": "loan_id", "collateral": "pledge_id"}
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
RECORDS = cast(sa.Table, SuspiciousRecord.__table__)


# -- who sees which model ---------------------------------------------------------------------------

def _ancestors(path: str) -> list[int]:
    """The institution ids of a materialized path, province first (``/1/4/9/`` -> 1, 4, 9)."""
    return [int(part) for part in path.strip("/").split("/") if part]


def _visible(principal: Principal) -> sa.ColumnElement[bool]:
    """SQL (with the owner ``Institution`` joined): owned along the caller's ancestry or in its subtree."""
    return sa.or_(MonitoringModel.owner_id.in_(_ancestors(principal.institution_path)),
                  Institution.path.startswith(principal.institution_path, autoescape=True))


def visible_model(uow: UnitOfWork, principal: Principal, model_id: int, action: Action, *,
                  lock: bool = False, field: str = "model_id") -> MonitoringModel:
    """The model if the caller sees it (else 404 naming ``field``), then 403 unless it may ``action``.
    ``lock`` takes the row for the rest of the transaction (two writers queue)."""
    stmt = (sa.select(MonitoringModel).join(Institution, Institution.id == MonitoringModel.owner_id)
            .where(MonitoringModel.id == model_id, _visible(principal)))
    if lock:
        stmt = stmt.with_for_update(of=MonitoringModel)
    found = uow.session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise NotFound(f"monitoring model {model_id} not found", fields={field: ["not found"]})
    require(principal, action)
    return found


# -- creating, switching, listing -----------------------------------------------------------------------

def create_model(uow: UnitOfWork, principal: Principal, *, code: str, name: str, stage: str,
                 description: str = "") -> MonitoringModel:
    """A new active model owned by the caller's institution (module docstring), audited."""
    require(principal, Action.RULES_DRAFT)
    session = uow.session
    owner = session.execute(sa.select(Institution).where(Institution.id == principal.institution_id)
                            .with_for_update()).scalar_one()  # creates at one owner queue: no duplicate slips in
    if owner.level.value not in RULE_LEVELS:
        raise Forbidden(f"monitoring models are kept at province, city or county level, not at a "
                        f"{owner.level.value} ({owner.code})", code="level")
    if stage not in STAGES:
        raise invalid("stage", f"{stage!r} is not one of {', '.join(STAGES)}", code="stage")
    if not CODE_RE.match(code):
        raise invalid("code", "1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if not name.strip():
        raise invalid("name", "must not be blank")
    if session.execute(sa.select(MonitoringModel.id).where(MonitoringModel.owner_id == owner.id,
                                                           MonitoringModel.code == code)).first():
        raise Conflict(f"{owner.code} already has a monitoring model {code}", code="duplicate",
                       fields={"code": ["already used at this institution"]})
    model = MonitoringModel(code=code, name=name.strip(), stage=stage, owner_id=owner.id, description=description,
                            active=True, created_by=principal.username)
    session.add(model)
    uow.flush()
    record(session, actor=principal.username, action="monitoring.model.create", target=f"monitoring_model:{model.id}",
           institution_code=owner.code, after={"code": code, "name": model.name, "stage": stage,
                                               "description": description})
    return model


def set_active(uow: UnitOfWork, principal: Principal, model_id: int, active: bool, note: str = "") -> MonitoringModel:
    """Deactivate or activate a model: staff of its owner institution only; audited when it changes
    (asking for the state it is in changes nothing)."""
    model = visible_model(uow, principal, model_id, Action.RULES_DRAFT, lock=True)
    if model.owner_id != principal.institution_id:
        owner = uow.session.get(Institution, model.owner_id)
        raise Forbidden(f"only staff of {owner.code if owner else model.owner_id} may switch monitoring model "
                        f"{model.code}", code="not_owner")
    if model.active != active:
        model.active = active
        uow.flush()
        owner_code = principal.institution_code
        record(uow.session, actor=principal.username,
               action=f"monitoring.model.{'activate' if active else 'deactivate'}",
               target=f"monitoring_model:{model.id}", institution_code=owner_code,
               before={"active": not active}, after={"active": active, "note": note})
    return model


def _model_rows(session: Session, found: list[MonitoringModel]) -> list[dict[str, Any]]:
    owners: dict[int, str] = dict(session.execute(sa.select(Institution.id, Institution.code).where(
        Institution.id.in_({m.owner_id for m in found}))).all()) if found else {}
    conditions: dict[int, list[StoredRule]] = defaultdict(list)
    if found:
        for rule in session.execute(sa.select(StoredRule).where(StoredRule.model_id.in_([m.id for m in found]))
                                    .order_by(StoredRule.code, StoredRule.version)).scalars():
            conditions[cast(int, rule.model_id)].append(rule)
    rows = []
    for m in found:
        mine = conditions[m.id]
        counts = {s.value: 0 for s in RuleStatus}
        for rule in mine:
            counts[rule.status.value] += 1
        rows.append({
            "id": m.id, "code": m.code, "name": m.name, "stage": m.stage, "owner": owners.get(m.owner_id, ""),
            "description": m.description, "active": m.active, "created_by": m.created_by, "created_at": m.created_at,
            "status_counts": counts,
            "conditions": [{"id": r.id, "code": r.code, "version": r.version, "name": r.name, "status": r.status.value,
                            "colour": r.outcome, "expression": r.expression, "reason": r.reason,
                            "effective_from": r.effective_from, "effective_to": r.effective_to,
                            "author": r.author, "approved_by": r.decided_by} for r in mine]})
    return rows


def models(uow: UnitOfWork, principal: Principal, *, stage: str | None = None, active: bool | None = None,
           limit: int = PAGE, offset: int = 0) -> list[dict[str, Any]]:
    """The models the caller sees, province's first then by code, each with its conditions (every
    version, every status) and how many conditions are in each status."""
    require(principal, Action.MONITORING_READ)
    check_choice("stage", stage, tuple(STAGES))
    stmt = (sa.select(MonitoringModel).join(Institution, Institution.id == MonitoringModel.owner_id)
            .where(_visible(principal)))
    if stage is not None:
        stmt = stmt.where(MonitoringModel.stage == stage)
    if active is not None:
        stmt = stmt.where(MonitoringModel.active.is_(active))
    stmt = page(stmt.order_by(sa.func.length(Institution.path), Institution.code, MonitoringModel.code), limit, offset)
    return _model_rows(uow.session, list(uow.session.execute(stmt).scalars()))


def model_detail(uow: UnitOfWork, principal: Principal, model_id: int) -> dict[str, Any]:
    """One model as ``models`` lists it; 404 when the caller does not see it."""
    return _model_rows(uow.session, [visible_model(uow, principal, model_id, Action.MONITORING_READ)])[0]


# -- suspicious records ---------------------------------------------------------------------------------

def records(uow: UnitOfWork, principal: Principal, *, institution: str | None = None, model: int | None = None,
            as_of: date | None = None, colour: str | None = None, limit: int = PAGE,
            offset: int = 0) -> dict[str, Any]:
    """Suspicious records in the caller's subtree (module docstring): ``records`` (one page, newest
    business date first), ``totals`` by model and colour and their sum ``total``."""
    check_choice("colour", colour, COLOURS)
    session = uow.session
    place = institutions.visible(session, principal, institution) if institution is not None else None
    if model is not None:
        visible_model(uow, principal, model, Action.MONITORING_READ, field="model")
    require(principal, Action.MONITORING_READ)  # after the 404s: never tell another bank's things exist
    stmt = in_subtree(sa.select(SuspiciousRecord), SuspiciousRecord.institution_id, principal.institution_path)
    if place is not None:
        stmt = stmt.where(Institution.path.startswith(place.path, autoescape=True))
    if model is not None:
        stmt = stmt.where(SuspiciousRecord.model_id == model)
    if as_of is not None:
        stmt = stmt.where(SuspiciousRecord.business_date == as_of)
    if colour is not None:
        stmt = stmt.where(SuspiciousRecord.colour == colour)
    found = list(session.execute(page(stmt.order_by(SuspiciousRecord.business_date.desc(),
                                                    SuspiciousRecord.id.desc()), limit, offset)).scalars())
    by = (SuspiciousRecord.model_id, SuspiciousRecord.colour)
    counted = session.execute(stmt.with_only_columns(*by, sa.func.count(SuspiciousRecord.id))
                              .group_by(*by).order_by(*by)).all()
    names = _names(session, {r.model_id for r in found} | {m for m, _, _ in counted}, found)
    totals = [{"model_id": int(m), "model": names["models"][m][0], "colour": str(c), "count": int(n)}
              for m, c, n in counted]
    return {"records": [_record_row(r, names) for r in found], "totals": totals,
            "total": sum(t["count"] for t in totals)}


def _names(session: Session, model_ids: set[int], found: list[SuspiciousRecord]) -> dict[str, dict[int, Any]]:
    """Codes and names of the models, conditions and institutions the records point at (three queries)."""
    models_ = {i: (c, n, o) for i, c, n, o in session.execute(
        sa.select(MonitoringModel.id, MonitoringModel.code, MonitoringModel.name, Institution.code)
        .join(Institution, Institution.id == MonitoringModel.owner_id)
        .where(MonitoringModel.id.in_(model_ids)))} if model_ids else {}
    rules = {i: (c, v, r) for i, c, v, r in session.execute(
        sa.select(StoredRule.id, StoredRule.code, StoredRule.version, StoredRule.reason)
        .where(StoredRule.id.in_({r.rule_id for r in found})))} if found else {}
    places: dict[int, str] = dict(session.execute(sa.select(Institution.id, Institution.code).where(Institution.id.in_(
        {r.county_bank_id for r in found} | {r.institution_id for r in found}))).all()) if found else {}
    return {"models": models_, "rules": rules, "places": places}


def _record_row(r: SuspiciousRecord, names: dict[str, dict[int, Any]]) -> dict[str, Any]:
    code, name, owner = names["models"][r.model_id]
    rule_code, version, reason = names["rules"][r.rule_id]
    return {"id": r.id, "business_date": r.business_date, "model_id": r.model_id, "model": code, "model_name": name,
            "model_owner": owner, "condition_id": r.rule_id, "condition": rule_code, "condition_version": version,
            "reason": reason, "colour": r.colour, "subject_kind": r.subject_kind, "subject_ref": r.subject_ref,
            "county_bank": names["places"].get(r.county_bank_id, ""),
            "institution": names["places"].get(r.institution_id, ""), "facts": dict(r.facts or {})}


# -- the nightly step --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Condition:
    model_id: int
    rule_id: int
    rule: Rule  # its code the stored row's id: codes are unique per owner only, and the hits name it


def _conditions(session: Session, bank: Institution, on: date) -> dict[str, list[tuple[int, list[_Condition]]]]:
    """Per stage, each active model owned along the bank's ancestry with its published conditions in
    force on ``on`` (the highest version of each code); a model whose condition cannot be built is
    logged and left out."""
    rows = session.execute(
        sa.select(StoredRule, MonitoringModel.code, Institution.code)
        .join(MonitoringModel, MonitoringModel.id == StoredRule.model_id)
        .join(Institution, Institution.id == MonitoringModel.owner_id)
        .where(MonitoringModel.owner_id.in_(_ancestors(bank.path)), MonitoringModel.active.is_(True),
               StoredRule.status == RuleStatus.PUBLISHED, StoredRule.stage == MonitoringModel.stage, in_force(on))
        .order_by(StoredRule.model_id, StoredRule.code, StoredRule.version)).all()
    latest: dict[tuple[int, str], tuple[StoredRule, str, str]] = {}
    for row, model_code, owner in rows:
        latest[(cast(int, row.model_id), row.code)] = (row, model_code, owner)  # ordered by version: the last wins
    grouped: dict[int, list[tuple[StoredRule, str, str]]] = defaultdict(list)
    for (model_id, _), item in latest.items():
        grouped[model_id].append(item)
    out: dict[str, list[tuple[int, list[_Condition]]]] = defaultdict(list)
    for model_id, items in grouped.items():
        try:
            conditions = [_Condition(model_id, row.id, dataclasses.replace(as_rule(row, owner), code=str(row.id)))
                          for row, _, owner in items]
        except Exception:  # an impossible stored row: this model only
            log.exception("monitoring model %s (%s) not run at %s: a condition is not a valid rule",
                          items[0][1], model_id, bank.code)
            continue
        out[items[0][0].stage].append((model_id, conditions))
    return out


def _facts(frame: pd.DataFrame, key: str, hits: pd.DataFrame, reads: dict[str, Any], stage: str) -> list[dict[str, Any]]:
    """For each hit, the facts its condition read, column by column per condition."""
    money = {name for name, f in SCHEMAS[stage].items() if f.type is FieldType.DECIMAL}
    rows = frame.set_index(key).loc[hits[key].to_numpy()]
    facts: list[dict[str, Any]] = [{} for _ in range(len(hits))]
    for code, where in hits.groupby("rule_code").indices.items():
        for name in reads[str(code)]:
            for i, v in zip(where, rows[name].to_numpy(dtype=object)[where]):
                facts[i][name] = fact_json(v, money=name in money)
    return facts


def _branches(session: Session, frame: pd.DataFrame, stage: str) -> np.ndarray:
    """Each row's branch id: the loan frame has it; the positions frame names the line's branch by code."""
    if stage == "post_loan":
        return frame["institution_id"].to_numpy(dtype=np.int64)
    ids: dict[str, int] = dict(session.execute(sa.select(Institution.code, Institution.id).where(
        Institution.code.in_(set(frame["institution"])))).all())
    return frame["institution"].map(ids).to_numpy(dtype=np.int64)


def _rows_of(session: Session, night: "BankNight", stage: str, conditions: list[_Condition]) -> list[dict[str, Any]]:
    """The record rows of ``conditions`` over the night's frame of ``stage`` (raises when one does not compile)."""
    key = STAGES[stage]
    frame = night.loans if stage == "post_loan" else night.positions
    if not conditions or not len(frame):
        return []
    rules = tuple(c.rule for c in conditions)
    hits = evaluate(frame, BankRules(night.bank.code, stage, rules, key)).drop_duplicates([key, "rule_code"])
    if not len(hits):
        return []
    by_rule = {str(c.rule_id): c for c in conditions}
    facts = _facts(frame, key, hits, compiled(stage, rules).reads, stage)
    rows = frame.assign(_branch=_branches(session, frame, stage)).set_index(key).loc[hits[key].to_numpy()]
    refs = rows["loan_no" if stage == "post_loan" else "item_number"].astype(str).to_numpy()
    return [{"model_id": by_rule[code].model_id, "rule_id": by_rule[code].rule_id, "business_date": night.as_of,
             "county_bank_id": night.bank.id, "institution_id": int(branch),
             "subject_kind": "loan" if stage == "post_loan" else "pledge", "subject_id": int(subject),
             "subject_ref": str(ref)[:40], "colour": str(colour), "facts": fact}
            for code, subject, colour, branch, ref, fact in zip(
                hits["rule_code"], hits[key], hits["colour"], rows["_branch"], refs, facts)]


def _hit_rows(session: Session, night: "BankNight", stage: str,
              groups: list[tuple[int, list[_Condition]]]) -> list[dict[str, Any]]:
    """Every model of ``stage`` evaluated at once (one ``BankRules``); when that fails (a condition
    that does not compile), model by model, a failing model logged and left out."""
    try:
        return _rows_of(session, night, stage, [c for _, conds in groups for c in conds])
    except Exception:
        if len(groups) == 1:
            log.exception("monitoring model %s not run at %s", groups[0][0], night.bank.code)
            return []
    rows: list[dict[str, Any]] = []
    for model_id, conds in groups:
        try:
            rows += _rows_of(session, night, stage, conds)
        except Exception:
            log.exception("monitoring model %s not run at %s", model_id, night.bank.code)
    return rows


def judge(session: Session, runtime: Any, night: "BankNight") -> int:
    """The day's suspicious records of the bank (module docstring); returns how many were written."""
    session.execute(sa.delete(SuspiciousRecord).where(SuspiciousRecord.county_bank_id == night.bank.id,
                                                      SuspiciousRecord.business_date == night.as_of),
                    execution_options={"synchronize_session": False})
    written = 0
    for stage, groups in _conditions(session, night.bank, night.as_of).items():
        rows = _hit_rows(session, night, stage, groups)
        if rows:
            session.execute(sa.insert(RECORDS), rows)  # one executemany
            written += len(rows)
    return written
