"""Nongxin rule expression language: safe, fast, and identical for one record and for a frame.

The README's "Rules" section describes the language as parameter admins use it.
"""

from .effective import check_disable_allowed, check_unique_codes, drop_rules, effective_rules
from .errors import (
    DuplicateRuleError,
    RuleDefinitionError,
    RuleError,
    RuleOverrideError,
    RuleSyntaxError,
    RuleTypeError,
    UnknownFieldError,
)
from .fields import Field, FieldType, Schema
from .rule import LEVELS, OUTCOMES, STAGES, Rule
from .ruleset import CompiledRuleSet, FrameResult, Hit, check_expression, compile_rule_set

__all__ = [
    "CompiledRuleSet",
    "DuplicateRuleError",
    "Field",
    "FieldType",
    "FrameResult",
    "Hit",
    "LEVELS",
    "OUTCOMES",
    "Rule",
    "RuleDefinitionError",
    "RuleError",
    "RuleOverrideError",
    "RuleSyntaxError",
    "RuleTypeError",
    "STAGES",
    "Schema",
    "UnknownFieldError",
    "check_disable_allowed",
    "check_expression",
    "check_unique_codes",
    "compile_rule_set",
    "drop_rules",
    "effective_rules",
]
