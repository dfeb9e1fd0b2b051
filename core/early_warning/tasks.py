"""Warning tasks (预警任务): listed, closed with findings, reassigned, escalated when overdue.

The promises:

* Listings and lookups stay inside the caller's subtree (``Warning``'s rule: another county bank's
  task is 404, exactly as a missing one). ``overdue`` is ``due_on`` before the business date while
  the task is open.
* ``close_task`` (``warning.task.close``) needs findings (non-blank), a disposal
  (``domain.DISPOSALS``) and at least one evidence reference (each a non-blank string of at most
  ``MAX_EVIDENCE`` characters): 422 naming the field. Only an open task closes (409 otherwise); a
  customer manager closes only a task assigned to them (403 ``not_assigned``), a post-loan checker
  any in their subtree. The task, its warning (closed the same business date), a "closed"
  ``TaskEvent`` and the audit entry are written in one transaction, or nothing is.
* ``reassign_task`` (``warning.task.reassign``) hands an open task to an active customer manager or
  post-loan checker whose institution lies in the task's county bank (422 naming ``to``
  otherwise); a "reassigned" event and an audit entry.
* ``escalate`` works set-wise over one county bank's open tasks past due (locked, so a concurrent
  run waits and then finds nothing more to raise): the level from
  ``domain.escalation_level`` on the working calendar with the colour's deadline days; only tasks
  whose level rose are written (level, ``escalated_to`` from ``services.escalation_target``,
  ``escalated_on``, an "escalated" event by ``system:scan``), so a second run on the same date
  changes nothing. After the caller commits, each escalation is told to the ``nongxin_on_warning``
  plugins enabled at the task's institution (Event kind "escalation"); a failing plugin is logged
  and undoes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Sequence

import sqlalchemy as sa

from nongxin.core.after_commit import after_commit
from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning import domain, services
from nongxin.core.early_warning.models import TaskEvent, TaskStatus, Warning, WarningStatus, WarningTask
from nongxin.core.errors import Conflict, Forbidden, ValidationFailed, invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution, Role, User
from nongxin.core.permissions import Action, require
from nongxin.core.runtime import Runtime
from nongxin.core.scoping import PAGE, in_subtree, page, visible_row
from nongxin.sdk.types import Event

__all__ = ["HOOK", "MAX_EVIDENCE", "SYSTEM", "Closing", "Escalation", "TaskFilters", "close_task", "escalate",
           "list_tasks", "reassign_task", "task_rows", "visible_task"]

log = logging.getLogger("nongxin.early_warning")

HOOK = "nongxin_on_warning"
SYSTEM = "system:scan"
MAX_EVIDENCE = 200
MAX_FINDINGS = 2000
MAX_EVIDENCE_ITEMS = 50
ASSIGNABLE = (Role.CUSTOMER_MANAGER, Role.POST_LOAN_CHECKER)


@dataclass(frozen=True)
class TaskFilters:
    assigned_to: str | None = None  # "me" or a username
    escalated_to: str | None = None  # "me" or a username
    overdue: bool = False
    escalated: bool = False
    status: str | None = None
    institution: str | None = None
    limit: int = PAGE
    offset: int = 0


@dataclass(frozen=True)
class Closing:
    findings: str
    disposal: str
    evidence: Sequence[str]


@dataclass(frozen=True)
class Escalation:
    task_id: int
    warning_id: int
    loan_no: str | None
    institution: str
    level: int
    level_name: str
    escalated_to: str | None


def visible_task(uow: UnitOfWork, principal: Principal, task_id: int, action: Action, *,
                 lock: bool = False) -> WarningTask:
    return visible_row(uow, principal, sa.select(WarningTask).where(WarningTask.id == task_id), action,
                       what="task", field="task_id", lock=lock)


def task_rows(uow: UnitOfWork, found: Sequence[WarningTask], today: date) -> list[dict[str, Any]]:
    """What a listing tells of each task, JSON-ready (usernames and codes, not ids)."""
    if not found:
        return []
    session = uow.session
    user_ids = {u for t in found for u in (t.assigned_to, t.escalated_to) if u is not None}
    names = dict(session.execute(sa.select(User.id, User.username).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    codes = dict(session.execute(sa.select(Institution.id, Institution.code).where(
        Institution.id.in_({t.institution_id for t in found} | {t.county_bank_id for t in found}))).all())
    warnings = {w.id: w for w in session.execute(sa.select(Warning).where(
        Warning.id.in_({t.warning_id for t in found}))).scalars()}
    rows = []
    for t in found:
        w = warnings[t.warning_id]
        rows.append({
            "id": t.id, "warning_id": t.warning_id, "loan_no": w.loan_no, "rule": w.rule_code, "colour": t.colour,
            "status": t.status.value, "opened_on": t.opened_on, "due_on": t.due_on, "due_estimated": t.due_estimated,
            "overdue": t.status == TaskStatus.OPEN and t.due_on < today,
            "escalation_level": t.escalation_level, "escalation_name": domain.ESCALATION_LEVELS[t.escalation_level],
            "escalated_to": names.get(t.escalated_to) if t.escalated_to else None, "escalated_on": t.escalated_on,
            "assigned_to": names.get(t.assigned_to) if t.assigned_to else None,
            "county_bank": codes.get(t.county_bank_id, ""), "institution": codes.get(t.institution_id, ""),
            "closed_on": t.closed_on, "closed_by": t.closed_by, "findings": t.findings, "disposal": t.disposal,
            "evidence": list(t.evidence or [])})
    return rows


def _user_id(uow: UnitOfWork, principal: Principal, who: str, field: str) -> int:
    name = principal.username if who == "me" else who
    found = uow.session.execute(sa.select(User.id).where(User.username == name)).scalar()
    if found is None:
        raise invalid(field, f"no user {name!r}")
    return int(found)


def list_tasks(uow: UnitOfWork, principal: Principal, filters: TaskFilters, today: date) -> list[WarningTask]:
    """The caller's tasks (subtree), oldest due first, filtered."""
    from nongxin.core.early_warning.warnings import check_choice

    check_choice("status", filters.status, tuple(s.value for s in TaskStatus))
    inst = institutions.visible(uow.session, principal, filters.institution) if filters.institution else None
    require(principal, Action.WARNING_READ)  # after the 404: never tell another bank's institution exists
    stmt = in_subtree(sa.select(WarningTask), WarningTask.institution_id, principal.institution_path)
    if inst is not None:
        stmt = stmt.where(Institution.path.startswith(inst.path, autoescape=True))
    if filters.assigned_to is not None:
        stmt = stmt.where(WarningTask.assigned_to == _user_id(uow, principal, filters.assigned_to, "assigned_to"))
    if filters.escalated_to is not None:
        stmt = stmt.where(WarningTask.escalated_to == _user_id(uow, principal, filters.escalated_to, "escalated_to"))
    if filters.status is not None:
        stmt = stmt.where(WarningTask.status == TaskStatus(filters.status))
    if filters.overdue:
        stmt = stmt.where(WarningTask.status == TaskStatus.OPEN, WarningTask.due_on < today)
    if filters.escalated:
        stmt = stmt.where(WarningTask.escalation_level > 0)
    stmt = page(stmt.order_by(WarningTask.due_on, WarningTask.id), filters.limit, filters.offset)
    return list(uow.session.execute(stmt).scalars())


