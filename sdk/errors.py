"""Every error the SDK raises on purpose, under one base, so a caller can catch them all at once.

The tree (each class stays importable from the module that raises it, shown on the right)::

    NongxinSdkError
     ├── RuleError ............................ nongxin.sdk.rules.errors
     │    ├── RuleSyntaxError                   text outside the rule grammar
     │    ├── RuleTypeError                     operands of the wrong type
     │    ├── UnknownFieldError                 a name the stage's schema does not declare
     │    ├── DuplicateRuleError                two rules share a code
     │    ├── RuleDefinitionError               inconsistent metadata (stage, outcome, dates)
     │    └── RuleOverrideError                 a lower institution overriding a rule owned higher up
     ├── InvalidIdentity (ValueError) ......... nongxin.sdk.identity
     ├── InvalidValue (ValueError) ............ nongxin.sdk.values, .bureau, ._codec
     │                                          e.g. "12,5" as money, a corrupt cached report
     └── WrongValueType (TypeError) ........... nongxin.sdk.values, .bureau, ._codec
                                                e.g. a float as an amount of money

The ``ValueError``/``TypeError`` bases are kept so code written before this tree, which catches
``ValueError`` or ``TypeError``, still catches them. The SDK never maps these to HTTP statuses or
exit codes: the core does that in one table (``nongxin.core.errors``).
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "NongxinSdkError",
    "RuleError",
    "RuleSyntaxError",
    "RuleTypeError",
    "UnknownFieldError",
    "DuplicateRuleError",
    "RuleDefinitionError",
    "RuleOverrideError",
    "InvalidIdentity",
    "InvalidValue",
    "WrongValueType",
]


class NongxinSdkError(Exception):
    """Base of every error the SDK raises on purpose; ``message`` is the sentence for a person."""

    message: str


class InvalidIdentity(NongxinSdkError, ValueError):
    """A number that cannot be accepted, with a stable ``reason_code`` for APIs and UI translation.

    Reason codes: ``unknown_kind``, ``bad_length``, ``bad_format``, ``bad_check_character``,
    ``bad_birth_date``. ``str(exc)`` is an English sentence saying exactly what is wrong, so a
    customer manager can fix the number without guessing.
    """

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message


class InvalidValue(NongxinSdkError, ValueError):
    """A value of the right type that is not acceptable (text that is not a finite amount)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WrongValueType(NongxinSdkError, TypeError):
    """A value of a type that is refused outright (a float or bool where money belongs)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RuleError(NongxinSdkError):
    """Base class so callers (plugin loaders, admin UI) can catch every rule problem at once.

    Parameter admins read these messages, not Python tracebacks, so every error carries the rule
    code, the 1-based line and column, and the offending source line with a caret under the culprit.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        line: int | None = None,
        column: int | None = None,
        source: str | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.line = line
        self.column = column
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.code:
            where.append(f"rule {self.code}")
        if self.line is not None:
            where.append(f"line {self.line}, column {self.column}")
        head = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.source is None or self.line is None or self.column is None:
            return head
        lines = self.source.splitlines() or [""]
        text = lines[self.line - 1] if 0 < self.line <= len(lines) else ""
        # Keep the caret under the right character even when the line holds wide CJK characters.
        pad = "".join("\u3000" if _is_wide(ch) else " " for ch in text[: self.column - 1])
        return f"{head}\n    {text}\n    {pad}^"

    def with_code(self, code: str, source: str | None = None) -> "RuleError":
        """Re-raise helper: the parser does not know which rule it is reading; the rule set does."""
        if self.code is None:
            self.code = code
        if self.source is None and source is not None:
            self.source = source
        self.args = (self._render(),)
        return self


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


class RuleSyntaxError(RuleError):
    """Text outside the grammar, including anything that looks like Python (``x.__class__``)."""


class RuleTypeError(RuleError):
    """Operands of the wrong type, e.g. a number compared with a string, or division by literal zero."""


class UnknownFieldError(RuleError):
    """A name that the schema does not declare; carries ``field`` so tools can suggest fixes."""

    def __init__(self, message: str, *, field: str = "", **kw: object) -> None:
        self.field = field
        super().__init__(message, **kw)  # type: ignore[arg-type]


class DuplicateRuleError(RuleError):
    """Two rules share a code; the message names both so the admin can find them."""


class RuleDefinitionError(RuleError):
    """A rule's metadata is inconsistent (stage/outcome combination, dates, level)."""


class RuleOverrideError(RuleError):
    """A lower institution tried to disable or replace a rule owned higher up."""
