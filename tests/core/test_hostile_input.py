"""Bad input never reaches a 500 and never writes anything (issue 8, section 3).

Each test sends what an attacker or a careless client sent on the old code (where it answered
500 ``internal_error`` or was stored as is) and checks the refusal names the field and the
database is exactly as it was.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from nongxin.core.models import Base

PERSON = {"kind": "resident_id", "id_number": "11010519491231002X", "name": "张三"}
EVIDENCE = {"ref": "archive://JNRCB/2026/auth-0001.pdf", "sha256": "ab" * 32}


@pytest.fixture
def cm(nongxin_client):
    return nongxin_client.as_user("jinan.cm")


@pytest.fixture
def admin(nongxin_client):
    return nongxin_client.as_user("province.admin")


@pytest.fixture
def unchanged(db_snapshot, nongxin_demo):
    """Yields nothing; fails the test if the database changed while it ran."""
    before = db_snapshot()
    yield
    assert db_snapshot() == before


def authorization(**extra: Any) -> dict[str, Any]:
    return {"subject": PERSON, "purposes": ["02"], "channel": "paper", "evidence": EVIDENCE, **extra}


def raw_json(value: Any) -> dict[str, Any]:
    """Send a body the way a client may: lone surrogates as \\uXXXX escapes (valid JSON)."""
    return {"data": json.dumps(value, ensure_ascii=True), "content_type": "application/json"}


def refused(resp: Any, status: int, field: str) -> dict[str, Any]:
    body = resp.get_json()
    assert resp.status_code == status, body
    assert field in body["fields"], body
    assert body["error"] != "internal_error"
    return body


# -- JSON too deep, body too large ------------------------------------------------------------

def deep(levels: int) -> str:
    return '{"institution": "JNRCB", "settings": {"a": ' + "[" * levels + "]" * levels + "}}"


@pytest.mark.parametrize("method, path", [
    ("post", "/api/institutions"), ("post", "/api/bureau/authorizations"), ("post", "/api/rules/check"),
    ("put", "/api/plugins/bureau_sim/settings"), ("post", "/api/users"),
])
@pytest.mark.parametrize("levels", [1000, 40])
def test_deeply_nested_json_is_a_400_naming_the_body(admin, unchanged, method, path, levels):
    raw = deep(levels)
    assert levels < 1000 or len(raw) < 2100  # the report's 2 KB body
    resp = getattr(admin, method)(path, data=raw, content_type="application/json")
    body = refused(resp, 400, "body")
    assert "nested more than" in body["message"]


def test_a_body_over_the_limit_is_413_in_the_json_error_shape(admin, unchanged):
    huge = json.dumps({"code": "X1", "name": "名" * 600_000, "level": "branch", "parent": "JNRCB"})
    resp = admin.post("/api/institutions", data=huge, content_type="application/json")
    assert resp.status_code == 413
    assert set(resp.get_json()) == {"error", "message", "fields"}


# -- strings that cannot be stored, or should not be ------------------------------------------

def test_lone_surrogate_is_a_422_naming_the_field(cm, unchanged):
    resp = cm.post("/api/bureau/authorizations", **raw_json(authorization(subject={**PERSON, "name": "张\ud800"})))
    refused(resp, 422, "subject.name")


def test_lone_surrogate_in_free_form_settings_is_refused(nongxin_client, unchanged):
    resp = nongxin_client.put("/api/plugins/bureau_sim/settings",
                              **raw_json({"institution": "JNRCB", "settings": {"endpoint": "\udfff"}}))
    refused(resp, 422, "settings.endpoint")
    resp = nongxin_client.put("/api/plugins/bureau_sim/settings",
                              **raw_json({"institution": "JNRCB", "settings": {"k\ud800": 1}}))
    refused(resp, 422, "settings")


def test_lone_surrogate_in_a_rule_expression_is_refused(nongxin_client, unchanged):
    resp = nongxin_client.post("/api/rules/check", **raw_json({"stage": "admission", "expression": "'\ud800' = 1"}))
    refused(resp, 422, "expression")


HOSTILE_TEXT = {"NUL": "a\x00b", "ANSI": "\x1b[31m红\x1b[0m", "RLO": "abc\u202etxt.exe", "FSI": "a\u2068b",
                "BEL": "a\x07", "newline": "a\nb", "C1": "a\x9bb"}


@pytest.mark.parametrize("text", list(HOSTILE_TEXT.values()), ids=list(HOSTILE_TEXT))
def test_control_and_bidi_characters_are_refused_in_names_and_references(admin, cm, unchanged, text):
    refused(admin.post("/api/institutions", json={"code": "X1", "name": text, "level": "branch",
                                                  "parent": "JNRCB"}), 422, "name")
    refused(admin.patch("/api/institutions/JNRCB-LX", json={"name": text}), 422, "name")
    refused(admin.post("/api/users", json={"username": "x.y", "display_name": text, "role": "reviewer",
                                           "institution": "JNRCB"}), 422, "display_name")
    refused(cm.post("/api/bureau/authorizations", json=authorization(subject={**PERSON, "name": text})),
            422, "subject.name")
    refused(cm.post("/api/bureau/authorizations", json=authorization(evidence={**EVIDENCE, "ref": text})),
            422, "evidence.ref")
    refused(cm.post("/api/bureau/queries", json={"subject": PERSON, "purpose": "02",
                                                 "for": {"kind": "application", "ref": text}}), 422, "for.ref")


def test_a_multiline_rule_expression_is_still_fine(nongxin_client):
    resp = nongxin_client.post("/api/rules/check", json={"stage": "admission",
                                                         "expression": "age >= 18\n\tand age <= 65"})
    assert resp.status_code in (200, 422)
    assert "control" not in json.dumps(resp.get_json())


@pytest.mark.parametrize("field, column_length", [
    ("name", 100), ("parent", 32), ("code", 32),
])
def test_institution_fields_longer_than_their_column_are_refused(admin, unchanged, field, column_length):
    body = {"code": "X1", "name": "新支行", "level": "branch", "parent": "JNRCB",
            field: "A" * (column_length + 1)}
    refused(admin.post("/api/institutions", json=body), 422, field)


def test_long_strings_are_refused_on_every_stored_field(admin, cm, unchanged):
    mb = "长" * 200_000  # 600 KB of UTF-8: under the body limit, far over any column
    refused(admin.post("/api/users", json={"username": "x.y", "display_name": mb, "role": "reviewer",
                                           "institution": "JNRCB"}), 422, "display_name")
    refused(admin.post("/api/users", json={"username": "u" * 65, "role": "reviewer",
                                           "institution": "JNRCB"}), 422, "username")
    refused(cm.post("/api/bureau/authorizations",
                    json=authorization(evidence={**EVIDENCE, "ref": "r" * 301})), 422, "evidence.ref")
    refused(cm.post("/api/bureau/authorizations", json=authorization(subject={**PERSON, "name": mb})),
            422, "subject.name")
    refused(cm.post("/api/bureau/queries", json={"subject": PERSON, "purpose": "02",
                                                 "for": {"kind": "application", "ref": "R" * 65}}), 422, "for.ref")


def test_a_name_at_the_column_length_is_stored(admin):
    resp = admin.post("/api/institutions", json={"code": "X1", "name": "名" * 100, "level": "branch",
                                                 "parent": "JNRCB"})
    assert resp.status_code == 201, resp.get_json()


# -- numbers and dates beyond what can be stored ----------------------------------------------

@pytest.mark.parametrize("number", ["9223372036854775808", "99999999999999999999999", "2147483648"])
def test_an_id_beyond_what_the_column_holds_is_a_404(cm, unchanged, number):
    path = f"/api/bureau/authorizations/{number}"
    assert cm.get(path).status_code == 404
    assert cm.post(path + "/revoke").status_code == 404
    assert cm.get(path).get_json()["error"] == "not_found"


def test_the_largest_id_is_simply_not_found(cm):
    resp = cm.get("/api/bureau/authorizations/2147483647")
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"


def test_the_id_bound_is_in_the_openapi_spec(nongxin_client):
    spec = nongxin_client.get("/api/openapi.json").get_json()
    param = spec["paths"]["/api/bureau/authorizations/{auth_id}"]["parameters"][0]
    assert param["schema"]["maximum"] == 2**31 - 1


@pytest.mark.parametrize("granted_at", ["9999-12-31T00:00:00+00:00", "9999-12-31T23:00:00-05:00",
                                        "0001-01-01T00:00:00+08:00"])
def test_granted_at_far_out_of_range_is_a_422(cm, unchanged, granted_at):
    refused(cm.post("/api/bureau/authorizations", json=authorization(granted_at=granted_at)), 422, "granted_at")


def test_expires_at_far_out_of_range_is_a_422(cm, unchanged):
    refused(cm.post("/api/bureau/authorizations", json=authorization(expires_at="9999-12-31T23:59:59+00:00")),
            422, "expires_at")


@pytest.mark.parametrize("path", ["/api/bureau/queries", "/api/bureau/queries/counts"])
@pytest.mark.parametrize("param", ["until=9999-12-31", "since=0001-01-01"])
def test_query_log_dates_out_of_range_are_a_422(cm, path, param):
    name = param.split("=")[0]
    refused(cm.get(f"{path}?{param}"), 422, name)


# -- rule expressions -------------------------------------------------------------------------

@pytest.mark.parametrize("expression", [
    "(" * 122 + "age > 1" + ")" * 122,
    " and ".join(["age > 1"] * 490),
    " + ".join(["age"] * 490) + " > 1",
])
def test_rule_check_with_deep_expressions_is_a_422_with_position(nongxin_client, expression):
    resp = nongxin_client.post("/api/rules/check", json={"stage": "admission", "expression": expression})
    body = refused(resp, 422, "expression")
    assert body["error"] == "invalid_rule" and "line 1, column" in body["message"]


# -- query parameters -------------------------------------------------------------------------

@pytest.mark.parametrize("path, user", [
    ("/api/audit?bogus=1", "province.admin"),
    ("/api/audit?limit=5&bogus=1", "province.admin"),
    ("/api/institutions?bogus=1", "province.admin"),  # takes no query at all
    ("/api/bureau/queries?bogus=1", "jinan.cm"),
    ("/api/plugins?institution=JNRCB&bogus=1", "jinan.pm"),
])
def test_unknown_query_parameters_are_refused_by_name(nongxin_client, path, user):
    body = refused(nongxin_client.as_user(user).get(path), 422, "bogus")
    assert body["error"] == "validation_failed" and "bogus" in body["message"]


def test_unknown_query_parameter_on_a_write_writes_nothing(cm, unchanged):
    refused(cm.post("/api/bureau/authorizations?dry_run=1", json=authorization()), 422, "dry_run")


def test_known_query_parameters_still_work(nongxin_client):
    assert nongxin_client.as_user("province.admin").get("/api/audit?limit=5&action=plugin.enable").status_code == 200
    assert nongxin_client.get("/api/plugins?institution=JNRCB").status_code == 200


# -- every string that comes in is bounded ----------------------------------------------------

def _argument_schemas(app: Any) -> list[tuple[str, Any]]:
    found = []
    for endpoint, view in app.view_functions.items():
        for param in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
            schema = param["schema"]
            found.append((endpoint, schema() if isinstance(schema, type) else schema))
    return found


def _string_fields(schema: Any, prefix: str = "") -> list[tuple[str, Any]]:
    from marshmallow import fields

    out = []
    stack = [(f"{prefix}{name}", field) for name, field in schema.fields.items()]
    while stack:
        name, field = stack.pop()
        if isinstance(field, fields.Nested):
            nested = field.schema
            stack.extend((f"{name}.{n}", f) for n, f in nested.fields.items())
        elif isinstance(field, fields.List):
            stack.append((f"{name}[]", field.inner))
        elif isinstance(field, fields.Dict):
            if field.key_field is not None:
                stack.append((f"{name}{{key}}", field.key_field))
        elif isinstance(field, fields.String):
            out.append((name, field))
    return out


def test_every_input_string_is_a_bounded_text_field_matching_its_column(nongxin_app):
    from nongxin.core.schemas import Text

    schemas = _argument_schemas(nongxin_app)
    assert len(schemas) >= 10
    unbounded = []
    for endpoint, schema in schemas:
        for name, field in _string_fields(schema):
            if not isinstance(field, Text) or not field.max_length:
                unbounded.append(f"{endpoint}: {name}")
            elif field.column:
                table, column = field.column.split(".")
                declared = Base.metadata.tables[_table_of(table)].c[column].type.length
                assert field.max_length == declared, f"{endpoint}: {name}"
    assert unbounded == [], "input strings without a length limit (use column_text or Text)"


def _table_of(class_name: str) -> str:
    for mapper in Base.registry.mappers:
        if mapper.class_.__name__ == class_name:
            return mapper.local_table.name
    raise KeyError(class_name)


# -- path segments ----------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("get", "/api/institutions/a%00b"), ("patch", "/api/institutions/a%00b"),
    ("post", "/api/users/a%00b/tokens"), ("patch", "/api/users/a%1bb"),
    ("get", "/api/plugins/a%00b/settings?institution=JNRCB"), ("post", "/api/plugins/a%E2%80%AEb/enable"),
    ("get", "/api/institutions/" + "X" * 201),
])
def test_a_path_name_no_stored_name_can_have_matches_no_route(admin, unchanged, method, path):
    # NUL in a path reached PostgreSQL, which cannot take it: a 500.
    resp = getattr(admin, method)(path, json={"institution": "JNRCB", "active": True, "name": "x"})
    assert resp.status_code in (404, 405), resp.get_json()  # no route matches; werkzeug may say 405
    assert set(resp.get_json()) == {"error", "message", "fields"}


def test_ordinary_path_names_still_route(admin):
    assert admin.get("/api/institutions/JNRCB-LX").status_code == 200
    assert admin.get("/api/institutions/" + "X" * 200).status_code == 404


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(nongxin_client, unchanged, constant):
    # Python's parser takes them; PostgreSQL's json type and every other JSON reader do not.
    raw = '{"institution": "JNRCB", "settings": {"x": ' + constant + "}}"
    resp = nongxin_client.put("/api/plugins/bureau_sim/settings", data=raw, content_type="application/json")
    body = refused(resp, 400, "body")
    assert constant.lstrip("-") in body["message"]
