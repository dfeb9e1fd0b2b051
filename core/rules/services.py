"""Rules kept by staff: drafting, the maker-checker steps and reading, for the API and the CLI.

The promises:

* ``draft`` writes a rule at its author's own institution and level (province, city or county; a
  branch or grid keeps none: 403), checked at once: the stage's fields (422 on ``expression`` with
  line, column and caret), the stage's outcomes (422 ``outcome``), the SDK ``Rule``'s own checks
  (422 naming the field), and its code (``checks.version_for``: never a redefinition of a rule
  owned above the author or below it; the same owner's code gets the next version).
* ``edit`` changes the author's own draft, with the same checks; any other status is 409
  ``invalid_state``.
* ``step`` takes one step of the life cycle (``domain.next_status``) on a locked row: submit and
  withdraw by the author; approve and reject by a second person of the owner institution (the
  author: 403 ``separation_of_duties``; someone elsewhere: 403 naming the owner and level); retire
  by anyone of the owner institution. A step the status does not allow is 409 ``invalid_state``
  naming the status, so of two approvers at once one wins and the other is told, never a 500.
  Approving re-runs the checks, dates an undated rule from the business date and bumps the plugin
  generation (the rule books read it on the next request); retiring ends the rule and its earlier
  published versions (same owner, code and shadow-ness) on the business date and bumps it too.
* A rule is visible to the staff of its owner's subtree and of the owner's ancestors (a county sees
  the province's rules and its own, never another county's): anything else is 404, as a missing one.
* Every change is audited (``rules.draft``, ``rules.edit``, ``rules.submit``, ...) with the status
  before and after, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any, Mapping

import sqlalchemy as sa

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork, utcnow
from nongxin.core.errors import Conflict, Forbidden, NotFound
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action, require
from nongxin.core.plugin_state.services import PluginDirectory, bump_generation
from nongxin.core.rules import stored_checks as checks
from nongxin.core.rules.stored_checks import RuleSpec
from nongxin.core.rules.domain import ACTIONS, RULE_LEVELS, next_status
from nongxin.core.rules.models import RuleStatus, StoredRule
from nongxin.core.scoping import MAX_PAGE, PAGE, page

__all__ = ["RuleFilters", "RuleSpec", "STEPS", "STEP_DOCS", "draft", "edit", "list_rules", "row_json", "rule_json",
           "show", "step"]

#: The steps of the life cycle, and the permission each needs.
STEPS: Mapping[str, Action] = {"submit": Action.RULES_DRAFT, "withdraw": Action.RULES_DRAFT,
                               "approve": Action.RULES_APPROVE, "reject": Action.RULES_APPROVE,
                               "retire": Action.RULES_DRAFT}
assert set(STEPS) == set(ACTIONS)
#: What each step does, for the API's and the CLI's help.
STEP_DOCS: Mapping[str, str] = {
    "submit": "Submit your draft for approval (draft -> pending_approval).",
    "withdraw": "Take your rule back from approval (pending_approval -> draft).",
    "approve": "Publish a colleague's rule, never your own (pending_approval -> published): the rule books read "
               "it on the next request; an undated rule is in force from the business date.",
    "reject": "Refuse a colleague's rule, never your own (pending_approval -> rejected).",
    "retire": "Retire a published rule and its earlier published versions: gone on the next request.",
}


def _not_found(rule_id: int) -> NotFound:
    return NotFound(f"rule {rule_id} not found", fields={"rule_id": ["not found"]})


def _sees(who: Principal, owner: Institution) -> bool:
    """The owner is the caller's institution, above it or below it."""
    return who.institution_path.startswith(owner.path) or owner.path.startswith(who.institution_path)


def _keeper(uow: UnitOfWork, who: Principal, action: Action) -> Institution:
    """The caller's institution, locked against concurrent drafts there (versions are counted per
    owner and code), if it keeps rules; 403 for a role that may not, or a branch or grid."""
    require(who, action)
    place = _lock_place(uow, who.institution_id)
    if place.level.value not in RULE_LEVELS:
        raise Forbidden(f"rules are kept at province, city or county level; {place.code} is a "
                        f"{place.level.value}, so {who.username} may not write one")
    return place


def _lock_place(uow: UnitOfWork, institution_id: int) -> Institution:
    """The institution, locked (FOR NO KEY UPDATE: rows referring to it may still be written)."""
    return uow.session.execute(sa.select(Institution).where(Institution.id == institution_id)
                               .with_for_update(key_share=True)).scalar_one()


def _locked(uow: UnitOfWork, who: Principal, rule_id: int, action: Action) -> tuple[StoredRule, Institution]:
    """The rule, locked for the rest of the transaction, and its owner: 404 unless the caller sees
    it, then 403 unless their role may ``action``."""
    row = uow.session.execute(sa.select(StoredRule).where(StoredRule.id == rule_id).with_for_update()
                              ).scalar_one_or_none()
    owner = uow.session.get(Institution, row.owner_id) if row is not None else None
    if row is None or owner is None or not _sees(who, owner):
        raise _not_found(rule_id)
    require(who, action)
    return row, owner


