"""The automated decision (自动审批) of one loan application, read top to bottom.

``decide`` runs the pipeline of the README's "The decision":

1. consent: a live bureau authorization of the county bank for loan approval (02) of the applicant
   and guarantor review (08) of each guarantor; without it the application waits in
   ``awaiting_consent`` and nothing is queried;
2. bureau: the report through ``core.bureau.services.query`` (cache, log, ``for`` = the
   application); a failed provider or no report is a failure;
3. connectors: each required field the form and the customer file do not give, fetched from the
   enabled connector declaring it (its timeout; its answer cached for its TTL);
4. facts: form, customer file, bureau summary, connector fields and the application's terms,
   typed against ``nongxin.sdk.facts.ADMISSION``;
5.-8. ``evaluate``: the in-memory step (admission rules, the segment's scorecard, the product
   plugin's findings, limit and price, then ``domain.combine``, which also weighs the room the
   customer's exposure cap leaves, read before), no database;

then stores the whole ``Decision`` record, moves the application to its outcome (an approval
writes its credit line, ``lines.grant``), opens manual review when needed, commits, and only then tells the ``nongxin_on_decision`` plugins (which never
change the outcome). Every hook is called through the dispatch layer; any failure fails closed
(manual review naming the plugin), never a 500 and never an approval.

``replay`` recomputes a stored decision: with the stored rule definitions, scorecard and plugin
answers it reproduces the stored outcome exactly; with today's rules and plugins it shows what
would change. A replay stores nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Mapping

from sqlalchemy.dialects import postgresql, sqlite

from nongxin.core.auth import Principal
from nongxin.core.bureau import services as bureau
from nongxin.core.credit import domain
from nongxin.core.credit.applications import transition, visible_application
from nongxin.core.credit.lines import Approval, exposure
from nongxin.core.credit.models import Application, ApplicationStatus, Decision, DecisionRuleBook
from nongxin.core.credit.products import offered
from nongxin.core.credit.review import start as start_review
from nongxin.core.customers.models import Customer
from nongxin.core.customers.services import applicant_of, customer_facts
from nongxin.core.db import UnitOfWork, utcnow
from nongxin.core.errors import Conflict, NongxinError, NotFound
from nongxin.core.institutions.models import Institution
from nongxin.core.parameters.services import lpr as lpr_in_force
from nongxin.core.permissions import Action
from nongxin.core.plugins.dispatch import HookResult, InstitutionView
from nongxin.core.plugins.provenance import Contribution, Provenance
from nongxin.core.rules import shadow
from nongxin.core.rules.books import RuleBook
from nongxin.core.runtime import Runtime
from nongxin.core.scorecards import challenger
from nongxin.sdk._codec import decode, encode
from nongxin.sdk.bureau import BureauSubject, Purpose
from nongxin.sdk.facts import ADMISSION
from nongxin.sdk.identity import IdentityKind
from nongxin.sdk.rules import CompiledRuleSet, FieldType, Rule, compile_rule_set
from nongxin.sdk.scorecards import ScoreResult, score
from nongxin.sdk.types import (
    ApplicationData, ConnectorSpec, Event, Finding, LimitResult, PriceResult, ProductSpec, ScorecardSpec,
)

#: Version of the record's layout.
RECORD_FORMAT = 1
DECIDABLE = frozenset({ApplicationStatus.SUBMITTED, ApplicationStatus.AWAITING_CONSENT})
#: Failures of the sources gathered before the in-memory step; a replay keeps them as stored.
SOURCE_FAILURES = frozenset({"consent", "bureau", "guarantor", "connector", "product", "facts"})
OUTCOME_STATUS = {domain.APPROVED: ApplicationStatus.APPROVED, domain.REJECTED: ApplicationStatus.REJECTED,
                  domain.MANUAL_REVIEW: ApplicationStatus.MANUAL_REVIEW}
MILLIONTH = Decimal("0.000001")
FEN = Decimal("0.01")


def _us(started: int) -> int:
    return (time.perf_counter_ns() - started) // 1000


# -- the answer ------------------------------------------------------------------------------

@dataclass
class Decided:
    """What ``decide`` did: the decision stored, or the consents still missing."""

    application: Application
    decision: Decision | None = None
    missing_consent: list[dict[str, Any]] = field(default_factory=list)


# -- 1. consent ------------------------------------------------------------------------------

def bureau_subject(customer: Customer) -> BureauSubject:
    return BureauSubject(IdentityKind(customer.kind.id_kind), customer.id_number, customer.name)


def missing_consents(uow: UnitOfWork, bank: Institution, applicant: Customer,
                     guarantors: list[Customer]) -> list[dict[str, Any]]:
    """Each (customer, purpose) no live authorization of ``bank`` covers, with the reason."""
    wanted = [(applicant, Purpose.LOAN_APPROVAL)] + [(g, Purpose.GUARANTOR_REVIEW) for g in guarantors]
    missing = []
    for customer, purpose in wanted:
        refusal = bureau.consent_refusal(uow, bank, bureau_subject(customer), purpose)
        if refusal is not None:
            missing.append({"customer": customer.id, "name": customer.name, "purpose": purpose.value,
                            "reason": refusal.value})
    return missing


# -- 3. connectors ---------------------------------------------------------------------------

class ConnectorCache:
    """Connector answers kept in this process for each connector's ``cache_ttl_seconds``, per county
    bank, connector and subject, timed by the runtime's clock.

    In memory rather than in a table on purpose: the answers are third parties' personal data the
    bank need not keep beyond the TTL (the decision record keeps what was used), a restart only
    costs a refetch, and a lookup costs no query on the decision's hot path."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str, str, str], tuple[datetime, Mapping[str, Any]]] = {}

    def get(self, key: tuple[str, str, str, str], now: datetime) -> Mapping[str, Any] | None:
        hit = self._entries.get(key)
        if hit is None or hit[0] <= now:
            return None
        return hit[1]

    def put(self, key: tuple[str, str, str, str], now: datetime, ttl_seconds: int, value: Mapping[str, Any]) -> None:
        if ttl_seconds <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[key] = (now + timedelta(seconds=ttl_seconds), MappingProxyType(dict(value)))


