import pytest
import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.audit.services import verify
from nongxin.core.db import append_only_ddl


def _tamper(uow, statement):
    """What a DBA with raw SQL could do: drop the guard triggers, then edit."""
    dialect = uow.session.get_bind().dialect.name
    conn = uow.session.connection()
    if dialect == "sqlite":
        conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
    else:
        conn.execute(sa.text("DROP TRIGGER audit_log_append_only ON audit_log"))
    conn.execute(sa.text(statement))
    for ddl in append_only_ddl(dialect, "audit_log"):  # the schema outlives this test on PostgreSQL
        conn.execute(sa.text(ddl))
    uow.commit()


def test_fresh_chain_verifies(nongxin_demo, nongxin_uow):
    assert nongxin_uow.session.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar_one() > 20
    assert verify(nongxin_uow.session) == []


def test_database_refuses_update_and_delete(nongxin_demo, nongxin_uow):
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        nongxin_uow.session.execute(sa.text("UPDATE audit_log SET actor = 'x' WHERE id = 3"))
    nongxin_uow.rollback()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        nongxin_uow.session.execute(sa.text("DELETE FROM audit_log WHERE id = 3"))
    nongxin_uow.rollback()


def test_changed_entry_is_named(nongxin_demo, nongxin_uow):
    _tamper(nongxin_uow, "UPDATE audit_log SET actor = 'mallory' WHERE id = 5")
    problems = verify(nongxin_uow.session)
    assert [p.entry_id for p in problems] == [5]
    assert "changed" in problems[0].message


def test_deleted_entry_is_found(nongxin_demo, nongxin_uow):
    _tamper(nongxin_uow, "DELETE FROM audit_log WHERE id = 7")
    problems = verify(nongxin_uow.session)
    assert [p.entry_id for p in problems] == [8]
    assert "deleted" in problems[0].message


def test_api_lists_only_own_subtree_and_offers_no_edit(nongxin_client):
    admin = nongxin_client.as_user("jinan.admin")
    entries = admin.get("/api/audit?limit=500").get_json()
    assert entries and all(not e["institution_code"].startswith(("LYRCB", "TARCB", "SD-LN")) for e in entries)
    assert admin.delete("/api/audit").status_code == 405
    assert nongxin_client.as_user("jinan.cm").get("/api/audit").status_code == 403


def test_anchor_detects_deleted_newest_entries(nongxin_demo, nongxin_uow):
    from nongxin.core.audit.services import Anchor, head

    anchor = head(nongxin_uow.session)
    assert verify(nongxin_uow.session, anchor) == []
    assert Anchor.parse(str(anchor)) == anchor
    last = anchor.position
    _tamper(nongxin_uow, f"DELETE FROM audit_log WHERE id >= (SELECT MAX(id) - 1 FROM audit_log)")
    assert verify(nongxin_uow.session) == []  # the chain alone cannot tell
    problems = verify(nongxin_uow.session, anchor)
    assert len(problems) == 1 and f"anchor was taken at {last}" in problems[0].message


def test_anchor_detects_a_rewritten_chain(nongxin_demo, nongxin_uow):
    from nongxin.core.audit.services import Anchor, head

    anchor = head(nongxin_uow.session)
    forged = Anchor(anchor.position, "f" * 64)
    assert "does not match the anchor" in verify(nongxin_uow.session, forged)[0].message


def _cli(settings):
    from click.testing import CliRunner

    from nongxin.core.cli import Console, main

    def run(*args):
        return CliRunner().invoke(main, list(args), obj=Console(settings), catch_exceptions=False)

    return run


def test_cli_head_and_verify_with_anchor(nongxin_settings, nongxin_demo):
    run = _cli(nongxin_settings)
    lines = run("audit", "head").output.split()
    assert [line.split("=")[0] for line in lines] == ["audit_log", "bureau_query_log"]
    result = run("audit", "verify", *(arg for line in lines for arg in ("--anchor", line)))
    assert result.exit_code == 0, result.output
    assert "audit_log: intact" in result.output and "bureau_query_log: intact" in result.output
    bare = lines[0].split("=", 1)[1]  # an anchor from before there were two chains
    assert run("audit", "verify", "--anchor", bare).exit_code == 0
    assert run("audit", "verify", "--anchor", "12:nothex").exit_code == 2
    assert run("audit", "verify", "--anchor", f"nosuch={bare}").exit_code == 2


def test_bad_limit_is_422_naming_it(nongxin_client):
    admin = nongxin_client.as_user("jinan.admin")
    for path in ("/api/audit?limit=-1", "/api/bureau/queries?limit=0", "/api/audit?limit=lots"):
        resp = admin.get(path)
        assert resp.status_code == 422 and "limit" in resp.get_json()["fields"], path
