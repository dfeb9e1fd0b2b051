"""Population stability (PSI, 群体稳定性指数) from counts: pure, no database.

``psi(expected, actual)`` compares two distributions over the same bands (a score's bands, or a
variable's bins then its missing count): ``sum((a - e) * ln(a / e))`` over the bands' shares. A
band that holds nothing on one side gets the share ``FLOOR`` (0.0001) instead of 0, so an empty
band neither divides by zero nor takes a logarithm of zero: the usual practice, and why a band
emptied completely weighs heavily. The arithmetic is Decimal (28 digits) and the result is rounded
to 6 places, so it is exact and repeatable: PSI is never negative, 0 for equal distributions, the
same with the two sides swapped (each term is ``(a - e) * (ln a - ln e)``) and the same when every
count of a side is scaled by one factor. ``None`` when a side has no counts or the two sides
count different bands: there is nothing to compare.

``status(psi, threshold)`` judges one: ``stable`` below 0.1, ``watch`` from 0.1 up to the
threshold, ``shift`` above it (the threshold raises a model warning); ``None`` is ``too_few``.
"""

from __future__ import annotations

from decimal import Context, Decimal
from typing import Sequence

__all__ = ["FLOOR", "LABELS", "PLACES", "WATCH", "psi", "share_text", "shares", "status"]

#: The share an empty band counts as.
FLOOR = Decimal("0.0001")
#: PSI and shares are kept to a millionth.
PLACES = Decimal("0.000001")
#: Below this a distribution is stable (the common rule of thumb: < 0.1 stable, 0.1-0.25 watch).
WATCH = Decimal("0.1")
#: Each status in Chinese and English, for tables.
LABELS = {"stable": "稳定 stable", "watch": "关注 watch", "shift": "偏移 shift", "too_few": "样本不足 too few"}

_CTX = Context(prec=28)


def shares(counts: Sequence[int]) -> list[Decimal] | None:
    """Each band's share of the total, an empty band floored at ``FLOOR``; None without counts."""
    total = sum(counts)
    if total <= 0 or any(c < 0 for c in counts):
        return None
    return [max(_CTX.divide(Decimal(c), Decimal(total)), FLOOR) for c in counts]


def psi(expected_counts: Sequence[int], actual_counts: Sequence[int]) -> Decimal | None:
    """The population stability index of ``actual_counts`` against ``expected_counts`` (module
    docstring), to 6 places; None when either side is empty or the band counts differ."""
    if len(expected_counts) != len(actual_counts) or not expected_counts:
        return None
    expected, actual = shares(expected_counts), shares(actual_counts)
    if expected is None or actual is None:
        return None
    total = Decimal(0)
    for e, a in zip(expected, actual):
        total = _CTX.add(total, _CTX.multiply(_CTX.subtract(a, e), _CTX.subtract(a.ln(_CTX), e.ln(_CTX))))
    return total.quantize(PLACES)


def status(value: Decimal | None, threshold: Decimal) -> str:
    """``stable``, ``watch`` or ``shift`` (above ``threshold``), or ``too_few`` for no PSI."""
    if value is None:
        return "too_few"
    if value > threshold:
        return "shift"
    return "watch" if value >= WATCH else "stable"


def share_text(counts: Sequence[int]) -> list[str]:
    """The bands' shares as strings of 6 places (unfloored: what was seen), for storing."""
    total = sum(counts)
    return [format((_CTX.divide(Decimal(c), Decimal(total)) if total else Decimal(0)).quantize(PLACES), "f")
            for c in counts]
