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
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.bureau.models import BureauReportCache
from nongxin.core.early_warning.models import WatchlistEntry
from nongxin.sdk.bureau import BureauSummary, report_from_dict, summarize
from nongxin.sdk.rules.frame_columns import DECIMAL_SCALE

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
    """The latest bureau summary per identity number (module docstring).

    Every report the county bank holds is usable here, whatever purpose it was fetched for:
    post-loan management (purpose 01) of an existing borrower needs no new consent, so the scan
    reads the cache and never queries the bureau. The latest report is the one fetched last (ties:
    the later row); it is summarised as seen on ``as_of`` (``summarize`` ignores records dated
    after it), each report once. Columns: ``id_number`` and every ``bureau_*`` fact of
    ``BureauSummary.fact_types()``: integers as int64, decimals as integer fen (int64, or the
    nullable Int64 when a value is missing, e.g. ``bureau_card_utilization`` without cards, as the
    vectorized evaluator reads decimal columns), booleans as bool.
    """
    types = BureauSummary.fact_types()
    ranked = sa.select(BureauReportCache.id.label("id"), BureauReportCache.id_number.label("id_number"),
                       sa.func.row_number().over(
                           partition_by=BureauReportCache.id_number,
                           order_by=(BureauReportCache.fetched_at.desc(), BureauReportCache.id.desc())).label("n")
                       ).where(BureauReportCache.county_bank_id == bank_id).subquery()
    rows = session.execute(sa.select(ranked.c.id_number, BureauReportCache.report_id, BureauReportCache.report)
                           .join(BureauReportCache, BureauReportCache.id == ranked.c.id)
                           .where(ranked.c.n == 1).order_by(ranked.c.id_number)).all()
    summaries: dict[tuple[str, date], dict[str, object]] = {}
    numbers: list[str] = []
    facts: list[dict[str, object]] = []
    for id_number, report_id, report in rows:
        key = (report_id, as_of)
        if key not in summaries:
            summaries[key] = summarize(report_from_dict(report), as_of).as_facts()
        numbers.append(id_number)
        facts.append(summaries[key])
    out = pd.DataFrame({"id_number": pd.Series(numbers, dtype=object)})
    for name, kind in types.items():
        values = [f[name] for f in facts]
        out[name] = _column(values, kind)
    return out


def _column(values: list[object], kind: str) -> pd.Series:
    """One fact column in the evaluator's representation (``frame_columns``)."""
    if kind == "boolean":
        return pd.Series(values, dtype=bool)
    if kind == "decimal":
        fen = [None if v is None else int(Decimal(str(v)).scaleb(DECIMAL_SCALE).quantize(Decimal(1), ROUND_HALF_UP))
               for v in values]
        return pd.Series(fen, dtype="Int64" if None in fen else "int64")
    return pd.Series(values, dtype="int64")
