"""Batch pre-credit (预授信) as a service: a run over one village, one county bank, or every county
bank of a subtree, writing one offer per household worth crediting.

The promises:

* Who is asked: every household of the scope whose standing colour (``Household.peer_review``) is
  green or white, through its head. The households frame is read SET-WISE, one SQL query per county
  bank (``households_frame``): the columns of ``engine.FRAME_FACTS`` exactly as
  ``customers.services.customer_facts`` gives them, and ``exposure_room_fen``, what the county's
  ``credit.customer_exposure_cap`` leaves above the head's active and frozen lines (as
  ``credit.lines.exposure`` computes it). A test holds it equal to ``engine.facts_frame`` of the
  one-record facts.
* The answer of each household is ``engine.evaluate_batch`` with the context of its grid (the
  lending institution: its plugins, product, rule book, scorecards, LPR; 422 naming ``product``
  when the product is not offered there), on this process or on a Dask cluster (an ``Evaluator``,
  ``precredit_cluster``): the same function either way.
* The offers are written set-wise: ``offered`` (the decision would approve; the limit is the
  approved amount), ``referred`` (manual review) or ``rejected``, with the rate, score, grade, rule
  hits and reasons, valid until the business date plus the county's ``village.offer_days``. The
  household's earlier offers still ``offered`` or ``referred`` become ``superseded``. An offer is
  never a credit line: only ``offers.accept`` (consent and signature) files and decides an
  application for it.
* Each county bank is one transaction (its run, its offers, the audit entry), under the bank
  row's lock, so two runs of one bank queue; offers past their date are expired first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.credit.decision import rule_book_hash
from nongxin.core.credit.lines import CAP_PARAMETER, HELD
from nongxin.core.credit.models import CreditLine
from nongxin.core.credit.products import offered
from nongxin.core.customers.models import Customer, Household, Relation
from nongxin.core.db import UnitOfWork, utcnow
from nongxin.core.errors import invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution, Level
from nongxin.core.parameters.services import value
from nongxin.core.permissions import Action
from nongxin.core.village import engine
from nongxin.core.village.models import OfferStatus, PrecreditOffer, PrecreditRun, Village
from nongxin.core.village.villages import visible_village

__all__ = ["CREDITED_COLOURS", "Evaluator", "LocalEvaluator", "OFFER_DAYS", "RunResult", "Scope", "choose_product",
           "expire_offers", "households_frame", "run_precredit", "scope_of"]

#: The colours worth crediting: green (favour) and white (no information).
CREDITED_COLOURS = ("green", "white")
OFFER_DAYS = "village.offer_days"
#: An offer still open: the household may still accept it (offered) or a person may (referred).
OPEN = (OfferStatus.OFFERED, OfferStatus.REFERRED)
STATUS_OF = {"approved": OfferStatus.OFFERED, "manual_review": OfferStatus.REFERRED, "rejected": OfferStatus.REJECTED}

#: progress(county bank code, households done, households in the bank)
Progress = Callable[[str, int, int], None]


class Evaluator(Protocol):
    """Evaluates (context, frame) groups and gives each group's result frame, in order."""

    def evaluate(self, groups: Sequence[tuple[engine.BatchContext, pd.DataFrame, pd.Series]]) -> list[pd.DataFrame]:
        """``groups``: (context, engine frame, village id per row); results in the same order."""
        ...  # pragma: no cover


def evaluate(frame: pd.DataFrame, ctx: engine.BatchContext) -> pd.DataFrame:
    """``engine.evaluate_batch`` on ``frame``, the result on ``frame``'s index."""
    return engine.evaluate_batch(frame, ctx)


class LocalEvaluator:
    """In this process: ``engine.evaluate_batch`` per group."""

    def evaluate(self, groups: Sequence[tuple[engine.BatchContext, pd.DataFrame, pd.Series]]) -> list[pd.DataFrame]:
        return [evaluate(frame, ctx) for ctx, frame, _ in groups]


# -- scope ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """What a run covers: the county banks (each its own transaction), and one village or all."""

    banks: tuple[Institution, ...]
    village: Village | None
    top: Institution  # the institution named (the village's county bank for a village)


