"""The nightly shortfall scan: the ``collateral`` stage rules run vectorized over every pledged
position, county bank by county bank.

The promises:

* Each county bank's positions (``positions.positions``) are judged by the ``collateral`` rule
  book in force there on the day (``runtime.rulebooks``), evaluated over the frame at once
  (``CompiledRuleSet.evaluate_frame``). Each hit names the position, the rule (code, version),
  its colour (yellow / orange / red) and the facts the rule read.
* A bank whose rule book is unusable (a failing rules plugin, a rule that does not compile) is
  reported among the failures and gives no hits (fail closed); its shortfalls are still listed,
  from the figures alone.
* ``inspect`` only reads. ``scan`` also freezes, where the county setting
  ``collateral.shortfall_freezes_line`` is true at a line's county bank, every **active** line in
  shortfall: the same state move as ``lines.change_status`` (allowed transitions, audited), by
  actor ``system:collateral-scan``. A frozen line is left alone, so running the scan twice changes
  nothing.
* The report is structured (hits, shortfalls, frozen, failures per bank) so the early-warning
  module can turn hits into warnings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Iterable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.audit.services import record
from nongxin.core.collateral import positions as frames
from nongxin.core.credit.models import LINE_TRANSITIONS, CreditLine, CreditLineStatus
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution, Level
from nongxin.core.parameters.services import value as parameter
from nongxin.core.rules.books import RuleBooks

__all__ = ["ACTOR", "Failure", "Frozen", "RuleHit", "ScanReport", "Shortfall", "county_banks", "inspect", "scan"]

ACTOR = "system:collateral-scan"
FREEZES = "collateral.shortfall_freezes_line"
Progress = Callable[[str, int], None]  # (county bank code, positions in it), after each bank


@dataclass(frozen=True)
class RuleHit:
    """One rule true of one pledged position."""

    county_bank: str
    pledge_id: int
    item_number: str
    kind: str
    line_number: str
    rule_code: str
    rule_version: int
    colour: str
    reason: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class Shortfall:
    """A line whose exposure is above the limit of its collateral."""

    county_bank: str
    line_id: int
    line_number: str
    customer_name: str
    exposure: Decimal
    eligible: Decimal
    limit: Decimal
    ltv: Decimal | None
    ltv_limit: Decimal | None
    shortfall: Decimal


@dataclass(frozen=True)
class Frozen:
    county_bank: str
    line_number: str
    shortfall: Decimal


@dataclass(frozen=True)
class Failure:
    """Why a bank's rules were not applied (its shortfalls are still listed)."""

    county_bank: str
    problem: str


@dataclass
class ScanReport:
    as_of: date
    banks: list[str] = field(default_factory=list)
    positions: int = 0
    hits: list[RuleHit] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)
    frozen: list[Frozen] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: Each bank's positions frame as judged (county bank code -> frame); not part of ``as_dict``.
    frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            if isinstance(v, Decimal):
                return format(v, "f")
            if isinstance(v, date):
                return v.isoformat()
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            return v

        return {"as_of": self.as_of.isoformat(), "banks": self.banks, "positions": self.positions,
                **{name: [{k: plain(v) for k, v in dataclasses.asdict(row).items()} for row in getattr(self, name)]
                   for name in ("hits", "shortfalls", "frozen", "failures")}}


def county_banks(session: Session, institution: Institution | None = None) -> list[Institution]:
    """The county banks whose data ``institution`` sees (all of them without one): those in its
    subtree, or its own county bank when it lies below one."""
    if institution is None:
        return list(session.execute(sa.select(Institution).where(Institution.level == Level.COUNTY)
                                    .order_by(Institution.code)).scalars())
    below = list(session.execute(sa.select(Institution).where(
        Institution.level == Level.COUNTY, Institution.path.startswith(institution.path, autoescape=True))
        .order_by(Institution.code)).scalars())
    if below:
        return below
    own = institutions.county_bank_of(session, institution)
    return [own] if own is not None else []


def _fact(frame: pd.DataFrame, row: int, name: str) -> Any:
    v = frame[name].iloc[row]
    if pd.isna(v):
        return None
    if name in {"value", "secured_outstanding", "eligible_value", "shortfall"}:
        return Decimal(int(v)).scaleb(-2)
    if isinstance(v, pd.Timestamp):
        return v.date()
    return v.item() if hasattr(v, "item") else v


def _yuan(fen: Any) -> Decimal:
    return Decimal(int(fen)).scaleb(-2)


