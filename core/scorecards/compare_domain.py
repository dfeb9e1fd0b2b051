"""The champion/challenger comparison, pure: numbers in, figures out, no database.

* ``pearson`` and ``spearman``: the correlation of the two scores of the same decisions (Spearman:
  Pearson of the average ranks); None with fewer than two pairs or a constant score.
* ``migration``: the grade migration matrix, champion grade (rows) by challenger grade (columns),
  counts, a missing grade counted under ``"none"``; grades ordered by name, ``"none"`` last.
* ``ks``: the Kolmogorov-Smirnov statistic of a score against outcomes (1 bad, 0 good): the largest
  gap between the cumulative share of bads and of goods at or below any score. None, with the
  reason, unless at least ``min_each`` goods and ``min_each`` bads are known.
* ``figure``: a float statistic as the exact Decimal string of 6 places stored and shown
  (statistics may be floats in memory, never in a body).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Sequence

import numpy as np

__all__ = ["NONE", "figure", "ks", "migration", "pearson", "spearman"]

NONE = "none"
MILLIONTH = Decimal("0.000001")


def figure(value: float | None) -> str | None:
    """``value`` rounded half up to 6 places, as text ("0.123457"); None stays None."""
    if value is None:
        return None
    return str(Decimal(repr(float(value))).quantize(MILLIONTH, rounding=ROUND_HALF_UP))


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(a) != len(b):
        raise ValueError("the two scores must pair up")
    if len(a) < 2:
        return None
    da, db = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((da * da).sum() * (db * db).sum()))
    if norm == 0.0:
        return None
    return float((da * db).sum()) / norm


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1-based), ties sharing the mean of their positions."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1, dtype=np.float64)
    uniq, inverse = np.unique(values, return_inverse=True)
    sums = np.bincount(inverse, weights=ranks, minlength=len(uniq))
    counts = np.bincount(inverse, minlength=len(uniq))
    return np.asarray((sums / counts)[inverse], dtype=np.float64)


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(a) != len(b):
        raise ValueError("the two scores must pair up")
    if len(a) < 2:
        return None
    return pearson(list(_ranks(a)), list(_ranks(b)))


def migration(champion: Sequence[str | None], challenger: Sequence[str | None]) -> dict[str, dict[str, int]]:
    """{champion grade: {challenger grade: count}} over every grade seen on either side."""
    if len(champion) != len(challenger):
        raise ValueError("the two grades must pair up")
    rows = [g or NONE for g in champion]
    cols = [g or NONE for g in challenger]
    grades = sorted(set(rows) | set(cols), key=lambda g: (g == NONE, g))
    matrix = {r: {c: 0 for c in grades} for r in grades}
    for r, c in zip(rows, cols):
        matrix[r][c] += 1
    return matrix


def ks(scores: Sequence[float], bad: Sequence[int], min_each: int) -> tuple[float | None, str]:
    """(KS, "") or (None, why). ``bad``: 1 bad, 0 good, paired with ``scores``."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(bad, dtype=np.int64)
    if len(s) != len(y):
        raise ValueError("scores and outcomes must pair up")
    bads = int(y.sum())
    goods = len(y) - bads
    if bads < min_each or goods < min_each:
        return None, f"needs at least {min_each} goods and {min_each} bads with known outcomes ({goods} goods, {bads} bads)"
    uniq, inverse = np.unique(s, return_inverse=True)
    cum_bad = np.cumsum(np.bincount(inverse, weights=y, minlength=len(uniq))) / bads
    cum_good = np.cumsum(np.bincount(inverse, weights=1 - y, minlength=len(uniq))) / goods
    return float(np.max(np.abs(cum_bad - cum_good))), ""
