"""The post-loan facts frame: one row per loan of a county bank as of a business date, with every
``POST_LOAN`` fact (``sdk/facts.py``) as a column, built set-wise.

The promise: ``post_loan_frame(session, engine, bank, as_of, business_date)`` reads the columnar
ledger of ``as_of`` (``jobs.ledger.ledger_frame``: the day close's snapshot, or the live books when
``as_of`` is the current business date; else ``NotFound`` ``no_snapshot`` naming ``as_of``) and
joins, with pandas merges and no per-loan Python loop:

* a handful of loan columns read in one query (borrower kind and identity number, credit line,
  restructuring date, manager and branch ids);
* the current five-tier class (``loan_classes``; "normal" when never classified);
* the current value of the collateral pledged to the loan's credit line (``collateral.positions``,
  valid valuations only, summed per line; 0 without a line or pledge);
* the court-list facts (``feeds.court_facts``: False when not listed) and whatever ``bureau_*``
  facts ``feeds.bureau_facts`` returns (absent = unknown, so a rule on them does not fire).

Money is int64 fen, dates datetime64, never float. Besides the facts the frame carries
``loan_id``, ``loan_no``, ``manager_id`` and ``institution_id`` (the branch) for the writer.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from nongxin.core.collateral import positions
from nongxin.core.credit.models import Loan
from nongxin.core.early_warning import feeds
from nongxin.core.early_warning.models import LoanClass
from nongxin.core.db import rows_frame
from nongxin.core.institutions.models import Institution
from nongxin.core.jobs.ledger import ledger_frame

__all__ = ["WRITER_COLUMNS", "fact_json", "post_loan_frame"]

#: Columns the writer needs beside the facts.
WRITER_COLUMNS = ("loan_id", "loan_no", "manager_id", "institution_id", "id_number")

_KINDS = {"resident_id": "individual", "uscc": "enterprise"}


def fact_json(value: Any, *, money: bool) -> Any:
    """One frame value as a JSON fact: money (int fen) as a yuan string, dates ISO, numpy scalars
    as Python, missing as None: what a warning or a suspicious record keeps of what a rule read."""
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return None
    if money:
        return format(Decimal(int(value)).scaleb(-2), "f")
    if isinstance(value, (pd.Timestamp, date)):
        return (value.date() if isinstance(value, pd.Timestamp) else value).isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value.item() if hasattr(value, "item") else value


def _int64(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=np.int64)


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series.astype(object)).astype("datetime64[ns]")


def post_loan_frame(session: Session, engine: Engine, bank: Institution, as_of: date,
                    business_date: date | None, *, ledger: pd.DataFrame | None = None) -> pd.DataFrame:
    """The bank's post-loan facts frame of ``as_of`` (module docstring), sorted by loan id.
    ``ledger``: the bank's ledger frame when the caller read it already (on SQLite the scan reads
    it before beginning its write transaction: ``jobs.ledger.fetch_arrow``)."""
    if ledger is None:
        ledger = ledger_frame(engine, as_of, county_banks=[bank.code], business_date=business_date)
    n = len(ledger)
    as_of_ts = pd.Timestamp(as_of)
    frame = pd.DataFrame({
        "loan_id": _int64(ledger["loan_id"]),
        "loan_no": ledger["loan_no"].astype(object).to_numpy(),
        "outstanding": _int64(ledger["outstanding_fen"]),
        "principal": _int64(ledger["principal_fen"]),
        "overdue_principal": _int64(ledger["overdue_principal_fen"]),
        "overdue_interest": _int64(ledger["overdue_interest_fen"]),
        "overdue_days": _int64(ledger["overdue_days"]),
        "maturity_on": _dates(ledger["maturity_on"]).to_numpy(),
        "as_of": np.full(n, as_of_ts.to_datetime64(), dtype="datetime64[ns]"),
        "product_code": ledger["product"].astype(object).to_numpy(),
        "repayment_method": ledger["repayment_method"].astype(object).to_numpy(),
        "branch": ledger["branch"].astype(object).to_numpy(),
    })
    frame["overdue_amount"] = frame["overdue_principal"] + frame["overdue_interest"]
    frame["days_to_maturity"] = (frame["maturity_on"] - as_of_ts).dt.days.astype("Int64")

    rows = session.execute(sa.select(
        Loan.id, Loan.borrower_kind, Loan.borrower_id_number, Loan.credit_line_id, Loan.restructured_on,
        Loan.manager_id, Loan.institution_id).where(Loan.county_bank_id == bank.id)).all()
    loans = rows_frame(rows, columns=["loan_id", "borrower_kind", "id_number", "line_id", "restructured_on",
                                        "manager_id", "institution_id"])
    loans["loan_id"] = loans["loan_id"].astype(np.int64)
    frame = frame.merge(loans, on="loan_id", how="left")
    frame["customer_kind"] = frame["borrower_kind"].map(_KINDS).astype(object)
    frame["restructured"] = frame["restructured_on"].notna().to_numpy(dtype=bool)
    frame["manager_id"] = frame["manager_id"].astype("Int64")
    frame["institution_id"] = frame["institution_id"].astype(np.int64)

    classes = rows_frame(session.execute(sa.select(LoanClass.loan_id, LoanClass.tier).where(
        LoanClass.county_bank_id == bank.id)).all(), columns=["loan_id", "five_tier"])
    classes["loan_id"] = classes["loan_id"].astype(np.int64)
    frame = frame.merge(classes, on="loan_id", how="left")
    frame["five_tier"] = frame["five_tier"].fillna("normal").astype(object)

    pledged = positions.positions(session, [bank], as_of)
    cover = (pledged.groupby("line_id")["value_fen"].sum().rename("collateral_value").reset_index()
             if len(pledged) else pd.DataFrame({"line_id": pd.Series([], dtype=np.int64),
                                                "collateral_value": pd.Series([], dtype=np.int64)}))
    cover["line_id"] = cover["line_id"].astype("Int64")
    frame["line_id"] = frame["line_id"].astype("Int64")
    frame = frame.merge(cover, on="line_id", how="left")
    frame["collateral_value"] = frame["collateral_value"].fillna(0).to_numpy(dtype=np.int64)

    court = feeds.court_facts(session, bank.id, as_of)
    frame = frame.merge(court, on="id_number", how="left")
    for fact in feeds.COURT_FACTS.values():
        frame[fact] = frame[fact].fillna(False).to_numpy(dtype=bool)

    bureau = feeds.bureau_facts(session, bank.id, as_of)
    frame = frame.merge(bureau.drop_duplicates("id_number"), on="id_number", how="left")
    for name in bureau.columns.drop("id_number"):  # a left merge turns int64 fen into float64: never for money
        kind = bureau[name].dtype.kind
        if kind in "iu" or str(bureau[name].dtype) == "Int64":
            frame[name] = frame[name].astype("Int64")
        elif kind == "b":
            frame[name] = frame[name].astype("boolean")
    return frame.drop(columns=["borrower_kind", "restructured_on"]).sort_values(
        "loan_id", kind="stable", ignore_index=True)
