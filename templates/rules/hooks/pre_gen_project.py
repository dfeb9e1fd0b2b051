"""Refuse bad names before cookiecutter writes a single file.

A county developer may run cookiecutter on this template directly, without ``nongxin new``; the
same checks (``nongxin.sdk.naming``) then still stop a package that could never be imported or an
entry point the core could never load.
"""

import json
import sys

from nongxin.sdk.naming import problems

CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")

found = problems(CONTEXT)
for problem in found:
    print(f"error: {problem}", file=sys.stderr)
sys.exit(1 if found else 0)
