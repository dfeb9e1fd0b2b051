"""Batch pre-credit (预授信), the in-memory part: for every row of a households frame, the answer the
one-record decision (``credit.decision.evaluate``) gives for the same facts: admission rules, the
segment's scorecard, the product's limit (times the grade's coefficient) and price, the outcome.

The promise: ``evaluate_batch(frame, ctx)`` and ``evaluate_one_by_one(frame, ctx)`` give the same
result frame, row for row (a test holds them equal on every household of a sample village); the
first is vectorized over columns, the second calls the decision's own ``evaluate`` per row and is
the reference. Neither touches the database: the caller builds the frame and ``BatchContext``.

What is asked: "what would the decision give if this household's head applied for as much as the
product lets a decision approve without a person (its auto-approval ceiling, or its maximum when it
has none) over its longest term" (``precredit_terms``), with the facts the roster and the customer
file hold; an approved row's ``approved_fen`` is then its graded limit up to that amount; no bureau report is read (pre-credit runs without the household's consent, so it
queries nothing: the decision at acceptance does, with consent).

The frame (``facts_frame`` builds one from fact records): one row per household, ``customer_id``
(the head) and ``household_id`` as int64, the facts of ``FRAME_FACTS`` in the rule language's frame
form (decimals int64 fen as nullable Int64, integers Int64, text object with None), and
``exposure_room_fen`` (Int64; NA: not checked), what the head's exposure cap leaves. A column named
after any other admission fact is a fact too (the same frame form); the application's terms
(``base_facts``) win over a column of the same name, as in the decision.

``BatchContext`` holds the lending institution's live plugin view, which does not pickle;
``portable(ctx)`` gives a ``PortableContext`` that does, and its ``context()`` rebuilds the context
in a worker process (Dask), so ``evaluate_batch(partition, portable_ctx.context())`` runs there.

The result (same index): ``outcome`` (approved | manual_review | rejected), ``refusal_category``,
``limit_fen`` (the graded limit, Int64 NA when none), ``approved_fen`` (Int64, approved rows),
``rate_ppm`` (annual rate in millionths, Int64), ``score`` (Int64), ``grade``, ``rule_hits`` (the
codes hit, comma-joined in hit order) and ``reasons`` ("; "-joined, the verdict's).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from nongxin.core.credit import domain
from nongxin.core.credit.decision import assemble_facts, evaluate
from nongxin.core.credit.products import offered
from nongxin.core.errors import invalid
from nongxin.core.institutions.models import Institution
from nongxin.core.parameters.services import Lpr, lpr
from nongxin.core.plugins.breaker import Breakers
from nongxin.core.plugins.dispatch import HookResult, InstitutionView
from nongxin.core.plugins.host import PluginHost
from nongxin.core.plugins.provenance import Provenance
from nongxin.core.rules.books import RuleBook
from nongxin.sdk.facts import ADMISSION
from nongxin.sdk.hookspecs import FAIL_CLOSED
from nongxin.sdk.rules import CompiledRuleSet, FieldType, Rule, compile_rule_set
from nongxin.sdk.types import (
    Applicant, ApplicationData, HookContext, PluginFailure, ProductSpec, ScorecardSpec,
)

__all__ = ["BatchContext", "FRAME_FACTS", "PortableContext", "RESULT_COLUMNS", "batch_context", "evaluate_batch", "evaluate_one_by_one", "facts_frame",
           "evaluate_portable", "portable", "precredit_terms", "row_application", "row_facts"]

#: The admission facts a households frame carries (what the roster and the customer file hold).
FRAME_FACTS: tuple[str, ...] = ("age", "annual_income", "customer_kind", "customer_segment", "peer_review",
                                "land_mu", "household_assets", "main_business")
RESULT_COLUMNS = ("outcome", "refusal_category", "limit_fen", "approved_fen", "rate_ppm", "score", "grade",
                  "rule_hits", "reasons")
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class BatchContext:
    """Everything the evaluation reads besides the frame, as the lending institution sees it on
    the business date."""

    view: InstitutionView
    institution_code: str
    product: ProductSpec
    product_plugin: str
    book: RuleBook  # the admission rule book
    scorecards: HookResult[ScorecardSpec]
    lpr: Lpr
    business_date: date


def precredit_terms(spec: ProductSpec) -> tuple[Decimal, int, str]:
    """(amount, term_months, repayment_method) a pre-credit asks about: the product's
    auto-approval ceiling (its maximum when the ceiling is 0) over its longest term, repaid by its
    first method."""
    amount = min(spec.amount.maximum, spec.auto_approval_ceiling) if spec.auto_approval_ceiling > 0 \
        else spec.amount.maximum
    return amount, spec.term_months[1], spec.repayment_methods[0]


def base_facts(ctx: BatchContext) -> dict[str, Any]:
    """The facts the application's terms give, as ``decide`` adds them."""
    amount, term, method = precredit_terms(ctx.product)
    return {"amount": amount, "term_months": term, "product_code": ctx.product.code, "segment": ctx.product.segment,
            "repayment_method": method, "lpr_1y": ctx.lpr.one_year, "lpr_5y": ctx.lpr.over_five_year}


