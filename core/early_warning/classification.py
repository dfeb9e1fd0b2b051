"""The nightly five-tier classification (五级分类), set-wise, county bank by county bank.

The promises:

* Each county bank is classified in its own transaction, from its columnar ledger of the date
  (``core.jobs.ledger.ledger_frame``) plus one query for the loans' borrower kind, identity number
  and restructuring date (with the first two due dates after the restructuring) and the current
  ``LoanClass`` rows; the rules (``classify_domain.classify_frame``) run over the whole frame at once.
* ``LoanClass`` is written in bulk (only rows that differ are updated); a ``LoanClassChange`` is
  appended only for a loan whose tier changed (actor ``system:classification``); ``NplRatio`` rows
  are replaced for the date, one per branch and one per county bank (loans, outstanding,
  non-performing outstanding, and per tier [loans, outstanding fen]).
* Idempotent per date: running it twice for the same date changes nothing.
* The report gives per bank the loans by tier, the changes and the NPL ratio (a Decimal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.collateral.scan import county_banks
from nongxin.core.credit.models import Installment, Loan
from nongxin.core.db import UnitOfWork, from_fen, rows_frame
from nongxin.core.early_warning.classify_domain import classify_frame
from nongxin.core.early_warning.domain import NON_PERFORMING, TIERS
from nongxin.core.early_warning.models import LoanClass, LoanClassChange, NplRatio
from nongxin.core.errors import invalid
from nongxin.core.institutions.models import Institution
from nongxin.core.jobs.ledger import ledger_frame

__all__ = ["ACTOR", "BankClasses", "ClassifyReport", "bank_lock", "classify", "npl_ratio"]

ACTOR = "system:classification"
#: The first key of the advisory lock a bank's classification and its manual classes share.
LOCK_SPACE = 13_0003
Progress = Callable[[str, int], None]  # (county bank code, loans in it), after each bank


@dataclass
class BankClasses:
    county_bank: str
    loans: int
    by_tier: dict[str, int]
    changes: int
    outstanding: Decimal
    npl_outstanding: Decimal

    @property
    def npl_ratio(self) -> Decimal:
        return npl_ratio(self.npl_outstanding, self.outstanding)


@dataclass
class ClassifyReport:
    as_of: date
    banks: list[BankClasses] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(),
                "banks": [{"county_bank": b.county_bank, "loans": b.loans, "by_tier": b.by_tier, "changes": b.changes,
                           "outstanding": format(b.outstanding, "f"), "npl_outstanding": format(b.npl_outstanding, "f"),
                           "npl_ratio": format(b.npl_ratio, "f")} for b in self.banks]}


def npl_ratio(npl: Decimal, outstanding: Decimal) -> Decimal:
    """Non-performing over outstanding, six decimals, half up; 0 with nothing outstanding."""
    if not outstanding:
        return Decimal("0.000000")
    return (npl / outstanding).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def classify(runtime: Any, as_of: date | None = None, institution: str | None = None,
             progress: Progress | None = None) -> ClassifyReport:
    """Classify every loan of every county bank (or of those of ``institution``, a code) as of
    ``as_of`` (default: the business date); one transaction per bank."""
    today = runtime.clock.business_date()
    on = as_of or today
    with UnitOfWork(runtime.sessions, write=False) as unit:
        top = None
        if institution is not None:
            top = unit.session.execute(sa.select(Institution).where(Institution.code == institution)) \
                .scalar_one_or_none()
            if top is None:
                raise invalid("institution", f"no institution has the code {institution!r}")
        banks = [(b.id, b.code) for b in county_banks(unit.session, top)]
    report = ClassifyReport(on)
    for bank_id, code in banks:
        ledger = ledger_frame(runtime.engine, on, county_banks=[code], business_date=today)
        with UnitOfWork(runtime.sessions) as unit:
            report.banks.append(_classify_bank(unit.session, bank_id, code, ledger, on))
            unit.commit()
        if progress is not None:
            progress(code, len(ledger))
    return report


def _inputs(session: Session, bank_id: int, ledger: pd.DataFrame) -> pd.DataFrame:
    loans = rows_frame(session.execute(
        sa.select(Loan.id.label("loan_id"), Loan.borrower_kind, Loan.borrower_id_number.label("id_number"),
                  Loan.restructured_on, Loan.schedule_version).where(Loan.county_bank_id == bank_id)).all(),
        columns=["loan_id", "borrower_kind", "id_number", "restructured_on", "schedule_version"])
    dues = rows_frame(session.execute(
        sa.select(Installment.loan_id, Installment.due_on)
        .join(Loan, sa.and_(Loan.id == Installment.loan_id, Installment.version == Loan.schedule_version))
        .where(Loan.county_bank_id == bank_id, Loan.restructured_on.is_not(None),
               Installment.due_on > Loan.restructured_on)).all(), columns=["loan_id", "due_on"])
    dues = dues.sort_values(["loan_id", "due_on"])
    nth = dues.groupby("loan_id").cumcount()
    first = dues[nth == 0].set_index("loan_id")["due_on"].rename("first_due")
    second = dues[nth == 1].set_index("loan_id")["due_on"].rename("second_due")
    classes = rows_frame(session.execute(
        sa.select(LoanClass.loan_id, LoanClass.tier.label("prev_tier"), LoanClass.floor.label("prev_floor"),
                  LoanClass.reason.label("prev_reason"), LoanClass.since.label("prev_since"),
                  LoanClass.clean_since, LoanClass.observation_until, LoanClass.manual_tier, LoanClass.manual_floor,
                  LoanClass.as_of.label("prev_as_of"), LoanClass.institution_id.label("prev_institution"))
        .where(LoanClass.county_bank_id == bank_id)).all(),
        columns=["loan_id", "prev_tier", "prev_floor", "prev_reason", "prev_since", "clean_since",
                 "observation_until", "manual_tier", "manual_floor", "prev_as_of", "prev_institution"])
    frame = pd.DataFrame({"loan_id": ledger["loan_id"].to_numpy(dtype="int64"),
                          "branch": ledger["branch"].astype("object").to_numpy(),
                          "outstanding_fen": ledger["outstanding_fen"].to_numpy(dtype="int64"),
                          "overdue_days": ledger["overdue_days"].to_numpy(dtype="int64")})
    frame = frame.merge(loans, on="loan_id", how="left").merge(classes, on="loan_id", how="left")
    frame = frame.merge(first, left_on="loan_id", right_index=True, how="left")
    frame = frame.merge(second, left_on="loan_id", right_index=True, how="left")
    return frame.astype({c: object for c in frame.columns if c not in ("loan_id", "outstanding_fen", "overdue_days")})


def _none(value: Any) -> Any:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def bank_lock(session: Session, bank_id: int) -> None:
    """Serialize the classification of one county bank with manual classes there (PostgreSQL: a
    transaction advisory lock; SQLite's writers are serialized already), so neither overwrites
    the other's ``LoanClass`` rows with what it read before the other committed."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:space, :bank)"), {"space": LOCK_SPACE, "bank": bank_id})


def _differs(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise "not the same value", where two missing values are the same."""
    a_na, b_na = a.isna().to_numpy(), b.isna().to_numpy()
    ne = np.asarray(a.to_numpy(dtype=object) != b.to_numpy(dtype=object), dtype=bool)
    return (ne & ~(a_na | b_na)) | (a_na ^ b_na)


def _classify_bank(session: Session, bank_id: int, code: str, ledger: pd.DataFrame, on: date) -> BankClasses:
    bank_lock(session, bank_id)
    frame = _inputs(session, bank_id, ledger)
    # the last date classified: the bank's own NPL ratio row is written by every classification
    latest = session.execute(sa.select(sa.func.max(NplRatio.business_date)).where(
        NplRatio.institution_id == bank_id)).scalar()
    if latest is not None and latest > on:
        raise invalid("as_of", f"{code} is classified through {latest.isoformat()}; a classification of "
                               f"{on.isoformat()} would rewind its loans' state")
    branch_ids: dict[str, int] = {c: i for c, i in session.execute(sa.select(Institution.code, Institution.id))}
    result = classify_frame(frame, on) if len(frame) else pd.DataFrame(
        columns=["loan_id", "floor", "tier", "reason", "clean_since", "observation_until", "manual_tier",
                 "manual_floor"])
    merged = frame.merge(result, on="loan_id", suffixes=("_in", ""))
    merged["reason"] = merged["reason"].astype(str).str.slice(0, 200)
    merged["institution_id"] = merged["branch"].map(branch_ids)
    is_new = merged["prev_tier"].isna().to_numpy()
    moved = _differs(merged["tier"], merged["prev_tier"])
    changed = merged[is_new | moved]
    since = merged["prev_since"].to_numpy(dtype=object).copy()
    since[is_new | moved] = on
    merged["since"] = since
    # a row is written only when its state differs (a quiet night writes nothing but the NPL ratios)
    state = is_new.copy()
    for new, old in (("tier", "prev_tier"), ("floor", "prev_floor"), ("reason", "prev_reason"),
                     ("clean_since", "clean_since_in"), ("observation_until", "observation_until_in"),
                     ("manual_tier", "manual_tier_in"), ("manual_floor", "manual_floor_in"),
                     ("institution_id", "prev_institution")):
        state |= _differs(merged[new], merged[old])
    rows = [{"loan_id": int(r.loan_id), "county_bank_id": bank_id, "institution_id": int(r.institution_id),
             "tier": r.tier, "floor": r.floor, "reason": r.reason, "since": r.since,
             "clean_since": _none(r.clean_since), "observation_until": _none(r.observation_until),
             "manual_tier": _none(r.manual_tier), "manual_floor": _none(r.manual_floor), "as_of": on}
            for r in merged[state].itertuples(index=False)]
    fresh = set(merged.loc[is_new, "loan_id"].tolist())
    inserts = [row for row in rows if row["loan_id"] in fresh]
    updates = [row for row in rows if row["loan_id"] not in fresh]
    if inserts:
        session.execute(sa.insert(LoanClass), inserts)
    if updates:
        session.execute(sa.update(LoanClass), updates)
    if len(changed):
        session.execute(sa.insert(LoanClassChange), [
            {"loan_id": int(r.loan_id), "county_bank_id": bank_id, "business_date": on,
             "from_tier": _none(r.prev_tier), "to_tier": r.tier, "reason": str(r.reason)[:200], "actor": ACTOR}
            for r in changed.itertuples(index=False)])
    return _write_npl(session, bank_id, code, merged, branch_ids, on, len(changed))


def _write_npl(session: Session, bank_id: int, code: str, merged: pd.DataFrame, branch_ids: dict[str, int],
               on: date, changes: int) -> BankClasses:
    figures = pd.DataFrame({"branch": merged["branch"].astype(object), "tier": merged["tier"].astype(object),
                            "fen": merged["outstanding_fen"].astype("int64")})
    figures["npl"] = figures["fen"].where(figures["tier"].isin(NON_PERFORMING), 0)

    def row(institution_id: int, part: pd.DataFrame) -> dict[str, Any]:
        tiers = part.groupby("tier")["fen"].agg(["count", "sum"])
        by_tier = {t: [int(tiers.loc[t, "count"]), int(tiers.loc[t, "sum"])] for t in TIERS if t in tiers.index}
        return {"business_date": on, "institution_id": institution_id, "county_bank_id": bank_id,
                "loans": len(part), "outstanding": from_fen(int(part["fen"].sum())),
                "npl_outstanding": from_fen(int(part["npl"].sum())), "by_tier": by_tier}

    rows = [row(bank_id, figures)]
    rows += [row(branch_ids[b], part) for b, part in figures.groupby("branch") if branch_ids[b] != bank_id]
    session.execute(sa.delete(NplRatio).where(NplRatio.business_date == on, NplRatio.county_bank_id == bank_id))
    session.add_all([NplRatio(**r) for r in rows])
    top = rows[0]
    return BankClasses(code, top["loans"], {t: v[0] for t, v in top["by_tier"].items()}, changes,
                       top["outstanding"], top["npl_outstanding"])
