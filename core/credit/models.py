"""Unified credit: applications, their decisions and manual review, and the loan ledger.

An application (贷款申请) moves through the states of ``ApplicationStatus`` (``TRANSITIONS`` says
which moves are allowed); its automated decision is stored whole, once (``Decision.record``); a
decision sent to manual review opens review tasks, one per tier (investigation, review, approval).
The loan ledger: credit lines (授信), the loans drawn under them (用信), their versioned repayment
schedules, the money that moved, and what each business day close (日终) wrote.
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

#: The loan life cycle (DOMAIN.md, after Apache Fineract): the moves allowed from each state. A
#: drawdown disburses at once, so a loan drawn under a credit line is born ``active``. Anything
#: else is an error naming the current state, never a silent no-op.
LOAN_TRANSITIONS: dict[LoanStatus, frozenset[LoanStatus]] = {
    LoanStatus.SUBMITTED: frozenset({LoanStatus.APPROVED, LoanStatus.REJECTED, LoanStatus.WITHDRAWN}),
    LoanStatus.APPROVED: frozenset({LoanStatus.ACTIVE, LoanStatus.WITHDRAWN}),
    LoanStatus.ACTIVE: frozenset({LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF, LoanStatus.RESCHEDULED}),
    LoanStatus.RESCHEDULED: frozenset({LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF}),
    LoanStatus.CLOSED: frozenset(),
    LoanStatus.WRITTEN_OFF: frozenset(),
    LoanStatus.REJECTED: frozenset(),
    LoanStatus.WITHDRAWN: frozenset(),
}

#: States in which repayments are taken and the day close runs.
SERVICED_STATUSES = (LoanStatus.ACTIVE, LoanStatus.RESCHEDULED)


class CreditLineStatus(str, enum.Enum):
    ACTIVE = "active"
    FROZEN = "frozen"
    EXPIRED = "expired"  # set by the day close once the business date passes ``end_on``
    CLOSED = "closed"


LINE_TRANSITIONS: dict[CreditLineStatus, frozenset[CreditLineStatus]] = {
    CreditLineStatus.ACTIVE: frozenset({CreditLineStatus.FROZEN, CreditLineStatus.EXPIRED, CreditLineStatus.CLOSED}),
    CreditLineStatus.FROZEN: frozenset({CreditLineStatus.ACTIVE, CreditLineStatus.EXPIRED, CreditLineStatus.CLOSED}),
    CreditLineStatus.EXPIRED: frozenset({CreditLineStatus.CLOSED}),
    CreditLineStatus.CLOSED: frozenset(),
}


class CreditLine(Base):
    """A credit line (授信) granted to one customer at one county bank, from an approved application.

    ``used`` is not stored: it is computed under the line's lock from the loans drawn on it (a
    revolving line: their outstanding principal; a one-off line: all principal ever drawn), so it
    can never drift from the ledger. Collateral pledged to the line arrives with the collateral issue.
    """

    __tablename__ = "credit_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)  # <BANK>-C<YEAR>-<seq6>
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(sa.ForeignKey("applications.id"), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    annual_rate: Mapped[Decimal] = mapped_column(Rate())  # the approved rate drawdowns inherit
    products: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    start_on: Mapped[date]
    end_on: Mapped[date]
    revolving: Mapped[bool] = mapped_column(default=True)
    status: Mapped[CreditLineStatus] = mapped_column(str_enum(CreditLineStatus, 16), index=True)
    #: The next annual review (年检); None: a year after ``start_on`` (issue 15).
    review_due_on: Mapped[date | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()


class Loan(Base):
    """One loan on a county bank's books: drawn under a credit line (用信), or booked from core
    banking (``book_loan``: no line, no customer file).

    Balances the day close and repayments keep, all integer fen in the database:

    * ``outstanding``: principal not yet repaid (due or not);
    * ``overdue_principal`` / ``overdue_interest``: the unpaid parts of installments past due;
    * ``penalty_base`` / ``compound_base``: accumulated products (积数) in fen-days of overdue
      principal and of overdue interest, one day added by each day close. Penalty interest owed is
      ``round_half_up(penalty_base x annual_rate x (1 + penalty_markup) / 360)`` fen minus
      ``penalty_paid`` (compound likewise at the same penalty rate): exact, and never a float.
    * ``overdue_since``: the earliest unpaid due date; ``overdue_days`` as of ``closed_through``.
    * ``closed_through``: the last business date the day close has processed for this loan: the
      day close's per-(loan, date) idempotency guard.
    """

    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_no: Mapped[str] = mapped_column(sa.String(40), unique=True)  # <BANK>-L<YEAR>-<seq6>
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
    # -- drawn under a line (NULL for loans booked from core banking)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    credit_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("credit_lines.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)  # 客户经理
    # -- terms
    term_months: Mapped[int] = mapped_column(default=0, server_default="0")
    repayment_method: Mapped[str] = mapped_column(sa.String(24), default="bullet", server_default="bullet")
    annual_rate: Mapped[Decimal] = mapped_column(Rate(), default=Decimal("0"), server_default="0")
    penalty_markup: Mapped[Decimal] = mapped_column(Rate(), default=Decimal("0.5"), server_default="500000")
    account: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    schedule_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # -- balances kept by repayments and the day close
    overdue_principal: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"), server_default="0")
    overdue_interest: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"), server_default="0")
    penalty_base: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")  # fen-days
    compound_base: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")  # fen-days
    penalty_paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"), server_default="0")
    compound_paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"), server_default="0")
    overdue_since: Mapped[date | None]
    overdue_days: Mapped[int] = mapped_column(default=0, server_default="0")
    closed_through: Mapped[date | None]
    closed_on: Mapped[date | None]
    # -- restructured (重组): the business date of the restructuring agreement; the classification
    # holds the loan non-performing through its observation period (early_warning.domain)
    restructured_on: Mapped[date | None]

    customer: Mapped[Customer | None] = relationship()


class InstallmentStatus(str, enum.Enum):
    PENDING = "pending"  # not yet due
    DUE = "due"  # due on the business date (the day close marks it)
    OVERDUE = "overdue"  # unpaid at the close of its due date
    PAID = "paid"


class Installment(Base):
    """One row of one version of a loan's repayment schedule.

    A schedule is never edited: a prepayment or reschedule writes version n+1 (``LoanScheduleVersion``)
    that carries the rows already due over unchanged and recomputes the rest, and moves
    ``Loan.schedule_version``. ``due_on``, ``start_on``, ``principal`` and ``interest`` never change
    once written; ``paid_*``, ``status`` and ``paid_on`` record what came in against the row.
    The current schedule is the rows whose ``version`` is the loan's ``schedule_version``.
    """

    __tablename__ = "installments"
    __table_args__ = (sa.UniqueConstraint("loan_id", "version", "seq"), sa.Index("ix_installments_due", "due_on", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(sa.ForeignKey("loans.id"), index=True)
    version: Mapped[int]
    seq: Mapped[int]  # 1-based period number
    start_on: Mapped[date]  # interest accrues from this day (counted) to due_on (not counted)
    due_on: Mapped[date]
    principal: Mapped[Decimal] = mapped_column(MONEY)
    interest: Mapped[Decimal] = mapped_column(MONEY)
    paid_principal: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    paid_interest: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    status: Mapped[InstallmentStatus] = mapped_column(str_enum(InstallmentStatus, 16))
    paid_on: Mapped[date | None]


class LoanScheduleVersion(Base):
    """Why and when each version of a loan's schedule was written (append-only)."""

    __tablename__ = "loan_schedule_versions"
    __table_args__ = (sa.UniqueConstraint("loan_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(sa.ForeignKey("loans.id"), index=True)
    version: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(24))  # disbursement | prepayment | reschedule
    business_date: Mapped[date]
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoanTransaction(Base):
    """Money that moved on a loan (append-only): a disbursement or a repayment and how it was
    allocated. The allocation columns sum to ``amount``."""

    __tablename__ = "loan_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(sa.ForeignKey("loans.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # disbursement | repayment
    value_date: Mapped[date]  # the business date it counts for (paid_on)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    penalty: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    compound: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    interest: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))  # overdue and current
    principal: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))  # overdue, current, prepaid
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # the allocation by bucket
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyKey(Base):
    """A client's ``Idempotency-Key`` for one kind of write at one county bank: the same key with
    the same body returns the first result; with a different body it is 409."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("county_bank_id", "scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"))
    scope: Mapped[str] = mapped_column(sa.String(24))  # drawdown | repayment
    key: Mapped[str] = mapped_column(sa.String(100))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    result: Mapped[str] = mapped_column(sa.String(64))  # the loan number, or the transaction id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DayClose(Base):
    """One county bank's close of one business date (日终): written in the same transaction as the
    day's work, so its presence means that day is done for that bank."""

    __tablename__ = "day_closes"

    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(primary_key=True)
    loans: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # due, overdue, expired lines, ...
    seconds: Mapped[float] = mapped_column(sa.Float, default=0.0)  # timing, not money
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoanSnapshot(Base):
    """A loan's balances at the close of one business date: what the nightly scan reads and the
    columnar ledger exports for a past date. Written set-wise by the day close."""

    __tablename__ = "loan_snapshots"

    business_date: Mapped[date] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(sa.ForeignKey("loans.id"), primary_key=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    outstanding: Mapped[Decimal] = mapped_column(MONEY)
    overdue_principal: Mapped[Decimal] = mapped_column(MONEY)
    overdue_interest: Mapped[Decimal] = mapped_column(MONEY)
    penalty_due: Mapped[Decimal] = mapped_column(MONEY)
    compound_due: Mapped[Decimal] = mapped_column(MONEY)
    overdue_days: Mapped[int]


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
    #: the champion scorecard that scored it (issue 17: the stability monitor selects by these)
    scorecard_code: Mapped[str | None] = mapped_column(sa.String(64))
    scorecard_version: Mapped[int | None]
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
