"""Shadow rules: run beside the live ones, stored apart, never an outcome (issue 14 part C builds this)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from nongxin.core.rules.nightly import BankNight


def judge(session: Session, runtime: Any, night: "BankNight") -> int:
    """Part C: the bank's shadow hits of the night (stored) and the tallies; returns the hit count."""
    return 0
