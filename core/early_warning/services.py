"""What every part of the early-warning module shares: deadlines by colour, escalation targets,
and the lookups that keep a warning or a task inside the caller's subtree.

The promises:

* ``deadline_days`` reads the county's ``early_warning.deadline_days.<colour>`` in force on the
  day; ``due_dates`` turns them into the working day each colour falls due from a business date on
  the province's working calendar (``Deadline.estimated`` when a counted day had no official
  data: the caller must say so loudly).
* ``escalation_target`` names who an overdue task goes to: level 1, the branch head (the first
  active approver (业务审批岗) at the loan's branch, else at its county bank); level 2, the county
  bank's risk department (the first active post-loan checker (贷后检查岗) at the county bank, else
  its county admin). "First" is the lowest user id, so the choice is stable night after night.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.calendar.domain import Deadline, WorkingCalendar
from nongxin.core.early_warning.domain import COLOURS
from nongxin.core.institutions.models import Institution, Role, User
from nongxin.core.parameters.services import value as parameter

__all__ = ["deadline_days", "due_dates", "escalation_target"]


def deadline_days(session: Session, bank: Institution, on: date) -> dict[str, int]:
    """Working days a task of each colour has at ``bank`` on ``on``."""
    return {colour: int(parameter(session, bank, f"early_warning.deadline_days.{colour}", on)) for colour in COLOURS}


def due_dates(calendar: WorkingCalendar, opened_on: date, days: dict[str, int]) -> dict[str, Deadline]:
    """The day a task of each colour opened on ``opened_on`` falls due."""
    return {colour: calendar.add_workdays(opened_on, n) for colour, n in days.items()}


def _first(session: Session, institution_id: int, role: Role) -> int | None:
    return session.execute(sa.select(sa.func.min(User.id)).where(
        User.institution_id == institution_id, User.role == role, User.active.is_(True))).scalar()


def escalation_target(session: Session, branch_id: int, bank_id: int, level: int) -> int | None:
    """The user an overdue task goes to at ``level`` (1 branch head, 2 risk department), or None
    when the county bank has nobody in those roles (the escalation is still recorded)."""
    if level == 1:
        return _first(session, branch_id, Role.APPROVER) or _first(session, bank_id, Role.APPROVER)
    if level == 2:
        return _first(session, bank_id, Role.POST_LOAN_CHECKER) or _first(session, bank_id, Role.COUNTY_ADMIN)
    raise ValueError(f"escalation level {level} is not 1 (branch head) or 2 (risk department)")
