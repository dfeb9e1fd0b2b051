"""The nightly annual review (年检) of credit lines: each line whose review has fallen due is looked
at again with fresh facts, and either passes off-site or goes to an on-site check.

The promises:

* Each county bank is reviewed in its **own** transaction, holding its institution row locked (like
  the post-loan scan, ``early_warning.scan``): a failure in one bank never undoes another, two runs
  of one bank wait for each other, and a run that dies leaves that bank as it was, so the next run
  does it again.
* The lines due are found set-wise: every ``active`` or ``frozen`` line of the bank whose review is
  due on or before the business date (``review_due_on``, or a year after ``start_on``) and whose
  ``end_on`` is not past; they are locked (``FOR UPDATE``) so a drawdown waits for the review.
* For each: a post-loan bureau query (purpose 01, no consent needed, logged as any query, ``for``
  the line), the customer file's facts (household colour and figures included), the connectors the
  line's product requires, then the decision's in-memory step (``credit.decision.evaluate``) at the
  line's institution with the line's product, its amount and the product's longest term. The
  judgement is ``annual_review_domain.judge``.
* A failed review opens (or keeps open) an orange warning on the line with an on-site check task
  for the customer's manager, due in working days (``scan.write_warnings``); and per the county's
  ``annual_review.failed_action`` the line is frozen, reduced to the recomputed limit (never below
  what is drawn), or left; each change audited by ``system:annual_review``.
* Every review is recorded (``LineReview``) and moves ``review_due_on`` a year on from the due date,
  passed or not: running twice on one business date changes nothing the second time.
* One audit entry per bank and run with the counts.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Callable, cast

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.bureau import services as bureau
from nongxin.core.credit import domain as credit_domain
from nongxin.core.credit.decision import assemble_facts, encode_facts, evaluate, fetch_connectors
from nongxin.core.credit.domain.schedules import add_months
from nongxin.core.credit.ledger import line_used
from nongxin.core.credit.lines import HELD, visible_line
from nongxin.core.credit.models import CreditLine, CreditLineStatus, Loan
from nongxin.core.credit.products import offered
from nongxin.core.customers.models import Customer
from nongxin.core.customers.services import applicant_of, customer_facts
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.domain import NON_PERFORMING
from nongxin.core.early_warning.models import LoanClass, Warning, WatchlistEntry
from nongxin.core.early_warning.scan import BankScan, BanksReport, county_bank_ids, each_bank, write_warnings
from nongxin.core.errors import NongxinError
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.parameters.services import lpr as lpr_in_force
from nongxin.core.parameters.services import value
from nongxin.core.permissions import Action, Role, require
from nongxin.core.scoping import PAGE, in_subtree, page
from nongxin.core.runtime import Runtime
from nongxin.core.village import annual_review_domain as rules
from nongxin.core.village.models import LineReview
from nongxin.sdk.bureau import Purpose
from nongxin.sdk.types import ApplicationData, ProductSpec, ScorecardSpec

__all__ = ["ACTOR", "RULE_CODE", "BankReview", "ReviewFilters", "ReviewReport", "due_lines", "line_reviews",
           "list_reviews", "run", "run_for", "shown"]

ACTOR = "system:annual_review"
RULE_CODE, STAGE, COLOUR = "ANNUAL_REVIEW", "annual_review", "orange"
TOLERANCE, FAILED_ACTION = "annual_review.tolerance", "annual_review.failed_action"
Progress = Callable[[str, int], None]  # (county bank code, lines due in it), after each bank
log = logging.getLogger("nongxin.village.annual_review")
LINE_REVIEWS = cast(sa.Table, LineReview.__table__)


@dataclass
class BankReview:
    county_bank: str
    due: int = 0
    passed: int = 0
    on_site: int = 0
    frozen: int = 0
    reduced: int = 0
    tasks_opened: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class ReviewReport(BanksReport[BankReview]):
    """The annual review's report: one ``BankReview`` per county bank."""


# -- which lines ------------------------------------------------------------------------------

