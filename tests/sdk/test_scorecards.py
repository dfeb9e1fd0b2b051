"""Properties of ``nongxin.sdk.scorecards.score``: the total is the base plus the lines' points, each
present value earns its bin's points and a missing one ``missing_points``, and a higher total never
gets a lower grade."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from nongxin.sdk import ScorecardBin, ScorecardGrade, ScorecardSpec
from nongxin.sdk.scorecards import grade_of, score

FIELDS = ("f0", "f1", "f2", "f3")
points = st.integers(min_value=-200, max_value=200)


@st.composite
def numeric_bins(draw: st.DrawFn, field: str) -> list[ScorecardBin]:
    edges = sorted(set(draw(st.lists(st.integers(-1000, 1000), min_size=1, max_size=5))))
    bounds = [None, *[Decimal(e) for e in edges], None]
    return [ScorecardBin(field, lo, hi, draw(points)) for lo, hi in zip(bounds, bounds[1:])]


@st.composite
def text_bins(draw: st.DrawFn, field: str) -> list[ScorecardBin]:
    groups = draw(st.lists(st.sampled_from("ABCDE"), min_size=1, max_size=4, unique=True))
    return [ScorecardBin(field, None, None, draw(points), (g,)) for g in groups]


@st.composite
def cards(draw: st.DrawFn) -> ScorecardSpec:
    bins: list[ScorecardBin] = []
    for i, name in enumerate(FIELDS):
        bins += draw(text_bins(name)) if i == 3 else draw(numeric_bins(name))
    mins = sorted(set(draw(st.lists(st.integers(-500, 1500), max_size=5))))
    grades = tuple(ScorecardGrade(f"G{i}", m, Decimal(i + 1)) for i, m in enumerate(mins))
    return ScorecardSpec("SC", "s", draw(st.integers(0, 1000)), tuple(bins), draw(points), grades)


values = st.one_of(st.none(), st.integers(-1200, 1200), st.decimals(-1200, 1200, places=2), st.sampled_from("ABCDEF"))


def oracle(spec: ScorecardSpec, name: str, value: object) -> int:
    """The points ``value`` should earn for ``name``, computed independently of ``score``."""
    for b in spec.bins:
        if b.field != name or value is None:
            continue
        if b.values is not None:
            if str(value) in b.values:
                return b.points
        elif not isinstance(value, str):
            v = Decimal(str(value))
            if (b.lower is None or v >= b.lower) and (b.upper is None or v < b.upper):
                return b.points
    return spec.missing_points


@settings(max_examples=300, deadline=None)
@given(spec=cards(), facts=st.fixed_dictionaries({}, optional={name: values for name in FIELDS}))
def test_total_is_base_plus_lines_and_missing_values_take_missing_points(spec, facts):
    result = score(spec, facts)
    assert [line.field for line in result.lines] == list(FIELDS)
    assert result.total == spec.base_points + sum(line.points for line in result.lines)
    for line in result.lines:
        assert line.points == oracle(spec, line.field, facts.get(line.field)), line
        if facts.get(line.field) is None:
            assert line.field in result.missing and line.bin == "missing"
            assert line.points == spec.missing_points
    assert result.grade == grade_of(spec, result.total)


@settings(max_examples=300, deadline=None)
@given(spec=cards(), a=st.integers(-3000, 3000), b=st.integers(-3000, 3000))
def test_a_higher_total_never_gets_a_lower_grade(spec, a, b):
    low, high = sorted((a, b))
    g_low, g_high = grade_of(spec, low), grade_of(spec, high)
    if g_low is not None:
        assert g_high is not None and g_high.min_score >= g_low.min_score
        assert g_low.min_score <= low
    if g_high is not None:
        assert g_high.min_score <= high
        assert all(g.min_score > high or g.min_score <= g_high.min_score for g in spec.grades)
    elif spec.grades:
        assert high < min(g.min_score for g in spec.grades)
