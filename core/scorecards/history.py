"""A county bank's own history as a data set to fit a segment scorecard on (``nongxin scorecard fit``).

The promises:

* ``export(uow, principal, institution, segment, out, ...)``: one row per decided application of
  ``segment`` (the segment the decision recorded) decided at or below ``institution`` (404 outside
  the caller's subtree, then ``scorecard.read``), decided on or after ``since``, with the facts its
  decision stored, and ``target`` = 1 bad, 0 good from ``outcomes.outcomes`` as of the business
  date; rows whose outcome is unknown are left out and counted in the summary.
* Only admission facts (``nongxin.sdk.facts.ADMISSION``) become columns, named as the fact: never
  an identity number, a name or a phone number (connector fields and anything else the record
  kept are not exported). Columns follow ``ADMISSION``'s order, then ``target``.
* Decimal facts the fit reads to the fen (``data.scale_of``: money, and land in mu): Decimal with
  2 places, as text in CSV and as decimal128(18, 2) in Parquet (an integer column would read back
  as yuan: ``nongxin scorecard fit`` takes a cell as the operator sees it). Rates and ratios are
  exact: text in CSV, decimal128 in Parquet. Booleans are ``true``/``false`` in CSV (as a scorecard's value bins read them). Nothing
  passes through a float.
* The file is written whole to a temporary name beside ``out`` and renamed: never half-written.
  The export is audited (who, which bank and segment, how many rows; no data).
"""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa

from nongxin.core.audit.services import record as audit
from nongxin.core.auth import Principal
from nongxin.core.credit.models import Application, Decision
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import invalid
from nongxin.core.scorecards.compare import scope
from nongxin.core.scorecards.data import SCALE, scale_of
from nongxin.core.scorecards.outcomes import DEFAULT_MIN_MONTHS, outcomes
from nongxin.core.scoping import in_subtree
from nongxin.sdk.facts import ADMISSION

__all__ = ["FORMATS", "MONEY_FACTS", "TARGET", "Exported", "columns", "export"]

TARGET = "target"
FORMATS = ("csv", "parquet")
#: Decimal admission facts read to the fen by ``nongxin scorecard fit`` (``data.scale_of``: money,
#: and land in mu): exported with 2 places. The rates and ratios it reads finer go out exactly.
MONEY_FACTS = frozenset(k for k, f in ADMISSION.items() if f.type.value == "decimal" and scale_of(k) == SCALE)
FEN = Decimal("0.01")


@dataclass
class Exported:
    path: str
    format: str
    rows: int
    bads: int
    goods: int
    unknown: int
    columns: list[str]


def _format(out: Path) -> str:
    kind = out.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise invalid("out", "must end in .csv or .parquet")
    return kind


def columns(fact_rows: Iterable[dict[str, Any]]) -> list[str]:
    """The admission facts any row holds, in ``ADMISSION``'s order."""
    seen: set[str] = set()
    for facts in fact_rows:
        seen.update(facts)
    return [name for name in ADMISSION.keys() if name in seen]


def _types() -> dict[str, str]:
    return {k: f.type.value for k, f in ADMISSION.items()}


def _text(name: str, kind: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if name in MONEY_FACTS:
        return str(Decimal(str(value)).quantize(FEN))
    if kind == "boolean":
        return "true" if value in (True, "true", "True", 1) else "false"
    return str(value)


def _write_csv(path: str, cols: list[str], rows: list[tuple[dict[str, Any], int]]) -> None:
    kinds = _types()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*cols, TARGET])
        for facts, target in rows:
            writer.writerow([*(_text(c, kinds[c], facts.get(c)) for c in cols), target])


def _yuan(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value)).quantize(FEN)


def _write_parquet(path: str, cols: list[str], rows: list[tuple[dict[str, Any], int]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = _types()
    arrays: dict[str, Any] = {}
    for c in cols:
        values = [facts.get(c) for facts, _ in rows]
        if c in MONEY_FACTS:
            arrays[c] = pa.array([_yuan(v) for v in values], pa.decimal128(18, 2))
        elif kinds[c] == "decimal":
            arrays[c] = pa.array([None if v in (None, "") else Decimal(str(v)) for v in values], pa.decimal128(24, 6))
        elif kinds[c] == "integer":
            arrays[c] = pa.array([None if v in (None, "") else int(v) for v in values], pa.int64())
        elif kinds[c] == "boolean":
            arrays[c] = pa.array([None if v is None else v in (True, "true", "True", 1) for v in values], pa.bool_())
        else:
            arrays[c] = pa.array([None if v is None else str(v) for v in values], pa.string())
    arrays[TARGET] = pa.array([t for _, t in rows], pa.int8())
    pq.write_table(pa.table(arrays), path)


def export(uow: UnitOfWork, principal: Principal, institution: str, segment: str, out: Path, *, today: date,
           since: date | None = None, min_months: int = DEFAULT_MIN_MONTHS) -> Exported:
    kind = _format(out)
    inst = scope(uow, principal, institution)
    d = Decision
    stmt = in_subtree(sa.select(d.application_id, d.record[("facts",)], d.business_date).join(
        Application, Application.id == d.application_id), Application.institution_id, inst.path)
    stmt = stmt.where(d.record[("application", "segment")].as_string() == segment)
    if since is not None:
        stmt = stmt.where(d.business_date >= since)
    found = uow.session.execute(stmt.order_by(d.business_date, d.application_id)).all()
    known = outcomes(uow.session, [r[0] for r in found], today, min_months)
    rows = [(dict(r[1] or {}), known.known[r[0]]) for r in found if r[0] in known.known]
    cols = columns(facts for facts, _ in rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=str(out.parent))
    os.close(fd)
    try:
        (_write_csv if kind == "csv" else _write_parquet)(tmp, cols, rows)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    done = Exported(str(out), kind, len(rows), known.bads, known.goods, known.unknown, [*cols, TARGET])
    audit(uow.session, actor=principal.username, action="scorecard.history", target=f"{inst.code}/{segment}",
          institution_code=inst.code, after={"rows": done.rows, "bads": done.bads, "goods": done.goods,
                                             "unknown": done.unknown, "format": kind, "since": since})
    uow.commit()
    return done
