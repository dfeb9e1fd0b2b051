"""The province's default segment scorecards (省联社默认评分卡): farmer households, individual
businesses, salaried staff and small businesses.

Every product segment the bundled and example products use has one here, so the decision always
finds a scorecard; a county bank's own scorecard for a segment is registered before these
(``trylast``). Each card scores admission facts only (``nongxin.sdk.facts.ADMISSION``): base points
plus, per variable, the points of the bin its value falls in; a missing value earns
``missing_points`` (less than any real bin, so a thin file never outscores a known good one). The
total's grade carries the limit coefficient (等级系数): A 1.2, B 1.0, C 0.8, D 0.5; below D there is
no grade and the core sends the application to manual review.
"""

from __future__ import annotations

from decimal import Decimal

from nongxin.sdk import HookContext, PluginInfo, PluginKind, ScorecardBin, ScorecardGrade, ScorecardSpec, hookimpl

PLUGIN = PluginInfo(name="province_scorecards", version="1.0.0", kind=PluginKind.SCORECARD, enabled_by_default=True,
                    description="省联社默认评分卡: farmer, merchant, salaried and small-business segments")

Edge = int | str | None


def _ranges(field: str, *steps: tuple[Edge, Edge, int]) -> tuple[ScorecardBin, ...]:
    """Numeric bins ``[lower, upper)`` with their points (None: unbounded)."""
    def dec(x: Edge) -> Decimal | None:
        return None if x is None else Decimal(str(x))
    return tuple(ScorecardBin(field, dec(lo), dec(hi), points) for lo, hi, points in steps)


def _values(field: str, *steps: tuple[tuple[str, ...], int]) -> tuple[ScorecardBin, ...]:
    """Text bins: the set of values each matches, with their points."""
    return tuple(ScorecardBin(field, None, None, points, values) for values, points in steps)


#: The grade bands every default card uses, with their limit coefficients.
GRADES = (
    ScorecardGrade("A", 680, Decimal("1.2")),
    ScorecardGrade("B", 620, Decimal("1.0")),
    ScorecardGrade("C", 560, Decimal("0.8")),
    ScorecardGrade("D", 500, Decimal("0.5")),
)

def _card(code: str, name: str, segment: str, *bins: tuple[ScorecardBin, ...]) -> ScorecardSpec:
    """A default card: base 400 points, -10 for a missing value, the shared grade bands."""
    return ScorecardSpec(code=code, name=name, segment=segment, version=1, base_points=400, missing_points=-10,
                         grades=GRADES, bins=tuple(b for group in bins for b in group))


AGE = _ranges("age", (18, 25, 10), (25, 35, 30), (35, 50, 40), (50, 60, 25), (60, 66, 5))
OVERDUE = _ranges("bureau_worst_overdue_days_24m", (0, 1, 60), (1, 31, 20), (31, 91, -20), (91, None, -60))
QUERIES = _ranges("bureau_loan_approval_queries_3m", (0, 2, 30), (2, 4, 10), (4, 8, -10), (8, None, -30))
CARDS = _ranges("bureau_card_utilization", (0, "0.5", 25), ("0.5", "0.8", 10), ("0.8", "1", -5), (1, None, -25))

FARMER = _card(
    "PROV-SC-FARMER", "农户评分卡", "farmer",
    AGE,
    _ranges("annual_income", (0, 30000, 10), (30000, 60000, 30), (60000, 120000, 45), (120000, None, 55)),
    _values("peer_review", (("green",), 80), (("white",), 40), (("grey",), 0), (("black",), -100)),
    OVERDUE,
    QUERIES,
    _ranges("bureau_outstanding_debt", (0, 50000, 25), (50000, 200000, 10), (200000, None, -10)),
)

MERCHANT = _card(
    "PROV-SC-MERCHANT", "个体工商户评分卡", "merchant",
    AGE,
    _ranges("filed_revenue", (0, 200000, 10), (200000, 1000000, 35), (1000000, None, 50)),
    _values("tax_grade", (("A",), 60), (("B",), 40), (("M",), 20), (("C",), 0), (("D",), -60)),
    OVERDUE,
    QUERIES,
    CARDS,
)

SALARIED = _card(
    "PROV-SC-SALARIED", "工薪族评分卡", "salaried",
    AGE,
    _ranges("annual_income", (0, 50000, 10), (50000, 100000, 35), (100000, 200000, 50), (200000, None, 60)),
    OVERDUE,
    QUERIES,
    CARDS,
    _ranges("bureau_outstanding_debt", (0, 100000, 25), (100000, 500000, 10), (500000, None, -15)),
)

SMALL_BUSINESS = _card(
    "PROV-SC-SMALL-BUSINESS", "小微企业评分卡", "small_business",
    _ranges("filed_revenue", (0, 1000000, 10), (1000000, 5000000, 35), (5000000, None, 55)),
    _values("tax_grade", (("A",), 70), (("B",), 45), (("M",), 20), (("C",), 0), (("D",), -70)),
    OVERDUE,
    QUERIES,
    _ranges("bureau_guarantees_given", (0, 1, 20), (1, 1000000, 5), (1000000, None, -20)),
    _ranges("existing_debt", (0, 1, 20), (1, 1000000, 10), (1000000, None, -10)),
)

SCORECARDS = (FARMER, MERCHANT, SALARIED, SMALL_BUSINESS)


@hookimpl(trylast=True)
def nongxin_scorecards(ctx: HookContext) -> list[ScorecardSpec]:
    return list(SCORECARDS)
