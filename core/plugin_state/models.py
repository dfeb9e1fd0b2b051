"""Per-institution plugin switches and settings, and the generation counter workers watch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from nongxin.core.db import Base, utcnow


class PluginSwitch(Base):
    """The state set at one node; ``enabled`` None means "inherit from above"."""

    __tablename__ = "plugin_switches"
    __table_args__ = (sa.UniqueConstraint("institution_id", "plugin", name="uq_plugin_switches_node"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    plugin: Mapped[str] = mapped_column(sa.String(100))
    enabled: Mapped[bool | None]
    settings: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    updated_by: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PluginGeneration(Base):
    """One row; bumped by every switch or settings change so every worker drops its caches."""

    __tablename__ = "plugin_generation"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
