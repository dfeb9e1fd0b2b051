"""Unified credit: applications, their decisions and manual review, and the loan ledger.

An application (贷款申请) moves through the states of ``ApplicationStatus`` (``TRANSITIONS`` says
which moves are allowed); its automated decision is stored whole, once (``Decision.record``); a
decision sent to manual review opens review tasks, one per tier (investigation, review, approval).
The loan ledger holds the loans each county bank has on its books.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nongxin.core.customers.models import Customer
from nongxin.core.db import Base, Money, Rate, str_enum, utcnow
from nongxin.core.institutions.models import User

#: Money columns hold integer fen (BIGINT); Python sees Decimal yuan.
MONEY = Money()


class LoanStatus(str, enum.Enum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    ACTIVE = "active"
    CLOSED = "closed"
    WRITTEN_OFF = "written_off"
    RESCHEDULED = "rescheduled"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


#: States in which the bank still holds a claim on the borrower.
OPEN_STATUSES = (LoanStatus.APPROVED, LoanStatus.ACTIVE, LoanStatus.RESCHEDULED)


class Loan(Base):
    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_no: Mapped[str] = mapped_column(sa.String(40), unique=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    borrower_kind: Mapped[str] = mapped_column(sa.String(16))
    borrower_id_number: Mapped[str] = mapped_column(sa.String(18), index=True)
    borrower_name: Mapped[str] = mapped_column(sa.String(100))
    product_code: Mapped[str] = mapped_column(sa.String(40))
    principal: Mapped[Decimal] = mapped_column(MONEY)
    outstanding: Mapped[Decimal] = mapped_column(MONEY)
    status: Mapped[LoanStatus] = mapped_column(str_enum(LoanStatus, 16))
    disbursed_on: Mapped[date | None]
    maturity_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApplicationStatus(str, enum.Enum):
    AWAITING_CONSENT = "awaiting_consent"  # no live bureau authorization yet: nothing is queried
    SUBMITTED = "submitted"
    DECIDING = "deciding"
    APPROVED = "approved"
    REJECTED = "rejected"
    MANUAL_REVIEW = "manual_review"
    REVIEWED = "reviewed"  # the central review centre gave its opinion; an approver decides next
    WITHDRAWN = "withdrawn"


#: The moves allowed from each state; anything else is 409 naming the current state.
TRANSITIONS: dict[ApplicationStatus, frozenset[ApplicationStatus]] = {
    ApplicationStatus.AWAITING_CONSENT: frozenset({ApplicationStatus.SUBMITTED, ApplicationStatus.DECIDING,
                                                   ApplicationStatus.WITHDRAWN}),
    ApplicationStatus.SUBMITTED: frozenset({ApplicationStatus.DECIDING, ApplicationStatus.AWAITING_CONSENT,
                                            ApplicationStatus.WITHDRAWN}),
    ApplicationStatus.DECIDING: frozenset({ApplicationStatus.APPROVED, ApplicationStatus.REJECTED,
                                           ApplicationStatus.MANUAL_REVIEW, ApplicationStatus.AWAITING_CONSENT}),
    ApplicationStatus.MANUAL_REVIEW: frozenset({ApplicationStatus.REVIEWED, ApplicationStatus.REJECTED,
                                                ApplicationStatus.WITHDRAWN}),
    ApplicationStatus.REVIEWED: frozenset({ApplicationStatus.APPROVED, ApplicationStatus.REJECTED,
                                           ApplicationStatus.MANUAL_REVIEW, ApplicationStatus.WITHDRAWN}),
    ApplicationStatus.APPROVED: frozenset(),
    ApplicationStatus.REJECTED: frozenset(),
    ApplicationStatus.WITHDRAWN: frozenset(),
}

#: States in which an application is still being worked on (``withdrawn`` is allowed from these).
OPEN_APPLICATION_STATUSES = frozenset(s for s, moves in TRANSITIONS.items() if ApplicationStatus.WITHDRAWN in moves)


class Channel(str, enum.Enum):
    COUNTER = "counter"  # 柜面
    MOBILE_APP = "mobile_app"  # 手机银行
    WECHAT = "wechat"  # 微信
    QR_CODE = "qr_code"  # 扫码 (customer manager, institution, product or campaign code in channel_ref)
    BATCH_PRECREDIT = "batch_precredit"  # 批量预授信


class Application(Base):
    """A loan application (贷款申请) for one product at one county bank."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)  # <BANK>-A<YEAR>-<seq>
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)  # 办贷机构
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    product_code: Mapped[str] = mapped_column(sa.String(40))
    amount: Mapped[Decimal] = mapped_column(Money())
    term_months: Mapped[int]
    repayment_method: Mapped[str] = mapped_column(sa.String(40))
    purpose: Mapped[str] = mapped_column(sa.String(200), default="")
    form: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    guarantor_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 24))
    channel_ref: Mapped[str] = mapped_column(sa.String(64), default="")
    status: Mapped[ApplicationStatus] = mapped_column(str_enum(ApplicationStatus, 24), index=True)
    filed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)  # the investigator
    approved_amount: Mapped[Decimal | None] = mapped_column(Money())
    approved_rate: Mapped[Decimal | None] = mapped_column(Rate())
    refusal_category: Mapped[str | None] = mapped_column(sa.String(40))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()
    filed_by: Mapped[User] = relationship()