_CACHES: weakref.WeakKeyDictionary[Any, ConnectorCache] = weakref.WeakKeyDictionary()


def connector_cache(rt: Runtime) -> ConnectorCache:
    """The process's connector cache (one per plugin host, so ``Runtime.as_of`` copies share it)."""
    cache = _CACHES.get(rt.host)
    if cache is None:
        cache = _CACHES[rt.host] = ConnectorCache()
    return cache


def fetch_connectors(rt: Runtime, view: InstitutionView, bank: Institution, customer: Customer,
                     needed: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]], list[domain.Failure]]:
    """Fetch ``needed`` fields from the connectors declaring them: (fields, calls, failures)."""
    if not needed:
        return {}, [], []
    failures: list[domain.Failure] = []
    specs = view.collect("nongxin_connectors", expect=ConnectorSpec)
    failures += [domain.Failure("connector", f.plugin, f.error) for f in specs.failures]
    plan: dict[int, list[str]] = {}
    for name in needed:
        index = next((i for i, c in enumerate(specs.contributions) if name in c.value.fields), None)
        if index is None:
            failures.append(domain.Failure("facts", name, "no enabled connector provides this required field"))
        else:
            plan.setdefault(index, []).append(name)
    fields: dict[str, Any] = {}
    calls: list[dict[str, Any]] = []
    subject = applicant_of(customer)
    now = rt.clock.now()
    cache = connector_cache(rt)
    for index, names in plan.items():
        connector = specs.contributions[index]
        spec = connector.value
        key = (bank.code, connector.provenance.plugin, spec.name, customer.id_number)
        started = time.perf_counter_ns()
        answer = cache.get(key, now)
        cached = answer is not None
        if answer is None:
            result = view.fetch(connector, subject)
            if result.failures:
                failures += [domain.Failure("connector", f"{spec.name} ({f.plugin})", f.error) for f in result.failures]
                calls.append({"connector": spec.name, "provenance": encode(connector.provenance), "cached": False,
                              "fields": names, "ok": False, "duration_us": _us(started)})
                continue
            answer = result.values[0]
            cache.put(key, now, spec.cache_ttl_seconds, answer)
        absent = [n for n in names if answer.get(n) is None]
        for n in absent:
            failures.append(domain.Failure("connector", f"{spec.name} ({connector.provenance.plugin})",
                                           f"did not return {n}"))
        fields.update({k: v for k, v in answer.items() if k not in fields})
        calls.append({"connector": spec.name, "provenance": encode(connector.provenance), "cached": cached,
                      "fields": names, "ok": not absent, "duration_us": _us(started)})
    return fields, calls, failures


# -- 4. facts --------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """JSON form values made exact: a float becomes the Decimal it prints as, recursively."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _typed(kind: FieldType, value: Any) -> Any:
    """``value`` as the admission schema's type; ValueError says why not."""
    if kind is FieldType.DECIMAL:
        if isinstance(value, bool):
            raise ValueError("is a boolean, not a number")
        try:
            number = Decimal(value) if isinstance(value, (Decimal, int)) else Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return number
    if kind is FieldType.INTEGER:
        if isinstance(value, bool):
            raise ValueError("is a boolean, not a whole number")
        if isinstance(value, int):
            return value
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a whole number") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise ValueError(f"{value!r} is not a whole number")
        return int(number)
    if kind is FieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        raise ValueError(f"{value!r} is not true or false")
    if kind is FieldType.DATE:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO date") from None
    if kind is FieldType.STRING:
        if isinstance(value, str):
            return value
        raise ValueError(f"{value!r} is not text")
    return value


