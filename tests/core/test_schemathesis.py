"""schemathesis against the app's own OpenAPI spec: every answer is one the spec documents.

The spec is read from /api/openapi.json of the WSGI app (no server), and every operation is called
with a valid bearer token of the demo province, as a user whose role may use it (so requests get
past the role checks into the services): positive cases (valid by the spec) and negative ones
(violating it). Each response must be no 5xx, have a status code the operation documents, the
documented content type, and a body valid against the documented schema (the error body too).
A few examples per operation keep it fast.

schemathesis's pytest integration (``from_fixture``) does not run under pytest 9, so the test
drives its Hypothesis strategies directly, one operation after the other.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    FailureGroup,
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES_PER_OPERATION = 6
#: Who calls what (by path prefix); the province admin calls the rest.
CALLERS = {"/api/bureau/": "jinan.cm", "/api/plugins": "jinan.pm", "/api/products": "jinan.pm",
           "/api/rules": "jinan.params", "/api/customers": "jinan.cm", "/api/credit-lines": "jinan.cm"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_answer_conforms_to_the_spec(nongxin_app: Any, nongxin_demo: Any) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", nongxin_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    failures: dict[str, str] = {}
    for operation in operations:
        caller = next((u for prefix, u in CALLERS.items() if operation.path.startswith(prefix)), "province.admin")
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: Any) -> None:
                response = case.call(headers=nongxin_demo.headers(caller))
                try:
                    case.validate_response(response, checks=CHECKS)
                except (AssertionError, FailureGroup) as exc:  # one entry per failing operation, all reported
                    failures.setdefault(operation.label, f"{case.method} {case.formatted_path} "
                                        f"query={case.query!r} body={case.body!r}: {response.status_code} "
                                        f"{response.text[:200]}\n{str(exc)[:600]}")

            try:
                call()
            except Unsatisfiable:
                # nothing to violate (an operation without parameters or body): no negative case
                assert mode is GenerationMode.NEGATIVE, operation.label
    assert not failures, f"{len(failures)} operation(s) answer outside the spec:\n" + "\n\n".join(
        f"{label}: {text}" for label, text in sorted(failures.items()))


def _spec(app: Any) -> dict[str, Any]:
    spec: dict[str, Any] = app.test_client().get("/api/openapi.json").get_json()
    return spec


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in spec["paths"].items() for method, op in ops.items()
            if method in ("get", "post", "put", "patch", "delete")]


def test_every_2xx_response_has_a_json_schema(nongxin_app: Any) -> None:
    missing = [f"{method} {path} {status}" for method, path, op in _operations(_spec(nongxin_app))
               for status, response in op["responses"].items()
               if status.startswith("2") and status != "204"  # No Content: nothing to describe
               and not response.get("content", {}).get("application/json", {}).get("schema")]
    assert missing == []


def test_every_operation_documents_the_real_error_body_under_the_statuses_it_gives(nongxin_app: Any) -> None:
    spec = _spec(nongxin_app)
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message", "fields"}
    for method, path, op in _operations(spec):
        statuses = set(op["responses"])
        public = op.get("security") == []
        assert public or {"401", "403"} <= statuses, (method, path)
        assert "{" not in path or "404" in statuses, (method, path)
        assert "requestBody" not in op or {"400", "422"} <= statuses, (method, path)
        for status in statuses - {s for s in statuses if s.startswith("2")} - {"503"}:
            ref = op["responses"][status]["$ref"].rsplit("/", 1)[-1]
            assert spec["components"]["responses"][ref]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}, (method, path, status)
    assert "default" not in {s for _m, _p, op in _operations(spec) for s in op["responses"]}