def _check_closing(closing: Closing) -> Closing:
    problems: dict[str, list[str]] = {}
    findings = (closing.findings or "").strip()
    if not findings:
        problems["findings"] = ["what the follow-up found: required, not blank"]
    elif len(findings) > MAX_FINDINGS:
        problems["findings"] = [f"at most {MAX_FINDINGS} characters"]
    if closing.disposal not in domain.DISPOSALS:
        problems["disposal"] = [f"one of: {', '.join(domain.DISPOSALS)}"]
    evidence = [e.strip() if isinstance(e, str) else "" for e in (closing.evidence or [])]
    if not evidence:
        problems["evidence"] = ["at least one reference (a document id or photo name)"]
    elif len(evidence) > MAX_EVIDENCE_ITEMS:
        problems["evidence"] = [f"at most {MAX_EVIDENCE_ITEMS} references"]
    elif any(not e or len(e) > MAX_EVIDENCE for e in evidence):
        problems["evidence"] = [f"each reference a non-blank string of at most {MAX_EVIDENCE} characters"]
    if problems:
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items())
        raise ValidationFailed(f"the task cannot be closed: {detail}", fields=problems)
    return Closing(findings, closing.disposal, evidence)


def _assignee_id(uow: UnitOfWork, principal: Principal) -> int | None:
    return uow.session.execute(sa.select(User.id).where(User.username == principal.username)).scalar()


