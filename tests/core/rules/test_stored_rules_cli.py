"""``nongxin rules draft|submit|withdraw|approve|reject|retire|list|show``: the life cycle from the
console on behalf of named users, through the same checks as the API; mistakes are one clear
message (the caret too) and exit status 2, never a traceback."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.audit.models import AuditEntry
from nongxin.core.cli import main
from nongxin.core.clikit import Console


def _run(app: Any, settings: Any, *args: str) -> Any:
    console = Console(settings, runtime=app.extensions["nongxin"])
    return CliRunner().invoke(main, ["rules", *args], obj=console)


DRAFT = ("draft", "--code", "JN-CLI-1", "--name", "高龄", "--stage", "admission", "--outcome", "manual_review",
         "--expression", "age > 65", "--reason", "年龄超过65岁")


def test_draft_submit_approve_list_show_retire(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any,
                                               nongxin_uow: Any) -> None:
    made = _run(nongxin_app, nongxin_settings, *DRAFT, "--json", "--user", "jinan.params")
    assert made.exit_code == 0, made.output
    rule = json.loads(made.output)
    assert (rule["status"], rule["level"], rule["owner"], rule["version"]) == ("draft", "county", "JNRCB", 1)
    rid = str(rule["id"])
    assert _run(nongxin_app, nongxin_settings, "submit", rid, "--user", "jinan.params").exit_code == 0
    own = _run(nongxin_app, nongxin_settings, "approve", rid, "--user", "jinan.params")
    assert own.exit_code == 2 and "maker-checker" in own.output and "Traceback" not in own.output
    ok = _run(nongxin_app, nongxin_settings, "approve", rid, "--note", "同意", "--user", "jinan.params2")
    assert ok.exit_code == 0 and "published" in ok.output and "decided by jinan.params2" in ok.output
    again = _run(nongxin_app, nongxin_settings, "approve", rid, "--user", "jinan.admin")
    assert again.exit_code == 2 and "is published" in again.output

    listed = _run(nongxin_app, nongxin_settings, "list", "--status", "published", "--user", "jinan.cm")
    assert listed.exit_code == 0 and "JN-CLI-1 v1" in listed.output and "JNRCB (county)" in listed.output
    assert "no stored rules" in _run(nongxin_app, nongxin_settings, "list", "--user", "linyi.admin").output
    hidden = _run(nongxin_app, nongxin_settings, "show", rid, "--user", "linyi.admin")
    assert hidden.exit_code == 2 and "not found" in hidden.output
    shown = _run(nongxin_app, nongxin_settings, "show", rid, "--user", "province.admin")
    assert shown.exit_code == 0 and "age > 65" in shown.output and "年龄超过65岁" in shown.output

    retired = _run(nongxin_app, nongxin_settings, "retire", rid, "--note", "停用", "--user", "jinan.params")
    assert retired.exit_code == 0 and "retired by jinan.params" in retired.output
    nongxin_uow.rollback()
    assert [e.action for e in nongxin_uow.session.execute(sa.select(AuditEntry).where(
        AuditEntry.target == f"stored_rule:{rid}").order_by(AuditEntry.id)).scalars()] == [
        "rules.draft", "rules.submit", "rules.approve", "rules.retire"]


def test_withdraw_and_reject(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any) -> None:
    rule = json.loads(_run(nongxin_app, nongxin_settings, *DRAFT, "--json", "--user", "jinan.params").output)
    rid = str(rule["id"])
    assert _run(nongxin_app, nongxin_settings, "submit", rid, "--user", "jinan.params").exit_code == 0
    back = _run(nongxin_app, nongxin_settings, "withdraw", rid, "--user", "jinan.params")
    assert back.exit_code == 0 and " draft " in back.output
    _run(nongxin_app, nongxin_settings, "submit", rid, "--user", "jinan.params")
    no = _run(nongxin_app, nongxin_settings, "reject", rid, "--note", "口径不对", "--json", "--user", "jinan.admin")
    assert no.exit_code == 0 and json.loads(no.output)["decision_note"] == "口径不对"


def test_mistakes_are_one_clear_message(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any) -> None:
    caret = _run(nongxin_app, nongxin_settings, "draft", "--code", "JN-CLI-2", "--name", "x", "--stage", "post_loan",
                 "--outcome", "red", "--expression", "overdue_days > 3 and tax_grade == 'D'", "--user", "jinan.params")
    assert caret.exit_code == 2 and "expression" in caret.output and "tax_grade" in caret.output
    assert "^" in caret.output and "Traceback" not in caret.output
    higher = _run(nongxin_app, nongxin_settings, "draft", "--code", "PROV-ADM-001", "--name", "x", "--stage",
                  "admission", "--outcome", "reject", "--expression", "age > 1", "--user", "jinan.admin")
    assert higher.exit_code == 2 and "PROV-ADM-001" in higher.output and "SD" in higher.output
    level = _run(nongxin_app, nongxin_settings, *DRAFT, "--level", "province", "--user", "jinan.params")
    assert level.exit_code == 2 and "level" in level.output
    branch = _run(nongxin_app, nongxin_settings, *DRAFT, "--user", "jinan.cm")
    assert branch.exit_code == 2 and "rules.draft" in branch.output
    nobody = _run(nongxin_app, nongxin_settings, "show", "1", "--user", "no.such.user")
    assert nobody.exit_code == 2 and "Traceback" not in nobody.output
    missing = _run(nongxin_app, nongxin_settings, "approve", "999", "--user", "jinan.params2")
    assert missing.exit_code == 2 and "rule 999 not found" in missing.output
