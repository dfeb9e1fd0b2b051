"""Scoring an applicant with a segment scorecard: pure, so a plugin's tests and the core's decision
compute the same points.

``score(spec, facts)`` adds the base points and, for each variable, the points of the first bin
its value falls in; a missing value, or one no bin holds, earns ``missing_points`` and is named in
``ScoreResult.missing``. The total's grade is the band with the highest ``min_score`` not above it;
below every band there is no grade (and no limit coefficient: the core sends such an application
to manual review).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from nongxin.sdk.types import ScorecardBin, ScorecardGrade, ScorecardSpec

__all__ = ["ScoreLine", "ScoreResult", "score", "variables", "bin_label"]


@dataclass(frozen=True, slots=True)
class ScoreLine:
    """One variable's part of a score: its value, the bin it fell in, and the points."""

    field: str
    value: Any
    bin: str  # the bin as text ("[30, 45)", "{A, B}"), or "missing"
    points: int


@dataclass(frozen=True, slots=True)
class ScoreResult:
    code: str
    version: int
    total: int
    grade: ScorecardGrade | None
    lines: tuple[ScoreLine, ...]
    missing: tuple[str, ...]


def variables(spec: ScorecardSpec) -> tuple[str, ...]:
    """The scorecard's variables, in the order of their first bin."""
    return tuple(dict.fromkeys(b.field for b in spec.bins))


def bin_label(b: ScorecardBin) -> str:
    if b.values is not None:
        return "{" + ", ".join(b.values) + "}"
    lower = "-inf" if b.lower is None else str(b.lower)
    upper = "+inf" if b.upper is None else str(b.upper)
    return f"[{lower}, {upper})"


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def _holds(b: ScorecardBin, value: Any) -> bool:
    if b.values is not None:
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return text in b.values
    number = _number(value)
    if number is None or not number.is_finite():
        return False
    return (b.lower is None or number >= b.lower) and (b.upper is None or number < b.upper)


def grade_of(spec: ScorecardSpec, total: int) -> ScorecardGrade | None:
    best: ScorecardGrade | None = None
    for g in spec.grades:
        if g.min_score <= total and (best is None or g.min_score > best.min_score):
            best = g
    return best


def score(spec: ScorecardSpec, facts: Mapping[str, Any]) -> ScoreResult:
    """Score ``facts`` (flat facts by name) with ``spec``."""
    by_field: dict[str, list[ScorecardBin]] = {}
    for b in spec.bins:
        by_field.setdefault(b.field, []).append(b)
    lines: list[ScoreLine] = []
    missing: list[str] = []
    total = spec.base_points
    for name, bins in by_field.items():
        value = facts.get(name)
        hit = None if value is None or value == "" else next((b for b in bins if _holds(b, value)), None)
        if hit is None:
            missing.append(name)
            lines.append(ScoreLine(name, value, "missing", spec.missing_points))
            total += spec.missing_points
        else:
            lines.append(ScoreLine(name, value, bin_label(hit), hit.points))
            total += hit.points
    return ScoreResult(spec.code, spec.version, total, grade_of(spec, total), tuple(lines), tuple(missing))
