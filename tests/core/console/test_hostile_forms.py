"""Every console page, given junk, answers with a page, never a 500 (promise 5).

Each GET route is opened with junk query parameters and each POST route is sent junk forms (the
CSRF token included, so the junk reaches the view), by users of several roles, at existing and
missing ids. Nothing may answer 5xx; whatever was refused wrote nothing is each area's own tests'
business (they check the form's errors beside the fields)."""

from __future__ import annotations

from typing import Any

import pytest

#: A demo user of each role (at the Jinan county bank, or the province).
BY_ROLE = {"province_admin": "province.admin", "county_admin": "jinan.admin", "product_manager": "jinan.pm",
           "parameter_admin": "jinan.params", "customer_manager": "jinan.cm", "reviewer": "jinan.reviewer",
           "approver": "jinan.approver", "post_loan_checker": "jinan.postloan"}
#: Path arguments: an id and a name that exist in the demo, and ones that do not.
PATH_VALUES = ({"int": "1", "name": "JNRCB"}, {"int": "2147483647", "name": "NO-SUCH\u202e"})
KEYS = ("institution", "code", "name", "amount", "rate", "term_months", "days", "username", "role",
        "expression", "stage", "outcome", "message", "settings", "status", "colour", "page", "since",
        "until", "actor", "action", "findings", "disposal", "to", "opinion", "decision", "reason",
        "plugin", "enabled", "segment", "annual_income", "level", "parent", "display_name", "limit")
JUNK = ("", "\x00", "\u202e-1", "-1", "1e999", "９９", "a" * 5000, "{\"a\": ", "2026-02-30", "' OR 1=1 --")


def _routes(app: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, path, users): every console route but sign-in and static files (tests/core/console/
    test_signin.py), at an existing and a missing id, with users of two roles that may use it."""
    from nongxin.core.permissions import PERMISSIONS

    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console/") or rule.endpoint in ("console.static", "console.signin",
                                                                      "console.signout"):
            continue
        actions = getattr(app.view_functions[rule.endpoint], "permission_actions", ())
        roles = sorted({role.value for action in actions for role in PERMISSIONS[action]}) or ["province_admin"]
        users = tuple(BY_ROLE[role] for role in roles[:2])
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            for values in PATH_VALUES:
                path = rule.rule
                for arg in rule.arguments:
                    path = path.replace(f"<int:{arg}>", values["int"]).replace(f"<path:{arg}>", values["name"])
                    path = path.replace(f"<{arg}>", values["name"])
                out.add((method, path, users))
    return sorted(out)


def test_junk_never_gets_a_server_error(nongxin_app: Any, nongxin_demo: Any, nongxin_console: Any) -> None:
    clients: dict[str, Any] = {}
    failures: list[str] = []
    for method, path, users in _routes(nongxin_app):
        for name in users:
            client = clients.get(name) or clients.setdefault(name, nongxin_console(name))
            for i, junk in enumerate(JUNK):
                fields = {key: junk for key in KEYS[i % 5::5]}
                if method == "GET":
                    resp = client.get(path, query_string=fields)
                else:
                    resp = client.post(path, data=fields)
                if resp.status_code >= 500:
                    failures.append(f"{method} {path} as {name} with {fields!r:.120}: {resp.status_code}")
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:40])


@pytest.mark.parametrize("path", ["/console/?page=\x00", "/console/signin?next=%00", "/console/%00"])
def test_control_characters_in_the_url_are_refused_as_pages(nongxin_app: Any, nongxin_demo: Any,
                                                            nongxin_console: Any, path: str) -> None:
    resp = nongxin_console("jinan.pm").get(path)
    assert resp.status_code < 500
