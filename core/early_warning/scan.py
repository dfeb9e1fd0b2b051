"""The nightly post-loan scan: every county bank's loans judged by its post-loan rule book, and its
pledged positions by its collateral rule book; each hit a warning, each new or reopened warning a
task with a working-day deadline.

The promises:

* Each county bank is scanned in its **own** transaction (a failure in one never undoes another),
  holding its institution row locked (``FOR UPDATE``; SQLite's write lock) so two scans of one bank
  wait for each other rather than collide.
* A bank whose post-loan rule book is unusable is reported as a failure and nothing of it is
  written or changed (fail closed). Its collateral stage failures are reported likewise.
* Warnings are written set-wise: a hit with no warning for (subject, rule) inserts one (open,
  first_seen = last_seen = ``as_of``, the facts the rule read, decimals as yuan strings); a hit on
  an open warning moves ``last_seen`` forward; a hit on a closed warning reopens it only when
  ``as_of`` is after its ``closed_on``. Running the scan twice on one business date changes nothing.
* Each new or reopened warning opens a ``WarningTask`` for the customer manager, due in working
  days by colour (``services.due_dates``), with an "opened" ``TaskEvent`` by ``system:scan``.
* Then the bank's open tasks past their deadline escalate (``tasks.escalate``: the branch head,
  then the risk department), in the same transaction.
* One audit entry per bank and scan with the counts.
* After the bank's commit, ``nongxin_on_warning`` is sent for the new and reopened loan warnings,
  one event per loan, through the plugins enabled at the loan's branch (skip and log).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Generic, Iterator, Protocol, TypeVar, cast

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.after_commit import after_commit
from nongxin.core.audit.services import record
from nongxin.core.collateral import scan as collateral
from nongxin.core.credit.models import CreditLine
from nongxin.core.customers.models import Customer
from nongxin.core.collateral.models import Pledge
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning import services
from nongxin.core.early_warning.domain import COLOURS
from nongxin.core.early_warning.evaluate import BankRules, LocalRunner, Runner, compiled
from nongxin.core.early_warning.frames import fact_json, post_loan_frame
from nongxin.core.early_warning.tasks import escalate
from nongxin.core.early_warning.models import TaskEvent, Warning, WarningStatus, WarningTask
from nongxin.core.errors import NongxinError, invalid
from nongxin.core.institutions.models import Institution
from nongxin.core.jobs.ledger import ledger_frame
from nongxin.core.rules import nightly
from nongxin.sdk.facts import POST_LOAN
from nongxin.sdk.rules import FieldType, Rule
from nongxin.sdk.types import Event

__all__ = ["ACTOR", "BankScan", "BanksReport", "NightlyReport", "county_bank_ids", "each_bank", "scan", "write_warnings"]

ACTOR = "system:scan"
CHUNK = 1000
Progress = Callable[[str, int], None]  # (county bank code, loans in it), after each bank
log = logging.getLogger("nongxin.early_warning.scan")

#: Core tables: bulk inserts skip the ORM's per-row bookkeeping.
WARNINGS, TASKS, EVENTS = (cast(sa.Table, m.__table__) for m in (Warning, WarningTask, TaskEvent))
_DECIMALS = {name for name, f in POST_LOAN.items() if f.type is FieldType.DECIMAL}


@dataclass
class BankScan:
    county_bank: str
    loans: int = 0
    positions: int = 0
    hits: int = 0
    new: int = 0
    updated: int = 0
    reopened: int = 0
    tasks_opened: int = 0
    escalated: int = 0
    shadow_hits: int = 0  # hits of published shadow rules, stored apart (rules.shadow)
    suspicious: int = 0  # suspicious records of monitoring models (rules.monitoring)
    failures: list[str] = field(default_factory=list)


class BankResult(Protocol):
    """What a nightly job says of one county bank: a dataclass of counts and its ``failures``."""

    county_bank: str
    failures: list[str]


B = TypeVar("B", bound=BankResult)


@dataclass
class BanksReport(Generic[B]):
    """A nightly job's report: one result per county bank (the scan's, the annual review's)."""

    as_of: date
    banks: list[B] = field(default_factory=list)
    deadline_estimated: bool = False

    @property
    def failed(self) -> bool:
        return any(b.failures for b in self.banks)

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "deadline_estimated": self.deadline_estimated,
                "banks": [dataclasses.asdict(cast(Any, b)) for b in self.banks]}


