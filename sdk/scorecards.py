"""Scoring an applicant with a segment scorecard: pure, so a plugin's tests and the core's decision
compute the same points.

``score(spec, facts)`` adds the base points and, for each variable, the points of the first bin
its value falls in; a missing value, or one no bin holds, earns the variable's missing points
(``missing_points_of``: its ``missing_by_field`` entry, else the card's ``missing_points``) and is
named in ``ScoreResult.missing``. The total's grade is the band with the highest ``min_score`` not above it;
below every band there is no grade (and no limit coefficient: the core sends such an application
to manual review).

A spec travels as JSON (``spec_to_json`` / ``spec_from_json``: Decimals as strings, never a float),
so ``nongxin scorecard fit`` writes one and ``nongxin new scorecard --from`` bakes it into a plugin.
``bin_index`` and ``band_index`` say which bin a value and which score band a total fall in: the
development counts (``ScorecardDevelopment``) and the production counts of the stability monitor
are both counted with them, so the two are comparable by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any, Mapping

from nongxin.sdk._codec import decode, encode
from nongxin.sdk.types import ScorecardBin, ScorecardGrade, ScorecardSpec

__all__ = ["FrameScores", "ScoreLine", "ScoreResult", "band_index", "missing_points_of", "bin_index", "bin_label", "score", "score_frame",
           "spec_from_json", "spec_to_json", "variables"]


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


def missing_points_of(spec: ScorecardSpec, field: str) -> int:
    """The points a missing value of ``field`` earns (or one no bin of it holds)."""
    return spec.missing_by_field.get(field, spec.missing_points)


def bin_label(b: ScorecardBin) -> str:
    if b.values is not None:
        return "{" + ", ".join(b.values) + "}"
    lower = "-inf" if b.lower is None else str(b.lower)
    upper = "+inf" if b.upper is None else str(b.upper)
    return f"[{lower}, {upper})"


def spec_to_json(spec: ScorecardSpec) -> str:
    """The spec as JSON text (UTF-8, Chinese kept readable, keys in declaration order)."""
    import json

    return json.dumps(encode(spec), ensure_ascii=False, indent=2) + "\n"


def spec_from_json(text: str) -> ScorecardSpec:
    """A spec from ``spec_to_json``'s text; a malformed one is ``InvalidValue`` naming the path
    (``spec.bins[3].points``), or ``ValueError`` when the text is not JSON."""
    import json

    return decode(ScorecardSpec, json.loads(text), "spec")


def bin_index(spec: ScorecardSpec, field: str, value: Any) -> int:
    """The index of the bin ``value`` falls in among ``field``'s bins (in the spec's order, as
    ``score`` tries them), or the number of those bins when it is missing or no bin holds it."""
    bins = [b for b in spec.bins if b.field == field]
    if value is None or value == "":
        return len(bins)
    return next((i for i, b in enumerate(bins) if _holds(b, value)), len(bins))


def band_index(edges: tuple[int, ...] | list[int], total: int) -> int:
    """The score band of ``total`` among the bands ``(-inf, e0), [e0, e1), ..., [en, +inf)``."""
    import bisect

    return bisect.bisect_right(list(edges), total)


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
            points = missing_points_of(spec, name)
            lines.append(ScoreLine(name, value, "missing", points))
            total += points
        else:
            lines.append(ScoreLine(name, value, bin_label(hit), hit.points))
            total += hit.points
    return ScoreResult(spec.code, spec.version, total, grade_of(spec, total), tuple(lines), tuple(missing))


# -- many rows at once ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FrameScores:
    """``score_frame``'s answer: per row the ``total`` (int64) and the ``grade`` as an index into
    ``spec.grades`` (intp, -1: no grade); ``names`` and ``coefficients`` are the grades' own."""

    total: Any
    grade: Any
    names: tuple[str, ...]
    coefficients: tuple[Decimal, ...]


#: Scale of a frame's decimal columns (integer fen), as the rule language's frame form.
DECIMAL_SCALE = 2


def _ceil_scaled(bound: Decimal, scale: int) -> int:
    """The least integer ``k`` with ``k / 10**scale >= bound`` (exact)."""
    whole = int(Decimal(bound).scaleb(scale).to_integral_value(rounding=ROUND_CEILING))
    return max(min(whole, 2**63 - 1), -2**63)


