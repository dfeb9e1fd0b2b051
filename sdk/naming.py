"""Names a county plugin package may take: one set of rules for `nongxin new` and for the
templates' own pre-generation hooks, which run even when cookiecutter is called directly.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

__all__ = ["RESERVED", "RULES", "problems"]

#: key -> (full-match pattern, hint shown when a value does not match).
RULES: dict[str, tuple[str, str]] = {
    "package_name": (r"[a-z][a-z0-9_]*",
                     "lower-case letters, digits and underscores, starting with a letter (e.g. quancheng_e_loan)"),
    "project_slug": (r"[a-z0-9][a-z0-9._-]*",
                     "lower-case letters, digits, '.', '_' or '-', no spaces (e.g. quancheng-e-loan)"),
    "product_code": (r"[A-Z][A-Z0-9_]{1,31}",
                     "2-32 upper-case letters, digits or underscores, starting with a letter (e.g. QCED)"),
    "institution": (r"[A-Z][A-Z0-9_-]{1,31}", "an institution code in upper case (e.g. JNRCB)"),
    "connector_name": (r"[a-z][a-z0-9_]*", "lower-case letters, digits and underscores (e.g. tax)"),
    "rule_prefix": (r"[A-Z][A-Z0-9]{0,7}", "1-8 upper-case letters or digits, starting with a letter (e.g. JN)"),
    "ceiling": (r"[1-9]\d{3,8}", "a whole number of yuan, at least 1000 (e.g. 300000)"),
    "timeout_seconds": (r"\d{1,3}(\.\d+)?", "a number of seconds (e.g. 5)"),
    "version": (r"\d+(\.\d+){0,2}", "a version such as 0.1.0"),
}
#: Names a plugin package must not take: they would shadow the core or its dependencies.
RESERVED = frozenset({"nongxin", "pluggy", "marshmallow", "flask", "sqlalchemy", "tests", "test"})


def problems(answers: Mapping[str, Any]) -> list[str]:
    """Every invalid value among ``answers``, each naming its key and what would be valid."""
    found = [f"{key} {answers[key]!r} is not valid: use {hint}"
             for key, (pattern, hint) in RULES.items()
             if key in answers and not re.fullmatch(pattern, str(answers[key]))]
    if answers.get("package_name") in RESERVED:
        found.append(f"package_name {answers['package_name']!r} is reserved; choose a name of your own")
    return found
