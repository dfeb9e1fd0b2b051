"""The Rule record as written by parameter admins and shipped in plugins' rule packs."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from .errors import RuleDefinitionError

__all__ = ["Rule", "STAGES", "OUTCOMES", "LEVELS", "SEVERITY", "REFUSAL_CATEGORIES"]

# Outcomes allowed per stage, mildest first; the position is the severity used for "worst grade".
OUTCOMES: dict[str, tuple[str, ...]] = {
    "admission": ("tag", "manual_review", "reject"),
    "post_loan": ("yellow", "orange", "red"),
    "collateral": ("yellow", "orange", "red"),
}
STAGES = tuple(OUTCOMES)
LEVELS = ("province", "city", "county")
SEVERITY = {stage: {o: i + 1 for i, o in enumerate(outs)} for stage, outs in OUTCOMES.items()}

#: Refusal categories an admission reject rule (or an approver) declares; "other" when unsaid.
REFUSAL_CATEGORIES: dict[str, str] = {
    "bureau_hard_reject": "征信硬拒",
    "court_consumption_restriction": "法院限制高消费",
    "dishonest_debtor": "失信被执行人",
    "external_anti_fraud": "外部反欺诈",
    "multi_lending": "多头借贷",
    "other": "其他",
}


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    expression: str
    stage: str
    outcome: str
    level: str
    owner: str
    effective_from: _dt.date | None = None
    effective_to: _dt.date | None = None  # inclusive
    version: int = 1
    reason: str = ""
    origin: str = ""  # where the rule was read from, e.g. "county_pack.toml:12", for error messages
    category: str = ""  # admission reject rules: one of REFUSAL_CATEGORIES ("" reads as "other")

    def __post_init__(self) -> None:
        def bad(msg: str) -> RuleDefinitionError:
            return RuleDefinitionError(msg, code=self.code or None)

        if not self.code or not self.code.strip():
            raise bad("a rule needs a code")
        if self.stage not in OUTCOMES:
            raise bad(f"unknown stage {self.stage!r}; use one of {', '.join(STAGES)}")
        if self.outcome not in OUTCOMES[self.stage]:
            raise bad(f"outcome {self.outcome!r} is not allowed for stage {self.stage!r}; "
                      f"use one of {', '.join(OUTCOMES[self.stage])}")
        if self.level not in LEVELS:
            raise bad(f"unknown level {self.level!r}; use one of {', '.join(LEVELS)}")
        if not self.owner:
            raise bad("a rule needs an owner institution code")
        if self.effective_from and self.effective_to and self.effective_from > self.effective_to:
            raise bad(f"effective_from {self.effective_from} is after effective_to {self.effective_to}")
        if self.category and self.category not in REFUSAL_CATEGORIES:
            raise bad(f"unknown refusal category {self.category!r}; use one of {', '.join(REFUSAL_CATEGORIES)}")
        if not isinstance(self.version, int) or self.version < 1:
            raise bad("version must be a positive integer")

    def effective_on(self, day: _dt.date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day <= self.effective_to
        )

    def describe(self) -> str:
        where = f" at {self.origin}" if self.origin else ""
        return f"{self.code} '{self.name}' (owner {self.owner}, v{self.version}){where}"