def due_lines(session: Session, bank: Institution, as_of: date) -> pd.DataFrame:
    """The bank's lines due for review on ``as_of`` (module docstring), one query: a stored due
    date, or a start a year (and a few days, for month ends) back; then the exact due date."""
    started_by = add_months(as_of, -12) + timedelta(days=3)
    rows = session.execute(sa.select(CreditLine.id, CreditLine.review_due_on, CreditLine.start_on).where(
        CreditLine.county_bank_id == bank.id, CreditLine.status.in_(HELD), CreditLine.end_on >= as_of,
        sa.or_(CreditLine.review_due_on <= as_of,
               sa.and_(CreditLine.review_due_on.is_(None), CreditLine.start_on <= started_by)))
        .order_by(CreditLine.id)).all()
    frame = pd.DataFrame(rows, columns=["line_id", "review_due_on", "start_on"])
    frame["due_on"] = [rules.due_on(d, s) for d, s in zip(frame["review_due_on"], frame["start_on"])]
    return frame[frame["due_on"] <= as_of].reset_index(drop=True)


# -- the facts --------------------------------------------------------------------------------

@dataclass
class Place:
    """What every line granted at one institution is evaluated with (looked up once per run)."""

    institution: Institution
    view: Any
    products: dict[str, ProductSpec]
    product_failures: list[str]
    book: Any
    scorecards: Any
    lpr: Any


def _place(session: Session, runtime: Runtime, where: Institution, as_of: date) -> Place:
    view = runtime.plugins.view(session, where)
    products, failures = offered(session, runtime.plugins, where)
    return Place(where, view, {p.spec.code: p.spec for p in products}, [f"{f.plugin}: {f.error}" for f in failures],
                 runtime.rulebooks.get(session, where, "admission", as_of),
                 view.collect("nongxin_scorecards", expect=ScorecardSpec), lpr_in_force(session, where, as_of))


def _court_lists(session: Session, bank: Institution, id_numbers: list[str], as_of: date) -> dict[str, list[str]]:
    """Court list kinds in force per identity number (one query)."""
    rows = session.execute(sa.select(WatchlistEntry.id_number, WatchlistEntry.kind).where(
        sa.or_(WatchlistEntry.county_bank_id == bank.id, WatchlistEntry.county_bank_id.is_(None)),
        WatchlistEntry.id_number.in_(id_numbers), WatchlistEntry.listed_on <= as_of,
        sa.or_(WatchlistEntry.delisted_on.is_(None), WatchlistEntry.delisted_on > as_of)).distinct()).all()
    found: dict[str, list[str]] = {}
    for number, kind in sorted(rows):
        found.setdefault(number, []).append(kind)
    return found


def _npl_loans(session: Session, line_ids: list[int]) -> dict[int, list[str]]:
    """The non-performing loans drawn on each line (one query)."""
    rows = session.execute(sa.select(Loan.credit_line_id, Loan.loan_no).join(
        LoanClass, LoanClass.loan_id == Loan.id).where(
        Loan.credit_line_id.in_(line_ids), LoanClass.tier.in_(sorted(NON_PERFORMING)))).all()
    found: dict[int, list[str]] = {}
    for line_id, loan_no in sorted(rows):
        found.setdefault(int(line_id), []).append(loan_no)
    return found


@dataclass
class Looked:
    """One line looked at: the judge's input and what the review records."""

    refreshed: rules.Refreshed
    facts: dict[str, Any]
    codes: list[str]


