"""Whole-village credit (整村授信): what a county bank keeps of its villages, their peer reviews,
its pre-credit offers and the annual review of its credit lines.

* ``Village``: one administrative village (行政村) of a county bank, on the grid that serves it;
  households (``customers.models.Household``) point at it. ``credit_village`` says whether it is
  rated a credit village (信用村) now; ``VillageRating`` keeps each rating with its figures.
* The roster's household figures live on ``Household`` (land under contract, assets, main
  business) and its members are customer files, so the decision reads them like any file.
* ``ReviewRound``: one back-to-back peer review (背靠背评议) of a village (or of a grid's villages),
  with its ``RoundReviewer``\\ s (village officials, villager representatives, the customer
  manager). A ``PeerRating`` is one reviewer's rating of one household, hidden from everyone until
  the round closes; closing writes one ``HouseholdReview`` per household (the aggregated colour,
  and an override by the bureau, a non-performing loan or a court list) and sets the household's
  current colour, the ``peer_review`` fact.
* ``PrecreditRun`` / ``PrecreditOffer``: one batch pre-credit (预授信) and its answer per household:
  the outcome the one-record decision would give, the limit, rate, score and grade. An offer
  becomes a credit line only through ``accept`` (consent and signature), and expires.
* ``LineReview``: one annual review (年检) of one credit line: the refreshed facts, the outcome
  (passed off-site, or an on-site check), and what was done to the line meanwhile.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from nongxin.core.db import Base, Money, Rate, str_enum, utcnow

#: The colours of a peer review: black refuse, grey caution, green favour, white no information.
COLOURS = ("black", "grey", "green", "white")


class Village(Base):
    """An administrative village (行政村) of one county bank."""

    __tablename__ = "villages"
    __table_args__ = (sa.UniqueConstraint("county_bank_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    grid_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    credit_village: Mapped[bool] = mapped_column(default=False)  # rated 信用村 now
    credit_village_since: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoundStatus(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ReviewRound(Base):
    """One back-to-back peer review of a village (``village_id``) or of every village of a grid."""

    __tablename__ = "review_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    grid_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("villages.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[RoundStatus] = mapped_column(str_enum(RoundStatus, 16), default=RoundStatus.OPEN)
    min_reviewers: Mapped[int]  # the county setting when the round opened
    aggregation: Mapped[str] = mapped_column(sa.String(16))  # any_black | majority (county setting)
    opened_by: Mapped[str] = mapped_column(sa.String(64))
    opened_on: Mapped[date]
    closed_by: Mapped[str | None] = mapped_column(sa.String(64))
    closed_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoundReviewer(Base):
    """A reviewer of a round: a village official, a villager representative or the customer
    manager; ``household_id`` is the reviewer's own household (never rated by them)."""

    __tablename__ = "round_reviewers"
    __table_args__ = (sa.UniqueConstraint("round_id", "id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("review_rounds.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # official | representative | manager
    name: Mapped[str] = mapped_column(sa.String(100))
    id_number: Mapped[str] = mapped_column(sa.String(18))
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("households.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PeerRating(Base):
    """One reviewer's rating of one household in one round; scores 1 (poor) to 4 (good)."""

    __tablename__ = "peer_ratings"
    __table_args__ = (sa.UniqueConstraint("round_id", "reviewer_id", "household_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("review_rounds.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("round_reviewers.id"), index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    integrity: Mapped[int]
    income: Mapped[int]
    assets: Mapped[int]
    business: Mapped[int]
    health: Mapped[int]
    colour: Mapped[str] = mapped_column(sa.String(8))  # black | grey | green | white
    reason: Mapped[str] = mapped_column(sa.String(500), default="")  # required for black
    entered_by: Mapped[str] = mapped_column(sa.String(64))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)


class HouseholdReview(Base):
    """The outcome of a closed round for one household: the reviewers' colour, any override, and
    the colour that stands (``colour``)."""

    __tablename__ = "household_reviews"
    __table_args__ = (sa.UniqueConstraint("round_id", "household_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("review_rounds.id"), index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    reviewers: Mapped[int]  # how many rated it
    tally: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # colour -> count; mean scores
    review_colour: Mapped[str | None] = mapped_column(sa.String(8))  # None: too few reviewers
    override: Mapped[str | None] = mapped_column(sa.String(16))  # bureau | npl | court
    override_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    colour: Mapped[str | None] = mapped_column(sa.String(8))  # what stands; None: not enough reviewers
    business_date: Mapped[date]


class PrecreditRun(Base):
    """One batch pre-credit over a village, a county bank or a province."""

    __tablename__ = "precredit_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)  # the scope
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("villages.id"))
    product_code: Mapped[str] = mapped_column(sa.String(32))
    business_date: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(16), default="running")  # running | done | failed
    households: Mapped[int] = mapped_column(default=0)
    offered: Mapped[int] = mapped_column(default=0)
    referred: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    failures: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    provenance: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    rule_book_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    seconds: Mapped[float] = mapped_column(default=0.0)
    started_by: Mapped[str] = mapped_column(sa.String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class OfferStatus(str, enum.Enum):
    OFFERED = "offered"  # the decision would approve: awaiting the household's consent and signature
    REFERRED = "referred"  # the decision would send it to manual review
    REJECTED = "rejected"  # the decision would reject
    ACCEPTED = "accepted"  # consent and signature given: an application was filed and decided
    DECLINED = "declined"  # the household said no
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # a later run gave the household a new answer


class PrecreditOffer(Base):
    """A pre-credit answer for one household (its head) from one run."""

    __tablename__ = "precredit_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("precredit_runs.id"), index=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    grid_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("villages.id"), index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    product_code: Mapped[str] = mapped_column(sa.String(32))
    colour: Mapped[str | None] = mapped_column(sa.String(8))
    outcome: Mapped[str] = mapped_column(sa.String(16))  # approved | manual_review | rejected
    status: Mapped[OfferStatus] = mapped_column(str_enum(OfferStatus, 16), index=True)
    limit: Mapped[Decimal | None] = mapped_column(Money())  # after the grade coefficient
    rate: Mapped[Decimal | None] = mapped_column(Rate())
    score: Mapped[int | None]
    grade: Mapped[str | None] = mapped_column(sa.String(8))
    rule_hits: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    reasons: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    business_date: Mapped[date]
    expires_on: Mapped[date] = mapped_column(index=True)
    application_id: Mapped[int | None] = mapped_column(sa.ForeignKey("applications.id"))
    decided_by: Mapped[str | None] = mapped_column(sa.String(64))  # who accepted or declined
    decided_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VillageRating(Base):
    """One rating of a village against the county's credit-village (信用村) thresholds."""

    __tablename__ = "village_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("villages.id"), index=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    business_date: Mapped[date]
    households: Mapped[int]
    credited: Mapped[int]  # households holding an active or frozen line
    coverage: Mapped[Decimal] = mapped_column(Rate())  # 授信面: credited / households
    usage: Mapped[Decimal] = mapped_column(Rate())  # 用信率: drawn / granted
    npl_ratio: Mapped[Decimal] = mapped_column(Rate())  # non-performing outstanding / outstanding
    credit_village: Mapped[bool]
    thresholds: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    reasons: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # each threshold missed
    rated_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LineReview(Base):
    """One annual review (年检) of one credit line on one business date."""

    __tablename__ = "line_reviews"
    __table_args__ = (sa.UniqueConstraint("credit_line_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_line_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_lines.id"), index=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    due_on: Mapped[date]
    business_date: Mapped[date] = mapped_column(index=True)
    result: Mapped[str] = mapped_column(sa.String(16))  # passed | on_site
    action: Mapped[str] = mapped_column(sa.String(16), default="none")  # none | frozen | reduced
    amount_before: Mapped[Decimal] = mapped_column(Money())
    amount_after: Mapped[Decimal] = mapped_column(Money())
    recomputed_limit: Mapped[Decimal | None] = mapped_column(Money())
    facts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    rule_hits: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    reasons: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    warning_id: Mapped[int | None] = mapped_column(sa.ForeignKey("warnings.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
