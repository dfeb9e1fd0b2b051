"""The frame of every pledged position (one row per active pledge: item x line) of county banks on a
day, built set-wise for the nightly scan.

The promise: every figure is the one ``domain.covers`` computes in Decimal (ranks, perfected
claims, kind-mix limit, rounding in the bank's favour), here in integer fen and millionths.

* One SQL statement reads the active pledges of the banks' items with their item, line, the
  item's current valuation (the latest made on or before the day and still valid on it: a window
  function), its latest valuation of any validity (for the valuation's age and whether it
  expired) and the line's exposure (outstanding principal of its open loans, grouped).
* The kinds' terms come from ``services.terms`` once per (bank, kind).
* The rest is numpy over integer columns: lendable ``floor(value x (1 - haircut))``, the prior
  claims (cumulative exposure of the lines ranked above on the item), eligible, limit, and per
  line eligible, limit, ``ltv = ceil(exposure / eligible)`` and ``ltv_limit = floor(limit /
  eligible)`` to the millionth, shortfall.

Columns: the ``collateral`` stage facts of ``sdk.facts.COLLATERAL`` (decimals in integer fen,
numbers as float, dates as datetime64, as the vectorized evaluator reads them) plus integer
``*_fen`` / ``*_micro`` figures and ids for display.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Iterable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.collateral import services
from nongxin.core.collateral.models import PERFECTED, CollateralItem, CollateralValuation, Pledge, PledgeStatus
from nongxin.core.credit.models import OPEN_STATUSES, CreditLine, Loan
from nongxin.core.customers.models import Customer
from nongxin.core.institutions.models import Institution

__all__ = ["MICRO", "COLUMNS", "positions", "line_figures"]

MICRO = 1_000_000

#: The frame's columns, in order (facts first, then figures and ids for display).
COLUMNS = (
    "kind", "value", "secured_outstanding", "valued_on", "as_of", "ltv_limit", "eligible_value", "ltv", "shortfall",
    "valuation_age_days", "valuation_expired", "registration", "rank", "product_code", "days_since_pledged",
    "pledge_id", "item_id", "item_number", "line_id", "line_number", "line_status", "county_bank", "institution",
    "customer_id", "customer_name",
    "value_fen", "lendable_fen", "prior_fen", "item_eligible_fen", "item_limit_fen", "exposure_fen",
    "eligible_fen", "limit_fen", "shortfall_fen", "ltv_micro", "ltv_limit_micro", "haircut_micro", "ltv_max_micro",
)


def _micro(rate: Decimal, name: str) -> int:
    scaled = rate * MICRO
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{name} {rate} has more than 6 decimal places; the scan keeps rates in millionths")
    return int(scaled)


def _fen(column: sa.ColumnElement[Decimal]) -> sa.ColumnElement[int]:
    """A Money column as its stored integer fen (no Decimal per row)."""
    return sa.type_coerce(column, sa.BigInteger)


def _queries(banks: list[int], on: date) -> tuple[sa.Select[Any], sa.Select[Any], sa.Select[Any], sa.Select[Any]]:
    """(pledges, current valuation per item, latest valuation per item, exposure per line): each one
    statement; the last three are merged in pandas (a join on a windowed subquery is quadratic in SQLite)."""
    v = CollateralValuation
    mine = sa.select(CollateralItem.id).where(CollateralItem.county_bank_id.in_(banks))
    pledged = sa.select(Pledge.credit_line_id).where(Pledge.status == PledgeStatus.PLEDGED, Pledge.item_id.in_(mine))
    cur = (sa.select(v.item_id, _fen(v.value).label("value_fen"),
                     sa.func.row_number().over(partition_by=v.item_id, order_by=(v.valued_on.desc(), v.id.asc()))
                     .label("n"))
           .where(v.item_id.in_(mine), v.valued_on <= on, v.valid_until >= on).subquery("cur"))
    last = (sa.select(v.item_id, v.valued_on, v.valid_until,
                      sa.func.row_number().over(partition_by=v.item_id, order_by=(v.valued_on.desc(), v.id.desc()))
                      .label("n"))
            .where(v.item_id.in_(mine), v.valued_on <= on).subquery("last"))
    exposure = (sa.select(Loan.credit_line_id.label("line_id"), sa.func.sum(_fen(Loan.outstanding)).label("exposure_fen"))
                .where(Loan.credit_line_id.in_(pledged), Loan.status.in_(OPEN_STATUSES))
                .group_by(Loan.credit_line_id))
    bank = sa.orm.aliased(Institution)
    inst = sa.orm.aliased(Institution)
    main = (sa.select(Pledge.id.label("pledge_id"), Pledge.rank, Pledge.registration, Pledge.pledged_on,
                      CollateralItem.id.label("item_id"), CollateralItem.number.label("item_number"),
                      CollateralItem.kind, CollateralItem.county_bank_id,
                      CreditLine.id.label("line_id"), CreditLine.number.label("line_number"),
                      CreditLine.status.label("line_status"), CreditLine.products,
                      bank.code.label("county_bank"), inst.code.label("institution"),
                      CreditLine.customer_id, Customer.name.label("customer_name"))
            .join(CollateralItem, CollateralItem.id == Pledge.item_id)
            .join(CreditLine, CreditLine.id == Pledge.credit_line_id)
            .join(bank, bank.id == CollateralItem.county_bank_id)
            .join(inst, inst.id == CreditLine.institution_id)
            .join(Customer, Customer.id == CreditLine.customer_id)
            .where(Pledge.status == PledgeStatus.PLEDGED, CollateralItem.county_bank_id.in_(banks))
            .order_by(CollateralItem.id, Pledge.rank, CreditLine.id))
    return (main, sa.select(cur.c.item_id, cur.c.value_fen).where(cur.c.n == 1),
            sa.select(last.c.item_id, last.c.valued_on, last.c.valid_until).where(last.c.n == 1), exposure)


_MAIN = ["pledge_id", "rank", "registration", "pledged_on", "item_id", "item_number", "kind", "county_bank_id",
         "line_id", "line_number", "line_status", "products", "county_bank", "institution", "customer_id",
         "customer_name"]


def _raw(session: Session, banks: list[int], on: date) -> pd.DataFrame:
    main, cur, last, exposure = _queries(banks, on)
    raw = pd.DataFrame(session.execute(main).all() if banks else [], columns=_MAIN)
    if not len(raw):
        return raw.assign(value_fen=pd.Series(dtype="Int64"), valued_on=pd.Series(dtype=object),
                          valid_until=pd.Series(dtype=object), exposure_fen=pd.Series(dtype="Int64"))
    values = pd.DataFrame(session.execute(cur).all(), columns=["item_id", "value_fen"])
    dates = pd.DataFrame(session.execute(last).all(), columns=["item_id", "valued_on", "valid_until"])
    exposures = pd.DataFrame(session.execute(exposure).all(), columns=["line_id", "exposure_fen"])
    raw = raw.merge(values, on="item_id", how="left").merge(dates, on="item_id", how="left")
    return raw.merge(exposures, on="line_id", how="left")  # left merges keep the left order


def positions(session: Session, banks: Iterable[Institution], on: date) -> pd.DataFrame:
    """Every active pledge of the items of ``banks`` on ``on``, with its item's and its line's figures."""
    banks = list(banks)
    raw = _raw(session, [b.id for b in banks], on)
    n = len(raw)
    by_id = {b.id: b for b in banks}
    haircut = np.zeros(n, dtype=np.int64)
    ltv_max = np.zeros(n, dtype=np.int64)
    if n:
        for (bank_id, kind), idx in raw.groupby(["county_bank_id", "kind"]).indices.items():
            t = services.terms(session, by_id[int(bank_id)], str(kind), on)
            haircut[idx] = _micro(t.haircut, f"collateral.{kind}.haircut")
            ltv_max[idx] = _micro(t.ltv_max, f"collateral.{kind}.ltv_max")
    value = raw["value_fen"].fillna(0).to_numpy(dtype=np.int64)
    exposure = raw["exposure_fen"].fillna(0).to_numpy(dtype=np.int64)
    lendable = value * (MICRO - haircut) // MICRO  # floor: value and factor are never negative
    item = raw["item_id"].to_numpy(dtype=np.int64)
    # rows come ordered by (item, rank, line): prior = exposure of the rows above within the item
    cumulative = pd.Series(exposure).groupby(item).cumsum().to_numpy(dtype=np.int64)
    prior = cumulative - exposure
    perfected = raw["registration"].isin([r for r in PERFECTED]).to_numpy(dtype=bool) if n else np.zeros(0, bool)
    item_eligible = np.where(perfected, np.maximum(lendable - prior, 0), 0)
    item_limit = item_eligible * ltv_max // MICRO
    line = raw["line_id"].to_numpy(dtype=np.int64)
    eligible = pd.Series(item_eligible).groupby(line).transform("sum").to_numpy(dtype=np.int64)
    limit = pd.Series(item_limit).groupby(line).transform("sum").to_numpy(dtype=np.int64)
    ltv_micro, ltv_limit_micro = line_figures(exposure, eligible, limit)
    shortfall = np.maximum(exposure - limit, 0)
    valued_on = pd.to_datetime(raw["valued_on"])
    as_of = pd.Timestamp(on)
    expired = raw["value_fen"].isna().to_numpy(dtype=bool)
    frame = pd.DataFrame({
        "kind": raw["kind"].astype(object),
        "value": value,
        "secured_outstanding": exposure,
        "valued_on": valued_on,
        "as_of": pd.Series(np.full(n, as_of.to_datetime64(), dtype="datetime64[ns]")),
        "ltv_limit": np.where(ltv_limit_micro < 0, np.nan, ltv_limit_micro / MICRO),
        "eligible_value": eligible,
        "ltv": np.where(ltv_micro < 0, np.nan, ltv_micro / MICRO),
        "shortfall": shortfall,
        "valuation_age_days": (as_of - valued_on).dt.days.astype("Int64"),
        "valuation_expired": expired,
        "registration": raw["registration"].map(lambda r: r.value if hasattr(r, "value") else r).astype(object),
        "rank": raw["rank"].to_numpy(dtype=np.int64),
        "product_code": raw["products"].map(lambda p: p[0] if p else "").astype(object),
        "days_since_pledged": (as_of - pd.to_datetime(raw["pledged_on"])).dt.days.astype("Int64"),
        "pledge_id": raw["pledge_id"], "item_id": item, "item_number": raw["item_number"], "line_id": line,
        "line_number": raw["line_number"],
        "line_status": raw["line_status"].map(lambda s: s.value if hasattr(s, "value") else s).astype(object),
        "county_bank": raw["county_bank"], "institution": raw["institution"],
        "customer_id": raw["customer_id"], "customer_name": raw["customer_name"],
        "value_fen": value, "lendable_fen": lendable, "prior_fen": prior, "item_eligible_fen": item_eligible,
        "item_limit_fen": item_limit, "exposure_fen": exposure, "eligible_fen": eligible, "limit_fen": limit,
        "shortfall_fen": shortfall, "ltv_micro": ltv_micro, "ltv_limit_micro": ltv_limit_micro,
        "haircut_micro": haircut, "ltv_max_micro": ltv_max,
    }, columns=list(COLUMNS))
    return frame


def line_figures(exposure: np.ndarray, eligible: np.ndarray, limit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ltv, ltv_limit) in millionths, -1 where ``domain.Cover`` says None: ltv rounded up (0 without
    exposure, None with exposure and no eligible value), ltv_limit rounded down (None without
    eligible value)."""
    safe = np.where(eligible > 0, eligible, 1)
    ltv = np.where(exposure <= 0, 0, np.where(eligible > 0, -((-exposure * MICRO) // safe), -1))
    ltv_limit = np.where(eligible > 0, limit * MICRO // safe, -1)
    return ltv.astype(np.int64), ltv_limit.astype(np.int64)
