"""Institution tree, users, roles and API tokens."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nongxin.core.db import Base, Money, str_enum, utcnow


class Level(str, enum.Enum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    BRANCH = "branch"
    GRID = "grid"

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]


LEVEL_LABELS = {
    Level.PROVINCE: "省联社",
    Level.CITY: "市级办事处",
    Level.COUNTY: "县农商行",
    Level.BRANCH: "支行",
    Level.GRID: "网格",
}

# Which parent level each level may hang under. A county bank may report straight to the province
# (some provinces have no city offices) and a grid may belong to the county bank itself.
ALLOWED_PARENTS: dict[Level, tuple[Level, ...]] = {
    Level.PROVINCE: (),
    Level.CITY: (Level.PROVINCE,),
    Level.COUNTY: (Level.CITY, Level.PROVINCE),
    Level.BRANCH: (Level.COUNTY,),
    Level.GRID: (Level.BRANCH, Level.COUNTY),
}


class Role(str, enum.Enum):
    PROVINCE_ADMIN = "province_admin"
    COUNTY_ADMIN = "county_admin"
    PRODUCT_MANAGER = "product_manager"
    PARAMETER_ADMIN = "parameter_admin"
    CUSTOMER_MANAGER = "customer_manager"
    REVIEWER = "reviewer"
    APPROVER = "approver"
    POST_LOAN_CHECKER = "post_loan_checker"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.PROVINCE_ADMIN: "省联社管理员",
    Role.COUNTY_ADMIN: "农商行管理员",
    Role.PRODUCT_MANAGER: "产品经理",
    Role.PARAMETER_ADMIN: "参数管理岗",
    Role.CUSTOMER_MANAGER: "客户经理",
    Role.REVIEWER: "审查岗",
    Role.APPROVER: "业务审批岗",
    Role.POST_LOAN_CHECKER: "贷后检查岗",
}


class Institution(Base):
    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[Level] = mapped_column(str_enum(Level, 16))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    # Materialized path of ids ("/1/4/9/"): a subtree is one indexed LIKE, on both databases.
    path: Mapped[str] = mapped_column(sa.String(400), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped["Institution | None"] = relationship(remote_side="Institution.id")

    def is_within(self, other: "Institution") -> bool:
        return self.path.startswith(other.path)

    def to_audit(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level.value,
            "parent": self.parent.code if self.parent else None,
        }


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # An approver's authority (授权额度): the largest amount they may approve; None: no authority.
    approval_limit: Mapped[Decimal | None] = mapped_column(Money())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Console sign-in (core/console/signin.py): a slow salted hash (scrypt), never the password;
    # None: the user signs in with API tokens only until `nongxin users password NAME`.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    failed_signins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]

    institution: Mapped[Institution] = relationship()


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # The first characters identify a token in lists and revocations without revealing it.
    prefix: Mapped[str] = mapped_column(sa.String(16), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
