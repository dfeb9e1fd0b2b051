"""Try a product's decision on a sample applicant (产品试算): nothing is stored.

The promise: ``try_product`` runs the decision's in-memory step (``decision.evaluate``: the
admission rules, the segment's scorecard, the product plugin's findings, limit and price, then
``conclude``) on facts typed in for a sample applicant at one institution, exactly as a decision
there would on the same facts, and writes nothing: no application, no decision, no bureau query,
no connector call, no audit entry, and not even the circuit breakers' memory (a try reads them: a
plugin whose breaker is open there is skipped, as in a decision, but a try's failure never opens
one). Only the plugins enabled at the institution run: a disabled plugin's product is not offered
there and cannot be tried. Failures fail closed as in the decision (manual review, never an
approval); required data the sample does not give is such a failure (a try calls no connector: the
sample person does not exist).

``settings``: draft settings of the product's plugin, merged over the saved ones and validated by
the plugin's schema as a save would be (422 naming each field), used for this try only and never
saved, so a product manager sees what a setting does before saving it. The rule book is the one in
force at the institution (rule plugins keep their saved settings).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Mapping

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from nongxin.core.auth import Principal
from nongxin.core.credit import domain
from nongxin.core.credit.decision import Evaluation, assemble_facts, evaluate
from nongxin.core.credit.lines import CAP_PARAMETER, Exposure
from nongxin.core.credit.products import OfferedProduct, spec_problem
from nongxin.core.errors import NotFound, ValidationFailed, invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.parameters.services import lpr as lpr_in_force
from nongxin.core.parameters.services import value as parameter_value
from nongxin.core.permissions import Action, require
from nongxin.core.plugin_state.models import PluginSwitch
from nongxin.core.plugins.breaker import Breakers
from nongxin.core.plugins.dispatch import InstitutionView
from nongxin.core.plugins.host import LoadedPlugin
from nongxin.core.runtime import Runtime
from nongxin.sdk.types import Applicant, ApplicationData, HookContext, ProductSpec, ScorecardSpec

#: The sample applicant the product plugin sees (no identity: nobody is looked up).
SAMPLE_APPLICANT = Applicant("resident_id", "", "试算样例客户")


@dataclass(frozen=True)
class Sample:
    """A sample applicant: the terms asked for and the facts a decision would have gathered
    (``age``, ``annual_income``, the ``bureau_*`` summary, form fields the product requires...)."""

    amount: Decimal
    term_months: int
    repayment_method: str | None = None  # None: the product's first method
    facts: Mapping[str, Any] = field(default_factory=dict)
    held: Decimal = Decimal("0")  # the sample's credit lines already held at the county bank (yuan)


@dataclass(frozen=True)
class Tried:
    institution: Institution
    product: OfferedProduct
    facts: Mapping[str, Any]
    evaluation: Evaluation
    exposure_room: Decimal
    draft: Mapping[str, Any] | None  # the draft settings tried, validated; None: the saved ones


class ReadOnlyBreakers(Breakers):
    """The real breakers as a try sees them: an open breaker skips its plugin, nothing is counted."""

    def __init__(self, real: Breakers) -> None:
        super().__init__(real.threshold, real.cooldown, real.clock)
        self.tracked = real.tracked

    def is_open(self, plugin: str, institution: str) -> bool:
        state = self.tracked.get((plugin, institution))
        return state is not None and state.opened_at is not None and self.clock() - state.opened_at < self.cooldown

    def failure(self, plugin: str, institution: str, error: str) -> None:
        return None

    def success(self, plugin: str, institution: str) -> None:
        return None


def draft_settings(session: Session, plugin: LoadedPlugin, chain: list[Institution],
                   typed: Mapping[str, Any]) -> dict[str, Any]:
    """The plugin's settings at ``chain[-1]`` with ``typed`` over the saved ones, validated by its
    schema as ``PUT /api/plugins/<name>/settings`` validates them; never saved."""
    schema_cls = plugin.info.settings_schema
    if schema_cls is None:
        if typed:
            raise invalid("settings", f"plugin {plugin.name} takes no settings")
        return {}
    found = session.execute(sa.select(PluginSwitch.institution_id, PluginSwitch.settings).where(
        PluginSwitch.plugin == plugin.name, PluginSwitch.institution_id.in_([n.id for n in chain])))
    rows: dict[int, Any] = {row[0]: row[1] for row in found}
    merged: dict[str, Any] = {}
    for node in chain:
        merged.update(rows.get(node.id) or {})
    merged.update(typed)
    try:
        return dict(schema_cls().load(merged))
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"settings": exc.messages}
        raise ValidationFailed(f"invalid settings for {plugin.name}: {messages}", code="invalid_settings",
                               fields=messages) from None


def trial_view(session: Session, rt: Runtime, where: Institution,
               draft: tuple[str, Mapping[str, Any]] | None = None) -> InstitutionView:
    """The plugins as ``where`` sees them today (those enabled there, with their settings), on
    read-only breakers; ``draft``: (plugin, settings) replacing that plugin's saved settings."""
    chain = institutions.ancestry(session, where)
    ancestry = tuple(node.code for node in chain)
    today = rt.clock.business_date()
    contexts = {}
    for state in rt.plugins.states(session, where):
        if not state.enabled:
            continue
        settings = draft[1] if draft is not None and draft[0] == state.plugin else state.settings
        contexts[state.plugin] = HookContext(where.code, ancestry, MappingProxyType(dict(settings)), state.plugin,
                                             today)
    real = rt.plugins.host
    host = copy.copy(real)  # the same plugins, hooks, timeouts and threads; breakers only read
    host.breakers = ReadOnlyBreakers(real.breakers)
    host._pool = real.pool  # never a pool of its own per try
    return InstitutionView(host, HookContext(where.code, ancestry, business_date=today), contexts)


