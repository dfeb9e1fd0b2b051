"""What the core keeps of its scorecards in production (issue 17).

* ``ScorecardStability``: one population stability index (PSI) of one scorecard at one county bank
  on one business date: of the score (``subject`` "score") or of one variable (``subject`` the
  fact's name), the recent decisions scored by the card against the card's development sample
  (``ScorecardSpec.development``). ``psi`` is None when too few decisions were scored to judge.
* ``ModelWarning``: a PSI above the county's ``scorecard.psi_threshold``: one open warning per
  scorecard, county bank and subject, for the province's model team (the parameter admins who
  keep rules and models), until someone closes it with a note.
* ``ChallengerScore``: a challenger scorecard's score of one decision, taken in shadow beside the
  champion's (never used for the outcome, never in the decision's record).

PSI values are exact Decimals to a millionth (``Rate``: integer millionths in the database), never
a binary float.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from nongxin.core.db import Base, Rate, str_enum, utcnow

__all__ = ["ChallengerScore", "ModelWarning", "ModelWarningStatus", "ScorecardStability"]


class ScorecardStability(Base):
    __tablename__ = "scorecard_stability"
    __table_args__ = (sa.UniqueConstraint("business_date", "county_bank_id", "scorecard_code", "scorecard_version",
                                          "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    business_date: Mapped[date] = mapped_column(index=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    scorecard_code: Mapped[str] = mapped_column(sa.String(64))
    scorecard_version: Mapped[int]
    segment: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(64))  # "score", or a variable (fact) name
    population: Mapped[int]  # decisions scored by the card in the window
    psi: Mapped[Decimal | None] = mapped_column(Rate())  # None: fewer than scorecard.min_population
    #: the bands' shares: {"expected": [...], "actual": [...]} as strings of 6 places (no floats)
    shares: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class ModelWarningStatus(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class ModelWarning(Base):
    __tablename__ = "model_warnings"
    __table_args__ = (sa.Index("ix_model_warnings_card", "scorecard_code", "scorecard_version", "county_bank_id",
                               "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    scorecard_code: Mapped[str] = mapped_column(sa.String(64))
    scorecard_version: Mapped[int]
    segment: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(64))
    threshold: Mapped[Decimal] = mapped_column(Rate())
    psi: Mapped[Decimal] = mapped_column(Rate())  # when raised
    population: Mapped[int]
    raised_on: Mapped[date]
    last_psi: Mapped[Decimal] = mapped_column(Rate())  # the latest night's, while open
    last_seen_on: Mapped[date]
    status: Mapped[ModelWarningStatus] = mapped_column(str_enum(ModelWarningStatus, 12), index=True)
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChallengerScore(Base):
    __tablename__ = "challenger_scores"
    __table_args__ = (sa.UniqueConstraint("decision_id", "challenger_code", "challenger_version"),
                      sa.Index("ix_challenger_scores_bank_date", "county_bank_id", "business_date"))

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("decisions.id"), index=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"))
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"))
    business_date: Mapped[date]
    segment: Mapped[str] = mapped_column(sa.String(40))
    champion_code: Mapped[str | None] = mapped_column(sa.String(64))  # None: the decision had no champion
    champion_version: Mapped[int | None]
    champion_total: Mapped[int | None]
    champion_grade: Mapped[str | None] = mapped_column(sa.String(16))
    challenger_code: Mapped[str] = mapped_column(sa.String(64))
    challenger_version: Mapped[int]
    challenger_plugin: Mapped[str] = mapped_column(sa.String(64), default="")
    total: Mapped[int]
    grade: Mapped[str | None] = mapped_column(sa.String(16))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)  # field, value, bin, points
    missing: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