def _bureau(uow: UnitOfWork, runtime: Runtime, principal: Principal, line: CreditLine, customer: Customer,
            as_of: date) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The post-loan query (purpose 01) for the line: (what the review keeps, the summary facts or
    None when there is no report)."""
    try:
        result = bureau.query(uow, principal, runtime.plugins, runtime.settings,
                              subject=bureau.SubjectInput(customer.kind.id_kind, customer.id_number, customer.name),
                              purpose=Purpose.POST_LOAN_MANAGEMENT.value, for_kind="credit_line", for_ref=line.number,
                              today=as_of)
    except NongxinError as exc:
        return {"outcome": "refused", "error": exc.message}, None
    entry = {"query_log": result.entry.id, "outcome": result.entry.outcome, "provider": result.entry.provider,
             "report_id": result.entry.report_id}
    if not result.usable or result.summary is None:
        return {**entry, "error": result.entry.error or f"no report ({result.entry.outcome})"}, None
    return entry, result.summary.as_facts()


def _look(uow: UnitOfWork, runtime: Runtime, principal: Principal, bank: Institution, place: Place,
          line: CreditLine, customer: Customer, tolerance: Decimal, listed: list[str], npl: list[str],
          as_of: date) -> Looked:
    """Refresh one line's facts and rerun the admission rules and the product's limit on them."""
    asked, summary = _bureau(uow, runtime, principal, line, customer, as_of)
    code = line.products[0] if line.products else ""
    spec = place.products.get(code)
    failures = [credit_domain.Failure("product", code, f"product is not offered at {place.institution.code}")
                ] if spec is None else []
    term = max(spec.term_months) if spec is not None else 12
    method = spec.repayment_methods[0] if spec is not None and spec.repayment_methods else ""
    segment = spec.segment if spec is not None else ""
    base = {"amount": line.amount, "term_months": term, "product_code": code, "segment": segment,
            "repayment_method": method, "lpr_1y": place.lpr.one_year, "lpr_5y": place.lpr.over_five_year}
    filed = customer_facts(customer, as_of)
    known = {**filed, **(summary or {}), **base}
    needed = [f for f in (spec.required_data if spec is not None else ()) if known.get(f) is None]
    fetched, calls, connector_failures = fetch_connectors(runtime, place.view, bank, customer, needed)
    facts, fact_failures = assemble_facts(filed, summary or {}, fetched, base)
    failures += connector_failures + fact_failures
    application = ApplicationData(line.number, code, place.institution.code, applicant_of(customer), line.amount,
                                  term, "annual review", MappingProxyType(dict(facts)), method, segment)
    terms = (credit_domain.Terms(line.amount, spec.amount.minimum, spec.auto_approval_ceiling, spec.annual_rate)
             if spec is not None else credit_domain.Terms(line.amount, line.amount, Decimal(0), (Decimal(0), Decimal(0))))
    done = evaluate(place.view, place.book, place.scorecards, application, facts, terms, failures)
    hits = tuple((h.code, h.outcome, h.reason) for h in done.rule_hits) + tuple(
        (c.value.code, c.value.outcome.value, c.value.reason) for c in done.answers.findings)
    values, types = encode_facts(facts)
    kept = {"values": values, "types": types, "bureau": asked, "connectors": calls, "court_lists": listed,
            "npl_loans": npl, "score": done.scored.total if done.scored else None,
            "grade": done.scored.grade.name if done.scored and done.scored.grade else None}
    refreshed = rules.Refreshed(line.amount, tolerance, hits, tuple(f.text() for f in done.failures), summary,
                                tuple(listed), tuple(npl), done.limit)
    return Looked(refreshed, kept, [h[0] for h in hits])


# -- what follows a failure -------------------------------------------------------------------

def _act(session: Session, bank: Institution, line: CreditLine, how: str, limit: Decimal | None,
         reasons: tuple[str, ...], actor: str) -> str:
    """Freeze or reduce the line per the county's setting; audited. The action taken."""
    why = "annual review (年检) failed: " + "; ".join(reasons)
    if how == "freeze" and line.status is CreditLineStatus.ACTIVE:
        line.status = CreditLineStatus.FROZEN
        record(session, actor=actor, action="credit_line.freeze", target=f"credit_line:{line.number}",
               institution_code=bank.code, before={"status": "active"},
               after={"status": "frozen", "reason": why[:500]})
        return "frozen"
    if how == "reduce":
        after = rules.reduced_amount(line.amount, limit, line_used(session, line))
        if after < line.amount:
            before, line.amount = line.amount, after
            record(session, actor=actor, action="credit_line.reduce", target=f"credit_line:{line.number}",
                   institution_code=bank.code, before={"amount": format(before, "f")},
                   after={"amount": format(after, "f"), "reason": why[:500]})
            return "reduced"
    return "none"