def scope_of(uow: UnitOfWork, principal: Principal, *, village: int | None, institution: str | None) -> Scope:
    """The scope of a run: 404 for a village or institution outside the caller's subtree, then 403
    unless the caller may run pre-credit; 422 unless exactly one of the two is given, or for an
    institution below a county bank (a branch or grid: name the village instead)."""
    session = uow.session
    if (village is None) == (institution is None):
        raise invalid("village", "give a village or a county bank (institution), not both or neither")
    if village is not None:
        row = visible_village(uow, principal, village, Action.VILLAGE_PRECREDIT)
        bank = session.get(Institution, row.county_bank_id)
        assert bank is not None
        return Scope((bank,), row, bank)
    assert institution is not None
    top = institutions.visible_for(session, principal, institution, Action.VILLAGE_PRECREDIT)
    if top.level in (Level.BRANCH, Level.GRID):
        raise invalid("institution", f"{top.code} is a {top.level.value}: name its county bank, or a village")
    if top.level is Level.COUNTY:
        return Scope((top,), None, top)
    banks = tuple(i for i in institutions.subtree(session, top) if i.level is Level.COUNTY)
    return Scope(banks, None, top)


def choose_product(uow: UnitOfWork, runtime: Any, bank: Institution, product: str | None) -> str:
    """``product`` as given, else the one farmer-segment product offered at ``bank`` (narrowed to
    those with a batch formula, ``nongxin_batch_terms``, when several are); 422 naming ``product``
    and the candidates when that is not exactly one."""
    if product:
        return product
    products, _ = offered(uow.session, runtime.plugins, bank)
    farmer = [p for p in products if p.spec.segment == "farmer"]
    if len(farmer) > 1:
        batch = set(runtime.plugins.view(uow.session, bank).providers("nongxin_batch_terms"))
        farmer = [p for p in farmer if p.plugin in batch] or farmer
    if len(farmer) != 1:
        names = ", ".join(sorted(p.spec.code for p in farmer)) or "none"
        raise invalid("product", f"name the product: the farmer-segment products offered at {bank.code} are {names}")
    return farmer[0].spec.code


# -- the households frame, set-wise ----------------------------------------------------------

def _households(bank: Institution, village_id: int | None) -> sa.Select[Any]:
    """The households of ``bank`` (of one village) worth crediting, with their head."""
    stmt = (sa.select(Household.id).where(Household.county_bank_id == bank.id,
                                          Household.peer_review.in_(CREDITED_COLOURS)))
    return stmt.where(Household.village_id == village_id) if village_id is not None else stmt


def households_frame(session: Any, bank: Institution, today: date, *, village_id: int | None = None) -> pd.DataFrame:
    """The engine's frame (``engine.facts_frame``'s columns, in its order) of every household of
    ``bank`` (or of one village) coloured green or white, one row per head, ordered by household;
    plus ``village_id`` and ``grid_id`` (the household's), which the engine does not read. One
    query; money and land come as the integers the database keeps (fen, hundredths of a mu), age
    and the exposure room column-wise."""
    held = (sa.select(CreditLine.customer_id, sa.func.sum(sa.type_coerce(CreditLine.amount, sa.BigInteger)).label("fen"))
            .where(CreditLine.county_bank_id == bank.id, CreditLine.status.in_(HELD))
            .group_by(CreditLine.customer_id).subquery())
    stmt = (sa.select(Customer.id, Household.id, Household.village_id, Household.grid_id, Customer.birth_date,
                      sa.type_coerce(Customer.annual_income, sa.BigInteger), sa.type_coerce(Customer.kind, sa.String),
                      Customer.segment, Household.peer_review, sa.type_coerce(Household.land_mu, sa.BigInteger),
                      sa.type_coerce(Household.assets, sa.BigInteger), Household.main_business, held.c.fen)
            .join(Household, Household.id == Customer.household_id)
            .outerjoin(held, held.c.customer_id == Customer.id)
            .where(Customer.relation == Relation.HEAD, Customer.county_bank_id == bank.id,
                   Household.id.in_(_households(bank, village_id)))
            .order_by(Household.id, Customer.id))
    raw = pd.DataFrame(session.execute(stmt).all(), columns=[
        "customer_id", "household_id", "village_id", "grid_id", "birth_date", "annual_income", "customer_kind",
        "customer_segment", "peer_review", "land_mu", "household_assets", "main_business", "held_fen"], dtype=object)
    cap_fen = int(Decimal(value(session, bank, CAP_PARAMETER, today)).scaleb(2))
    frame = pd.DataFrame({
        "customer_id": raw["customer_id"].to_numpy(np.int64),
        "household_id": raw["household_id"].to_numpy(np.int64),
        "age": _age(raw["birth_date"], today),
        "annual_income": pd.array(raw["annual_income"].tolist(), dtype="Int64"),
        "customer_kind": _text(raw["customer_kind"]),
        "customer_segment": _text(raw["customer_segment"]),
        "peer_review": _text(raw["peer_review"]),
        "land_mu": pd.array(raw["land_mu"].tolist(), dtype="Int64"),
        "household_assets": pd.array(raw["household_assets"].tolist(), dtype="Int64"),
        "main_business": _text(raw["main_business"]),
    })
    held_fen = pd.array(raw["held_fen"].tolist(), dtype="Int64").fillna(0).to_numpy(np.int64)
    frame["exposure_room_fen"] = pd.array(np.maximum(cap_fen - held_fen, 0), dtype="Int64")
    frame["village_id"] = pd.array(raw["village_id"].tolist(), dtype="Int64")
    frame["grid_id"] = raw["grid_id"].to_numpy(np.int64)
    return frame


