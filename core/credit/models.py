"""The loan ledger: the loans each county bank holds.

Only what other modules need today (the bureau's post-loan purpose asks "does this person have a
loan at this bank?"); the application-to-repayment pipeline grows here.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from nongxin.core.db import Base, Money, str_enum, utcnow

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