@dataclass
class NightlyReport(BanksReport[BankScan]):
    """The post-loan scan's report."""


def _plain(name: str, v: Any) -> Any:
    return fact_json(v, money=name in _DECIMALS)


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def _loan_hits(frame: pd.DataFrame, hits: pd.DataFrame, rules: list[Rule]) -> pd.DataFrame:
    """The loan hits with everything a warning row needs (facts built per hit from the columns
    its rule read: a dict per hit is the JSON the row stores)."""
    if not len(hits):
        return pd.DataFrame()
    by_code = {r.code: r for r in rules}
    reads = compiled("post_loan", tuple(rules)).reads  # the set the scan evaluated (cached per process)
    rows = frame.set_index("loan_id").loc[hits["loan_id"].to_numpy()]
    facts: list[dict[str, Any]] = [{} for _ in range(len(hits))]
    for code, where in hits.groupby("rule_code").indices.items():  # column by column, per rule
        for name in reads[str(code)]:
            values = rows[name].to_numpy(dtype=object)[where]
            for i, v in zip(where, values):
                facts[i][name] = _plain(name, v)
    return pd.DataFrame({
        "subject_kind": "loan", "subject_id": hits["loan_id"].to_numpy(dtype=np.int64),
        "loan_id": hits["loan_id"].to_numpy(dtype=np.int64), "loan_no": rows["loan_no"].to_numpy(),
        "line_number": None, "stage": "post_loan", "rule_code": hits["rule_code"].to_numpy(),
        "rule_version": hits["rule_version"].to_numpy(dtype=np.int64), "colour": hits["colour"].to_numpy(),
        "reason": [by_code[c].reason[:500] for c in hits["rule_code"]], "facts": facts,
        "institution_id": rows["institution_id"].to_numpy(dtype=np.int64),
        "assigned_to": rows["manager_id"].to_numpy(dtype=object)})


def _pledge_hits(session: Session, report: collateral.ScanReport) -> pd.DataFrame:
    """The collateral stage hits as warning rows: the pledge, its line, the line's branch and its
    customer's manager (one query for all of them)."""
    if not report.hits:
        return pd.DataFrame()
    hits = pd.DataFrame([dataclasses.asdict(h) for h in report.hits])
    owners = pd.DataFrame(session.execute(sa.select(Pledge.id, CreditLine.institution_id, Customer.manager_id)
                                          .join(CreditLine, Pledge.credit_line_id == CreditLine.id)
                                          .join(Customer, CreditLine.customer_id == Customer.id)
                                          .where(Pledge.id.in_([int(i) for i in set(hits["pledge_id"])]))).all(),
                          columns=["pledge_id", "institution_id", "assigned_to"])
    hits = hits.merge(owners, on="pledge_id", how="left")
    return pd.DataFrame({
        "subject_kind": "pledge", "subject_id": hits["pledge_id"].to_numpy(dtype=np.int64), "loan_id": None,
        "loan_no": None, "line_number": hits["line_number"].to_numpy(), "stage": "collateral",
        "rule_code": hits["rule_code"].to_numpy(), "rule_version": hits["rule_version"].to_numpy(dtype=np.int64),
        "colour": hits["colour"].to_numpy(), "reason": [r[:500] for r in hits["reason"]],
        "facts": [{k: _plain("", v) if not isinstance(v, Decimal) else format(v, "f") for k, v in f.items()}
                  for f in hits["facts"]],
        "institution_id": hits["institution_id"].to_numpy(dtype=np.int64),
        "assigned_to": hits["assigned_to"].to_numpy(dtype=object)})


