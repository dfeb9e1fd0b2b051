"""Collateral (押品): the items a county bank holds as security, their valuation history, and their
pledges to credit lines.

* ``CollateralItem``: one house, vehicle, deposit, land or forest right, warehouse receipt or
  guarantee (kinds and fields: ``nongxin.sdk.collateral.KINDS``), owned by a customer who need
  not be the borrower (a third-party pledger), registered at a county bank, unique there by kind
  and key field (the certificate number, VIN, account, ...).
* ``CollateralValuation``: append-only (database triggers refuse UPDATE and DELETE); the current
  value is the latest one valid on the day (``domain.current_value``).
* ``Pledge``: an item securing a credit line with a rank (1 is served first), its registration
  (抵押登记) state and the registry's certificate number (他项权证号); released, never deleted.

Money is integer fen (BIGINT) in the database and Decimal yuan in Python.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nongxin.core.customers.models import Customer
from nongxin.core.db import Base, Money, str_enum, utcnow


class PledgeStatus(str, enum.Enum):
    PLEDGED = "pledged"
    RELEASED = "released"


class Registration(str, enum.Enum):
    """A pledge's registration (抵押登记): kinds that need none are ``not_required`` from the start."""

    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    REGISTERED = "registered"


#: Registration states in which a pledge lends its line value (``sdk.collateral.Claim.perfected``).
PERFECTED = (Registration.NOT_REQUIRED, Registration.REGISTERED)


class CollateralItem(Base):
    __tablename__ = "collateral_items"
    __table_args__ = (sa.UniqueConstraint("county_bank_id", "kind", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)  # <BANK>-K<YEAR>-<seq6>
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), index=True)  # 所有权人/保证人
    kind: Mapped[str] = mapped_column(sa.String(24), index=True)
    identifier: Mapped[str] = mapped_column(sa.String(80))  # the kind's key field, normalized
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    declared_value: Mapped[Decimal] = mapped_column(Money())  # what the owner declared (申报价值)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # the kind's fields, checked
    registered_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[Customer] = relationship()


class CollateralValuation(Base):
    __tablename__ = "collateral_valuations"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("collateral_items.id"), index=True)
    value: Mapped[Decimal] = mapped_column(Money())
    method: Mapped[str] = mapped_column(sa.String(16))  # sdk.collateral.VALUATION_METHODS
    valuer_kind: Mapped[str] = mapped_column(sa.String(16))  # sdk.collateral.VALUER_KINDS
    valuer: Mapped[str] = mapped_column(sa.String(100))  # the appraiser's or plugin's name; the user for internal
    valued_on: Mapped[date] = mapped_column(index=True)
    valid_until: Mapped[date]
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    recorded_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Pledge(Base):
    __tablename__ = "collateral_pledges"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("collateral_items.id"), index=True)
    credit_line_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_lines.id"), index=True)
    rank: Mapped[int]  # 1 is served first
    status: Mapped[PledgeStatus] = mapped_column(str_enum(PledgeStatus, 16), index=True)
    registration: Mapped[Registration] = mapped_column(str_enum(Registration, 16))
    registration_no: Mapped[str | None] = mapped_column(sa.String(60))  # 他项权证号 / 不动产登记证明号
    registered_on: Mapped[date | None]
    pledged_on: Mapped[date]
    released_on: Mapped[date | None]
    pledged_by: Mapped[str] = mapped_column(sa.String(64))
    released_by: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    item: Mapped[CollateralItem] = relationship()
