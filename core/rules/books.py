"""The rules in force at an institution, compiled once per (institution, stage, day, generation).

Rules come from the enabled rules plugins and from the rules staff publish (``stored.published``);
a failing pack fails closed (the caller must send the decision to manual review), and a book that
does not compile is reported with the rule code, line and caret, never half-applied. Every change
to plugin state or to a stored rule bumps the generation, so the next request reads the new book.

``shadow`` is the book of the published **shadow** rules of a stage at an institution: evaluated
beside the live book, its hits stored apart and never used for an outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from nongxin.core.institutions.models import Institution
from nongxin.core.plugin_state.services import PluginDirectory, generation
from nongxin.core.plugins.dispatch import check_view
from nongxin.core.plugins.host import LoadedPlugin
from nongxin.core.rules.stored import published
from nongxin.sdk.facts import SCHEMAS
from nongxin.sdk.rules import CompiledRuleSet, Rule, RuleError, check_unique_codes, compile_rule_set, effective_rules
from nongxin.sdk.types import HookContext, PluginFailure


@dataclass
class RuleBook:
    """The effective rules of one stage at one institution, or why there are none."""

    institution: str
    stage: str
    on: date
    rules: list[Rule] = field(default_factory=list)
    compiled: CompiledRuleSet | None = None
    failures: list[PluginFailure] = field(default_factory=list)
    error: str | None = None

    @property
    def problem(self) -> str:
        """Why the book is unusable, in one line (empty when it is usable)."""
        if self.usable:
            return ""
        return self.error or "; ".join(f"{f.plugin}: {f.error}" for f in self.failures) or "not compiled"

    @property
    def usable(self) -> bool:
        """Only a complete, compiled rule book may let anything through automatically."""
        return self.compiled is not None and not self.failures and self.error is None


class RuleBooks:
    def __init__(self, directory: PluginDirectory) -> None:
        self.directory = directory
        self._cache: dict[tuple[str, str, date, bool], RuleBook] = {}
        self._generation: int | None = None

    def get(self, session: Session, institution: Institution, stage: str, on: date | None = None) -> RuleBook:
        """The rule book of ``stage`` at ``institution`` on ``on`` (default: the business date)."""
        return self._book(session, institution, stage, on, shadow=False)

    def shadow(self, session: Session, institution: Institution, stage: str, on: date | None = None) -> RuleBook:
        """The published shadow rules of ``stage`` at ``institution`` on ``on``: never an outcome."""
        return self._book(session, institution, stage, on, shadow=True)

    def _book(self, session: Session, institution: Institution, stage: str, on: date | None, *,
              shadow: bool) -> RuleBook:
        if stage not in SCHEMAS:
            from nongxin.core.errors import invalid

            raise invalid("stage", f"{stage!r} is not one of {', '.join(SCHEMAS)}")
        day = on or self.directory.clock.business_date()
        current = generation(session)
        if current != self._generation:
            self._cache.clear()
            self._generation = current
        key = (institution.code, stage, day, shadow)
        book = self._cache.get(key)
        if book is None:
            build = self._build_shadow if shadow else self._build
            book = self._cache[key] = build(session, institution, stage, day)
        return book

    def _build(self, session: Session, institution: Institution, stage: str, day: date) -> RuleBook:
        view = self.directory.view(session, institution)
        ancestry = view.ctx.ancestry
        book = RuleBook(institution.code, stage, day)
        result = view.collect("nongxin_rules", expect=Rule)
        book.failures = result.failures
        try:
            check_unique_codes(result.values)
            effective_rules(result.values, ancestry, day)  # a pack redefining a higher rule, at any stage
            stored = published(session, ancestry, stage, day, shadow=False)
            book.rules = effective_rules([r for r in result.values if r.stage == stage] + stored, ancestry, day)
            book.compiled = compile_rule_set(book.rules, SCHEMAS[stage])
        except RuleError as exc:
            book.error = str(exc)
        return book

    def _build_shadow(self, session: Session, institution: Institution, stage: str, day: date) -> RuleBook:
        ancestry = self.directory.view(session, institution).ctx.ancestry
        book = RuleBook(institution.code, stage, day)
        try:
            book.rules = effective_rules(published(session, ancestry, stage, day, shadow=True), ancestry, day)
            book.compiled = compile_rule_set(book.rules, SCHEMAS[stage])
        except RuleError as exc:
            book.error = str(exc)
        return book


def rule_pack_problem(plugin: LoadedPlugin, on: date | None = None) -> str | None:
    """Compile a plugin's rule pack against each stage's fields, as the core will once it is
    enabled, so `nongxin plugins check` catches a bad rule at install time. The pack is collected
    through the dispatch layer (a view of that plugin alone, with empty settings)."""
    view = check_view(plugin, HookContext("CHECK", ("CHECK",), business_date=on))
    result = view.collect("nongxin_rules", expect=Rule)
    if result.failures:
        error = result.failures[0].error
        return f"nongxin_rules {'' if error.startswith('returned') else 'raised '}{error}"
    try:
        check_unique_codes(result.values)
        for stage, schema in SCHEMAS.items():
            compile_rule_set([r for r in result.values if r.stage == stage], schema)
    except RuleError as exc:
        return str(exc)
    return None