def _existing(session: Session, bank: Institution, hits: pd.DataFrame) -> pd.DataFrame:
    """The bank's warnings on the hit rules (one query), keyed like the hits."""
    rows = session.execute(sa.select(Warning.id, Warning.subject_kind, Warning.subject_id, Warning.rule_code,
                                     Warning.status, Warning.last_seen, Warning.closed_on).where(
        Warning.county_bank_id == bank.id, Warning.rule_code.in_(sorted(set(hits["rule_code"]))))).all()
    found = pd.DataFrame(rows, columns=["warning_id", "subject_kind", "subject_id", "rule_code", "status",
                                        "last_seen", "closed_on"])
    found["subject_id"] = found["subject_id"].astype(np.int64)
    found["status"] = found["status"].map(lambda s: s.value if hasattr(s, "value") else s)
    return found


def write_warnings(session: Session, runtime: Any, bank: Institution, as_of: date, hits: pd.DataFrame,
                   result: BankScan, *, actor: str = ACTOR) -> tuple[pd.DataFrame, bool]:
    """Insert, update and reopen the bank's warnings and open their tasks (their "opened" event by
    ``actor``); returns the warnings that were new or reopened (for the notifications) and whether a
    deadline was estimated. ``hits``: one row per warning, the columns ``_loan_hits`` builds; the
    annual review (``village.annual_review``) opens its on-site checks through here too."""
    hits = hits.drop_duplicates(["subject_kind", "subject_id", "rule_code"])
    merged = hits.merge(_existing(session, bank, hits), on=["subject_kind", "subject_id", "rule_code"], how="left")
    new = merged[merged["warning_id"].isna()]
    known = merged[merged["warning_id"].notna()]
    is_open = known["status"] == WarningStatus.OPEN.value
    moved = known[is_open & (known["last_seen"] < as_of)]
    reopen = known[~is_open & known["closed_on"].map(lambda d: d is None or as_of > d)]

    opened: list[dict[str, Any]] = []
    if len(new):
        rows = [{"county_bank_id": bank.id, "institution_id": int(r["institution_id"]),
                 "subject_kind": r["subject_kind"], "subject_id": int(r["subject_id"]),
                 "loan_id": None if r["loan_id"] is None or pd.isna(r["loan_id"]) else int(r["loan_id"]),
                 "loan_no": r["loan_no"], "line_number": r["line_number"], "stage": r["stage"],
                 "rule_code": r["rule_code"], "rule_version": int(r["rule_version"]), "colour": r["colour"],
                 "reason": r["reason"], "facts": r["facts"], "status": WarningStatus.OPEN,
                 "first_seen": as_of, "last_seen": as_of, "reopened": 0} for r in new.to_dict("records")]
        session.execute(sa.insert(WARNINGS), rows)  # one executemany (RETURNING goes row by row on SQLite)
        ids = pd.DataFrame(session.execute(sa.select(Warning.id, Warning.subject_kind, Warning.subject_id,
                                                     Warning.rule_code).where(
            Warning.county_bank_id == bank.id, Warning.first_seen == as_of, Warning.reopened == 0,
            Warning.rule_code.in_(sorted(set(new["rule_code"]))))).all(),
            columns=["warning_id", "subject_kind", "subject_id", "rule_code"])
        ids["subject_id"] = ids["subject_id"].astype(np.int64)
        keyed = new.drop(columns=["warning_id"]).merge(ids, on=["subject_kind", "subject_id", "rule_code"])
        opened += keyed.to_dict("records")
    for chunk in _chunks([int(i) for i in moved["warning_id"]]):
        session.execute(sa.update(Warning).where(Warning.id.in_(chunk)).values(last_seen=as_of),
                        execution_options={"synchronize_session": False})
    for chunk in _chunks([int(i) for i in reopen["warning_id"]]):
        session.execute(sa.update(Warning).where(Warning.id.in_(chunk)).values(
            status=WarningStatus.OPEN, reopened=Warning.reopened + 1, last_seen=as_of, closed_on=None),
            execution_options={"synchronize_session": False})
    opened += [{**r, "warning_id": int(r["warning_id"])} for r in reopen.to_dict("records")]
    result.new, result.updated, result.reopened = len(new), len(moved), len(reopen)

    estimated = False
    if opened:
        due = services.due_dates(runtime.calendar.get(session), as_of, services.deadline_days(session, bank, as_of))
        estimated = any(due[r["colour"]].estimated for r in opened)
        tasks = [{"warning_id": r["warning_id"], "county_bank_id": bank.id, "institution_id": int(r["institution_id"]),
                  "colour": r["colour"],
                  "assigned_to": None if r["assigned_to"] is None or pd.isna(r["assigned_to"]) else int(r["assigned_to"]),
                  "opened_on": as_of, "due_on": due[r["colour"]].day, "due_estimated": due[r["colour"]].estimated}
                 for r in opened]
        before = session.execute(sa.select(sa.func.coalesce(sa.func.max(WarningTask.id), 0))).scalar_one()
        session.execute(sa.insert(TASKS), tasks)
        task_ids: dict[int, int] = dict(session.execute(sa.select(WarningTask.warning_id, WarningTask.id).where(
            WarningTask.county_bank_id == bank.id, WarningTask.opened_on == as_of, WarningTask.id > before)).all())
        session.execute(sa.insert(EVENTS), [
            {"task_id": task_ids[t["warning_id"]], "kind": "opened", "business_date": as_of, "actor": actor,
             "level": 0, "to_user": t["assigned_to"], "note": f"{t['colour']} warning, due {t['due_on'].isoformat()}"}
            for t in tasks])
        result.tasks_opened = len(tasks)
    return pd.DataFrame(opened), estimated


