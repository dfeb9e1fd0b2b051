"""Refuse bad names before cookiecutter writes a single file.

A county developer may run cookiecutter on this template directly, without ``nongxin new``; the
same checks then still stop a package that could never be imported or an entry point the core
could never load. Keep the patterns in step with ``nongxin.core.scaffold.RULES``.
"""

import json
import re
import sys

CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")

RULES = {
    "package_name": (r"[a-z][a-z0-9_]*", "lower-case letters, digits and underscores, starting with a letter (e.g. quancheng_e_loan)"),
    "project_slug": (r"[a-z0-9][a-z0-9._-]*", "lower-case letters, digits, '.', '_' or '-', no spaces (e.g. quancheng-e-loan)"),
    "product_code": (r"[A-Z][A-Z0-9_]{1,31}", "2-32 upper-case letters, digits or underscores, starting with a letter (e.g. QCED)"),
    "institution": (r"[A-Z][A-Z0-9_-]{1,31}", "an institution code in upper case (e.g. JNRCB)"),
    "connector_name": (r"[a-z][a-z0-9_]*", "lower-case letters, digits and underscores (e.g. tax)"),
    "rule_prefix": (r"[A-Z][A-Z0-9]{0,7}", "1-8 upper-case letters or digits, starting with a letter (e.g. JN)"),
    "ceiling": (r"[1-9]\d{3,8}", "a whole number of yuan, at least 1000 (e.g. 300000)"),
    "timeout_seconds": (r"\d{1,3}(\.\d+)?", "a number of seconds (e.g. 5)"),
    "version": (r"\d+(\.\d+){0,2}", "a version such as 0.1.0"),
}

problems = [f"{key} {CONTEXT[key]!r} is not valid: use {hint}"
            for key, (pattern, hint) in RULES.items()
            if key in CONTEXT and not re.fullmatch(pattern, str(CONTEXT[key]))]
if problems:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    sys.exit(1)