def batch_context(session: Any, runtime: Any, where: Institution, product_code: str, today: date) -> BatchContext:
    """The context at the lending institution ``where`` on ``today``: its plugins, the product as
    offered there (422 naming ``product`` when it is not), its admission book, scorecards and LPR.
    Reads the database (the only function here that does)."""
    view = runtime.plugins.view(session, where)
    products, _ = offered(session, runtime.plugins, where)
    chosen = next((p for p in products if p.spec.code == product_code), None)
    if chosen is None:
        raise invalid("product", f"product {product_code} is not offered at {where.code}")
    return BatchContext(view, where.code, chosen.spec, chosen.plugin,
                        runtime.rulebooks.get(session, where, "admission", today),
                        view.collect("nongxin_scorecards", expect=ScorecardSpec), lpr(session, where, today), today)


# -- frames -----------------------------------------------------------------------------------

def facts_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A households frame from fact records (each with ``customer_id``, ``household_id``, any of
    ``FRAME_FACTS`` as ``customer_facts`` gives them, and optionally ``exposure_room``, Decimal)."""
    columns: dict[str, Any] = {
        "customer_id": np.array([r["customer_id"] for r in records], dtype=np.int64),
        "household_id": np.array([r["household_id"] for r in records], dtype=np.int64),
    }
    for name in FRAME_FACTS:
        values = [r.get(name) for r in records]
        columns[name] = _column(ADMISSION[name].type, values)
    columns["exposure_room_fen"] = _column(FieldType.DECIMAL, [r.get("exposure_room") for r in records])
    return pd.DataFrame(columns)


def _column(kind: FieldType, values: list[Any]) -> pd.Series:
    if kind is FieldType.DECIMAL:
        return pd.array([None if v is None else int(Decimal(v).scaleb(2)) for v in values], dtype="Int64")
    if kind is FieldType.INTEGER:
        return pd.array(values, dtype="Int64")
    return pd.Series(values, dtype=object)


def row_facts(row: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of one frame row back in Python form (fen to Decimal yuan); NA is absent. Every
    admission fact the row has a column for counts (``FRAME_FACTS`` and any other, such as a
    county's ``existing_debt`` or stored bureau figures)."""
    facts: dict[str, Any] = {}
    for name, value in row.items():
        spec = ADMISSION.get(name)
        if spec is None or value is None or value is pd.NA or value is pd.NaT or (
                isinstance(value, float) and np.isnan(value)):
            continue
        if spec.type is FieldType.DECIMAL:
            value = Decimal(int(value)).scaleb(-2)
        elif spec.type is FieldType.INTEGER:
            value = int(value)
        elif spec.type is FieldType.BOOLEAN:
            value = bool(value)
        elif spec.type is FieldType.DATE and isinstance(value, pd.Timestamp):
            value = value.date()
        facts[name] = value
    return facts


# -- the reference: the decision's own evaluate, one row at a time ---------------------------

def row_application(row: Mapping[str, Any], ctx: BatchContext) -> tuple[ApplicationData, dict[str, Any], domain.Terms,
                                                                          list[domain.Failure]]:
    """(application, facts, terms, failures) the decision sees for one frame row."""
    amount, term, method = precredit_terms(ctx.product)
    facts, failures = assemble_facts(row_facts(row), base_facts(ctx))
    room = row.get("exposure_room_fen")
    terms = domain.Terms(amount, ctx.product.amount.minimum, ctx.product.auto_approval_ceiling,
                         ctx.product.annual_rate,
                         None if room is None or room is pd.NA else Decimal(int(room)).scaleb(-2))
    application = ApplicationData(f"PRE-{row['household_id']}", ctx.product.code, ctx.institution_code,
                                  Applicant("resident_id", "", ""), amount, term, "precredit",
                                  MappingProxyType(dict(facts)), method, ctx.product.segment)
    return application, facts, terms, failures


def evaluate_one_by_one(frame: pd.DataFrame, ctx: BatchContext) -> pd.DataFrame:
    """The result frame computed row by row through ``credit.decision.evaluate``: the reference
    the vectorized path must equal."""
    out: dict[str, list[Any]] = {c: [] for c in RESULT_COLUMNS}
    for row in frame.to_dict("records"):
        application, facts, terms, failures = row_application(row, ctx)
        ev = evaluate(ctx.view, ctx.book, ctx.scorecards, application, facts, terms, failures)
        verdict = ev.verdict
        out["outcome"].append(verdict.outcome)
        out["refusal_category"].append(verdict.refusal_category)
        out["limit_fen"].append(None if ev.limit is None else int(ev.limit.scaleb(2)))
        out["approved_fen"].append(None if verdict.approved_amount is None else int(verdict.approved_amount.scaleb(2)))
        out["rate_ppm"].append(None if ev.rate is None else int(ev.rate * MILLION))
        out["score"].append(None if ev.scored is None else ev.scored.total)
        out["grade"].append(None if ev.scored is None or ev.scored.grade is None else ev.scored.grade.name)
        out["rule_hits"].append(",".join(h.code for h in ev.rule_hits))
        out["reasons"].append("; ".join(verdict.reasons))
    text = {c: pd.Series(out[c], dtype=object, index=frame.index)
            for c in ("outcome", "refusal_category", "grade", "rule_hits", "reasons")}
    whole = {c: pd.Series(pd.array(out[c], dtype="Int64"), index=frame.index)
             for c in ("limit_fen", "approved_fen", "rate_ppm", "score")}
    return pd.DataFrame({c: text[c] if c in text else whole[c] for c in RESULT_COLUMNS}, index=frame.index)