class Decision(Base):
    """The automated decision of one application, stored whole: ``record`` holds the facts as used,
    every rule hit with its code and version, the score per variable, findings, limit, rate,
    failures, the rule book hash and the provenance of every contribution, with step timings."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), unique=True)
    outcome: Mapped[str] = mapped_column(sa.String(24))  # approved | rejected | manual_review
    refusal_category: Mapped[str | None] = mapped_column(sa.String(40))
    limit: Mapped[Decimal | None] = mapped_column(Money())
    rate: Mapped[Decimal | None] = mapped_column(Rate())
    score: Mapped[int | None]
    grade: Mapped[str | None] = mapped_column(sa.String(16))
    rule_book_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    business_date: Mapped[date]
    decided_by: Mapped[str] = mapped_column(sa.String(64))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    duration_us: Mapped[int] = mapped_column(default=0)
    record: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


class Tier(str, enum.Enum):
    INVESTIGATION = "investigation"  # 调查: the customer manager at the lending branch
    REVIEW = "review"  # 审查: the county's central review centre
    APPROVAL = "approval"  # 审批: the county's approval centre


class Opinion(str, enum.Enum):
    AGREE = "agree"
    DISAGREE = "disagree"
    RETURN = "return"  # return for more information


class ReviewTask(Base):
    """One tier of the manual review of one application: who must act, by when, and what they said."""

    __tablename__ = "review_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    tier: Mapped[Tier] = mapped_column(str_enum(Tier, 16))
    assignee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_on: Mapped[date]
    opinion: Mapped[Opinion | None] = mapped_column(str_enum(Opinion, 16))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    approved_amount: Mapped[Decimal | None] = mapped_column(Money())
    approved_rate: Mapped[Decimal | None] = mapped_column(Rate())
    refusal_category: Mapped[str | None] = mapped_column(sa.String(40))
    draw: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)  # approvers: candidates and seed
    done_at: Mapped[datetime | None]

    assignee: Mapped[User] = relationship()


class DecisionRuleBook(Base):
    """The rule definitions a decision used, stored once per distinct rule book and named by
    their hash (``Decision.rule_book_hash``): a thousand rules are not copied into every record,
    and a replay recompiles exactly what was in force. Never updated or deleted."""

    __tablename__ = "decision_rule_books"

    hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    stage: Mapped[str] = mapped_column(sa.String(24))
    rule_count: Mapped[int]
    definitions: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    first_used_at: Mapped[datetime] = mapped_column(default=utcnow)