def _age(births: pd.Series, today: date) -> Any:
    """Whole years on ``today`` (``customers.services.age_on``), column-wise; NA without a birth date."""
    when = pd.to_datetime(births)
    before = (when.dt.month > today.month) | ((when.dt.month == today.month) & (when.dt.day > today.day))
    return (today.year - when.dt.year - before.astype(int)).where(births.notna()).astype("Int64").array


def _text(column: pd.Series) -> pd.Series:
    """Text facts as ``customer_facts`` gives them: an empty string is no fact."""
    return column.where(column.notna() & (column != ""), None).astype(object)


# -- expiry -----------------------------------------------------------------------------------

def expire_offers(uow: UnitOfWork, today: date, *, county_bank_id: int | None = None, actor: str = "") -> int:
    """Mark every offered or referred offer whose ``expires_on`` is before ``today`` expired (one
    UPDATE); how many. With ``actor`` (the nightly job), an audit entry records the count; a run
    records it in its own entry."""
    stmt = (sa.update(PrecreditOffer).where(PrecreditOffer.status.in_(OPEN), PrecreditOffer.expires_on < today)
            .values(status=OfferStatus.EXPIRED))
    if county_bank_id is not None:
        stmt = stmt.where(PrecreditOffer.county_bank_id == county_bank_id)
    n = int(uow.session.execute(stmt, execution_options={"synchronize_session": False}).rowcount or 0)
    if actor and n:
        record(uow.session, actor=actor, action="precredit.offers.expire", target="precredit_offers",
               after={"business_date": today.isoformat(), "expired": n})
    return n


# -- the run ----------------------------------------------------------------------------------

@dataclass
class RunResult:
    """One county bank's run: the stored row's id and its counts."""

    run_id: int
    county_bank: str
    households: int
    offered: int
    referred: int
    rejected: int
    expired: int
    superseded: int
    seconds: float
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_precredit(uow: UnitOfWork, principal: Principal, runtime: Any, *, village: int | None = None,
                  institution: str | None = None, product: str | None = None, progress: Progress | None = None,
                  evaluator: Evaluator | None = None) -> list[RunResult]:
    """Pre-credit the scope (module docstring); each county bank committed on its own. A refusal
    (404, 403, 422) for a bank leaves that bank and the ones after it untouched."""
    scope = scope_of(uow, principal, village=village, institution=institution)
    evaluator = evaluator or LocalEvaluator()
    results = []
    for bank in scope.banks:
        results.append(_run_bank(uow, principal, runtime, bank, scope, product, progress, evaluator))
        uow.commit()
    return results