def evaluate_batch(frame: pd.DataFrame, ctx: BatchContext) -> pd.DataFrame:
    """The result frame, vectorized over the columns (see the module's docstring): equal to
    ``evaluate_one_by_one`` on every column of every row."""
    from nongxin.core.village.engine_columns import evaluate_frame

    return evaluate_frame(frame, ctx)


# -- a context a Dask worker can receive ------------------------------------------------------

@dataclass(frozen=True)
class PortableContext:
    """A ``BatchContext`` as plain picklable data, for a worker process (Dask): ``context()``
    rebuilds it there. The plugins are imported by module name (once per process) and bound with
    the settings they had; the rule book is recompiled from its rules (once per process)."""

    institution: HookContext
    plugins: tuple[tuple[str, str, HookContext], ...]  # (plugin, module, its context)
    breaker: tuple[int, float]
    institution_code: str
    product: ProductSpec
    product_plugin: str
    book: tuple[str, str, date, tuple[Rule, ...], tuple[PluginFailure, ...], str | None, bool]
    scorecards: tuple[tuple[ScorecardSpec, Provenance], ...]
    scorecard_failures: tuple[PluginFailure, ...]
    lpr: Lpr
    business_date: date

    def context(self) -> BatchContext:
        host = _worker_host(tuple((name, module) for name, module, _ in self.plugins), self.breaker)
        view = InstitutionView(host, self.institution, {name: own for name, _, own in self.plugins})
        place, stage, on, rules, failures, error, compiled = self.book
        book = RuleBook(place, stage, on, list(rules), _compiled(rules) if compiled else None, list(failures), error)
        cards: HookResult[ScorecardSpec] = HookResult("nongxin_scorecards", FAIL_CLOSED)
        cards.values += [spec for spec, _ in self.scorecards]
        cards.owners += [owner for _, owner in self.scorecards]
        cards.failures += list(self.scorecard_failures)
        return BatchContext(view, self.institution_code, self.product, self.product_plugin, book, cards, self.lpr,
                            self.business_date)


def _plain_context(ctx: HookContext) -> HookContext:
    return dataclasses.replace(ctx, settings=dict(ctx.settings))


def portable(ctx: BatchContext) -> PortableContext:
    """The picklable form of ``ctx``. Raises ValueError when an enabled plugin cannot be imported
    by its module's name (a plugin registered from a module built at run time cannot reach a
    worker, and leaving it out would change the answers)."""
    plugins = []
    for name, own in sorted(ctx.view.contexts.items()):
        module: Any = ctx.view.host.loaded[name].module
        module_name = str(module.__name__)
        try:
            found: Any = importlib.import_module(module_name)
        except ImportError:
            found = None
        if found is not module:
            raise ValueError(f"plugin {name} is not importable as {module_name}: it cannot run in a worker")
        plugins.append((name, module_name, _plain_context(own)))
    book = ctx.book
    breakers = ctx.view.host.breakers
    return PortableContext(
        _plain_context(ctx.view.ctx), tuple(plugins), (breakers.threshold, breakers.cooldown), ctx.institution_code,
        ctx.product, ctx.product_plugin,
        (book.institution, book.stage, book.on, tuple(book.rules), tuple(book.failures), book.error,
         book.compiled is not None),
        tuple(zip(ctx.scorecards.values, ctx.scorecards.owners)), tuple(ctx.scorecards.failures), ctx.lpr,
        ctx.business_date)


_HOSTS: dict[tuple[tuple[str, str], ...], PluginHost] = {}


def _worker_host(plugins: tuple[tuple[str, str], ...], breaker: tuple[int, float]) -> PluginHost:
    """This process's plugin host for these plugins (imported and registered once)."""
    host = _HOSTS.get(plugins)
    if host is None:
        host = PluginHost(Breakers(*breaker))
        for name, module in plugins:
            host.register(importlib.import_module(module), source=f"worker import {module}", fallback_name=name)
        _HOSTS[plugins] = host
    return host


@functools.lru_cache(maxsize=16)
def _compiled(rules: tuple[Rule, ...]) -> CompiledRuleSet:
    return compile_rule_set(rules, ADMISSION)


def evaluate_portable(frame: pd.DataFrame, ctx: PortableContext) -> pd.DataFrame:
    """``evaluate_batch`` with a portable context: the function a Dask worker maps over the
    partitions (``ddf.map_partitions(evaluate_portable, portable(ctx), meta=...)``)."""
    return evaluate_batch(frame, ctx.context())
