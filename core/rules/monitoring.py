"""Off-site monitoring models (非现场监测模型) (issue 14 part D builds this)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from nongxin.core.rules.nightly import BankNight


def judge(session: Session, runtime: Any, night: "BankNight") -> int:
    """Part D: the day's suspicious records of the bank; returns how many."""
    return 0