def close_task(uow: UnitOfWork, principal: Principal, task_id: int, closing: Closing, today: date) -> WarningTask:
    """Close an open task and its warning with findings, a disposal and evidence (see the module)."""
    task = visible_task(uow, principal, task_id, Action.WARNING_TASK_CLOSE, lock=True)
    clean = _check_closing(closing)
    if task.status != TaskStatus.OPEN:
        raise Conflict(f"task {task.id} is already closed (on {task.closed_on})", code="task_closed")
    if principal.role == Role.CUSTOMER_MANAGER and task.assigned_to != _assignee_id(uow, principal):
        raise Forbidden(f"task {task.id} is not assigned to {principal.username}; only its customer manager "
                        "or a post-loan checker may close it", code="not_assigned")
    warning = uow.session.execute(sa.select(Warning).where(Warning.id == task.warning_id)
                                  .with_for_update()).scalar_one()
    task.status, task.closed_on, task.closed_by = TaskStatus.CLOSED, today, principal.username
    task.findings, task.disposal, task.evidence = clean.findings, clean.disposal, list(clean.evidence)
    warning.status, warning.closed_on = WarningStatus.CLOSED, today
    uow.session.add(TaskEvent(task_id=task.id, kind="closed", business_date=today, actor=principal.username,
                              level=task.escalation_level, note=clean.disposal))
    bank = uow.session.get(Institution, task.county_bank_id)
    record(uow.session, actor=principal.username, action="warning.task.close", target=f"warning_task:{task.id}",
           institution_code=bank.code if bank else None, before={"status": "open"},
           after={"status": "closed", "warning": warning.id, "disposal": clean.disposal,
                  "evidence": list(clean.evidence)})
    uow.session.flush()
    return task


def reassign_task(uow: UnitOfWork, principal: Principal, task_id: int, to: str, note: str, today: date,
                  ) -> WarningTask:
    """Hand an open task to another customer manager or post-loan checker of its county bank."""
    task = visible_task(uow, principal, task_id, Action.WARNING_TASK_REASSIGN, lock=True)
    session = uow.session
    bank = session.get(Institution, task.county_bank_id)
    assert bank is not None
    target = session.execute(sa.select(User).join(Institution, Institution.id == User.institution_id).where(
        User.username == to, User.active.is_(True), User.role.in_(ASSIGNABLE),
        Institution.path.startswith(bank.path, autoescape=True))).scalar_one_or_none()
    if target is None:
        raise invalid("to", f"{to!r} is not an active customer manager or post-loan checker of {bank.code}")
    if task.status != TaskStatus.OPEN:
        raise Conflict(f"task {task.id} is closed; a closed task is not reassigned", code="task_closed")
    before = task.assigned_to
    task.assigned_to = target.id
    session.add(TaskEvent(task_id=task.id, kind="reassigned", business_date=today, actor=principal.username,
                          level=task.escalation_level, from_user=before, to_user=target.id, note=note[:500]))
    record(session, actor=principal.username, action="warning.task.reassign", target=f"warning_task:{task.id}",
           institution_code=bank.code, before={"assigned_to": before}, after={"assigned_to": target.username})
    session.flush()
    return task


