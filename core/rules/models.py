"""Rules kept by staff (规则管理): what parameter admins write, approve and watch.

* ``StoredRule``: one version of one rule, in the SDK's ``Rule`` terms (code, name, stage, outcome,
  level, owner, expression, reason, category, effective dates, version), with its life cycle
  ``draft -> pending_approval -> published -> retired`` (or ``rejected``), who wrote it and who
  approved it (never the same person). A published rule joins the rule book of its owner's
  subtree (``books.RuleBooks``); a published **shadow** rule runs beside the live ones, its hits are
  stored apart (``ShadowHit``) and never change an outcome or open a task. A rule that belongs to
  a ``MonitoringModel`` (``model_id``) is one of the model's conditions: it never enters a rule
  book; the nightly scan turns its hits into ``SuspiciousRecord`` rows.
* ``MonitoringModel``: an off-site monitoring model (非现场监测模型): a named, owned set of post-loan
  or collateral conditions whose hits become a suspicious-record list for the owner's staff.
* ``SuspiciousRecord``: one hit of one published condition on one loan or pledge on one business
  date; the scan rewrites a bank's records of a date, so running it twice changes nothing.
* ``ShadowHit``: one hit of one published shadow rule on one application, loan or pledge on one
  business date.
* ``RuleHitTally``: hits per business date, county bank, stage, rule code and version, live or
  shadow, with the number of subjects judged: what the shadow report compares per day. The scan
  writes it for the post-loan and collateral stages; admission hits are read from the decisions.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from nongxin.core.db import Base, str_enum, utcnow


class RuleStatus(str, enum.Enum):
    DRAFT = "draft"
    PENDING = "pending_approval"
    PUBLISHED = "published"
    REJECTED = "rejected"
    RETIRED = "retired"


class MonitoringModel(Base):
    __tablename__ = "monitoring_models"
    __table_args__ = (sa.UniqueConstraint("owner_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(200))
    stage: Mapped[str] = mapped_column(sa.String(16))  # post_loan | collateral
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredRule(Base):
    __tablename__ = "stored_rules"
    __table_args__ = (sa.UniqueConstraint("owner_id", "code", "version"),
                      sa.Index("ix_stored_rules_status_stage", "status", "stage"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200))
    stage: Mapped[str] = mapped_column(sa.String(16))  # admission | post_loan | collateral
    outcome: Mapped[str] = mapped_column(sa.String(16))
    level: Mapped[str] = mapped_column(sa.String(16))  # province | city | county: the owner's level
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    expression: Mapped[str] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    category: Mapped[str] = mapped_column(sa.String(40), default="")
    effective_from: Mapped[date | None]
    effective_to: Mapped[date | None]  # inclusive
    shadow: Mapped[bool] = mapped_column(default=False)
    model_id: Mapped[int | None] = mapped_column(sa.ForeignKey("monitoring_models.id"), index=True)
    status: Mapped[RuleStatus] = mapped_column(str_enum(RuleStatus, 20), default=RuleStatus.DRAFT)
    author: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(sa.String(64))  # the approver (or rejecter)
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(sa.String(500), default="")
    retired_by: Mapped[str | None] = mapped_column(sa.String(64))
    retired_at: Mapped[datetime | None]


class SuspiciousRecord(Base):
    __tablename__ = "suspicious_records"
    __table_args__ = (sa.UniqueConstraint("rule_id", "subject_kind", "subject_id", "business_date"),
                      sa.Index("ix_suspicious_records_bank_date", "county_bank_id", "business_date"))

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(sa.ForeignKey("monitoring_models.id"), index=True)
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_rules.id"))
    business_date: Mapped[date]
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"))
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)  # the branch
    subject_kind: Mapped[str] = mapped_column(sa.String(8))  # loan | pledge
    subject_id: Mapped[int] = mapped_column(sa.BigInteger)
    subject_ref: Mapped[str] = mapped_column(sa.String(40))  # loan number, or the pledged item's number
    colour: Mapped[str] = mapped_column(sa.String(8))
    facts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # the fields the condition read


class ShadowHit(Base):
    __tablename__ = "shadow_hits"
    __table_args__ = (sa.UniqueConstraint("rule_id", "subject_kind", "subject_id", "business_date"),
                      sa.Index("ix_shadow_hits_date_bank", "business_date", "county_bank_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_rules.id"), index=True)
    stage: Mapped[str] = mapped_column(sa.String(16))
    business_date: Mapped[date]
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"))
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"))
    subject_kind: Mapped[str] = mapped_column(sa.String(12))  # application | loan | pledge
    subject_id: Mapped[int] = mapped_column(sa.BigInteger)
    subject_ref: Mapped[str] = mapped_column(sa.String(40))
    outcome: Mapped[str] = mapped_column(sa.String(16))


class RuleHitTally(Base):
    __tablename__ = "rule_hit_tallies"

    business_date: Mapped[date] = mapped_column(primary_key=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), primary_key=True)
    stage: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    rule_code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    rule_version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    shadow: Mapped[bool] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
    subjects: Mapped[int] = mapped_column(default=0)  # loans or positions judged that night
