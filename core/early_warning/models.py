"""Early warning (预警) and five-tier classification (五级分类): what the nightly scan writes.

* ``Warning``: one per (subject, rule) for ever: a loan (``subject_kind`` "loan") hit by a
  post-loan rule, a pledged position ("pledge") hit by a collateral rule, or a credit line ("line")
  that failed its annual review (年检, ``village.annual_review``). Open while someone
  must look at it; closed when its task closes; reopened (the same row, ``reopened`` counts) only
  by a hit on a business date after it was closed. ``first_seen`` / ``last_seen`` are business dates.
* ``WarningTask``: the follow-up of one opening of a warning, assigned to the loan's customer
  manager, due in working days by colour; escalated when overdue (level 1 the branch head, level 2
  the county bank's risk department); closed only with findings, a disposal and evidence.
* ``TaskEvent``: append-only history of a task (opened, escalated, reassigned, closed).
* ``WatchlistEntry``: a court list (enforcement, consumption restriction, dishonest debtor) entry
  delivered to a county bank (or the province) as a file or by a connector.
* ``LoanClass``: each loan's current class, with the floor it was computed from and the state the
  next night needs (clean since, restructuring observation); ``LoanClassChange``: append-only
  history of every change; ``ClassRequest``: a manual class, maker-checker when better than the
  floor; ``NplRatio``: non-performing ratio per institution and business date.

Money is integer fen (BIGINT) in the database and Decimal yuan in Python.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from nongxin.core.db import Base, Money, str_enum, utcnow

MONEY = Money()


class WarningStatus(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class TaskStatus(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Warning(Base):  # noqa: A001 - the domain's word; never imported bare beside builtins.Warning
    __tablename__ = "warnings"
    __table_args__ = (sa.UniqueConstraint("subject_kind", "subject_id", "rule_code"),
                      sa.Index("ix_warnings_bank_status", "county_bank_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"))
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)  # the loan's branch
    subject_kind: Mapped[str] = mapped_column(sa.String(8))  # loan | pledge | line (the annual review, 年检)
    subject_id: Mapped[int]
    loan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("loans.id"), index=True)
    loan_no: Mapped[str | None] = mapped_column(sa.String(40))
    line_number: Mapped[str | None] = mapped_column(sa.String(40))  # pledge warnings: the secured line
    stage: Mapped[str] = mapped_column(sa.String(16))  # post_loan | collateral | annual_review
    rule_code: Mapped[str] = mapped_column(sa.String(64), index=True)
    rule_version: Mapped[int]
    colour: Mapped[str] = mapped_column(sa.String(8), index=True)  # red | orange | yellow
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    facts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # the fields the rule read, first hit
    status: Mapped[WarningStatus] = mapped_column(str_enum(WarningStatus, 8), default=WarningStatus.OPEN)
    first_seen: Mapped[date] = mapped_column(index=True)
    last_seen: Mapped[date]
    closed_on: Mapped[date | None]
    reopened: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WarningTask(Base):
    __tablename__ = "warning_tasks"
    __table_args__ = (sa.Index("ix_warning_tasks_bank_status", "county_bank_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    warning_id: Mapped[int] = mapped_column(sa.ForeignKey("warnings.id"), index=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"))
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    colour: Mapped[str] = mapped_column(sa.String(8))
    assigned_to: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    opened_on: Mapped[date]  # business date
    due_on: Mapped[date] = mapped_column(index=True)
    due_estimated: Mapped[bool] = mapped_column(default=False)  # a day counted had no official calendar
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus, 8), default=TaskStatus.OPEN)
    escalation_level: Mapped[int] = mapped_column(default=0)  # 0 manager, 1 branch head, 2 risk department
    escalated_to: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    escalated_on: Mapped[date | None]
    closed_on: Mapped[date | None]
    closed_by: Mapped[str | None] = mapped_column(sa.String(64))
    findings: Mapped[str | None] = mapped_column(sa.String(2000))
    disposal: Mapped[str | None] = mapped_column(sa.String(16))
    evidence: Mapped[list[str] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaskEvent(Base):
    """Append-only (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "warning_task_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("warning_tasks.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # opened | escalated | reassigned | closed
    business_date: Mapped[date]
    actor: Mapped[str] = mapped_column(sa.String(64))
    level: Mapped[int] = mapped_column(default=0)
    from_user: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    to_user: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class WatchlistEntry(Base):
    """One person or company on a court list, as delivered to a county bank (``county_bank_id``)
    or to the whole province (NULL). Listed from ``listed_on``; off the list from ``delisted_on``."""

    __tablename__ = "watchlist_entries"
    __table_args__ = (sa.UniqueConstraint("county_bank_id", "kind", "id_number", "case_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_bank_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))  # enforcement | consumption_restriction | dishonest_debtor
    id_number: Mapped[str] = mapped_column(sa.String(18), index=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    case_no: Mapped[str] = mapped_column(sa.String(64), default="")
    court: Mapped[str] = mapped_column(sa.String(100), default="")
    listed_on: Mapped[date]
    delisted_on: Mapped[date | None]
    source: Mapped[str] = mapped_column(sa.String(100))  # the file or connector it came from
    loaded_by: Mapped[str] = mapped_column(sa.String(64))
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoanClass(Base):
    """A loan's current five-tier class (``domain.TIERS``) and what tomorrow's classification needs."""

    __tablename__ = "loan_classes"

    loan_id: Mapped[int] = mapped_column(sa.ForeignKey("loans.id"), primary_key=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    tier: Mapped[str] = mapped_column(sa.String(16))
    floor: Mapped[str] = mapped_column(sa.String(16))  # the regulatory floor on ``as_of``
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    since: Mapped[date]  # the business date the loan entered ``tier``
    clean_since: Mapped[date | None]  # non-performing and no arrears since this business date
    observation_until: Mapped[date | None]  # restructured: held non-performing until this date
    manual_tier: Mapped[str | None] = mapped_column(sa.String(16))  # an approved manual class
    manual_floor: Mapped[str | None] = mapped_column(sa.String(16))  # the floor when it was approved
    as_of: Mapped[date]  # the business date this row last changed (a quiet night leaves it alone)


class LoanClassChange(Base):
    """Append-only (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "loan_class_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(sa.ForeignKey("loans.id"), index=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"))
    business_date: Mapped[date]
    from_tier: Mapped[str | None] = mapped_column(sa.String(16))
    to_tier: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.String(200))
    actor: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ClassRequestStatus(str, enum.Enum):
    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"


class ClassRequest(Base):
    """A manual class for a loan: applied at once when no better than the floor, else pending a
    second person's approval (maker-checker)."""

    __tablename__ = "loan_class_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(sa.ForeignKey("loans.id"), index=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    tier: Mapped[str] = mapped_column(sa.String(16))
    floor: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[ClassRequestStatus] = mapped_column(str_enum(ClassRequestStatus, 8))
    requested_by: Mapped[str] = mapped_column(sa.String(64))
    requested_on: Mapped[date]
    decided_by: Mapped[str | None] = mapped_column(sa.String(64))
    decided_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NplRatio(Base):
    """Loans, outstanding and non-performing outstanding of one institution (a branch, or its
    county bank summed over its branches) at the close of one business date."""

    __tablename__ = "npl_ratios"

    business_date: Mapped[date] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), primary_key=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    loans: Mapped[int]
    outstanding: Mapped[Decimal] = mapped_column(MONEY)
    npl_outstanding: Mapped[Decimal] = mapped_column(MONEY)
    by_tier: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # tier -> [loans, outstanding fen]
