"""The day's post-loan facts, kept for backtests.

The promise: ``keep(settings, night)`` writes the post-loan facts frame the nightly scan judged for
one county bank on one business date to ``<data_dir>/facts/post_loan/<as_of>/<BANK>.parquet``:

* without personal data: ``id_number`` is dropped; the file keeps ``loan_id``, ``loan_no``,
  ``institution_id`` (the branch), ``manager_id`` and every ``POST_LOAN`` fact the frame carries;
* money stays int64 fen (the frame's own columns, never float), dates datetime64;
* atomically: a temporary file in the same folder renamed over the old one, so a reader sees the
  previous file or the new one, never half of one (a scan run twice for a date rewrites it);
* the last ``KEEP_DAYS`` days only: date folders older than that before ``as_of`` are removed.

``read(settings, stage, as_of, banks, columns)`` reads back only ``columns`` (those the files hold)
of the banks' files of ``as_of``, or None when one of the banks has no file for that date (the
caller then builds the facts from the ledger).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from nongxin.sdk.facts import POST_LOAN

if TYPE_CHECKING:
    from nongxin.core.rules.nightly import BankNight

__all__ = ["KEEP_DAYS", "KEPT_COLUMNS", "keep", "lookup", "path_of", "read"]

#: How many days of facts stay on disk.
KEEP_DAYS = 40

#: The columns kept beside the facts (never ``id_number``).
KEPT_COLUMNS = ("loan_id", "loan_no", "institution_id", "manager_id")


def _root(settings: Any, stage: str) -> Path:
    return Path(settings.data_dir) / "facts" / stage


def path_of(settings: Any, stage: str, as_of: date, bank: str) -> Path:
    """Where the facts of ``bank`` on ``as_of`` are kept."""
    return _root(settings, stage) / as_of.isoformat() / f"{bank}.parquet"


def _prune(root: Path, as_of: date) -> None:
    oldest = as_of - timedelta(days=KEEP_DAYS)
    for folder in root.iterdir():
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue  # not ours
        if day < oldest:
            shutil.rmtree(folder, ignore_errors=True)


def keep(settings: Any, night: "BankNight") -> None:
    """Write ``night.loans`` without personal data where backtests read it (module docstring)."""
    columns = [c for c in (*KEPT_COLUMNS, *POST_LOAN) if c in night.loans.columns]
    target = path_of(settings, "post_loan", night.as_of, night.bank.code)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{night.bank.code}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        night.loans[columns].reset_index(drop=True).to_parquet(temp, engine="pyarrow", index=False)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _prune(target.parent.parent, night.as_of)


def read(settings: Any, stage: str, as_of: date, banks: Sequence[str], columns: Sequence[str]) -> pd.DataFrame | None:
    """The banks' kept facts of ``as_of``, only ``columns`` (module docstring); None when a bank has none."""
    paths = [path_of(settings, stage, as_of, bank) for bank in banks]
    if not all(p.is_file() for p in paths):
        return None
    parts = []
    for p in paths:
        held = set(pq.read_schema(p).names)
        parts.append(pd.read_parquet(p, engine="pyarrow", columns=[c for c in columns if c in held]))
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts, ignore_index=True)


def lookup(settings: Any, stage: str, as_of: date, bank: str, key: str, column: str,
           keys: Sequence[int]) -> dict[int, Any]:
    """``column`` of the rows of one bank's kept facts whose ``key`` is in ``keys``."""
    table = pq.read_table(path_of(settings, stage, as_of, bank), columns=[key, column])
    picked = table.filter(pc.is_in(table.column(key), value_set=pa.array(list(keys), type=table.schema.field(key).type)))
    return dict(zip(picked.column(key).to_pylist(), picked.column(column).to_pylist()))
