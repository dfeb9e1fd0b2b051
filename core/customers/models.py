"""Customer files (客户档案): individuals, enterprises and individual businesses, and households.

Each customer belongs to one county bank, one grid (or branch) and one responsible customer
manager; a county bank keeps one file per identity number. A household (户) groups individual
customers with their relation to its head, in a village (行政村) and group (村民小组).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nongxin.core.db import Base, Hundredths, Money, str_enum, utcnow
from nongxin.core.institutions.models import Institution, User


class CustomerKind(str, enum.Enum):
    INDIVIDUAL = "individual"  # 个人, resident ID
    INDIVIDUAL_BUSINESS = "individual_business"  # 个体工商户, unified social credit code
    ENTERPRISE = "enterprise"  # 企业, unified social credit code

    @property
    def id_kind(self) -> str:
        """The identity kind of the number (``nongxin.sdk.identity.IdentityKind`` values)."""
        return "resident_id" if self is CustomerKind.INDIVIDUAL else "uscc"


class Relation(str, enum.Enum):
    """A member's relation to the head of the household."""

    HEAD = "head"  # 户主
    SPOUSE = "spouse"  # 配偶
    CHILD = "child"  # 子女
    PARENT = "parent"  # 父母
    SIBLING = "sibling"  # 兄弟姐妹
    GRANDCHILD = "grandchild"  # 孙子女
    OTHER = "other"  # 其他


class Household(Base):
    """A household (户) of one county bank: its number in its village and group, its grid."""

    __tablename__ = "households"
    __table_args__ = (sa.UniqueConstraint("county_bank_id", "village", "household_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    grid_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    village: Mapped[str] = mapped_column(sa.String(100))  # 行政村
    group_name: Mapped[str] = mapped_column(sa.String(100), default="")  # 村民小组
    household_no: Mapped[str] = mapped_column(sa.String(40))  # 户号
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    # issue 15, the village roster (整村授信): the household's village row and figures
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("villages.id"), index=True)
    land_mu: Mapped[Decimal | None] = mapped_column(Hundredths())  # 承包土地(亩)
    assets: Mapped[Decimal | None] = mapped_column(Money())  # 家庭资产(元)
    main_business: Mapped[str] = mapped_column(sa.String(100), default="")  # 主营项目
    #: The peer review colour that stands (black | grey | green | white), from the last closed round
    #: or an override since; None: never reviewed. The ``peer_review`` admission fact.
    peer_review: Mapped[str | None] = mapped_column(sa.String(8))
    peer_review_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    grid: Mapped[Institution] = relationship(foreign_keys=[grid_id])


class Customer(Base):
    """One customer file. Individuals carry birth date and sex derived from the resident ID;
    enterprises and individual businesses name their legal representative (an individual file)."""

    __tablename__ = "customers"
    __table_args__ = (sa.UniqueConstraint("county_bank_id", "id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    grid_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    manager_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[CustomerKind] = mapped_column(str_enum(CustomerKind, 24))
    id_number: Mapped[str] = mapped_column(sa.String(18), index=True)
    name: Mapped[str] = mapped_column(sa.String(100), index=True)
    birth_date: Mapped[date | None]
    sex: Mapped[str | None] = mapped_column(sa.String(8))  # male | female (individuals)
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    occupation: Mapped[str] = mapped_column(sa.String(100), default="")
    employer: Mapped[str] = mapped_column(sa.String(200), default="")
    segment: Mapped[str | None] = mapped_column(sa.String(32))  # farmer, salaried, merchant, ...
    annual_income: Mapped[Decimal | None] = mapped_column(Money())
    legal_representative_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"))
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("households.id"), index=True)
    relation: Mapped[Relation | None] = mapped_column(str_enum(Relation, 16))
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    county_bank: Mapped[Institution] = relationship(foreign_keys=[county_bank_id])
    grid: Mapped[Institution] = relationship(foreign_keys=[grid_id])
    manager: Mapped[User] = relationship()
    household: Mapped[Household | None] = relationship()
    legal_representative: Mapped["Customer | None"] = relationship(remote_side="Customer.id")
