"""Automatic valuation of collateral through the ``nongxin_value_collateral`` hook, one item at a
time (``auto_value``) or every item whose revaluation interval has passed (``revalue_due``).

The promises:

* The hook runs through the plugins enabled at the institution that registered the item (its
  ``InstitutionView``): a valuer disabled there never runs for it. The first answer wins; the call
  is bounded by ``NONGXIN_VALUATION_TIMEOUT_SECONDS``.
* Fail closed: a valuer that raises, overruns, answers something that is not a ``Valuation``, or
  answers nonsense (a value that is not a positive Decimal amount in whole fen, a date after the
  business date, a method the kind does not allow, a deposit above its balance) gives no value.
  Nothing is written; the outcome says why and the reason is logged (``nongxin.collateral``).
  No valuer answering (None) is "no automatic value", reported the same way.
* An answer that passes is written by ``services.record_valuation`` (the one writer of valuations,
  audited) with ``valuer_kind="plugin"`` and the plugin's name as the valuer.
* ``revalue_due`` finds the due items set-wise (one query per county bank and kind: never valued,
  or latest ``valued_on`` + the county's ``collateral.<kind>.revalue_days`` on or before
  ``as_of``), values each through ``auto_value`` and commits in batches of ``BATCH``. An item
  valued on ``as_of`` is not due again that day, so a second run the same day values nothing
  more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Callable

import sqlalchemy as sa

from nongxin.core.collateral import services
from nongxin.core.collateral.models import CollateralItem, CollateralValuation
from nongxin.core.db import UnitOfWork
from nongxin.core.auth import Principal
from nongxin.core.errors import Conflict, NotFound, ValidationFailed
from nongxin.core.permissions import Action
from nongxin.core.institutions.models import Institution, Level
from nongxin.core.runtime import Runtime
from nongxin.core.scoping import in_subtree
from nongxin.sdk.collateral import KINDS, MAX_VALUE, kind_spec
from nongxin.sdk.types import CollateralData, Valuation

__all__ = ["BATCH", "HOOK", "Outcome", "Report", "auto_value", "due_items", "revalue_due", "value_now"]

log = logging.getLogger("nongxin.collateral")

HOOK = "nongxin_value_collateral"
#: Items valued per transaction in a batch revaluation.
BATCH = 50
FEN = Decimal("0.01")

VALUED, NO_ANSWER, FAILED = "valued", "no_answer", "failed"


@dataclass(frozen=True)
class Outcome:
    """What automatic valuation did for one item: ``valued`` (``valuation_id`` written), ``no_answer``
    (no valuer answered) or ``failed`` (a valuer failed or answered nonsense); ``reason`` says why
    nothing was written."""

    item_id: int
    number: str
    status: str
    reason: str = ""
    plugin: str = ""
    valuation_id: int | None = None
    value: Decimal | None = None
    valued_on: date | None = None
    method: str = ""

    @property
    def valued(self) -> bool:
        return self.status == VALUED


def _data(item: CollateralItem) -> CollateralData:
    return CollateralData(collateral_id=item.number, kind=item.kind, description=item.description,
                          declared_value=item.declared_value, data=dict(item.data or {}))


def _nonsense(answer: Valuation, item: CollateralItem, today: date) -> str:
    """Why the answer cannot be a valuation of ``item`` on ``today`` ("" when it can)."""
    value, on, method = answer.value, answer.valued_on, answer.method
    if isinstance(value, (bool, float)) or not isinstance(value, Decimal) or not value.is_finite():
        return f"answered a value of type {type(value).__name__} ({value!r}), not a Decimal amount of yuan"
    if value <= 0 or value != value.quantize(FEN):
        return f"answered {value}: a value must be a positive amount of yuan in whole fen"
    if value > MAX_VALUE:
        return f"answered {value}: more than {MAX_VALUE} yuan"
    if not isinstance(on, date):
        return f"answered a valuation date of type {type(on).__name__}, not a date"
    if on > today:
        return f"dated its valuation {on.isoformat()}, after the business date {today.isoformat()}"
    if not isinstance(method, str) or method not in kind_spec(item.kind).methods:
        return (f"answered method {method!r}, which a {item.kind} does not allow "
                f"(one of: {', '.join(kind_spec(item.kind).methods)})")
    return ""


def auto_value(uow: UnitOfWork, runtime: Runtime, item: CollateralItem, today: date, actor: str) -> Outcome:
    """Ask the valuer plugins enabled at the item's registering institution and write the answer
    (see the module's promises); never raises for a valuer's failure or nonsense."""
    session = uow.session
    if runtime.clock.business_date() != today:
        runtime = runtime.as_of(today)
    inst = session.get(Institution, item.institution_id)
    assert inst is not None
    result = runtime.plugins.view(session, inst).first(HOOK, expect=Valuation, collateral=_data(item))

    def refused(status: str, reason: str, plugin: str = "") -> Outcome:
        log.warning("collateral %s: no automatic value: %s", item.number, reason)
        return Outcome(item.id, item.number, status, reason, plugin)

    if result.failures:
        failure = result.failures[0]
        return refused(FAILED, f"valuer {failure.plugin} failed: {failure.error}", failure.plugin)
    if not result.values:
        return refused(NO_ANSWER, f"no valuer plugin enabled at {inst.code} valued this {item.kind}: it needs a "
                                  "manual valuation")
    answer, plugin = result.values[0], result.owners[0].plugin
    problem = _nonsense(answer, item, today)
    if problem:
        return refused(FAILED, f"valuer {plugin} {problem}", plugin)
    try:
        row = services.record_valuation(uow, item, value=answer.value, method=answer.method, valuer_kind="plugin",
                                        valuer=plugin, valued_on=answer.valued_on, today=today, actor=actor,
                                        note=f"automatic valuation by {plugin}")
    except ValidationFailed as exc:  # checked before anything is written: e.g. a deposit above its balance
        return refused(FAILED, f"valuer {plugin}'s answer was refused: {exc.message}", plugin)
    log.info("collateral %s valued %s by %s on %s", item.number, answer.value, plugin, answer.valued_on)
    return Outcome(item.id, item.number, VALUED, "", plugin, row.id, row.value, row.valued_on, row.method)


def value_now(uow: UnitOfWork, principal: Principal, runtime: Runtime, item_id: int) -> Outcome:
    """Value one item now on the caller's behalf (404 outside the caller's subtree, 403 without
    ``collateral.value``); when no valuer answers or the valuer fails, a 409 naming why
    (``no_automatic_value`` / ``valuer_failed``), and nothing is written."""
    item = services.visible_item(uow, principal, item_id, Action.COLLATERAL_VALUE, lock=True)
    outcome = auto_value(uow, runtime, item, runtime.clock.business_date(), principal.username)
    if outcome.status == NO_ANSWER:
        raise Conflict(f"collateral {item.number} has no automatic value: {outcome.reason}", code="no_automatic_value")
    if outcome.status == FAILED:
        raise Conflict(f"collateral {item.number} has no automatic value: {outcome.reason}", code="valuer_failed")
    return outcome


@dataclass
class Report:
    """A batch revaluation: how many items were due and what became of them; ``problems`` lists
    every item that could not be valued, with the reason."""

    as_of: date
    due: int = 0
    valued: int = 0
    no_answer: int = 0
    failed: int = 0
    problems: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, outcome: Outcome) -> None:
        if outcome.status == VALUED:
            self.valued += 1
        else:
            if outcome.status == NO_ANSWER:
                self.no_answer += 1
            else:
                self.failed += 1
            self.problems.append(outcome)


def _banks(session: sa.orm.Session, top: Institution | None) -> list[Institution]:
    banks = session.execute(sa.select(Institution).where(Institution.level == Level.COUNTY)
                            .order_by(Institution.code)).scalars().all()
    if top is None:
        return list(banks)
    return [b for b in banks if b.path.startswith(top.path) or top.path.startswith(b.path)]


def due_items(session: sa.orm.Session, bank: Institution, kind: str, as_of: date,
              top: Institution | None = None) -> list[int]:
    """Ids of ``bank``'s items of ``kind`` due for revaluation on ``as_of`` (registered under
    ``top`` when given): one query."""
    days = services.terms(session, bank, kind, as_of).revalue_days
    cutoff = as_of - timedelta(days=days)
    of_kind = sa.select(CollateralItem.id).where(CollateralItem.county_bank_id == bank.id,
                                                 CollateralItem.kind == kind)
    latest = (sa.select(CollateralValuation.item_id, sa.func.max(CollateralValuation.valued_on).label("last"))
              .where(CollateralValuation.item_id.in_(of_kind)).group_by(CollateralValuation.item_id).subquery())
    stmt = (sa.select(CollateralItem.id).outerjoin(latest, latest.c.item_id == CollateralItem.id)
            .where(CollateralItem.county_bank_id == bank.id, CollateralItem.kind == kind,
                   sa.or_(latest.c.last.is_(None), latest.c.last <= cutoff)))
    if top is not None:
        stmt = in_subtree(stmt, CollateralItem.institution_id, top.path)
    return list(session.execute(stmt.order_by(CollateralItem.id)).scalars())


def revalue_due(runtime: Runtime, as_of: date, institution: str | None = None,
                progress: Callable[[int, int], None] | None = None, *, actor: str = "revalue") -> Report:
    """Value every item due on ``as_of`` (under the institution with code ``institution`` when
    given; 404 for an unknown code) through ``auto_value``, committing every ``BATCH`` items.
    ``progress(done, total)`` is called once before the first item and after each one."""
    if runtime.clock.business_date() != as_of:
        runtime = runtime.as_of(as_of)
    report = Report(as_of)
    with UnitOfWork(runtime.sessions, write=False) as unit:
        session = unit.session
        top = None
        if institution is not None:
            top = session.execute(sa.select(Institution).where(Institution.code == institution)).scalar_one_or_none()
            if top is None:
                raise NotFound(f"institution {institution} not found", fields={"institution": ["no such institution"]})
        due = [i for bank in _banks(session, top) for kind in KINDS for i in due_items(session, bank, kind, as_of, top)]
    report.due = len(due)
    if progress is not None:
        progress(0, len(due))
    done = 0
    for start in range(0, len(due), BATCH):
        with UnitOfWork(runtime.sessions) as unit:
            items = unit.session.execute(sa.select(CollateralItem).where(
                CollateralItem.id.in_(due[start:start + BATCH])).order_by(CollateralItem.id)).scalars().all()
            for item in items:
                report.add(auto_value(unit, runtime, item, as_of, actor))
                done += 1
                if progress is not None:
                    progress(done, len(due))
            unit.commit()
    log.info("revaluation as of %s: %d due, %d valued, %d without an answer, %d failed", as_of, report.due,
             report.valued, report.no_answer, report.failed)
    return report