def _announce(session: Session, runtime: Any, opened: pd.DataFrame) -> None:
    """Queue one ``nongxin_on_warning`` event per loan for after the commit (module docstring):
    the events are aggregated per loan in pandas, and one plugin view is built per branch."""
    loans = opened[opened["subject_kind"] == "loan"] if len(opened) else opened
    if not len(loans):
        return
    loans = loans.assign(rank=loans["colour"].map(COLOURS.index)).sort_values(["loan_id", "rule_code"])
    per_loan = loans.groupby(["loan_id", "loan_no", "institution_id"], sort=True).agg(
        rank=("rank", "max"), rules=("rule_code", list)).reset_index()
    places = {i.id: i for i in session.execute(sa.select(Institution).where(
        Institution.id.in_([int(i) for i in set(per_loan["institution_id"])]))).scalars()}
    views = {i: runtime.plugins.view(session, where) for i, where in places.items()}  # before the commit
    events = [(views[int(place)], Event("warning", str(loan_no), places[int(place)].code, {
        "loan_id": int(loan_id), "loan_no": str(loan_no), "grade": COLOURS[int(rank)],
        "rules": [str(c) for c in rules]}))
        for loan_id, loan_no, place, rank, rules in zip(per_loan["loan_id"], per_loan["loan_no"],
                                                        per_loan["institution_id"], per_loan["rank"],
                                                        per_loan["rules"])]

    def tell() -> None:
        for view, event in events:
            try:
                view.notify("nongxin_on_warning", event=event)
            except Exception:  # the warnings are committed; nothing here may undo them
                log.exception("nongxin_on_warning could not be sent for %s", event.subject_id)

    after_commit(session, tell)


