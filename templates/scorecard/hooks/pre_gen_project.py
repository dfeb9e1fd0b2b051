"""Refuse bad names and a bad spec before cookiecutter writes a single file.

A county developer may run cookiecutter on this template directly (giving the spec's text as
``_spec_json``), without ``nongxin new scorecard --from``; the same checks then still stop a package
that could never be imported, or a card with a malformed value or a variable the admission stage
does not fill.
"""

import json
import sys

from nongxin.sdk.scorecard_files import spec_problems
from nongxin.sdk.naming import problems

CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")

found = problems(CONTEXT)
if not CONTEXT.get("_spec_json", "").strip():
    found.append("_spec_json: no spec given; use `nongxin new scorecard --from spec.json`")
else:
    found += spec_problems(CONTEXT["_spec_json"])[1]
for problem in found:
    print(f"error: {problem}", file=sys.stderr)
sys.exit(1 if found else 0)
