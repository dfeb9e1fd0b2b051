"""Warnings as the people who follow them up see them: listed, one in detail, counted.

The promises:

* Every answer is inside the caller's subtree (``scoping.in_subtree`` on ``Warning.institution_id``,
  the loan's branch): another county bank's warning is "not found" (404), exactly as a missing one,
  and never appears in a listing or a count; an ``institution`` filter outside the subtree is 404.
* Filters are checked before anything is read: a colour or status that does not exist is 422
  naming the field.
* Counts are one SQL ``GROUP BY`` (by colour, county bank, rule, or day = ``first_seen``), never
  rows loaded into Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.domain import COLOURS
from nongxin.core.early_warning.models import TaskEvent, TaskStatus, Warning, WarningStatus, WarningTask
from nongxin.core.errors import ValidationFailed
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution, User
from nongxin.core.permissions import Action, require
from nongxin.core.scoping import PAGE, in_subtree, page, visible_row

__all__ = ["COUNT_BY", "STATUSES", "WarningFilters", "check_choice", "counts", "list_warnings", "warning_detail"]

STATUSES = tuple(s.value for s in WarningStatus)
COUNT_BY = ("colour", "county_bank", "rule", "day")


def check_choice(field: str, value: str | None, choices: tuple[str, ...]) -> None:
    """422 naming ``field`` unless ``value`` is None or one of ``choices``."""
    if value is not None and value not in choices:
        raise ValidationFailed(f"{field} {value!r} is not one of {', '.join(choices)}",
                               fields={field: [f"one of: {', '.join(choices)}"]})


@dataclass(frozen=True)
class WarningFilters:
    colour: str | None = None
    status: str | None = None
    institution: str | None = None
    rule: str | None = None
    loan_no: str | None = None
    limit: int = PAGE
    offset: int = 0


def _scoped(uow: UnitOfWork, principal: Principal, institution: str | None) -> sa.Select[Any]:
    """Warnings in the caller's subtree, narrowed to ``institution``'s (404 outside it)."""
    inst = institutions.visible(uow.session, principal, institution) if institution is not None else None
    require(principal, Action.WARNING_READ)  # after the 404: never tell another bank's institution exists
    stmt = in_subtree(sa.select(Warning), Warning.institution_id, principal.institution_path)
    if inst is not None:
        stmt = stmt.where(Institution.path.startswith(inst.path, autoescape=True))
    return stmt


def _row(w: Warning, banks: dict[int, str], places: dict[int, str], open_task: int | None) -> dict[str, Any]:
    return {"id": w.id, "loan_no": w.loan_no, "line_number": w.line_number, "subject_kind": w.subject_kind,
            "rule": w.rule_code, "rule_version": w.rule_version, "colour": w.colour, "status": w.status.value,
            "reason": w.reason, "facts": dict(w.facts or {}), "first_seen": w.first_seen, "last_seen": w.last_seen,
            "closed_on": w.closed_on, "reopened": w.reopened, "county_bank": banks.get(w.county_bank_id, ""),
            "institution": places.get(w.institution_id, ""), "open_task": open_task}


def _rows(uow: UnitOfWork, found: list[Warning]) -> list[dict[str, Any]]:
    session = uow.session
    ids = {w.county_bank_id for w in found} | {w.institution_id for w in found}
    codes: dict[int, str] = {}
    if ids:
        codes = dict(session.execute(sa.select(Institution.id, Institution.code).where(Institution.id.in_(ids))).all())
    tasks: dict[int, int] = {}
    if found:
        tasks = dict(session.execute(sa.select(WarningTask.warning_id, sa.func.max(WarningTask.id)).where(
            WarningTask.warning_id.in_([w.id for w in found]), WarningTask.status == TaskStatus.OPEN)
            .group_by(WarningTask.warning_id)).all())
    return [_row(w, codes, codes, tasks.get(w.id)) for w in found]


def list_warnings(uow: UnitOfWork, principal: Principal, filters: WarningFilters) -> list[dict[str, Any]]:
    """The caller's warnings, newest first, filtered; each with its open task's id (or None)."""
    check_choice("colour", filters.colour, COLOURS)
    check_choice("status", filters.status, STATUSES)
    stmt = _scoped(uow, principal, filters.institution)
    if filters.colour is not None:
        stmt = stmt.where(Warning.colour == filters.colour)
    if filters.status is not None:
        stmt = stmt.where(Warning.status == WarningStatus(filters.status))
    if filters.rule is not None:
        stmt = stmt.where(Warning.rule_code == filters.rule)
    if filters.loan_no is not None:
        stmt = stmt.where(Warning.loan_no == filters.loan_no)
    stmt = page(stmt.order_by(Warning.id.desc()), filters.limit, filters.offset)
    return _rows(uow, list(uow.session.execute(stmt).scalars()))


def warning_detail(uow: UnitOfWork, principal: Principal, warning_id: int, today: date) -> dict[str, Any]:
    """One warning with its tasks (oldest first) and each task's events; 404 outside the subtree."""
    w = visible_row(uow, principal, sa.select(Warning).where(Warning.id == warning_id), Action.WARNING_READ,
                    what="warning", field="warning_id")
    body = _rows(uow, [w])[0]
    from nongxin.core.early_warning.tasks import task_rows

    found = list(uow.session.execute(sa.select(WarningTask).where(WarningTask.warning_id == w.id)
                                     .order_by(WarningTask.id)).scalars())
    rows = task_rows(uow, found, today)
    events: dict[int, list[dict[str, Any]]] = {t.id: [] for t in found}
    if found:
        src, dst = aliased(User), aliased(User)
        q = (sa.select(TaskEvent, src.username, dst.username)
             .outerjoin(src, src.id == TaskEvent.from_user).outerjoin(dst, dst.id == TaskEvent.to_user)
             .where(TaskEvent.task_id.in_(list(events))).order_by(TaskEvent.id))
        for e, from_name, to_name in uow.session.execute(q):
            events[e.task_id].append({"kind": e.kind, "business_date": e.business_date, "actor": e.actor,
                                      "level": e.level, "from_user": from_name, "to_user": to_name,
                                      "note": e.note, "at": e.at})
    for row in rows:
        row["events"] = events[row["id"]]
    body["tasks"] = rows
    return body