def _bank(runtime: Any, bank_id: int, code: str, as_of: date, business_date: date,
          runner: Runner) -> tuple[BankScan, bool]:
    # The ledger first, before the write transaction holds a lock (jobs.ledger.fetch_arrow on SQLite).
    ledger = ledger_frame(runtime.engine, as_of, county_banks=[code], business_date=business_date)
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        bank = session.execute(sa.select(Institution).where(Institution.id == bank_id).with_for_update()).scalar_one()
        result = BankScan(bank.code)
        book = runtime.rulebooks.get(session, bank, "post_loan", as_of)
        if not book.usable:
            problem = book.problem
            result.failures.append(f"the post-loan rule book is unusable, nothing was written or closed: {problem}")
            return result, False
        frame = post_loan_frame(session, runtime.engine, bank, as_of, business_date, ledger=ledger)
        result.loans = len(frame)
        job = BankRules(bank.code, "post_loan", tuple(book.rules))
        facts = frame[["loan_id", *(name for name in POST_LOAN if name in frame.columns)]]  # what a worker needs
        hits = [h for _, h in runner.run([(job, facts)])][0]
        pledges = collateral.inspect(session, runtime.rulebooks, [bank], as_of)
        result.positions = pledges.positions
        result.failures += [f.problem for f in pledges.failures]
        nightly.after_bank(session, runtime, nightly.BankNight(
            bank, as_of, frame, hits, pledges.frames.get(bank.code, pd.DataFrame()), nightly.position_hits(pledges)),
            result)
        parts = [p for p in (_loan_hits(frame, hits, book.rules), _pledge_hits(session, pledges)) if len(p)]
        result.hits = sum(len(p) for p in parts)
        estimated = False
        if parts:
            opened, estimated = write_warnings(session, runtime, bank, as_of, pd.concat(parts, ignore_index=True), result)
            _announce(session, runtime, opened)
        result.escalated = len(escalate(uow, runtime, bank, as_of))  # overdue tasks, in the same transaction
        record(session, actor=ACTOR, action="early_warning.scan", target=f"institution:{bank.code}",
               institution_code=bank.code, after={"as_of": as_of.isoformat(), **{
                   k: v for k, v in dataclasses.asdict(result).items() if k != "county_bank"}})
        uow.commit()
        return result, estimated


def county_bank_ids(runtime: Any, institution: str | None) -> list[tuple[int, str]]:
    """(id, code) of the county banks of ``institution``'s subtree (a code; every one without it),
    422 naming an unknown code: the banks a nightly job goes through, one transaction each."""
    with UnitOfWork(runtime.sessions, write=False) as uow:
        top = None
        if institution is not None:
            top = uow.session.execute(sa.select(Institution).where(Institution.code == institution)).scalar_one_or_none()
            if top is None:
                raise invalid("institution", f"no institution has the code {institution!r}")
        return [(b.id, b.code) for b in collateral.county_banks(uow.session, top)]


R = TypeVar("R")


def each_bank(banks: list[tuple[int, str]], work: Callable[[int, str], tuple[R, bool]],
              failed: Callable[[str, str], R], what: str) -> Iterator[tuple[R, bool]]:
    """``work`` on each bank in turn: its result and whether a deadline was estimated; a bank that
    raised is ``failed(code, why)`` (logged unless it is a clear ``NongxinError``), and the next
    bank still runs."""
    for bank_id, code in banks:
        try:
            yield work(bank_id, code)
        except NongxinError as exc:  # e.g. no ledger snapshot for the day: a clear failure of that bank
            yield failed(code, str(exc)), False
        except Exception as exc:  # the bank's transaction rolled back; the other banks still run
            log.exception("%s failed at %s", what, code)
            yield failed(code, f"{type(exc).__name__}: {exc}"), False


def scan(runtime: Any, as_of: date | None = None, institution: str | None = None,
         progress: Progress | None = None, runner: Runner | None = None) -> NightlyReport:
    """The nightly scan (module docstring) of every county bank, or of those of ``institution``."""
    business_date = runtime.clock.business_date()
    on = as_of or business_date
    report = NightlyReport(on)
    rules = runner or LocalRunner()
    for result, estimated in each_bank(
            county_bank_ids(runtime, institution), lambda bank_id, code: _bank(runtime, bank_id, code, on,
                                                                               business_date, rules),
            lambda code, why: BankScan(code, failures=[why]), "the post-loan scan"):
        report.banks.append(result)
        report.deadline_estimated = report.deadline_estimated or estimated
        if progress is not None:
            progress(result.county_bank, result.loans)
    return report
