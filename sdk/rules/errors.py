"""One error tree for everything a rule author can get wrong.

Parameter admins read these messages, not Python tracebacks, so every error carries the rule code,
the 1-based line and column, and the offending source line with a caret under the culprit. The
classes are defined in :mod:`nongxin.sdk.errors`, under the SDK's one base ``NongxinSdkError``,
and stay importable from here.
"""

from __future__ import annotations

from nongxin.sdk.errors import (
    DuplicateRuleError,
    RuleDefinitionError,
    RuleError,
    RuleOverrideError,
    RuleSyntaxError,
    RuleTypeError,
    UnknownFieldError,
)

__all__ = [
    "RuleError",
    "RuleSyntaxError",
    "RuleTypeError",
    "UnknownFieldError",
    "DuplicateRuleError",
    "RuleDefinitionError",
    "RuleOverrideError",
]
