"""The dashboard's figures (仪表盘): set-wise aggregates over the caller's subtree, for charts.

The promises:

* Each figure is one SQL ``GROUP BY`` over the caller's whole subtree (``scoping.in_subtree`` on
  the row's institution), never rows loaded into Python one by one: another county bank's
  warnings, tasks or decisions are never counted.
* Each checks its own action first (``warning.read``, ``classification.read``,
  ``decision.read``): a role that may not gets 403, as from the API.
* Money and ratios stay ``Decimal`` (the NPL figures are the classification's own rows,
  ``classify_services.npl``); counts are ints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from nongxin.core.auth import Principal
from nongxin.core.credit.models import Application, Decision
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning import classify_services
from nongxin.core.early_warning import warnings as warning_service
from nongxin.core.early_warning.models import NplRatio, TaskStatus, Warning, WarningStatus, WarningTask
from nongxin.core.early_warning.tasks import task_rows
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action, require
from nongxin.core.scoping import in_subtree

__all__ = ["TREND_DAYS", "BankCount", "decisions_by_outcome", "npl_latest", "open_tasks_of", "overdue_tasks_by_bank",
           "warning_trend", "warnings_by_bank_and_colour"]

#: Days the trend and the decision figures look back over (today included).
TREND_DAYS = 30


@dataclass(frozen=True)
class BankCount:
    """One county bank's count of something, by a key (a colour, an outcome): {key: n}."""

    code: str
    name: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _banks(rows: Any) -> list[BankCount]:
    """(code, name, key, n) rows, grouped per bank in code order."""
    out: dict[str, BankCount] = {}
    for code, name, key, n in rows:
        out.setdefault(code, BankCount(code, name, {})).counts[str(key)] = int(n)
    return [out[c] for c in sorted(out)]


def warnings_by_bank_and_colour(uow: UnitOfWork, principal: Principal) -> list[BankCount]:
    """Open warnings in the caller's subtree counted by county bank and colour, in one GROUP BY."""
    require(principal, Action.WARNING_READ)
    bank = aliased(Institution)
    stmt = in_subtree(sa.select(bank.code, bank.name, Warning.colour, sa.func.count(Warning.id)).select_from(Warning),
                      Warning.institution_id, principal.institution_path)
    stmt = (stmt.join(bank, bank.id == Warning.county_bank_id).where(Warning.status == WarningStatus.OPEN)
            .group_by(bank.code, bank.name, Warning.colour))
    return _banks(uow.session.execute(stmt))


def warning_trend(uow: UnitOfWork, principal: Principal, today: date,
                  days: int = TREND_DAYS) -> list[tuple[date, int]]:
    """Warnings raised (first seen) per day over the ``days`` ending ``today``, every day listed
    (0 where none): the warnings service's own count by day."""
    start = today - timedelta(days=days - 1)
    counted = {row["key"]: row["count"] for row in
               warning_service.counts(uow, principal, "day", from_day=start, to_day=today)}
    return [(day, counted.get(day.isoformat(), 0)) for day in (start + timedelta(n) for n in range(days))]


def overdue_tasks_by_bank(uow: UnitOfWork, principal: Principal, today: date) -> list[BankCount]:
    """Open tasks in the caller's subtree per county bank: {"open": n, "overdue": m} (overdue: due
    before ``today``, the business date), in one GROUP BY."""
    require(principal, Action.WARNING_READ)
    bank = aliased(Institution)
    overdue = sa.func.sum(sa.case((WarningTask.due_on < today, 1), else_=0))
    stmt = in_subtree(sa.select(bank.code, bank.name, sa.func.count(WarningTask.id), overdue).select_from(WarningTask),
                      WarningTask.institution_id, principal.institution_path)
    stmt = (stmt.join(bank, bank.id == WarningTask.county_bank_id).where(WarningTask.status == TaskStatus.OPEN)
            .group_by(bank.code, bank.name))
    rows = []
    for code, name, n, late in uow.session.execute(stmt):
        rows.extend([(code, name, "open", n), (code, name, "overdue", late or 0)])
    return _banks(rows)


def open_tasks_of(uow: UnitOfWork, principal: Principal, warning_ids: list[int],
                  today: date) -> dict[int, dict[str, Any]]:
    """The open task (as ``tasks.task_rows`` tells it) of each of these warnings the caller sees:
    {warning id: row}. For a page of warnings, in one query."""
    require(principal, Action.WARNING_READ)
    if not warning_ids:
        return {}
    stmt = in_subtree(sa.select(WarningTask), WarningTask.institution_id, principal.institution_path)
    stmt = stmt.where(WarningTask.warning_id.in_(warning_ids), WarningTask.status == TaskStatus.OPEN)
    found = list(uow.session.execute(stmt.order_by(WarningTask.id)).scalars())
    return {row["warning_id"]: row for row in task_rows(uow, found, today)}


def npl_latest(uow: UnitOfWork, principal: Principal) -> tuple[date | None, list[dict[str, Any]]]:
    """The non-performing ratio of every institution in the caller's subtree at the latest business
    date the classification wrote figures for (None and [] before it ever ran), each row with the
    institution's name: the classification's own rows (``classify_services.npl``)."""
    require(principal, Action.CLASSIFICATION_READ)
    latest = uow.session.execute(in_subtree(sa.select(sa.func.max(NplRatio.business_date)).select_from(NplRatio),
                                            NplRatio.institution_id, principal.institution_path)).scalar()
    if latest is None:
        return None, []
    _, rows = classify_services.npl(uow, principal, None, latest, latest)
    names = dict(uow.session.execute(sa.select(Institution.code, Institution.name).where(
        Institution.code.in_({r["institution"] for r in rows}))).all())
    return latest, [{**r, "name": names.get(r["institution"], r["institution"])} for r in rows]


def decisions_by_outcome(uow: UnitOfWork, principal: Principal, today: date,
                         days: int = TREND_DAYS) -> list[tuple[str, str | None, int]]:
    """Credit decisions of the ``days`` ending ``today`` (business dates) on applications in the
    caller's subtree, counted by outcome and refusal category: [(outcome, category or None, n)]."""
    require(principal, Action.DECISION_READ)
    start = today - timedelta(days=days - 1)
    stmt = in_subtree(sa.select(Decision.outcome, Decision.refusal_category, sa.func.count(Decision.id))
                      .select_from(Decision).join(Application, Application.id == Decision.application_id),
                      Application.institution_id, principal.institution_path)
    stmt = (stmt.where(Decision.business_date >= start, Decision.business_date <= today)
            .group_by(Decision.outcome, Decision.refusal_category))
    rows = [(str(o), c, int(n)) for o, c, n in uow.session.execute(stmt)]
    return sorted(rows, key=lambda r: (r[0], r[1] or ""))