def _rate(micro: Any) -> Decimal | None:
    return None if int(micro) < 0 else Decimal(int(micro)) / frames.MICRO


def _judge(session: Session, books: RuleBooks, bank: Institution, on: date, frame: pd.DataFrame,
           report: ScanReport) -> None:
    book = books.get(session, bank, "collateral", on)
    if not book.usable or book.compiled is None:
        problem = book.problem
        report.failures.append(Failure(bank.code, f"the collateral rule book is unusable: {problem}"))
    elif len(frame) and book.rules:
        result = book.compiled.evaluate_frame(frame.reset_index(drop=True))
        rules = {r.code: r for r in book.rules}
        reads = book.compiled.reads
        for row, code, colour in zip(result.hits["row"], result.hits["rule_code"], result.hits["outcome"]):
            rule = rules[str(code)]
            report.hits.append(RuleHit(
                bank.code, int(frame["pledge_id"].iloc[row]), str(frame["item_number"].iloc[row]),
                str(frame["kind"].iloc[row]), str(frame["line_number"].iloc[row]), rule.code, rule.version,
                str(colour), rule.reason, {name: _fact(frame, int(row), name) for name in reads[rule.code]}))
    short = frame[frame["shortfall_fen"] > 0].drop_duplicates("line_id")
    for r in short.itertuples():
        report.shortfalls.append(Shortfall(bank.code, int(r.line_id), str(r.line_number), str(r.customer_name),
                                           _yuan(r.exposure_fen), _yuan(r.eligible_fen), _yuan(r.limit_fen),
                                           _rate(r.ltv_micro), _rate(r.ltv_limit_micro), _yuan(r.shortfall_fen)))


def inspect(session: Session, books: RuleBooks, banks: Iterable[Institution], on: date, *,
            progress: Progress | None = None, within: str | None = None) -> ScanReport:
    """The scan's findings for ``banks`` on ``on``, writing nothing. ``within`` (a materialized
    institution path) keeps only the lines filed under it (a branch sees its own lines)."""
    report = ScanReport(on)
    for bank in banks:
        frame = frames.positions(session, [bank], on)
        if within is not None and len(frame):
            paths = {code: path for code, path in session.execute(sa.select(Institution.code, Institution.path)
                                                                  .where(Institution.code.in_(set(frame["institution"]))))}
            frame = frame[frame["institution"].map(paths).str.startswith(within)]
        report.banks.append(bank.code)
        report.frames[bank.code] = frame
        report.positions += len(frame)
        _judge(session, books, bank, on, frame, report)
        if progress is not None:
            progress(bank.code, len(frame))
    return report


def _freeze(uow: UnitOfWork, bank: Institution, line_id: int, shortfall: Decimal) -> CreditLine | None:
    """The state move of ``lines.change_status`` to frozen, by the scan; None when the line is not
    active (already frozen, expired or closed: left alone)."""
    session = uow.session
    line = session.execute(sa.select(CreditLine).where(CreditLine.id == line_id).with_for_update()).scalar_one()
    if line.status is not CreditLineStatus.ACTIVE or CreditLineStatus.FROZEN not in LINE_TRANSITIONS[line.status]:
        return None
    line.status = CreditLineStatus.FROZEN
    record(session, actor=ACTOR, action="credit_line.freeze", target=f"credit_line:{line.number}",
           institution_code=bank.code, before={"status": CreditLineStatus.ACTIVE.value},
           after={"status": CreditLineStatus.FROZEN.value,
                  "reason": f"collateral shortfall of {shortfall} yuan"})
    uow.flush()
    return line


def scan(runtime: Any, as_of: date | None = None, institution: str | None = None,
         progress: Progress | None = None) -> ScanReport:
    """The nightly scan (module docstring): findings for every county bank (or those of
    ``institution``, a code), then the freezes the county setting asks for, in one transaction."""
    on = as_of or runtime.clock.business_date()
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        top = None
        if institution is not None:
            top = session.execute(sa.select(Institution).where(Institution.code == institution)).scalar_one_or_none()
            if top is None:
                raise invalid("institution", f"no institution has the code {institution!r}")
        banks = county_banks(session, top)
        report = inspect(session, runtime.rulebooks, banks, on, progress=progress)
        by_code = {b.code: b for b in banks}
        for short in report.shortfalls:
            bank = by_code[short.county_bank]
            if parameter(session, bank, FREEZES, on) and _freeze(uow, bank, short.line_id, short.shortfall):
                report.frozen.append(Frozen(bank.code, short.line_number, short.shortfall))
        uow.commit()
    return report
