"""How every console page shows money, rates and moments: one place, so the pages agree.

Money comes in as Decimal (or its string) and is shown to the fen with thousands separators,
never through a float. Moments are stored in UTC and shown in China time. ``china_time`` is also
the app's Jinja filter of that name (registered by ``web``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from nongxin.core.db import as_utc
from nongxin.sdk.bureau import CHINA

NONE = "—"


def yuan(amount: Decimal | str | None) -> str:
    """1,234,567.80 from a Decimal (or its string); "—" for none."""
    if amount is None or amount == "":
        return NONE
    return f"{Decimal(str(amount)):,.2f}"


def rmb(amount: Decimal | str | None) -> str:
    """¥1,234,567.80, where the amount stands alone (not in a column headed 元)."""
    shown = yuan(amount)
    return shown if shown == NONE else f"¥{shown}"


def percent(rate: Decimal | str | None) -> str:
    """An annual rate (0.0435) as 4.35%, to at most 4 places of a percent."""
    if rate is None or rate == "":
        return NONE
    return f"{(Decimal(str(rate)) * 100).quantize(Decimal('0.0001')).normalize():f}%"


def china_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M", empty: str = NONE) -> str:
    """2026-11-24 10:27 in China time (or as ``fmt`` says); ``empty`` for none."""
    return empty if moment is None else as_utc(moment).astimezone(CHINA).strftime(fmt)