def _state(row: StoredRule) -> dict[str, Any]:
    return {"status": row.status.value, "code": row.code, "version": row.version, "shadow": row.shadow,
            "effective_from": row.effective_from, "effective_to": row.effective_to}


def _audit(uow: UnitOfWork, who: Principal, action: str, row: StoredRule, owner: Institution,
           before: dict[str, Any] | None, note: str = "") -> None:
    after = {**_state(row), **({"note": note} if note else {})}
    record(uow.session, actor=who.username, action=f"rules.{action}", target=f"stored_rule:{row.id}",
           institution_code=owner.code, before=before, after=after)


def _apply(row: StoredRule, spec: RuleSpec) -> None:
    for f in fields(RuleSpec):
        setattr(row, "model_id" if f.name == "model" else f.name, getattr(spec, f.name))


def draft(uow: UnitOfWork, who: Principal, directory: PluginDirectory, spec: RuleSpec, today: date) -> StoredRule:
    """A new draft at the author's institution (module docstring)."""
    place = _keeper(uow, who, Action.RULES_DRAFT)
    checks.check_spec(uow.session, place, spec, today)
    version = checks.version_for(uow.session, directory, place, spec)
    row = StoredRule(version=version, owner_id=place.id, status=RuleStatus.DRAFT, author=who.username)
    _apply(row, spec)
    uow.session.add(row)
    uow.session.flush()
    _audit(uow, who, "draft", row, place, None)
    return row


def spec_of(row: StoredRule) -> RuleSpec:
    return RuleSpec(**{f.name: getattr(row, "model_id" if f.name == "model" else f.name) for f in fields(RuleSpec)})


def edit(uow: UnitOfWork, who: Principal, directory: PluginDirectory, rule_id: int, changes: Mapping[str, Any],
         today: date) -> StoredRule:
    """The author changes their own draft: the fields in ``changes``, the rest kept; checked again."""
    row, owner = _locked(uow, who, rule_id, Action.RULES_DRAFT)
    _author_only(who, row, "edit")
    _must_be(row, frozenset({RuleStatus.DRAFT}), "edit")
    place = _lock_place(uow, owner.id)
    before = _state(row)
    spec = replace(spec_of(row), **changes)
    checks.check_spec(uow.session, place, spec, today)
    version = checks.version_for(uow.session, directory, place, spec, exclude=row.id)
    if spec.code != row.code:
        row.version = version
    _apply(row, spec)
    uow.session.flush()
    _audit(uow, who, "edit", row, owner, before)
    return row


def _author_only(who: Principal, row: StoredRule, what: str) -> None:
    if row.author != who.username:
        raise Forbidden(f"only the author of rule {row.code} v{row.version} ({row.author}) may {what} it")


def _must_be(row: StoredRule, statuses: frozenset[RuleStatus], what: str) -> None:
    if row.status not in statuses:
        allowed = " or ".join(sorted(s.value for s in statuses))
        raise Conflict(f"rule {row.code} v{row.version} is {row.status.value}: only a {allowed} rule may be {what}",
                       code="invalid_state", fields={"status": [row.status.value]})


def _colleague(who: Principal, row: StoredRule, owner: Institution, action: str) -> None:
    """Only someone of the owner institution may approve, reject or retire its rule."""
    if who.institution_id != owner.id:
        raise Forbidden(f"rule {row.code} v{row.version} is kept at {owner.level.value} level by {owner.code}: "
                        f"only its staff may {action} it, not {who.username} of {who.institution_code}")


def step(uow: UnitOfWork, who: Principal, directory: PluginDirectory, rule_id: int, action: str, today: date,
         note: str = "") -> StoredRule:
    """Take one step of the life cycle on the rule (module docstring)."""
    row, owner = _locked(uow, who, rule_id, STEPS[action])
    if action in ("submit", "withdraw"):
        _author_only(who, row, action)
    else:
        _colleague(who, row, owner, action)
    if action in ("approve", "reject") and row.author == who.username:
        raise Forbidden(f"{who.username} wrote rule {row.code} v{row.version} and may not {action} it "
                        "(maker-checker: a second person publishes)", code="separation_of_duties")
    target = next_status(row.status, action)
    if target is None:
        _must_be(row, ACTIONS[action][0], {"submit": "submitted", "withdraw": "withdrawn", "approve": "approved",
                                           "reject": "rejected", "retire": "retired"}[action])
    assert target is not None
    before = _state(row)
    now = utcnow()
    if action == "submit":
        row.submitted_at = now
    elif action in ("approve", "reject"):
        row.decided_by, row.decided_at, row.decision_note = who.username, now, note
        if action == "approve":
            _publish(uow, directory, row, owner, today)
    elif action == "retire":
        _retire(uow, who, row, owner, today, note)
    row.status = target
    uow.session.flush()
    _audit(uow, who, action, row, owner, before, note)
    return row


