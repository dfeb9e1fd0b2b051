"""Console sessions: the server side of the sign-in cookie."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nongxin.core.db import Base, utcnow
from nongxin.core.institutions.models import User


class ConsoleSession(Base):
    """One signed-in browser. The cookie holds 32 random bytes; only their SHA-256 digest is kept
    (as for API tokens), so a copy of the database signs no one in. Signing out, deactivating the
    user or the session's end refuses the cookie from then on."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
