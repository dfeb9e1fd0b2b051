"""The five-tier rules, pure: floors, restructuring observation, cure, contagion, manual classes;
the vectorized ``classify_frame`` agrees with the one-loan ``decide``."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nongxin.core.early_warning.classify_domain import INPUT_COLUMNS, add_months, classify_frame, decide
from nongxin.core.early_warning.domain import TIERS, floor_tier, tier_rank

AS_OF = date(2026, 6, 30)


@pytest.mark.parametrize("days, tier", [(0, "normal"), (1, "special_mention"), (90, "special_mention"),
                                        (91, "substandard"), (270, "substandard"), (271, "doubtful"),
                                        (360, "doubtful"), (361, "loss")])
def test_floors(days: int, tier: str) -> None:
    assert floor_tier(days) == tier
    assert decide(overdue_days=days, as_of=AS_OF).tier == tier
    assert classify_frame(_frame([_loan(overdue_days=days)]), AS_OF)["tier"].tolist() == [tier]


def test_restructured_held_through_observation_and_restarted_by_an_overdue_day() -> None:
    kw = dict(restructured_on=date(2025, 12, 10), first_due=date(2026, 1, 10), second_due=date(2026, 2, 10))
    held = decide(overdue_days=0, as_of=AS_OF, **kw)
    assert (held.tier, held.observation_until) == ("substandard", date(2027, 1, 10))
    assert decide(overdue_days=0, as_of=date(2027, 1, 10), **kw).tier == "substandard"
    assert decide(overdue_days=0, as_of=date(2027, 1, 11), **kw).tier == "normal"
    missed = decide(overdue_days=3, as_of=date(2026, 12, 1), **kw)
    assert missed.observation_until == date(2027, 12, 1)
    after = decide(overdue_days=0, as_of=date(2027, 6, 1), observation_until=missed.observation_until, **kw)
    assert after.tier == "substandard"
    # two periods when they are longer than a year: annual payments
    annual = decide(overdue_days=0, as_of=AS_OF, restructured_on=date(2025, 12, 10), first_due=date(2026, 1, 10),
                    second_due=date(2027, 3, 10))
    assert annual.observation_until == date(2027, 3, 10)


def test_cure_after_six_months_clean() -> None:
    day = date(2026, 1, 5)
    first = decide(overdue_days=0, as_of=day, prev_tier="substandard")
    assert (first.tier, first.clean_since) == ("substandard", day)
    assert decide(overdue_days=0, as_of=add_months(day, 6) - timedelta(days=1), prev_tier="substandard",
                  clean_since=day).tier == "substandard"
    assert decide(overdue_days=0, as_of=add_months(day, 6), prev_tier="substandard", clean_since=day).tier == "normal"
    relapse = decide(overdue_days=2, as_of=date(2026, 3, 1), prev_tier="substandard", clean_since=day)
    assert (relapse.tier, relapse.clean_since) == ("substandard", None)


def test_contagion_only_for_enterprises_above_the_share() -> None:
    def run(kind: str, npl_fen: int, other_fen: int) -> list[str]:
        rows = [_loan(loan_id=1, borrower_kind=kind, id_number="X", outstanding_fen=npl_fen, overdue_days=120),
                _loan(loan_id=2, borrower_kind=kind, id_number="X", outstanding_fen=other_fen),
                _loan(loan_id=3, borrower_kind=kind, id_number="Y", outstanding_fen=other_fen)]
        return classify_frame(_frame(rows), AS_OF)["tier"].tolist()

    assert run("uscc", 10_01, 90_00) == ["substandard", "substandard", "normal"]  # 10.01% of 100.01
    assert run("uscc", 10_00, 90_00) == ["substandard", "normal", "normal"]  # exactly 10%: not above
    assert run("resident", 50_00, 50_00) == ["substandard", "normal", "normal"]


def test_manual_class_rules() -> None:
    worse = decide(overdue_days=0, as_of=AS_OF, manual_tier="doubtful", manual_floor="normal")
    assert worse.tier == "doubtful"
    assert decide(overdue_days=400, as_of=AS_OF, manual_tier="doubtful", manual_floor="normal").tier == "loss"
    better = decide(overdue_days=100, as_of=AS_OF, manual_tier="special_mention", manual_floor="substandard")
    assert better.tier == "special_mention"
    lapsed = decide(overdue_days=300, as_of=AS_OF, manual_tier="special_mention", manual_floor="substandard")
    assert (lapsed.tier, lapsed.manual_tier, lapsed.manual_floor) == ("doubtful", None, None)


def _loan(**kw: object) -> dict[str, object]:
    row: dict[str, object] = {c: None for c in INPUT_COLUMNS}
    row.update(loan_id=1, borrower_kind="resident", id_number="A", outstanding_fen=100_00, overdue_days=0)
    row.update(kw)
    return row


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(INPUT_COLUMNS)).astype(
        {c: object for c in INPUT_COLUMNS if c not in ("loan_id", "outstanding_fen", "overdue_days")})


tiers = st.none() | st.sampled_from(TIERS)
dates = st.none() | st.dates(date(2024, 1, 1), date(2027, 12, 31))


@settings(max_examples=150, deadline=None)
@given(days=st.integers(0, 800), restructured=dates, prev=tiers, clean=dates, until=dates, manual=tiers,
       manual_floor=tiers, as_of=st.dates(date(2025, 1, 1), date(2027, 12, 31)))
def test_frame_agrees_with_decide_and_never_beats_the_floor_without_approval(
        days: int, restructured: date | None, prev: str | None, clean: date | None, until: date | None,
        manual: str | None, manual_floor: str | None, as_of: date) -> None:
    if restructured is None:
        until = None
    if manual is None:
        manual_floor = None
    first = restructured + timedelta(days=30) if restructured else None
    second = restructured + timedelta(days=61) if restructured else None
    one = decide(overdue_days=days, as_of=as_of, restructured_on=restructured, first_due=first, second_due=second,
                 prev_tier=prev, clean_since=clean, observation_until=until, manual_tier=manual,
                 manual_floor=manual_floor)
    row = classify_frame(_frame([_loan(overdue_days=days, restructured_on=restructured, first_due=first,
                                       second_due=second, prev_tier=prev, clean_since=clean, observation_until=until,
                                       manual_tier=manual, manual_floor=manual_floor)]), as_of).iloc[0]
    assert (row["floor"], row["tier"], row["clean_since"], row["observation_until"], row["manual_tier"],
            row["manual_floor"]) == (one.floor, one.tier, one.clean_since, one.observation_until, one.manual_tier,
                                     one.manual_floor)
    assert tier_rank(one.floor) >= tier_rank(floor_tier(days))
    if tier_rank(one.tier) < tier_rank(one.floor):
        assert one.manual_floor is not None and tier_rank(one.floor) <= tier_rank(one.manual_floor)
