"""The day's post-loan facts, kept for backtests (issue 14 part B builds this)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nongxin.core.rules.nightly import BankNight


def keep(settings: Any, night: "BankNight") -> None:
    """Part B: write ``night.loans`` (without personal data) where backtests read it."""
