"""The five-tier classification's rules, pure: no database, no Flask, no clock.

The promise: ``classify_frame(frame, as_of)`` decides every loan's class at once (pandas, no
per-loan Python), and ``decide(...)`` is its one-loan twin the tests hold it to. The rules, in the
order they apply:

1. **Floor by overdue days** (``domain.floor_tier``): any overdue at least special mention; over
   90 days substandard; over 270 doubtful; over 360 loss.
2. **Restructured loans** held at substandard or worse through their observation period.
   商业银行金融资产风险分类办法 (2023) 第十八条: the observation period runs from the first
   repayment date after the restructuring, covers at least two consecutive repayment periods and
   at least one year. 第十九条 (restructured assets' classes, as we read it): a restructured asset is
   at least special mention; one non-performing before the restructuring stays at least
   substandard; one that misses a payment (or is overdue over 90 days, or restructured again) in
   its observation period is at least substandard. The issue's simpler reading, implemented here,
   holds *every* restructured loan at substandard or worse through the whole period, and an
   overdue day in the period restarts it (a year from that day) - stricter than 第十九条 for a loan
   that was performing before its restructuring.
3. **No upgrade out of non-performing before cure**: a loan classed non-performing stays at least
   substandard until its arrears are cleared and it has paid normally for ``CURE_MONTHS``
   (``clean_since``: the first business date with no arrears since; an overdue day clears it).
4. **Contagion** (non-retail debtors only, ``borrower_kind`` "uscc"): when more than
   ``CONTAGION_SHARE`` of a debtor's outstanding at the county bank is non-performing after rules
   1-3, all its loans there are at least substandard. Exact integer comparison, never a float.
5. **Manual class** (``manual_tier``, recorded with ``manual_floor``, the floor of rules 1-4 when it
   was applied): applies while it is no better than today's floor (worse: always), or while
   today's floor is no worse than ``manual_floor`` (an approved better class); otherwise it lapses
   and is cleared. So a loan's class is never better than its floor unless an approved manual
   class says so.

``floor`` (stored in ``LoanClass.floor``) is the class rules 1-4 give; ``tier`` the final class.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

import numpy as np
import pandas as pd

from nongxin.core.early_warning.domain import (CONTAGION_SHARE, CURE_MONTHS, NON_PERFORMING, OBSERVATION_MONTHS,
                                               TIERS, floor_tier, tier_rank)

__all__ = ["Decision", "add_months", "classify_frame", "decide", "floor_ranks", "observation_end",
           "INPUT_COLUMNS"]

_SUBSTANDARD = TIERS.index("substandard")
_SHARE = Fraction(CONTAGION_SHARE)

#: Columns ``classify_frame`` reads (previous-state columns may be missing values: a new loan).
INPUT_COLUMNS = ("loan_id", "borrower_kind", "id_number", "outstanding_fen", "overdue_days", "restructured_on",
                 "first_due", "second_due", "prev_tier", "prev_since", "clean_since", "observation_until",
                 "manual_tier", "manual_floor")


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def observation_end(restructured_on: date, first_due: date | None, second_due: date | None) -> date:
    """The end of a restructured loan's observation period (第十八条): at least OBSERVATION_MONTHS
    from the first due date after the restructuring, and at least through the second one (two
    periods). Without a schedule after it, from the restructuring date itself."""
    start = first_due or restructured_on
    end = add_months(start, OBSERVATION_MONTHS)
    return max(end, second_due) if second_due is not None else end


@dataclass(frozen=True)
class Decision:
    floor: str
    tier: str
    reason: str
    clean_since: date | None
    observation_until: date | None
    manual_tier: str | None
    manual_floor: str | None


def decide(*, overdue_days: int, as_of: date, restructured_on: date | None = None, first_due: date | None = None,
           second_due: date | None = None, prev_tier: str | None = None, clean_since: date | None = None,
           observation_until: date | None = None, manual_tier: str | None = None,
           manual_floor: str | None = None, contagion: bool = False) -> Decision:
    """One loan's class (rules 1-5 of the module docstring); ``contagion``: its debtor is over the
    share (computed over the bank by ``classify_frame``)."""
    floor = floor_tier(overdue_days)
    reason = f"{overdue_days} days overdue" if overdue_days else "no arrears"
    until = observation_until
    if restructured_on is not None:
        until = max(filter(None, (until, observation_end(restructured_on, first_due, second_due))))
        if overdue_days > 0 and as_of <= until:
            until = max(until, add_months(as_of, OBSERVATION_MONTHS))
        if as_of <= until and tier_rank(floor) < _SUBSTANDARD:
            floor, reason = "substandard", f"restructured, observed until {until.isoformat()}"
    clean = None if overdue_days > 0 else clean_since
    if prev_tier in NON_PERFORMING or tier_rank(floor) >= _SUBSTANDARD:
        if overdue_days == 0 and clean is None:
            clean = as_of
        cured = clean is not None and add_months(clean, CURE_MONTHS) <= as_of
        if prev_tier in NON_PERFORMING and not cured and tier_rank(floor) < _SUBSTANDARD:
            floor, reason = "substandard", "non-performing until cured"
    else:
        clean = None
    if contagion and tier_rank(floor) < _SUBSTANDARD:
        floor, reason = "substandard", "contagion: debtor's claims non-performing"
    tier, m_tier, m_floor = floor, manual_tier, manual_floor
    if manual_tier is not None:
        if tier_rank(manual_tier) >= tier_rank(floor) or (manual_floor is not None
                                                          and tier_rank(floor) <= tier_rank(manual_floor)):
            tier, reason = manual_tier, "manual class"
        else:
            m_tier = m_floor = None
    return Decision(floor, tier, reason, clean, until, m_tier, m_floor)


def floor_ranks(overdue_days: pd.Series) -> np.ndarray:
    """Vectorized ``floor_tier`` as ranks (0 normal .. 4 loss)."""
    days = overdue_days.to_numpy(dtype="int64")
    return np.select([days > 360, days > 270, days > 90, days > 0], [4, 3, 2, 1], 0)


def _ranks(series: pd.Series) -> np.ndarray:
    """Tier names (or missing) as ranks; -1 for missing."""
    codes = pd.Categorical(series.astype("object"), categories=list(TIERS)).codes
    return np.asarray(codes, dtype="int64")


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series.astype("object"), errors="coerce")


def _add_months(series: pd.Series, months: int) -> pd.Series:
    return series + pd.DateOffset(months=months)  # clamps to the month's end like add_months


def classify_frame(frame: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Every loan's class at once. ``frame`` has ``INPUT_COLUMNS`` (one row per loan of one county
    bank). Returns loan_id, floor, tier, reason, clean_since, observation_until, manual_tier,
    manual_floor (dates as ``datetime.date`` or None; tiers as names)."""
    n = len(frame)
    today = pd.Timestamp(as_of)
    days = frame["overdue_days"].to_numpy(dtype="int64")
    floor = floor_ranks(frame["overdue_days"])
    reason = np.full(n, "no arrears", dtype=object)
    late = days > 0
    reason[late] = pd.Series(days[late]).astype(str).to_numpy(dtype=object) + " days overdue"

    # 2. restructured: observation period
    restructured = _dates(frame["restructured_on"])
    first_due, second_due = _dates(frame["first_due"]), _dates(frame["second_due"])
    start = first_due.fillna(restructured)
    end = _add_months(start, OBSERVATION_MONTHS)
    end = end.where(second_due.isna() | (second_due <= end), second_due)
    until = pd.concat([_dates(frame["observation_until"]), end], axis=1).max(axis=1)
    until = until.where(restructured.notna(), _dates(frame["observation_until"]))
    restart = restructured.notna().to_numpy() & (days > 0) & (today <= until).to_numpy()
    until = until.where(~restart, pd.concat([until, pd.Series(today + pd.DateOffset(months=OBSERVATION_MONTHS),
                                                              index=until.index)], axis=1).max(axis=1))
    held = restructured.notna().to_numpy() & (today <= until).fillna(False).to_numpy() & (floor < _SUBSTANDARD)
    floor = np.where(held, _SUBSTANDARD, floor)
    until_text = until.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    reason = np.where(held, "restructured, observed until " + until_text.astype(str), reason).astype(object)

    # 3. cure
    prev = _ranks(frame["prev_tier"])
    prev_np = prev >= _SUBSTANDARD
    clean = _dates(frame["clean_since"]).where(days == 0)
    tracked = prev_np | (floor >= _SUBSTANDARD)
    clean = clean.where(~(tracked & (days == 0) & clean.isna().to_numpy()), today).where(tracked)
    cured = (_add_months(clean, CURE_MONTHS) <= today).fillna(False).to_numpy() & clean.notna().to_numpy()
    hold = prev_np & ~cured & (floor < _SUBSTANDARD)
    floor = np.where(hold, _SUBSTANDARD, floor)
    reason = np.where(hold, "non-performing until cured", reason).astype(object)

    # 4. contagion over uscc debtors (exact: npl / total > share  <=>  npl * den > total * num)
    outstanding = frame["outstanding_fen"].to_numpy(dtype="int64")
    uscc = (frame["borrower_kind"].astype("object") == "uscc").to_numpy()
    over = np.zeros(n, dtype=bool)
    if uscc.any():  # only enterprises are grouped (int64 fen x 10 stays far below 2**63)
        sums = pd.DataFrame({"debtor": frame["id_number"].astype("object").to_numpy()[uscc],
                             "total": outstanding[uscc], "npl": np.where(floor >= _SUBSTANDARD, outstanding, 0)[uscc]})
        by = sums.groupby("debtor", sort=False)[["total", "npl"]].transform("sum")
        over[uscc] = (by["npl"].to_numpy(dtype="int64") * _SHARE.denominator
                      > by["total"].to_numpy(dtype="int64") * _SHARE.numerator)
    spread = uscc & over & (floor < _SUBSTANDARD)
    floor = np.where(spread, _SUBSTANDARD, floor)
    reason = np.where(spread, "contagion: debtor's claims non-performing", reason).astype(object)

    # 5. manual class
    manual, manual_floor = _ranks(frame["manual_tier"]), _ranks(frame["manual_floor"])
    has = manual >= 0
    applies = has & ((manual >= floor) | ((manual_floor >= 0) & (floor <= manual_floor)))
    tier = np.where(applies, manual, floor)
    reason = np.where(applies, "manual class", reason).astype(object)
    lapsed = has & ~applies
    names = np.array(TIERS, dtype=object)

    def as_dates(s: pd.Series) -> np.ndarray:
        out: np.ndarray = np.array(s.dt.date, dtype=object)
        out[s.isna().to_numpy()] = None
        return out

    return pd.DataFrame({
        "loan_id": frame["loan_id"].to_numpy(dtype="int64"),
        "floor": names[floor], "tier": names[tier], "reason": reason,
        "clean_since": as_dates(clean), "observation_until": as_dates(until),
        "manual_tier": np.where(lapsed | ~has, None, names[np.maximum(manual, 0)]),
        "manual_floor": np.where(lapsed | ~has | (manual_floor < 0), None, names[np.maximum(manual_floor, 0)]),
    }, index=range(n))

