"""Credit-bureau authorizations, the cached reports and the append-only query log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nongxin.core.audit.chain import Chain, timestamp
from nongxin.core.db import Base, utcnow
from nongxin.core.institutions.models import Institution


class BureauAuthorization(Base):
    """A subject's consent (征信授权) to one county bank, for some purposes, until it expires."""

    __tablename__ = "bureau_authorizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    subject_kind: Mapped[str] = mapped_column(sa.String(16))
    id_number: Mapped[str] = mapped_column(sa.String(18), index=True)
    subject_name: Mapped[str] = mapped_column(sa.String(100))
    purposes: Mapped[list[str]] = mapped_column(sa.JSON)
    channel: Mapped[str] = mapped_column(sa.String(16))  # paper | electronic
    face_verified: Mapped[bool] = mapped_column(default=False)
    evidence_ref: Mapped[str] = mapped_column(sa.String(300))
    evidence_sha256: Mapped[str] = mapped_column(sa.String(64))
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(64))
    recorded_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    county_bank: Mapped[Institution] = relationship()


class BureauReportCache(Base):
    """A fetched report, reused within the stale period instead of querying the bureau again."""

    __tablename__ = "bureau_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    county_bank_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    id_number: Mapped[str] = mapped_column(sa.String(18), index=True)
    report_id: Mapped[str] = mapped_column(sa.String(64))
    provider: Mapped[str] = mapped_column(sa.String(100))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    report: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


class BureauQueryLog(Base):
    """One row per query or reuse. Append-only (the database refuses UPDATE, DELETE and REPLACE)
    and a keyed hash chain of its own (``QUERY_LOG_CHAIN``), verified by ``nongxin audit verify``."""

    __tablename__ = "bureau_query_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    operator: Mapped[str] = mapped_column(sa.String(64))
    institution_code: Mapped[str] = mapped_column(sa.String(32))  # where the operator works
    county_bank_code: Mapped[str] = mapped_column(sa.String(32), index=True)
    subject_kind: Mapped[str] = mapped_column(sa.String(16))
    id_number: Mapped[str] = mapped_column(sa.String(18), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(2))
    authorization_id: Mapped[int | None]
    for_kind: Mapped[str] = mapped_column(sa.String(16))  # application | loan
    for_ref: Mapped[str] = mapped_column(sa.String(64))
    provider: Mapped[str | None] = mapped_column(sa.String(100))
    outcome: Mapped[str] = mapped_column(sa.String(16))  # fetched | reused | failed | no_provider
    error: Mapped[str | None] = mapped_column(sa.String(500))
    report_id: Mapped[str | None] = mapped_column(sa.String(64))
    duration_ms: Mapped[int] = mapped_column(default=0)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    key_id: Mapped[str | None] = mapped_column(sa.String(16))


QUERY_LOG_CHAIN = Chain(
    "bureau_query_log", BureauQueryLog, lock_id=0x6E78_0002,
    body=lambda e: [timestamp(e.at), e.operator, e.institution_code, e.county_bank_code, e.subject_kind,
                    e.id_number, e.purpose, e.authorization_id, e.for_kind, e.for_ref, e.provider,
                    e.outcome, e.error, e.report_id, e.duration_ms],
)
