"""schemathesis against the app's own OpenAPI spec: no generated request gets a 5xx.

The spec is read from /api/openapi.json of the WSGI app (no server), and every operation is called
with a valid bearer token of the demo province, as a user whose role may use it (so requests get
past the role checks into the services): positive cases (valid by the spec) and negative ones
(violating it). A few examples per operation keep it fast.

schemathesis's pytest integration (``from_fixture``) does not run under pytest 9, so the test
drives its Hypothesis strategies directly, one operation after the other.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

EXAMPLES_PER_OPERATION = 6
#: Who calls what (by path prefix); the province admin calls the rest.
CALLERS = {"/api/bureau/": "jinan.cm", "/api/plugins": "jinan.pm", "/api/products": "jinan.pm",
           "/api/rules": "jinan.params"}


def test_no_operation_answers_5xx(nongxin_app: Any, nongxin_demo: Any) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", nongxin_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    failures: list[str] = []
    for operation in operations:
        caller = next((u for prefix, u in CALLERS.items() if operation.path.startswith(prefix)), "province.admin")
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: Any) -> None:
                response = case.call(headers=nongxin_demo.headers(caller))
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} query={case.query!r} "
                                    f"body={case.body!r}: {response.status_code} {response.text[:300]}")

            try:
                call()
            except Unsatisfiable:
                # nothing to violate (an operation without parameters or body): no negative case
                assert mode is GenerationMode.NEGATIVE, operation.label
    assert failures == []