def _fixed_column(series: Any, scale: int) -> tuple[Any, Any] | None:
    """(int64 values, missing mask) of an integer-like column, or None when it is not one."""
    import numpy as np
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) or dtype == object or getattr(dtype, "kind", "O") not in "iu":
        return None
    missing = series.isna().to_numpy()
    values = series.to_numpy(dtype=np.int64, na_value=0)
    return values, missing


def _scalar(value: Any, scale: int | None) -> Any:
    """A frame cell as ``score`` sees the fact: fen back to Decimal yuan, NA to None."""
    import pandas as pd

    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if scale:
        return Decimal(int(value)).scaleb(-scale)
    if scale == 0:
        return int(value)
    return value.item() if hasattr(value, "item") else value  # numpy scalars as Python's


def _points(spec: ScorecardSpec, bins: list[ScorecardBin], value: Any) -> int:
    """The points one value earns, as ``score`` gives them."""
    if value is None or value == "":
        return missing_points_of(spec, bins[0].field)
    hit = next((b for b in bins if _holds(b, value)), None)
    return missing_points_of(spec, bins[0].field) if hit is None else hit.points


def score_frame(spec: ScorecardSpec, frame: Any, decimals: Any = (),
                constants: Mapping[str, Any] | None = None) -> FrameScores:
    """``score(spec, facts)`` for every row of a pandas frame at once: each row's total and grade
    are exactly those ``score`` gives for the row's facts.

    ``frame``: one column per fact, in the rule language's frame form; the columns named in
    ``decimals`` hold integer fen (a decimal fact), other integer columns whole numbers, object
    columns text (None/NA: missing). ``constants``: facts equal on every row, in Python form
    (Decimal, int, str), scored once; a variable with neither is missing on every row. A numeric
    bin on an integer column compares in integers (its bounds scaled, never float); any other pair
    (a text bin, a text column) is decided once per distinct value with ``score``'s own test."""
    import numpy as np
    import pandas as pd

    rows = len(frame)
    decimal_names = frozenset(decimals)
    total = np.full(rows, spec.base_points, dtype=np.int64)
    by_field: dict[str, list[ScorecardBin]] = {}
    for b in spec.bins:
        by_field.setdefault(b.field, []).append(b)
    for name, bins in by_field.items():
        absent = missing_points_of(spec, name)
        points = np.full(rows, absent, dtype=np.int64)
        if constants is not None and name in constants:
            points[:] = _points(spec, bins, constants[name])
        elif name in frame.columns:
            series = frame[name]
            scale = DECIMAL_SCALE if name in decimal_names else 0
            fixed = _fixed_column(series, scale)
            if fixed is not None and all(b.values is None for b in bins):
                values, missing = fixed
                open_ = ~missing
                for b in bins:
                    hit = open_.copy()
                    if b.lower is not None:
                        hit &= values >= _ceil_scaled(b.lower, scale)
                    if b.upper is not None:
                        hit &= values < _ceil_scaled(b.upper, scale)
                    points[hit] = b.points
                    open_ &= ~hit
            else:
                kind = scale if fixed is not None else None
                codes, uniques = pd.factorize(series, use_na_sentinel=True)
                table = np.full(len(uniques) + 1, absent, dtype=np.int64)
                for i, raw in enumerate(uniques):
                    table[i] = _points(spec, bins, _scalar(raw, kind))
                points = table[np.asarray(codes)]  # code -1 (missing) takes the last entry
        total += points
    ordered = sorted(range(len(spec.grades)), key=lambda i: (spec.grades[i].min_score, -i))
    grade = np.full(rows, -1, dtype=np.intp)
    if ordered:
        floors = np.array([spec.grades[i].min_score for i in ordered], dtype=np.int64)
        chosen = np.array(ordered, dtype=np.intp)
        at = np.searchsorted(floors, total, side="right") - 1
        grade = np.where(at >= 0, chosen[np.maximum(at, 0)], -1)
    return FrameScores(total, grade, tuple(g.name for g in spec.grades),
                       tuple(g.limit_coefficient for g in spec.grades))