def escalate(uow: UnitOfWork, runtime: Runtime, bank: Institution, as_of: date) -> list[Escalation]:
    """Raise the escalation level of ``bank``'s open tasks past due on ``as_of`` (see the module).
    Writes in the caller's transaction; notifies after it commits."""
    session = uow.session
    q = (sa.select(WarningTask.id, WarningTask.warning_id, WarningTask.colour, WarningTask.due_on,
                   WarningTask.escalation_level, WarningTask.institution_id, Warning.loan_no)
         .join(Warning, Warning.id == WarningTask.warning_id)
         .where(WarningTask.county_bank_id == bank.id, WarningTask.status == TaskStatus.OPEN,
                WarningTask.due_on < as_of, WarningTask.escalation_level < max(domain.ESCALATION_LEVELS))
         .order_by(WarningTask.id)
         .with_for_update(of=WarningTask))  # a concurrent run waits, then sees the level already raised
    pending = session.execute(q).all()
    if not pending:
        return []
    calendar = runtime.calendar.get(session)
    days = services.deadline_days(session, bank, as_of)

    ends: dict[tuple[date, int], date] = {}

    def add(day: date, n: int) -> date:  # tasks share due dates: walk the calendar once per (day, n)
        if (day, n) not in ends:
            ends[(day, n)] = calendar.add_workdays(day, n).day
        return ends[(day, n)]

    targets: dict[tuple[int, int], int | None] = {}
    rose: list[tuple[Any, int, int | None]] = []
    for row in pending:
        level = domain.escalation_level(row.due_on, as_of, days[row.colour], add)
        if level <= row.escalation_level:
            continue
        key = (row.institution_id, level)
        if key not in targets:
            targets[key] = services.escalation_target(session, row.institution_id, bank.id, level)
        rose.append((row, level, targets[key]))
    if not rose:
        return []
    groups: dict[tuple[int, int | None], list[int]] = {}
    for row, level, target in rose:
        groups.setdefault((level, target), []).append(row.id)
    for (level, target), ids in groups.items():
        session.execute(sa.update(WarningTask).where(WarningTask.id.in_(ids)).values(
            escalation_level=level, escalated_to=target, escalated_on=as_of).execution_options(
            synchronize_session=False))
    session.execute(sa.insert(TaskEvent), [
        {"task_id": row.id, "kind": "escalated", "business_date": as_of, "actor": SYSTEM, "level": level,
         "to_user": target, "note": domain.ESCALATION_LEVELS[level]} for row, level, target in rose])
    user_ids = {t for _, _, t in rose if t is not None}
    names = dict(session.execute(sa.select(User.id, User.username).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    places = {i.id: i for i in session.execute(sa.select(Institution).where(
        Institution.id.in_({row.institution_id for row, _, _ in rose}))).scalars()}
    done = [Escalation(row.id, row.warning_id, row.loan_no, places[row.institution_id].code, level,
                       domain.ESCALATION_LEVELS[level], names.get(target) if target else None)
            for row, level, target in rose]
    views = {i: runtime.plugins.view(session, inst) for i, inst in places.items()}
    by_code = {places[i].code: v for i, v in views.items()}
    after_commit(session, lambda: _announce(by_code, done))
    return done


def _announce(views: dict[str, Any], done: Iterable[Escalation]) -> None:
    for e in done:
        try:
            views[e.institution].notify(HOOK, event=Event(
                "escalation", e.loan_no or str(e.task_id), e.institution,
                {"task_id": e.task_id, "warning_id": e.warning_id, "loan_no": e.loan_no, "level": e.level,
                 "level_name": e.level_name, "escalated_to": e.escalated_to}))
        except Exception:  # committed; a notification never undoes it
            log.exception("escalation of task %s could not be told", e.task_id)