def counts(uow: UnitOfWork, principal: Principal, by: str, *, status: str | None = None,
           from_day: date | None = None, to_day: date | None = None,
           institution: str | None = None) -> list[dict[str, Any]]:
    """Warnings counted by ``by`` (colour, county_bank, rule, day = first_seen) in one GROUP BY,
    within the caller's subtree; ``from_day``/``to_day`` bound ``first_seen`` (inclusive)."""
    check_choice("by", by, COUNT_BY)
    check_choice("status", status, STATUSES)
    if from_day is not None and to_day is not None and from_day > to_day:
        raise ValidationFailed(f"from {from_day} is after to {to_day}", fields={"to": ["on or after from"]})
    stmt = _scoped(uow, principal, institution)
    if status is not None:
        stmt = stmt.where(Warning.status == WarningStatus(status))
    if from_day is not None:
        stmt = stmt.where(Warning.first_seen >= from_day)
    if to_day is not None:
        stmt = stmt.where(Warning.first_seen <= to_day)
    key: Any
    if by == "colour":
        key = Warning.colour
    elif by == "rule":
        key = Warning.rule_code
    elif by == "day":
        key = Warning.first_seen
    else:
        bank = aliased(Institution)
        stmt = stmt.join(bank, bank.id == Warning.county_bank_id)
        key = bank.code
    q = stmt.with_only_columns(key, sa.func.count(Warning.id)).group_by(key).order_by(key)
    return [{"key": k.isoformat() if isinstance(k, date) else str(k), "count": int(n)}
            for k, n in uow.session.execute(q)]