def assemble_facts(*parts: Mapping[str, Any]) -> tuple[dict[str, Any], list[domain.Failure]]:
    """Later parts win over earlier ones; every admission field is typed (a value of the wrong
    type is left out and named as a failure, so a rule never reads a guess)."""
    facts: dict[str, Any] = {}
    for part in parts:
        facts.update({k: _plain(v) for k, v in part.items()})
    failures = []
    for name in list(facts):
        spec = ADMISSION.get(name)
        if spec is None or facts[name] is None:
            continue
        try:
            facts[name] = _typed(spec.type, facts[name])
        except ValueError as exc:
            del facts[name]
            failures.append(domain.Failure("facts", name, str(exc)))
    return facts, failures


def encode_facts(facts: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """JSON-safe facts and the type of each value JSON cannot carry (decimal, date)."""
    types = {k: "decimal" for k, v in facts.items() if isinstance(v, Decimal)}
    types.update({k: "date" for k, v in facts.items() if isinstance(v, date)})
    return {k: encode(v) for k, v in facts.items()}, types


def decode_facts(values: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, Any]:
    def one(name: str, value: Any) -> Any:
        kind = types.get(name)
        if kind == "decimal":
            return Decimal(value)
        if kind == "date":
            return date.fromisoformat(value)
        return value

    return {k: one(k, v) for k, v in values.items()}


# -- 5.-8. the in-memory step ----------------------------------------------------------------

@dataclass
class Answers:
    """The product plugin's answers (and the scorecard used), as stored and replayed."""

    findings: list[Contribution[Finding]] = field(default_factory=list)
    limit: Contribution[LimitResult] | None = None
    price: Contribution[PriceResult] | None = None
    failures: list[domain.Failure] = field(default_factory=list)


@dataclass
class Evaluation:
    rule_hits: tuple[domain.RuleHit, ...]
    rules_in_force: tuple[Rule, ...]
    scorecard: Contribution[ScorecardSpec] | None
    scored: ScoreResult | None
    answers: Answers
    limit: Decimal | None  # after the grade coefficient
    rate: Decimal | None
    lpr: Decimal | None
    failures: tuple[domain.Failure, ...]
    verdict: domain.Verdict
    durations_us: dict[str, int]


_RULES_BY_CODE: weakref.WeakKeyDictionary[CompiledRuleSet, dict[str, Rule]] = weakref.WeakKeyDictionary()


def apply_rules(compiled: CompiledRuleSet | None, facts: Mapping[str, Any]) -> tuple[domain.RuleHit, ...]:
    """The admission rules' hits with each rule's code, version, expression and category."""
    if compiled is None:
        return ()
    by_code = _RULES_BY_CODE.get(compiled)
    if by_code is None:
        by_code = _RULES_BY_CODE[compiled] = {r.code: r for r in compiled.rules}
    hits = []
    for hit in compiled.evaluate(facts):
        rule = by_code[hit.code]
        hits.append(domain.RuleHit(rule.code, rule.version, rule.expression, rule.outcome,
                                   rule.category or domain.OTHER, rule.reason))
    return tuple(hits)


def pick_scorecard(cards: HookResult[ScorecardSpec], segment: str) -> tuple[Contribution[ScorecardSpec] | None, list[domain.Failure]]:
    """The segment's champion: its first card that is not a challenger (challengers score in shadow)."""
    failures = [domain.Failure("scorecard", f.plugin, f.error) for f in cards.failures]
    chosen = next((c for c in cards.contributions if c.value.segment == segment and not c.value.challenger), None)
    if chosen is None and not failures:
        failures.append(domain.Failure("scorecard", "", f"no scorecard for segment {segment!r}"))
    return chosen, failures


def score_with(card: Contribution[ScorecardSpec] | None, facts: Mapping[str, Any]) -> tuple[ScoreResult | None, list[domain.Failure]]:
    if card is None:
        return None, []
    try:
        return score(card.value, facts), []
    except Exception as exc:  # a malformed scorecard fails closed like a failing plugin
        return None, [domain.Failure("scorecard", card.provenance.plugin, f"{type(exc).__name__}: {exc}")]


def ask_product(view: InstitutionView, application: ApplicationData, facts: Mapping[str, Any]) -> Answers:
    """Findings, limit and price from the product plugins (7.), through the dispatch layer."""
    seen = MappingProxyType(dict(facts))
    answers = Answers()
    found = view.collect("nongxin_assess_application", expect=Finding, application=application, facts=seen)
    answers.findings = found.contributions
    limit = view.first("nongxin_credit_limit", expect=LimitResult, application=application, facts=seen)
    answers.limit = limit.contributions[0] if limit.values else None
    price = view.first("nongxin_price", expect=PriceResult, application=application, facts=seen)
    answers.price = price.contributions[0] if price.values else None
    for result in (found, limit, price):
        answers.failures += [domain.Failure(f.hook, f.plugin, f.error) for f in result.failures]
    return answers


def _limit_amount(answers: Answers) -> tuple[Decimal | None, list[domain.Failure]]:
    if answers.limit is None:
        return None, []
    amount = answers.limit.value.amount
    if isinstance(amount, Decimal) and amount.is_finite() and amount >= 0 and amount == amount.quantize(FEN):
        return amount, []
    return None, [domain.Failure("nongxin_credit_limit", answers.limit.provenance.plugin,
                                 f"limit {amount!r} is not a non-negative Decimal amount of whole fen")]


def _rate(answers: Answers, lpr: Decimal | None) -> tuple[Decimal | None, list[domain.Failure]]:
    if answers.price is None:
        return None, []
    price, plugin = answers.price.value, answers.price.provenance.plugin
    spread_ok = price.spread_bp is None or (isinstance(price.spread_bp, int) and not isinstance(price.spread_bp, bool))
    rate_ok = price.annual_rate is None or (isinstance(price.annual_rate, Decimal) and price.annual_rate.is_finite())
    if not (spread_ok and rate_ok) or (price.spread_bp is None and price.annual_rate is None):
        return None, [domain.Failure("nongxin_price", plugin, "a price needs an int spread_bp or a Decimal annual_rate")]
    if price.spread_bp is not None and lpr is None:
        return None, [domain.Failure("nongxin_price", plugin, "a spread needs the LPR, which is not in the facts")]
    rate = domain.priced_rate(price.annual_rate, price.spread_bp, lpr or Decimal(0))
    if rate is None or rate != rate.quantize(MILLIONTH):
        return None, [domain.Failure("nongxin_price", plugin, f"rate {rate} is finer than a millionth")]
    return rate, []


def lpr_of(facts: Mapping[str, Any], term_months: int) -> Decimal | None:
    value = facts.get("lpr_5y" if term_months > 60 else "lpr_1y")
    return value if isinstance(value, Decimal) else None


def conclude(facts: Mapping[str, Any], terms: domain.Terms, term_months: int, rule_hits: tuple[domain.RuleHit, ...],
             scored: ScoreResult | None, answers: Answers, failures: list[domain.Failure], *,
             replaying: bool = False) -> tuple[domain.Verdict, Decimal | None, Decimal | None, Decimal | None, list[domain.Failure]]:
    """8. The outcome from the hits, the score and the plugin's answers (pure). ``replaying``: the
    ``failures`` are a stored record's, which already hold the plugins' and the answers' own."""
    lpr = lpr_of(facts, term_months)
    limit, limit_failures = _limit_amount(answers)
    rate, rate_failures = _rate(answers, lpr)
    every = list(failures) if replaying else [*failures, *answers.failures, *limit_failures, *rate_failures]
    coefficient = scored.grade.limit_coefficient if scored is not None and scored.grade is not None else None
    findings = tuple(domain.FindingHit(c.provenance.plugin, c.value.code, c.value.outcome.value, c.value.reason)
                     for c in answers.findings)
    verdict = domain.combine(rule_hits=rule_hits, findings=findings, failures=tuple(every), coefficient=coefficient,
                             limit=limit, rate=rate, terms=terms)
    graded = domain.graded_limit(limit, coefficient) if limit is not None and coefficient is not None else limit
    return verdict, graded, rate, lpr, every


def evaluate(view: InstitutionView, book: RuleBook, scorecards: HookResult[ScorecardSpec],
             application: ApplicationData, facts: Mapping[str, Any], terms: domain.Terms,
             failures: list[domain.Failure]) -> Evaluation:
    """Steps 5 to 8 on facts in memory: the decision step the benchmark times (no database)."""
    durations: dict[str, int] = {}
    started = time.perf_counter_ns()
    failures = list(failures)
    if not book.usable:
        problem = book.problem
        failures.append(domain.Failure("rules", "", f"the admission rule book is unusable: {problem}"))
    rule_hits = apply_rules(book.compiled, facts)
    durations["rules"] = _us(started)
    started = time.perf_counter_ns()
    card, card_failures = pick_scorecard(scorecards, application.segment)
    scored, score_failures = score_with(card, facts)
    failures += card_failures + score_failures
    durations["scorecard"] = _us(started)
    started = time.perf_counter_ns()
    answers = ask_product(view, application, facts)
    durations["product"] = _us(started)
    started = time.perf_counter_ns()
    verdict, limit, rate, lpr, every = conclude(facts, terms, application.term_months, rule_hits, scored, answers,
                                                failures)
    durations["outcome"] = _us(started)
    return Evaluation(rule_hits, tuple(book.rules), card, scored, answers, limit, rate, lpr, tuple(every), verdict,
                      durations)


# -- the pipeline ----------------------------------------------------------------------------

def _terms(app: Application, spec: ProductSpec | None, room: Decimal | None = None) -> domain.Terms:
    if spec is None:  # no product: nothing can be approved; the failure says why
        return domain.Terms(app.amount, app.amount, Decimal(0), (Decimal(0), Decimal(0)), room)
    return domain.Terms(app.amount, spec.amount.minimum, spec.auto_approval_ceiling, spec.annual_rate, room)


def rule_book_hash(rules: tuple[Rule, ...] | list[Rule]) -> str:
    """SHA-256 of the rule definitions in force (sorted by code): equal hashes, equal rules."""
    return _definitions(rules)[0]


def _definitions(rules: tuple[Rule, ...] | list[Rule]) -> tuple[str, list[dict[str, Any]]]:
    encoded = sorted((encode(r) for r in rules), key=lambda r: r["code"])
    body = json.dumps(encoded, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest(), encoded


_BOOKS: weakref.WeakKeyDictionary[CompiledRuleSet, tuple[str, list[dict[str, Any]]]] = weakref.WeakKeyDictionary()


def book_definitions(book: RuleBook) -> tuple[str, list[dict[str, Any]]]:
    """(hash, encoded definitions) of a rule book, computed once per compiled book."""
    if book.compiled is None:
        return _definitions(book.rules)
    known = _BOOKS.get(book.compiled)
    if known is None:
        known = _BOOKS[book.compiled] = _definitions(book.rules)
    return known


def keep_rule_book(session: Any, book: RuleBook) -> str:
    """Store the book's definitions under their hash unless already stored; the hash."""
    digest, definitions = book_definitions(book)
    if session.get(DecisionRuleBook, digest) is None:
        table = DecisionRuleBook.__table__
        dialect = session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        session.execute(insert.values(hash=digest, stage=book.stage, rule_count=len(definitions),
                                      definitions=definitions, first_used_at=utcnow()).on_conflict_do_nothing())
    return digest


def stored_rule_book(session: Any, digest: str) -> list[Rule]:
    row = session.get(DecisionRuleBook, digest)
    if row is None:
        raise NotFound(f"rule book {digest} is not stored", fields={"rule_book_hash": ["not stored"]})
    return [decode(Rule, r, "rule") for r in row.definitions]


def decide(uow: UnitOfWork, principal: Principal, rt: Runtime, application_id: int) -> Decided:
    """Decide one application (see the module's docstring); commits, then notifies."""
    durations: dict[str, int] = {}
    begun = time.perf_counter_ns()
    app = visible_application(uow, principal, application_id, Action.APPLICATION_DECIDE, lock=True)
    if app.status not in DECIDABLE:
        raise Conflict(f"application {app.number} is {app.status.value}; only a submitted application (or one "
                       "awaiting consent) can be decided", code="invalid_state",
                       fields={"status": [app.status.value]})
    session = uow.session
    bank = session.get(Institution, app.county_bank_id)
    where = session.get(Institution, app.institution_id)
    assert bank is not None and where is not None
    today = rt.clock.business_date()
    customer = app.customer
    found = {i: session.get(Customer, i) for i in app.guarantor_ids}
    guarantors = [g for g in found.values() if g is not None]
    unknown_guarantors = [i for i, g in found.items() if g is None]

    # 1. consent: without it, nothing is queried
    started = time.perf_counter_ns()
    missing = missing_consents(uow, bank, customer, guarantors)
    durations["consent"] = _us(started)
    if missing:
        if app.status is not ApplicationStatus.AWAITING_CONSENT:
            transition(uow, app, ApplicationStatus.AWAITING_CONSENT, actor=principal.username, bank_code=bank.code,
                       note="missing bureau consent: " + ", ".join(f"{m['name']} ({m['purpose']})" for m in missing))
        uow.commit()
        return Decided(app, None, missing)
    transition(uow, app, ApplicationStatus.DECIDING, actor=principal.username, bank_code=bank.code)
    failures: list[domain.Failure] = [domain.Failure("guarantor", str(i), "no such customer") for i in unknown_guarantors]

    # the product as offered at the lending institution
    started = time.perf_counter_ns()
    view = rt.plugins.view(session, where)
    products, product_failures = offered(session, rt.plugins, where)
    spec = next((p.spec for p in products if p.spec.code == app.product_code), None)
    product_plugin = next((p.plugin for p in products if p.spec.code == app.product_code), "")
    if spec is None:
        failures += [domain.Failure("product", f.plugin, f.error) for f in product_failures]
        failures.append(domain.Failure("product", app.product_code, f"product is not offered at {where.code}"))
    segment = spec.segment if spec is not None else ""
    durations["product_spec"] = _us(started)

    # 2. bureau
    started = time.perf_counter_ns()
    bureau_record: dict[str, Any] = {"guarantors": []}
    summary_facts: dict[str, Any] = {}
    for who, purpose in [(customer, Purpose.LOAN_APPROVAL)] + [(g, Purpose.GUARANTOR_REVIEW) for g in guarantors]:
        entry, facts_of, failure = _bureau(uow, principal, rt, app, who, purpose, today)
        if failure is not None:
            failures.append(failure)
        if who is customer:
            bureau_record["applicant"], summary_facts = entry, facts_of
        else:
            bureau_record["guarantors"].append(entry)
    durations["bureau"] = _us(started)

    # 3. connectors, for required data the form, the file and the bureau do not give
    started = time.perf_counter_ns()
    rates = lpr_in_force(session, where, today)
    base = {"amount": app.amount, "term_months": app.term_months, "product_code": app.product_code,
            "segment": segment, "repayment_method": app.repayment_method,
            "lpr_1y": rates.one_year, "lpr_5y": rates.over_five_year}
    known = {**customer_facts(customer, today), **summary_facts, **dict(app.form or {}), **base}
    needed = [f for f in (spec.required_data if spec is not None else ()) if known.get(f) is None]
    fetched, calls, connector_failures = fetch_connectors(rt, view, bank, customer, needed)
    failures += connector_failures
    durations["connectors"] = _us(started)

    # 4. facts
    started = time.perf_counter_ns()
    facts, fact_failures = assemble_facts(customer_facts(customer, today), summary_facts, fetched,
                                          dict(app.form or {}), base)
    failures += fact_failures
    application = ApplicationData(app.number, app.product_code, where.code, applicant_of(customer), app.amount,
                                  app.term_months, app.purpose, MappingProxyType(dict(facts)), app.repayment_method,
                                  segment)
    durations["facts"] = _us(started)

    # 5.-8. rules, scorecard, product plugin, outcome
    started = time.perf_counter_ns()
    book = rt.rulebooks.get(session, where, "admission", today)
    scorecards = view.collect("nongxin_scorecards", expect=ScorecardSpec)
    durations["load_rules_and_scorecards"] = _us(started)
    room = exposure(session, bank, customer.id, today, lock=True).room  # the credit line's cap
    evaluation = evaluate(view, book, scorecards, application, facts, _terms(app, spec, room), failures)
    durations.update(evaluation.durations_us)

    # store, move, review
    started = time.perf_counter_ns()
    verdict = evaluation.verdict
    record = build_record(app, segment, spec, product_plugin, today, bureau_record, calls, facts, book, evaluation,
                          room=room)
    keep_rule_book(session, book)
    decision = Decision(application_id=app.id, outcome=verdict.outcome, refusal_category=verdict.refusal_category,
                        limit=evaluation.limit, rate=evaluation.rate,
                        score=evaluation.scored.total if evaluation.scored else None,
                        grade=evaluation.scored.grade.name if evaluation.scored and evaluation.scored.grade else None,
                        scorecard_code=evaluation.scored.code if evaluation.scored else None,
                        scorecard_version=evaluation.scored.version if evaluation.scored else None,
                        rule_book_hash=record["rules"]["hash"], business_date=today, decided_by=principal.username,
                        record=record)
    app.approved_amount, app.approved_rate = verdict.approved_amount, verdict.rate
    app.refusal_category = verdict.refusal_category
    transition(uow, app, OUTCOME_STATUS[verdict.outcome], actor=principal.username, bank_code=bank.code,
               note="; ".join(verdict.reasons)[:500], approval=Approval(today, spec, view))
    if verdict.outcome == domain.MANUAL_REVIEW:
        start_review(uow, rt.calendar, app, bank, today)
    durations["store"] = _us(started)
    durations["total"] = _us(begun)
    record["durations_us"] = durations
    decision.duration_us = durations["total"]
    session.add(decision)
    shadow.admission(session, rt, where, app, facts, today)  # stored apart: nothing of it in the decision
    challenger.shadow_score(session, scorecards, where, app, decision, facts)  # stored apart, likewise
    uow.commit()
    announce(view, where, app, decision)  # the view built before the commit: no new transaction
    return Decided(app, decision)


def _bureau(uow: UnitOfWork, principal: Principal, rt: Runtime, app: Application, who: Customer, purpose: Purpose,
            today: date) -> tuple[dict[str, Any], dict[str, Any], domain.Failure | None]:
    """One report: (what the record keeps, the summary facts, the failure if any)."""
    source = "bureau" if purpose is Purpose.LOAN_APPROVAL else "guarantor"
    subject = bureau.SubjectInput(who.kind.id_kind, who.id_number, who.name)
    try:
        result = bureau.query(uow, principal, rt.plugins, rt.settings, subject=subject, purpose=purpose.value,
                              for_kind="application", for_ref=app.number, today=today)
    except NongxinError as exc:
        entry = {"customer": who.id, "purpose": purpose.value, "outcome": "refused", "error": exc.message}
        return entry, {}, domain.Failure(source, str(who.id), f"{exc.code}: {exc.message}")
    log = result.entry
    summary = result.summary.as_facts() if result.summary is not None else {}
    entry = {"customer": who.id, "purpose": purpose.value, "query_log": log.id, "outcome": log.outcome,
             "provider": log.provider, "report_id": log.report_id, "summary": encode(summary)}
    if not result.usable:
        why = log.error or f"no report ({log.outcome})"
        return entry, {}, domain.Failure(source, log.provider or "", why)
    return entry, summary if purpose is Purpose.LOAN_APPROVAL else {}, None


def _contribution(c: Contribution[Any] | None) -> dict[str, Any] | None:
    return None if c is None else {"answer": encode(c.value), "provenance": encode(c.provenance)}


def build_record(app: Application, segment: str, spec: ProductSpec | None, product_plugin: str, today: date,
                 bureau_record: dict[str, Any], calls: list[dict[str, Any]], facts: Mapping[str, Any],
                 book: RuleBook, ev: Evaluation, *, room: Decimal | None = None) -> dict[str, Any]:
    """Everything the decision used, JSON-safe (Decimals as strings), enough to replay it exactly."""
    values, types = encode_facts(facts)
    verdict = ev.verdict
    provenance = {encode(c.provenance)["plugin"]: encode(c.provenance)
                  for c in [*ev.answers.findings, ev.answers.limit, ev.answers.price, ev.scorecard] if c is not None}
    for call in calls:
        provenance.setdefault(call["provenance"]["plugin"], call["provenance"])
    return {
        "format": RECORD_FORMAT,
        "application": {"number": app.number, "product": app.product_code, "product_plugin": product_plugin,
                        "segment": segment, "amount": encode(app.amount), "term_months": app.term_months,
                        "repayment_method": app.repayment_method},
        "terms": {"minimum": encode(spec.amount.minimum) if spec else None,
                  "ceiling": encode(spec.auto_approval_ceiling) if spec else None,
                  "rate_range": encode(spec.annual_rate) if spec else None,
                  "exposure_room": encode(room)},
        "business_date": today.isoformat(),
        "bureau": bureau_record,
        "connectors": calls,
        "facts": values,
        "fact_types": types,
        # the definitions themselves are stored once per hash (``decision_rule_books``)
        "rules": {"hash": book_definitions(book)[0], "usable": book.usable, "error": book.error,
                  "compiled": book.compiled is not None, "rule_count": len(book.rules),
                  "hits": [encode(h) for h in ev.rule_hits]},
        "score": None if ev.scored is None else {
            "code": ev.scored.code, "version": ev.scored.version, "total": ev.scored.total,
            "grade": ev.scored.grade.name if ev.scored.grade else None,
            "limit_coefficient": encode(ev.scored.grade.limit_coefficient) if ev.scored.grade else None,
            "lines": [encode(line) for line in ev.scored.lines], "missing": list(ev.scored.missing)},
        "scorecard": _contribution(ev.scorecard),
        "findings": [_contribution(c) for c in ev.answers.findings],
        "limit": {"plugin": _contribution(ev.answers.limit), "after_grade": encode(ev.limit)},
        "price": {"plugin": _contribution(ev.answers.price), "lpr": encode(ev.lpr), "rate": encode(ev.rate),
                  "spread_bp": encode(domain.spread_of(ev.rate, ev.lpr)) if ev.rate is not None and ev.lpr is not None
                  else None},
        "plugin_failures": [encode(f) for f in ev.answers.failures],
        "failures": [encode(f) for f in ev.failures],
        "outcome": {"outcome": verdict.outcome, "refusal_category": verdict.refusal_category,
                    "approved_amount": encode(verdict.approved_amount), "rate": encode(verdict.rate),
                    "reasons": list(verdict.reasons)},
        "provenance": sorted(provenance.values(), key=lambda p: p["plugin"]),
    }


def announce(view: InstitutionView, where: Institution, app: Application, decision: Decision) -> None:
    """Tell the notification plugins, after the commit: their failures are logged by the dispatch
    layer and never change the outcome. Nothing here touches the database (on SQLite a new write
    transaction would hold the lock while the plugins run)."""
    try:
        view.notify("nongxin_on_decision", event=Event(
            "decision", app.number, where.code,
            {"outcome": decision.outcome, "refusal_category": decision.refusal_category,
             "approved_amount": None if app.approved_amount is None else str(app.approved_amount),
             "rate": None if app.approved_rate is None else str(app.approved_rate)}))
    except Exception:  # the decision is committed; nothing here may turn it into an error
        import logging

        logging.getLogger("nongxin.credit").exception("nongxin_on_decision could not be sent for %s", app.number)


# -- reading and replaying -------------------------------------------------------------------

def stored_decision(uow: UnitOfWork, principal: Principal, application_id: int, action: Action) -> tuple[Application, Decision]:
    app = visible_application(uow, principal, application_id, action)
    import sqlalchemy as sa

    decision = uow.session.execute(sa.select(Decision).where(Decision.application_id == app.id)).scalar_one_or_none()
    if decision is None:
        raise NotFound(f"application {app.number} has no decision yet (it is {app.status.value})",
                       fields={"decision": ["not decided yet"]})
    return app, decision


def _decoded(raw: Mapping[str, Any] | None, cls: type[Any]) -> Contribution[Any] | None:
    if raw is None:
        return None
    return Contribution(decode(cls, raw["answer"], cls.__name__), decode(Provenance, raw["provenance"], "provenance"))


def _stored_terms(record: Mapping[str, Any]) -> domain.Terms:
    amount = Decimal(record["application"]["amount"])
    terms = record["terms"]
    room = None if terms.get("exposure_room") is None else Decimal(terms["exposure_room"])
    if terms["minimum"] is None:
        return domain.Terms(amount, amount, Decimal(0), (Decimal(0), Decimal(0)), room)
    low, high = terms["rate_range"]
    return domain.Terms(amount, Decimal(terms["minimum"]), Decimal(terms["ceiling"]), (Decimal(low), Decimal(high)),
                        room)


def _summary(verdict: domain.Verdict, hits: tuple[domain.RuleHit, ...], scored: ScoreResult | None,
             limit: Decimal | None) -> dict[str, Any]:
    return {"outcome": verdict.outcome, "refusal_category": verdict.refusal_category,
            "approved_amount": encode(verdict.approved_amount), "rate": encode(verdict.rate),
            "reasons": list(verdict.reasons), "rule_hits": sorted(h.code for h in hits),
            "score": scored.total if scored else None,
            "grade": scored.grade.name if scored and scored.grade else None, "limit": encode(limit)}


def _stored_summary(record: Mapping[str, Any]) -> dict[str, Any]:
    score_ = record["score"]
    return {**record["outcome"], "rule_hits": sorted(h["code"] for h in record["rules"]["hits"]),
            "score": score_["total"] if score_ else None, "grade": score_["grade"] if score_ else None,
            "limit": record["limit"]["after_grade"]}


def stored_hits(record: Mapping[str, Any]) -> tuple[domain.RuleHit, ...]:
    """The admission rule hits a stored record kept."""
    return tuple(decode(domain.RuleHit, h, "rule hit") for h in record["rules"]["hits"])


def replay_record(record: Mapping[str, Any], facts: Mapping[str, Any], hits: tuple[domain.RuleHit, ...], *,
                  memo: dict[str, Any] | None = None) -> tuple[domain.Verdict, Decimal | None, ScoreResult | None]:
    """The outcome a stored record gives with the rule hits ``hits`` (pure): its scorecard re-scored
    on ``facts``, its plugin answers, terms and failures as stored, as a replay with the stored rules
    does (with the record's own hits it reproduces the stored outcome). (verdict, limit, score).
    ``memo``: a dict kept across many records, so equal stored answers (the same scorecard on
    thousands of decisions) are decoded once."""

    def decoded(raw: Mapping[str, Any] | None, cls: type[Any]) -> Contribution[Any] | None:
        if memo is None or raw is None:
            return _decoded(raw, cls)
        key = cls.__name__ + json.dumps(raw, sort_keys=True)
        if key not in memo:
            memo[key] = _decoded(raw, cls)
        return memo[key]

    card = decoded(record["scorecard"], ScorecardSpec)
    scored, _ = score_with(card, facts)
    answers = Answers([c for c in (decoded(f, Finding) for f in record["findings"]) if c is not None],
                      decoded(record["limit"]["plugin"], LimitResult), decoded(record["price"]["plugin"], PriceResult))
    failures = [decode(domain.Failure, f, "failure") for f in record["failures"]]
    verdict, limit, _, _, _ = conclude(facts, _stored_terms(record), int(record["application"]["term_months"]), hits,
                                       scored, answers, failures, replaying=True)
    return verdict, limit, scored


def replay(uow: UnitOfWork, principal: Principal, rt: Runtime, application_id: int, rules: str) -> dict[str, Any]:
    """Recompute a decision from its record; stores nothing. ``rules``: "stored" or "current"."""
    app, decision = stored_decision(uow, principal, application_id, Action.DECISION_REPLAY)
    record = decision.record
    facts = decode_facts(record["facts"], record["fact_types"])
    if rules == "stored":
        compiled = None
        if record["rules"]["compiled"]:
            compiled = compile_rule_set(stored_rule_book(uow.session, record["rules"]["hash"]), ADMISSION)
        hits = apply_rules(compiled, facts)
        verdict, limit, scored = replay_record(record, facts, hits)
        rules_hash = record["rules"]["hash"]
    else:
        terms = _stored_terms(record)
        failures = [decode(domain.Failure, f, "failure") for f in record["failures"]]
        where = uow.session.get(Institution, app.institution_id)
        assert where is not None
        view = rt.plugins.view(uow.session, where)
        book = rt.rulebooks.get(uow.session, where, "admission", rt.clock.business_date())
        segment = record["application"]["segment"]
        application = ApplicationData(app.number, app.product_code, where.code, applicant_of(app.customer),
                                      app.amount, app.term_months, app.purpose, MappingProxyType(dict(facts)),
                                      app.repayment_method, segment)
        kept = [f for f in failures if f.source in SOURCE_FAILURES]
        ev = evaluate(view, book, view.collect("nongxin_scorecards", expect=ScorecardSpec), application, facts,
                      terms, kept)
        verdict, hits, scored, limit = ev.verdict, ev.rule_hits, ev.scored, ev.limit
        rules_hash = rule_book_hash(ev.rules_in_force)
    now = _summary(verdict, hits, scored, limit)
    was = _stored_summary(record)
    differences = {k: {"stored": was[k], "replayed": now[k]} for k in now if was.get(k) != now[k]}
    return {"application": app.number, "rules": rules, "rule_book_hash": rules_hash,
            "stored": was, "replayed": now, "same": not differences, "differences": differences}