def _publish(uow: UnitOfWork, directory: PluginDirectory, row: StoredRule, owner: Institution, today: date) -> None:
    spec = spec_of(row)
    if spec.effective_from is None:
        spec = replace(spec, effective_from=today)
    checks.check_spec(uow.session, owner, spec, today)
    checks.version_for(uow.session, directory, owner, spec, exclude=row.id, keep=row.version)
    row.effective_from = spec.effective_from
    bump_generation(uow.session)


def _retire(uow: UnitOfWork, who: Principal, row: StoredRule, owner: Institution, today: date, note: str) -> None:
    """End ``row`` and its earlier published versions (same owner, code, shadow-ness and model) on
    ``today``; a rule that had not started yet ends on its first day, so its dates stay a window."""
    earlier = uow.session.execute(sa.select(StoredRule).where(
        StoredRule.owner_id == row.owner_id, StoredRule.code == row.code, StoredRule.shadow.is_(row.shadow),
        StoredRule.status == RuleStatus.PUBLISHED, StoredRule.version < row.version, StoredRule.id != row.id)
        .order_by(StoredRule.version).with_for_update()).scalars().all()
    now = utcnow()
    for each in [*earlier, row]:
        before = _state(each)
        end = today if each.effective_to is None or each.effective_to > today else each.effective_to
        if each.effective_from is not None and each.effective_from > end:
            end = each.effective_from
        each.effective_to, each.retired_by, each.retired_at = end, who.username, now
        if each is not row:
            each.status = RuleStatus.RETIRED
            _audit(uow, who, "retire", each, owner, before, note or f"with v{row.version}")
    bump_generation(uow.session)


# -- reading ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleFilters:
    status: str | None = None
    stage: str | None = None
    institution: str | None = None
    code: str | None = None
    shadow: bool | None = None
    model: int | None = None
    limit: int = PAGE
    offset: int = 0


def rule_json(row: StoredRule, owner: str) -> dict[str, Any]:
    """A stored rule as the API answers and the CLI prints it (``--json``)."""
    return {"id": row.id, "code": row.code, "version": row.version, "name": row.name, "stage": row.stage,
            "outcome": row.outcome, "level": row.level, "owner": owner, "expression": row.expression,
            "reason": row.reason, "category": row.category, "effective_from": row.effective_from,
            "effective_to": row.effective_to, "shadow": row.shadow, "model": row.model_id,
            "status": row.status.value, "author": row.author, "created_at": row.created_at,
            "submitted_at": row.submitted_at, "decided_by": row.decided_by, "decided_at": row.decided_at,
            "decision_note": row.decision_note, "retired_by": row.retired_by, "retired_at": row.retired_at}


def row_json(uow: UnitOfWork, row: StoredRule) -> dict[str, Any]:
    """``rule_json`` with the owner's code looked up."""
    owner = uow.session.get(Institution, row.owner_id)
    return rule_json(row, owner.code if owner is not None else "")


def show(uow: UnitOfWork, who: Principal, rule_id: int) -> dict[str, Any]:
    """One rule the caller sees (404 otherwise)."""
    row = uow.session.get(StoredRule, rule_id)
    owner = uow.session.get(Institution, row.owner_id) if row is not None else None
    if row is None or owner is None or not _sees(who, owner):
        raise _not_found(rule_id)
    require(who, Action.RULES_READ)
    return rule_json(row, owner.code)


def list_rules(uow: UnitOfWork, who: Principal, filters: RuleFilters) -> list[dict[str, Any]]:
    """Rules owned along the caller's ancestry or in their subtree, filtered, oldest first;
    ``institution``: only the rules that institution owns (404 unless the caller sees it)."""
    checks.check_choice("status", filters.status, tuple(s.value for s in RuleStatus))
    checks.check_choice("stage", filters.stage, checks.STAGE_NAMES)
    above = [int(part) for part in who.institution_path.strip("/").split("/") if part]
    stmt = (sa.select(StoredRule, Institution.code).join(Institution, Institution.id == StoredRule.owner_id)
            .where(sa.or_(StoredRule.owner_id.in_(above),
                          Institution.path.startswith(who.institution_path, autoescape=True))))
    if filters.institution is not None:
        place = institutions.get_by_code(uow.session, filters.institution)
        if place is None or not _sees(who, place):
            raise NotFound(f"institution {filters.institution} not found", fields={"institution": ["not found"]})
        stmt = stmt.where(StoredRule.owner_id == place.id)
    require(who, Action.RULES_READ)
    if filters.status is not None:
        stmt = stmt.where(StoredRule.status == RuleStatus(filters.status))
    for column, value in ((StoredRule.stage, filters.stage), (StoredRule.code, filters.code),
                          (StoredRule.model_id, filters.model)):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.shadow is not None:
        stmt = stmt.where(StoredRule.shadow.is_(filters.shadow))
    stmt = page(stmt.order_by(StoredRule.id), min(filters.limit, MAX_PAGE), filters.offset)
    return [rule_json(row, code) for row, code in uow.session.execute(stmt).all()]
