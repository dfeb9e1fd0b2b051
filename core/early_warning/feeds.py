"""The outside facts the nightly scan joins to each borrower: court lists and the latest post-loan
credit-bureau summary.

The promises:

* ``court_facts(session, bank_id, as_of)``: one row per identity number on a court list in force
  on ``as_of`` (listed on or before it, not delisted by then), delivered to that county bank or to
  the whole province: ``id_number`` and the three boolean facts of ``COURT_FACTS``.
* ``bureau_facts(session, bank_id, as_of)``: one row per identity number with the ``bureau_*``
  facts of the latest credit report the county bank holds for it as of ``as_of``
  (``BureauSummary``); borrowers without one are absent (their bureau facts are unknown, and a
  rule on an unknown fact does not fire).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.early_warning.models import WatchlistEntry
from nongxin.sdk.bureau import BureauSummary

__all__ = ["COURT_FACTS", "bureau_facts", "court_facts"]

#: Court list kind -> the post-loan fact it sets.
COURT_FACTS = {"enforcement": "court_enforcement", "consumption_restriction": "court_consumption_restriction",
               "dishonest_debtor": "court_dishonest_debtor"}


def court_facts(session: Session, bank_id: int, as_of: date) -> pd.DataFrame:
    """The court-list facts in force at the county bank on ``as_of`` (module docstring)."""
    rows = session.execute(sa.select(WatchlistEntry.id_number, WatchlistEntry.kind).where(
        sa.or_(WatchlistEntry.county_bank_id == bank_id, WatchlistEntry.county_bank_id.is_(None)),
        WatchlistEntry.listed_on <= as_of,
        sa.or_(WatchlistEntry.delisted_on.is_(None), WatchlistEntry.delisted_on > as_of)).distinct()).all()
    listed = pd.DataFrame(rows, columns=["id_number", "kind"])
    out = pd.DataFrame({"id_number": pd.Series(sorted(set(listed["id_number"])), dtype=object)})
    for kind, fact in COURT_FACTS.items():
        out[fact] = out["id_number"].isin(set(listed.loc[listed["kind"] == kind, "id_number"]))
    return out


def bureau_facts(session: Session, bank_id: int, as_of: date) -> pd.DataFrame:
    """The latest bureau summary per identity number (module docstring). Part E fills this in;
    until then no borrower has one."""
    return pd.DataFrame({"id_number": pd.Series([], dtype=object),
                         **{name: pd.Series([], dtype=object) for name in BureauSummary.fact_types()}})