def products_in(view: InstitutionView) -> tuple[list[OfferedProduct], list[str]]:
    """The products ``view``'s plugins offer (as ``products.offered``, from a given view), and
    the failures of the plugins that could not say."""
    result = view.collect("nongxin_products", expect=ProductSpec)
    offered = [OfferedProduct(c.provenance.plugin, c.value) for c in result.contributions
               if spec_problem(c.value) is None]
    return offered, [f"{f.plugin}: {f.error}" for f in result.failures]


def _product(view: InstitutionView, where: Institution, code: str) -> OfferedProduct:
    offered, failures = products_in(view)
    found = next((p for p in offered if p.spec.code == code), None)
    if found is None:
        why = f"; plugins failing there: {'; '.join(failures)}" if failures else " (no enabled plugin offers it)"
        raise NotFound(f"product {code} is not offered at {where.code}{why}",
                       fields={"product": [f"not offered at {where.code}"]})
    return found


def check_sample(spec: ProductSpec, sample: Sample) -> str:
    """The sample's repayment method; 422 naming each field outside the product's terms."""
    faults: dict[str, list[str]] = {}
    if not sample.amount.is_finite() or sample.amount <= 0 or sample.amount != sample.amount.quantize(domain.FEN):
        faults["amount"] = ["must be a positive amount of yuan with at most 2 decimals"]
    elif not spec.amount.minimum <= sample.amount <= spec.amount.maximum:
        faults["amount"] = [f"{sample.amount} is outside {spec.code}'s range {spec.amount.minimum} to "
                            f"{spec.amount.maximum}"]
    low, high = spec.term_months
    if not low <= sample.term_months <= high:
        faults["term_months"] = [f"{sample.term_months} is outside {spec.code}'s terms, {low} to {high} months"]
    method = sample.repayment_method or spec.repayment_methods[0]
    if method not in spec.repayment_methods:
        faults["repayment_method"] = [f"{method!r} is not offered for {spec.code}; one of: "
                                      f"{', '.join(spec.repayment_methods)}"]
    if not sample.held.is_finite() or sample.held < 0:
        faults["held"] = ["must be zero or more yuan"]
    if faults:
        raise ValidationFailed(f"the sample does not fit {spec.code}: "
                               + "; ".join(f"{k}: {v[0]}" for k, v in faults.items()),
                               code="invalid_sample", fields=faults)
    return method


def tryable(session: Session, principal: Principal, rt: Runtime, code: str,
            product_code: str) -> tuple[Institution, OfferedProduct]:
    """The institution and the product as offered there, for a try: 404 outside the caller's
    subtree or for a product no plugin enabled there offers; 403 unless ``product.try``."""
    where = institutions.visible_for(session, principal, code, Action.PRODUCT_TRY)
    return where, _product(trial_view(session, rt, where), where, product_code)


def try_product(session: Session, principal: Principal, rt: Runtime, code: str, product_code: str, sample: Sample,
                settings: Mapping[str, Any] | None = None) -> Tried:
    """Decide ``sample`` for ``product_code`` at institution ``code`` without storing anything (see
    the module's docstring). 404 outside the caller's subtree or for a product not offered there;
    403 for a role that may not (``product.try``); 422 for a sample outside the product's terms or
    draft settings the plugin's schema refuses."""
    where = institutions.visible_for(session, principal, code, Action.PRODUCT_TRY)
    today = rt.clock.business_date()
    view = trial_view(session, rt, where)
    product = _product(view, where, product_code)
    draft = None
    if settings is not None:
        require(principal, Action.PLUGIN_SETTINGS_READ)  # a draft is tried over the saved settings
        plugin = rt.plugins.host.loaded[product.plugin]
        draft = draft_settings(session, plugin, institutions.ancestry(session, where), settings)
        view = trial_view(session, rt, where, (product.plugin, draft))
        product = _product(view, where, product_code)
    spec = product.spec
    method = check_sample(spec, sample)
    bank = institutions.county_bank_of(session, where) or where
    room = Exposure(Decimal(parameter_value(session, bank, CAP_PARAMETER, today)), sample.held).room
    rates = lpr_in_force(session, where, today)
    base = {"amount": sample.amount, "term_months": sample.term_months, "product_code": spec.code,
            "segment": spec.segment, "repayment_method": method,
            "lpr_1y": rates.one_year, "lpr_5y": rates.over_five_year}
    facts, failures = assemble_facts(dict(sample.facts), base)
    failures += [domain.Failure("facts", name, "the sample does not give this required field (a try calls no "
                                "connector)") for name in spec.required_data if facts.get(name) is None]
    application = ApplicationData("TRY", spec.code, where.code, SAMPLE_APPLICANT, sample.amount,
                                  sample.term_months, "", MappingProxyType(dict(facts)), method, spec.segment)
    book = rt.rulebooks.get(session, where, "admission", today)
    scorecards = view.collect("nongxin_scorecards", expect=ScorecardSpec)
    terms = domain.Terms(sample.amount, spec.amount.minimum, spec.auto_approval_ceiling, spec.annual_rate, room)
    evaluation = evaluate(view, book, scorecards, application, facts, terms, failures)
    return Tried(where, product, MappingProxyType(facts), evaluation, room, draft)