def _open_checks(session: Session, runtime: Runtime, bank: Institution, as_of: date, failed: list[dict[str, Any]],
                 result: BankReview) -> tuple[dict[int, int], bool]:
    """The on-site checks of the failed lines through the early-warning tasks: {line id: warning id}
    and whether a deadline was estimated."""
    if not failed:
        return {}, False
    hits = pd.DataFrame({
        "subject_kind": "line", "subject_id": np.array([f["line"].id for f in failed], dtype=np.int64),
        "loan_id": None, "loan_no": None, "line_number": [f["line"].number for f in failed], "stage": STAGE,
        "rule_code": RULE_CODE, "rule_version": 1, "colour": COLOUR,
        "reason": [("annual review: " + "; ".join(f["reasons"]))[:500] for f in failed],
        "facts": [{"due_on": f["due_on"].isoformat(), "amount": format(f["line"].amount, "f"),
                   "recomputed_limit": None if f["limit"] is None else format(f["limit"], "f")} for f in failed],
        "institution_id": np.array([f["line"].institution_id for f in failed], dtype=np.int64),
        "assigned_to": [f["manager_id"] for f in failed]})
    counts = BankScan(bank.code)
    _, estimated = write_warnings(session, runtime, bank, as_of, hits, counts, actor=ACTOR)
    result.tasks_opened = counts.tasks_opened
    ids: dict[int, int] = {int(line): int(warning) for line, warning in session.execute(
        sa.select(Warning.subject_id, Warning.id).where(Warning.subject_kind == "line", Warning.rule_code == RULE_CODE,
                                                        Warning.subject_id.in_([f["line"].id for f in failed]))).all()}
    return ids, estimated


# -- one bank, every bank ---------------------------------------------------------------------

def _bank(runtime: Runtime, bank_id: int, as_of: date, actor: str) -> tuple[BankReview, bool]:
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        bank = session.execute(sa.select(Institution).where(Institution.id == bank_id).with_for_update()).scalar_one()
        result = BankReview(bank.code)
        due = due_lines(session, bank, as_of)
        result.due = len(due)
        estimated = False
        if len(due):
            estimated = _review(uow, runtime, bank, as_of, due, result, actor)
        record(session, actor=actor, action="village.annual_review", target=f"institution:{bank.code}",
               institution_code=bank.code, after={"as_of": as_of.isoformat(), **{
                   k: v for k, v in dataclasses.asdict(result).items() if k != "county_bank"}})
        uow.commit()
        return result, estimated


def _review(uow: UnitOfWork, runtime: Runtime, bank: Institution, as_of: date, due: pd.DataFrame,
            result: BankReview, actor: str) -> bool:
    session = uow.session
    ids = [int(i) for i in due["line_id"]]
    lines = {ln.id: ln for ln in session.execute(sa.select(CreditLine).where(  # locked, and still held
        CreditLine.id.in_(ids), CreditLine.status.in_(HELD)).with_for_update()).scalars()}
    customers = {c.id: c for c in session.execute(sa.select(Customer).options(selectinload(Customer.household))
                                                  .where(Customer.id.in_({ln.customer_id for ln in lines.values()})))
                 .scalars()}
    listed = _court_lists(session, bank, sorted({c.id_number for c in customers.values()}), as_of)
    npl = _npl_loans(session, ids)
    tolerance = Decimal(value(session, bank, TOLERANCE, as_of))
    how = str(value(session, bank, FAILED_ACTION, as_of))
    principal = Principal(ACTOR, Role.POST_LOAN_CHECKER, bank.id, bank.code, bank.path)  # the bureau's operator
    places: dict[int, Place] = {}
    looked: list[dict[str, Any]] = []
    for line_id, due_on in zip(ids, due["due_on"]):
        line = lines.get(line_id)
        if line is None:  # closed or expired while the night found it due: nothing to review
            continue
        customer = customers[line.customer_id]
        if line.institution_id not in places:
            where = session.get(Institution, line.institution_id)
            assert where is not None
            places[line.institution_id] = _place(session, runtime, where, as_of)
        seen = _look(uow, runtime, principal, bank, places[line.institution_id], line, customer, tolerance,
                     listed.get(customer.id_number, []), npl.get(line_id, []), as_of)
        verdict = rules.judge(seen.refreshed)
        looked.append({"line": line, "due_on": due_on, "seen": seen, "verdict": verdict, "limit": seen.refreshed.limit,
                       "reasons": verdict.reasons, "manager_id": customer.manager_id, "amount": line.amount})
    failed = [f for f in looked if not f["verdict"].passed]
    warnings, estimated = _open_checks(session, runtime, bank, as_of, failed, result)
    rows = []
    for f in looked:
        line, verdict = f["line"], f["verdict"]
        action = "none" if verdict.passed else _act(session, bank, line, how, f["limit"], verdict.reasons, actor)
        result.passed += verdict.passed
        result.on_site += not verdict.passed
        result.frozen += action == "frozen"
        result.reduced += action == "reduced"
        line.review_due_on = rules.next_due(f["due_on"])
        rows.append({"credit_line_id": line.id, "county_bank_id": bank.id, "due_on": f["due_on"],
                     "business_date": as_of, "result": verdict.result, "action": action,
                     "amount_before": f["amount"], "amount_after": line.amount, "recomputed_limit": f["limit"],
                     "facts": f["seen"].facts, "rule_hits": f["seen"].codes, "reasons": list(verdict.reasons),
                     "warning_id": None if verdict.passed else warnings.get(line.id)})
    session.execute(sa.insert(LINE_REVIEWS), rows)
    uow.flush()
    return estimated


