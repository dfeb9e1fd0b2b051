"""The checks a stored rule meets when it is drafted, edited and approved: one field at fault, named.

The promises:

* ``check_spec``: the rule reads only its stage's fields (422 on ``expression`` with the rule code,
  line, column and caret), its outcome is one of the stage's (422 ``outcome``), its level is its
  owner's (422 ``level``), the SDK ``Rule`` accepts it (422 naming the field: code, dates,
  category), it does not end before the business date, and a monitoring model it joins is one of
  the owner's, active, of the same stage (422 ``model``).
* ``version_for``: the version a rule of (owner, code) gets, 1 + the highest of the owner's stored
  versions and of its own plugin pack's; 422 on ``code`` when the code is owned above the owner (a
  plugin rule in the owner's rule book, of any stage, or a stored rule of any status but rejected)
  or by a stored rule below it (it would become a redefinition), or when the owner uses the code
  for another stage or monitoring model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.errors import ValidationFailed, field_error, invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.plugin_state.services import PluginDirectory
from nongxin.core.rules.models import MonitoringModel, RuleStatus, StoredRule
from nongxin.sdk.facts import SCHEMAS
from nongxin.sdk.rules import OUTCOMES, Rule, RuleDefinitionError, RuleError, check_expression

__all__ = ["CODE_RE", "RuleSpec", "STAGE_NAMES", "check_choice", "check_spec", "version_for"]

#: A rule code: letters, digits, dots, dashes and underscores, starting with a letter or digit.
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
STAGE_NAMES = tuple(SCHEMAS)


@dataclass(frozen=True)
class RuleSpec:
    """What the author writes: the SDK ``Rule``'s fields, the shadow flag and the model it joins."""

    code: str
    name: str
    stage: str
    outcome: str
    level: str
    expression: str
    reason: str = ""
    category: str = ""
    effective_from: date | None = None
    effective_to: date | None = None
    shadow: bool = False
    model: int | None = None


def check_choice(field: str, value: str | None, choices: tuple[str, ...]) -> None:
    """422 naming ``field`` unless ``value`` is None or one of ``choices``."""
    if value is not None and value not in choices:
        raise invalid(field, f"{value!r} is not one of {', '.join(choices)}")


def _definition_field(message: str) -> str:
    """The body field a ``RuleDefinitionError`` is about (its message names it)."""
    for name in ("effective_from", "category", "outcome", "stage", "level", "version"):
        if name in message:
            return name
    return "code"


def check_spec(session: Session, owner: Institution, spec: RuleSpec, today: date) -> None:
    """Everything about the rule but its code's history (module docstring)."""
    if not CODE_RE.match(spec.code):
        raise invalid("code", "1 to 32 letters, digits, dots, dashes or underscores, starting with a letter or digit")
    if not spec.name.strip():
        raise invalid("name", "a rule needs a name")
    check_choice("stage", spec.stage, STAGE_NAMES)
    if spec.outcome not in OUTCOMES[spec.stage]:
        raise invalid("outcome", f"{spec.outcome!r} is not an outcome of stage {spec.stage}; "
                                 f"use one of {', '.join(OUTCOMES[spec.stage])}")
    if spec.level != owner.level.value:
        raise invalid("level", f"{owner.code} keeps {owner.level.value} rules, not {spec.level!r}: a rule is "
                               "written at its author's own institution and level")
    if spec.category and (spec.stage, spec.outcome) != ("admission", "reject"):
        raise invalid("category", "only an admission reject rule declares a refusal category")
    try:
        Rule(code=spec.code, name=spec.name, expression=spec.expression, stage=spec.stage, outcome=spec.outcome,
             level=spec.level, owner=owner.code, effective_from=spec.effective_from, effective_to=spec.effective_to,
             reason=spec.reason, category=spec.category)
    except RuleDefinitionError as exc:
        raise field_error(_definition_field(str(exc)), exc) from None
    if spec.effective_to is not None and spec.effective_to < today:
        raise invalid("effective_to", f"{spec.effective_to} is before the business date {today}: "
                                      "the rule would never be in force")
    try:
        check_expression(spec.expression, SCHEMAS[spec.stage], code=spec.code)
    except RuleError as exc:
        raise field_error("expression", exc) from None
    if spec.model is not None:
        _check_model(session, owner, spec)


def _check_model(session: Session, owner: Institution, spec: RuleSpec) -> None:
    model = session.get(MonitoringModel, spec.model)
    if model is None or model.owner_id != owner.id:
        raise invalid("model", f"no monitoring model {spec.model} at {owner.code}")
    if not model.active:
        raise invalid("model", f"monitoring model {model.code} is not active")
    if model.stage != spec.stage:
        raise invalid("model", f"monitoring model {model.code} watches stage {model.stage}, not {spec.stage}")
    if spec.shadow:
        raise invalid("shadow", "a monitoring model's condition is never a shadow rule")


def _code_error(message: str) -> ValidationFailed:
    return invalid("code", message)


def version_for(session: Session, directory: PluginDirectory, owner: Institution, spec: RuleSpec, *,
                exclude: int | None = None, keep: int | None = None) -> int:
    """The version a rule of ``spec.code`` at ``owner`` gets (module docstring). ``exclude``: the
    stored row being edited or approved; ``keep``: its version, which must stay above the owner's
    plugin pack's version of the code (else the two would clash in the rule book)."""
    chain = institutions.ancestry(session, owner)
    above = {inst.code: inst for inst in chain[:-1]}
    plugin_top = 0
    for rule in directory.view(session, owner).collect("nongxin_rules", expect=Rule).values:
        if rule.code != spec.code:
            continue
        if rule.owner in above:
            raise _code_error(f"{rule.code} is owned by {rule.owner} ({rule.level} level, {rule.describe()}): "
                              f"{owner.code} may add stricter rules, never redefine a higher one")
        if rule.owner == owner.code:
            if rule.stage != spec.stage or spec.model is not None:
                raise _code_error(f"{owner.code} already uses {rule.code} for {rule.describe()} of stage {rule.stage}")
            plugin_top = max(plugin_top, rule.version)
    rows = session.execute(sa.select(StoredRule, Institution).join(Institution, Institution.id == StoredRule.owner_id)
                           .where(StoredRule.code == spec.code, StoredRule.id != (exclude or 0))).all()
    stored_top = 0
    for row, place in rows:
        alive = row.status is not RuleStatus.REJECTED
        if place.id == owner.id:
            stored_top = max(stored_top, row.version)
            if alive and (row.stage != spec.stage or row.model_id != spec.model):
                what = f"monitoring model {row.model_id}" if row.model_id else f"stage {row.stage}"
                raise _code_error(f"{owner.code} already uses {row.code} (v{row.version}, {row.status.value}) "
                                  f"for {what}")
        elif alive and owner.path.startswith(place.path):
            raise _code_error(f"{row.code} is owned by {place.code} ({place.level.value} level, stored rule "
                              f"#{row.id} v{row.version}, {row.status.value}): {owner.code} may add stricter "
                              "rules, never redefine a higher one")
        elif alive and place.path.startswith(owner.path):
            raise _code_error(f"{row.code} is already kept by {place.code} below {owner.code} (stored rule "
                              f"#{row.id} v{row.version}, {row.status.value}): it would become a redefinition")
    if keep is not None and plugin_top >= keep:
        raise _code_error(f"the rule pack of {owner.code} ships {spec.code} v{plugin_top}: draft a new version")
    return max(stored_top, plugin_top) + 1
