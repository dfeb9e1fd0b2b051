"""werkzeug's own HTTP errors (unknown path, wrong method, body too large) answer in the same JSON
shape as every other error, ``{"error", "message", "fields"}``, never an HTML page or another shape."""

from __future__ import annotations

from typing import Any


def _same_shape(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.is_json, response.data[:200]
    body = response.get_json()
    assert set(body) == {"error", "message", "fields"} and body["error"] == code and body["message"]
    return body


def test_unknown_path_is_a_json_404(nongxin_client: Any) -> None:
    _same_shape(nongxin_client.as_user("jinan.admin").get("/api/no-such-thing"), 404, "not_found")


def test_wrong_method_is_a_json_405_that_keeps_allow(nongxin_client: Any) -> None:
    response = nongxin_client.as_user("jinan.admin").delete("/api/audit")
    _same_shape(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_a_body_too_large_is_a_json_413(nongxin_client: Any, nongxin_app: Any) -> None:
    limit = nongxin_app.config["MAX_CONTENT_LENGTH"]
    response = nongxin_client.as_user("jinan.admin").post(
        "/api/institutions", data=b"{" + b" " * limit + b"}", content_type="application/json")
    _same_shape(response, 413, "request_entity_too_large")