def run(runtime: Runtime, as_of: date | None = None, institution: str | None = None,
        progress: Progress | None = None, *, actor: str = ACTOR) -> ReviewReport:
    """The annual review (module docstring) of every county bank, or of those under ``institution``
    (a code), on ``as_of`` (default: the business date); ``actor`` signs the audit entries."""
    on = as_of or runtime.clock.business_date()
    report = ReviewReport(on)
    for result, estimated in each_bank(county_bank_ids(runtime, institution),
                                       lambda bank_id, _code: _bank(runtime, bank_id, on, actor),
                                       lambda code, why: BankReview(code, failures=[why]), "the annual review"):
        report.banks.append(result)
        report.deadline_estimated = report.deadline_estimated or estimated
        if progress is not None:
            progress(result.county_bank, result.due)
    return report


# -- callers ------------------------------------------------------------------------------------

def run_for(uow: UnitOfWork, principal: Principal, runtime: Runtime, institution: str | None = None) -> ReviewReport:
    """The review run by a user: the county banks of ``institution`` (default: the caller's own),
    404 outside the caller's subtree, then 403 without ``line.review``; audited as the caller. The
    caller's unit of work is committed (empty) before the banks' own transactions begin."""
    top = institutions.visible(uow.session, principal, institution or principal.institution_code)
    require(principal, Action.LINE_REVIEW)
    code = top.code
    uow.commit()  # nothing written: ends the caller's transaction, so each bank's own can take the lock
    return run(runtime, institution=code, actor=principal.username)


@dataclass(frozen=True)
class ReviewFilters:
    institution: str | None = None
    result: str | None = None
    business_date: date | None = None
    limit: int = PAGE
    offset: int = 0


def list_reviews(uow: UnitOfWork, principal: Principal, filters: ReviewFilters = ReviewFilters()) -> list[dict[str, Any]]:
    """The reviews of lines granted in the caller's subtree (or ``institution``'s, 404 outside it),
    newest first; 403 without ``credit_line.read``."""
    top = institutions.visible(uow.session, principal, filters.institution or principal.institution_code)
    require(principal, Action.CREDIT_LINE_READ)
    stmt = in_subtree(sa.select(LineReview, CreditLine.number).join(CreditLine, CreditLine.id == LineReview.credit_line_id),
                      CreditLine.institution_id, top.path)
    if filters.result is not None:
        stmt = stmt.where(LineReview.result == filters.result)
    if filters.business_date is not None:
        stmt = stmt.where(LineReview.business_date == filters.business_date)
    rows = uow.session.execute(page(stmt.order_by(LineReview.id.desc()), filters.limit, filters.offset)).all()
    return [shown(review, number) for review, number in rows]


def line_reviews(uow: UnitOfWork, principal: Principal, line_id: int) -> list[dict[str, Any]]:
    """One line's reviews, newest first (another county bank's line is 404)."""
    line = visible_line(uow, principal, line_id, Action.CREDIT_LINE_READ)
    rows = uow.session.execute(sa.select(LineReview).where(LineReview.credit_line_id == line.id)
                               .order_by(LineReview.id.desc())).scalars()
    return [shown(review, line.number) for review in rows]


def shown(review: LineReview, number: str) -> dict[str, Any]:
    """A review as the API and the CLI show it (money as yuan strings)."""
    def money(amount: Decimal | None) -> str | None:
        return None if amount is None else format(Decimal(amount).quantize(rules.FEN), "f")

    return {"id": review.id, "credit_line_id": review.credit_line_id, "line_number": number,
            "due_on": review.due_on, "business_date": review.business_date, "result": review.result,
            "action": review.action, "amount_before": money(review.amount_before),
            "amount_after": money(review.amount_after), "recomputed_limit": money(review.recomputed_limit),
            "rule_hits": list(review.rule_hits), "reasons": list(review.reasons), "facts": dict(review.facts),
            "warning_id": review.warning_id}