def _run_bank(uow: UnitOfWork, principal: Principal, runtime: Any, bank: Institution, scope: Scope,
              product: str | None, progress: Progress | None, evaluator: Evaluator) -> RunResult:
    session = uow.session
    started = time.perf_counter()
    session.execute(sa.select(Institution.id).where(Institution.id == bank.id).with_for_update())
    today = runtime.clock.business_date()
    code = choose_product(uow, runtime, bank, product)
    expired = expire_offers(uow, today, county_bank_id=bank.id)
    village_id = scope.village.id if scope.village is not None else None
    frame = households_frame(session, bank, today, village_id=village_id)
    if progress is not None:
        progress(bank.code, 0, len(frame))
    groups, provenance = [], []
    for grid_id, rows in frame.groupby("grid_id", sort=True):
        grid = session.get(Institution, int(grid_id))
        assert grid is not None
        ctx = engine.batch_context(session, runtime, grid, code, today)
        provenance.append({"grid": grid.code, "product_plugin": ctx.product_plugin,
                           "plugin_version": ctx.view.provenance(ctx.product_plugin).version,
                           "rule_book_hash": rule_book_hash(ctx.book.rules)})
        groups.append((ctx, rows[list(_ENGINE_COLUMNS)], rows["village_id"]))
    results = evaluator.evaluate(groups)
    if progress is not None:
        progress(bank.code, len(frame), len(frame))
    answers = (pd.concat(results).reindex(frame.index) if results
               else pd.DataFrame({c: pd.Series(dtype=object) for c in engine.RESULT_COLUMNS}))
    hashes = sorted({p["rule_book_hash"] for p in provenance})
    run = PrecreditRun(institution_id=bank.id, village_id=village_id,
                       product_code=code, business_date=today, status="running", started_by=principal.username,
                       provenance=provenance, rule_book_hash=hashes[0] if len(hashes) == 1 else "")
    session.add(run)
    session.flush()
    superseded = _supersede(uow, bank, frame["household_id"], village_id)
    counts = _write_offers(uow, run, bank, frame, answers, today, code)
    run.households, run.offered, run.referred, run.rejected = len(frame), *counts
    run.status, run.finished_at = "done", utcnow()
    run.seconds = round(time.perf_counter() - started, 3)
    record(session, actor=principal.username, action="precredit.run", target=f"precredit_run:{run.id}",
           institution_code=bank.code,
           after={"village": village_id, "product": code, "business_date": today.isoformat(), "households": len(frame),
                  "offered": counts[0], "referred": counts[1], "rejected": counts[2], "expired": expired,
                  "superseded": superseded})
    return RunResult(run.id, bank.code, len(frame), *counts, expired, superseded, run.seconds)


_ENGINE_COLUMNS = ("customer_id", "household_id", *engine.FRAME_FACTS, "exposure_room_fen")


def _supersede(uow: UnitOfWork, bank: Institution, households: pd.Series, village_id: int | None) -> int:
    """The open offers of the households about to get a new answer become superseded (one UPDATE
    over the same selection the frame read)."""
    if households.empty:
        return 0
    stmt = (sa.update(PrecreditOffer)
            .where(PrecreditOffer.county_bank_id == bank.id, PrecreditOffer.status.in_(OPEN),
                   PrecreditOffer.household_id.in_(_households(bank, village_id)))
            .values(status=OfferStatus.SUPERSEDED))
    return int(uow.session.execute(stmt, execution_options={"synchronize_session": False}).rowcount or 0)


def _write_offers(uow: UnitOfWork, run: PrecreditRun, bank: Institution, frame: pd.DataFrame, answers: pd.DataFrame,
                  today: date, product: str) -> tuple[int, int, int]:
    """One offer per row (one executemany INSERT); (offered, referred, rejected)."""
    if frame.empty:
        return 0, 0, 0
    expires_on = today + timedelta(days=int(value(uow.session, bank, OFFER_DAYS, today)))
    outcome = answers["outcome"].astype(object).to_numpy()
    limit = answers["approved_fen"].where(answers["outcome"] == "approved", answers["limit_fen"])
    limit = limit.where(answers["outcome"] != "rejected", pd.NA)
    rows = [{
        "run_id": run.id, "county_bank_id": bank.id, "grid_id": int(grid), "village_id": _int(village),
        "household_id": int(household), "customer_id": int(customer), "product_code": product, "colour": colour,
        "outcome": out, "status": STATUS_OF[out], "limit": _fen(lim), "rate": _ppm(ppm), "score": _int(score),
        "grade": grade, "rule_hits": hits.split(",") if hits else [], "reasons": reasons.split("; ") if reasons else [],
        "business_date": today, "expires_on": expires_on,
    } for grid, village, household, customer, colour, out, lim, ppm, score, grade, hits, reasons in zip(
        frame["grid_id"], frame["village_id"], frame["household_id"], frame["customer_id"], frame["peer_review"],
        outcome, limit, answers["rate_ppm"], answers["score"], answers["grade"], answers["rule_hits"],
        answers["reasons"])]
    uow.session.execute(sa.insert(PrecreditOffer), rows)
    return int((outcome == "approved").sum()), int((outcome == "manual_review").sum()), int((outcome == "rejected").sum())


def _missing(value_: Any) -> bool:
    return value_ is None or value_ is pd.NA or (isinstance(value_, float) and np.isnan(value_))


def _int(value_: Any) -> int | None:
    return None if _missing(value_) else int(value_)


def _fen(value_: Any) -> Decimal | None:
    return None if _missing(value_) else Decimal(int(value_)).scaleb(-2)


def _ppm(value_: Any) -> Decimal | None:
    return None if _missing(value_) else Decimal(int(value_)).scaleb(-6).normalize()
