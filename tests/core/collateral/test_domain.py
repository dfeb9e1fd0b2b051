"""The lending arithmetic of collateral (``core/collateral/domain.py``): exact in Decimal, ranks
served in order, the loan-to-value limit taken from the item kind mix, release judged after it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nongxin.core.collateral.domain import Valued, covers, current_value, lendable, release_problem
from nongxin.sdk.collateral import Claim, Holding

D = Decimal
HOUSE = Holding(1, "real_estate", D("1000000.00"), D("0.10"), D("0.70"))
CAR = Holding(2, "vehicle", D("200000.00"), D("0.20"), D("0.50"))


def test_current_value_is_the_latest_valid_one_and_an_expired_one_is_zero() -> None:
    history = [Valued(D("900000.00"), date(2025, 1, 1), date(2025, 12, 31)),
               Valued(D("950000.00"), date(2026, 1, 1), date(2026, 6, 30)),
               Valued(D("800000.00"), date(2026, 3, 1), date(2026, 12, 31))]
    assert current_value(history, date(2025, 6, 1)) == D("900000.00")
    assert current_value(history, date(2026, 2, 1)) == D("950000.00")
    assert current_value(history, date(2026, 3, 1)) == D("800000.00")  # the latest, though lower
    assert current_value(history, date(2027, 1, 1)) == D("0.00")  # all expired: lends nothing
    assert current_value([], date(2026, 1, 1)) == D("0.00")
    # a valuation dated after the day is not yet known on that day
    assert current_value(history[2:], date(2026, 2, 28)) == D("0.00")


def test_lendable_value_is_rounded_down_to_the_fen() -> None:
    assert lendable(Holding(1, "vehicle", D("333.33"), D("0.333333"), D("0.5"))) == D("222.22")
    assert lendable(HOUSE) == D("900000.00")


def test_limit_comes_from_each_items_kind_not_the_first_items() -> None:
    """A house (LTV 0.70) and a car (LTV 0.50) on one line: the limit is 0.7 x 900,000 + 0.5 x
    160,000 = 710,000 whichever item is listed first (Frappe Lending took the first item's)."""
    exposures = {10: D("700000.00")}
    for order in ([HOUSE, CAR], [CAR, HOUSE]):
        claims = [Claim(h.item_id, 10, 1) for h in order]
        cover = covers(order, claims, exposures)[10]
        assert cover.eligible == D("1060000.00")
        assert cover.limit == D("710000.00")
        assert cover.ltv == D("0.660378")  # 700000 / 1060000 rounded up
        assert cover.ltv_limit == D("0.669811")  # 710000 / 1060000 rounded down
        assert cover.shortfall == D("0.00")
    short = covers([HOUSE, CAR], [Claim(1, 10, 1), Claim(2, 10, 1)], {10: D("750000.00")})[10]
    assert short.shortfall == D("40000.00")


def test_lower_ranked_claims_get_what_higher_ranked_exposure_leaves() -> None:
    claims = [Claim(1, 10, 1), Claim(1, 11, 2), Claim(1, 12, 3)]
    found = covers([HOUSE], claims, {10: D("600000.00"), 11: D("250000.00"), 12: D("1.00")})
    assert [found[i].eligible for i in (10, 11, 12)] == [D("900000.00"), D("300000.00"), D("50000.00")]
    assert found[11].items[0].prior == D("600000.00")
    assert found[12].items[0].prior == D("850000.00")
    # a senior exposure above the item's lendable value leaves the juniors nothing, never less
    found = covers([HOUSE], claims[:2], {10: D("950000.00"), 11: D("1.00")})
    assert found[11].eligible == D("0.00")
    assert found[11].ltv is None  # exposure and no eligible value: unsecured
    assert found[11].shortfall == D("1.00")


def test_an_unregistered_claim_lends_nothing_but_still_ranks_ahead() -> None:
    claims = [Claim(1, 10, 1, perfected=False), Claim(1, 11, 2)]
    found = covers([HOUSE], claims, {10: D("500000.00"), 11: D("100000.00")})
    assert found[10].eligible == D("0.00")
    assert found[11].eligible == D("400000.00")


def test_no_exposure_means_ltv_zero_and_no_shortfall() -> None:
    cover = covers([HOUSE], [Claim(1, 10, 1)], {})[10]
    assert cover.exposure == D("0.00") and cover.ltv == D("0") and cover.shortfall == D("0.00")
    expired = Holding(1, "real_estate", D("0.00"), D("0.10"), D("0.70"))
    cover = covers([expired], [Claim(1, 10, 1)], {10: D("1.00")})[10]
    assert cover.eligible == D("0.00") and cover.ltv is None and cover.shortfall == D("1.00")


def test_release_is_refused_with_the_figures_when_the_line_would_exceed_its_limit() -> None:
    claims = [Claim(1, 10, 1), Claim(2, 10, 1)]
    assert release_problem([HOUSE, CAR], claims, {10: D("600000.00")}, 10, 2) is None  # 600k <= 630k
    problem = release_problem([HOUSE, CAR], claims, {10: D("650000.00")}, 10, 2)
    assert problem is not None
    assert "650000.00" in problem and "900000.00" in problem and "0.700000" in problem and "630000.00" in problem
    assert "no eligible collateral" in (release_problem([CAR], [Claim(2, 10, 1)], {10: D("1.00")}, 10, 2) or "")
    # nothing outstanding: anything may be released
    assert release_problem([CAR], [Claim(2, 10, 1)], {}, 10, 2) is None


@given(st.lists(st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.booleans()), max_size=12),
       st.lists(st.integers(0, 2_000_000_00), min_size=4, max_size=4),
       st.lists(st.integers(0, 3_000_000_00), min_size=3, max_size=3))
def test_covers_are_exact_and_never_favour_the_borrower(raw_claims: list[tuple[int, int, int, bool]],
                                                        exposure_fen: list[int], value_fen: list[int]) -> None:
    holdings = [Holding(i + 1, "real_estate", D(v) / 100, D("0.15"), D("0.65")) for i, v in enumerate(value_fen)]
    seen: set[tuple[int, int]] = set()
    claims = []
    for item, line, rank, perfected in raw_claims:
        if (item, line) not in seen:
            seen.add((item, line))
            claims.append(Claim(item, line, rank, perfected))
    exposures = {i + 1: D(f) / 100 for i, f in enumerate(exposure_fen)}
    for cover in covers(holdings, claims, exposures).values():
        assert cover.eligible == cover.eligible.quantize(D("0.01"))
        assert cover.limit <= cover.eligible * D("0.65")
        for item in cover.items:
            assert 0 <= item.eligible <= item.lendable
        if cover.ltv is not None and cover.eligible > 0:
            assert cover.ltv * cover.eligible >= cover.exposure


@pytest.mark.parametrize("haircut", [D("0"), D("0.999999"), D("1")])
def test_haircut_bounds(haircut: Decimal) -> None:
    assert lendable(Holding(1, "deposit", D("100.00"), haircut, D("0.9"))) == (D("100.00") * (1 - haircut)).quantize(
        D("0.01"), rounding="ROUND_DOWN")
