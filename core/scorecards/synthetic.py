"""A synthetic farmer loan history with a known relationship, for trying the fitting loop and for
tests: nothing is downloaded, the same ``(rows, seed)`` always gives the same frame.

Each row is a farmer at application time (admission facts) and ``bad``: 1 when the loan went bad,
drawn from a logistic function of the facts whose directions are known: risk rises with the worst
overdue days in 24 months and with recent loan-approval queries, falls with age (to 55), income and
land, and the village's peer review (评议) orders black > grey > white > green. ``annual_income``
is float yuan with fen (as a spreadsheet export holds it), ``land_mu`` float mu with one decimal;
a few cells are empty (missing).
"""

from __future__ import annotations

from typing import Any

__all__ = ["PEER_EFFECT", "history"]

#: The log-odds of bad added by each peer-review colour (the known relationship).
PEER_EFFECT = {"green": -0.9, "white": 0.0, "grey": 0.9, "black": 2.0}
BUSINESS_EFFECT = {"grain": 0.0, "vegetables": -0.1, "livestock": 0.25, "fruit": -0.2, "aquaculture": 0.35}


def history(rows: int, seed: int) -> Any:
    """A pandas frame of ``rows`` farmers: the facts and ``bad`` (0/1); deterministic in ``seed``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    age = rng.integers(22, 66, rows)
    income = np.round(np.exp(rng.normal(np.log(60000), 0.5, rows)), 2)
    peer = rng.choice(list(PEER_EFFECT), rows, p=[0.5, 0.3, 0.15, 0.05])
    late = rng.random(rows) < 0.3
    overdue = np.where(late, rng.choice([1, 15, 31, 45, 61, 91, 120, 181], rows), 0)
    queries = rng.poisson(1.0, rows)
    land = np.round(rng.gamma(2.0, 5.0, rows), 1)
    business = rng.choice(list(BUSINESS_EFFECT), rows)
    logit = (-1.6 - 0.035 * (np.minimum(age, 55) - 40) - 0.9 * np.log(income / 60000)
             + np.array([PEER_EFFECT[p] for p in peer]) + 0.014 * np.minimum(overdue, 120) + 0.3 * queries
             - 0.03 * land + np.array([BUSINESS_EFFECT[b] for b in business]))
    bad = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    income_missing = rng.random(rows) < 0.03
    land_missing = rng.random(rows) < 0.05
    return pd.DataFrame({
        "age": age.astype(np.int64),
        "annual_income": np.where(income_missing, np.nan, income),
        "peer_review": peer.astype(object),
        "bureau_worst_overdue_days_24m": overdue.astype(np.int64),
        "bureau_loan_approval_queries_3m": queries.astype(np.int64),
        "land_mu": np.where(land_missing, np.nan, land),
        "main_business": business.astype(object),
        "bad": bad,
    })
