import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.cli import Console, main
from nongxin.core.institutions.models import Institution

GOOD_AND_BAD = """code,name,level,parent
JNRCB-HX,槐荫支行,branch,JNRCB
JNRCB-HX-G1,槐荫网格,grid,JNRCB-HX
BAD-1,坏网格,grid,SD
JNRCB,重复,county,SD-LZ
,无代码,branch,JNRCB
X-9,未知层级,village,JNRCB
"""


def run(settings, *args):
    return CliRunner().invoke(main, list(args), obj=Console(settings), catch_exceptions=False)


def codes(uow):
    uow.rollback()  # end the read transaction, so we see what the CLI committed
    return set(uow.session.execute(sa.select(Institution.code)).scalars())


def test_help_lists_every_command():
    out = CliRunner().invoke(main, ["--help"]).output
    for command in ("demo", "serve", "db", "institutions", "users", "tokens", "audit", "plugins", "bureau", "new",
                    "applications"):
        assert command in out


def test_import_reports_every_bad_row_and_writes_nothing(nongxin_settings, nongxin_demo, nongxin_uow, tmp_path):
    before = codes(nongxin_uow)
    path = tmp_path / "tree.csv"
    path.write_text(GOOD_AND_BAD, encoding="utf-8")
    result = run(nongxin_settings, "institutions", "import", str(path))
    assert result.exit_code == 2
    for line in ("line 4", "line 5", "line 6", "line 7"):
        assert line in result.output
    assert "line 2" not in result.output and "line 3" not in result.output
    assert codes(nongxin_uow) == before


def test_partial_import_writes_exactly_the_good_rows(nongxin_settings, nongxin_demo, nongxin_uow, tmp_path):
    before = codes(nongxin_uow)
    path = tmp_path / "tree.csv"
    path.write_text(GOOD_AND_BAD, encoding="utf-8")
    result = run(nongxin_settings, "institutions", "import", "--partial", str(path))
    assert "imported 2 institution(s), skipped 4 bad row(s)" in result.output
    assert codes(nongxin_uow) - before == {"JNRCB-HX", "JNRCB-HX-G1"}


def test_import_into_empty_database_bootstraps_the_tree(nongxin_settings, nongxin_uow, tmp_path):
    path = tmp_path / "tree.csv"
    path.write_text("code,name,level,parent\nP,省联社,province,\nC,市办,city,P\nK,县行,county,C\n", encoding="utf-8")
    result = run(nongxin_settings, "institutions", "import", str(path))
    assert result.exit_code == 0, result.output
    assert codes(nongxin_uow) == {"P", "C", "K"}


def test_header_without_level_is_refused(nongxin_settings, tmp_path):
    path = tmp_path / "tree.csv"
    path.write_text("code,name,parent\nP,省,\n", encoding="utf-8")
    result = run(nongxin_settings, "institutions", "import", str(path))
    assert result.exit_code == 2 and "level" in result.output


def test_users_tokens_and_audit_verify(nongxin_settings, nongxin_demo, nongxin_app):
    assert run(nongxin_settings, "users", "create", "jinan.cm9", "--role", "customer_manager",
               "--institution", "JNRCB-ZQ").exit_code == 0
    bad = run(nongxin_settings, "users", "create", "x.y", "--role", "chief", "--institution", "JNRCB")
    assert bad.exit_code == 2 and "role" in bad.output
    issued = run(nongxin_settings, "tokens", "issue", "jinan.cm9", "--days", "2")
    token = issued.stdout.strip().splitlines()[0]
    client = nongxin_app.test_client()
    assert client.get("/api/institutions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert run(nongxin_settings, "tokens", "revoke", token[:10]).exit_code == 0
    assert client.get("/api/institutions", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    verified = run(nongxin_settings, "audit", "verify")
    assert verified.exit_code == 0 and "intact" in verified.output


def test_db_upgrade_is_idempotent(nongxin_settings):
    result = run(nongxin_settings, "db", "upgrade")
    assert result.exit_code == 0 and "revision" in result.output


def test_demo_seeds_once(nongxin_settings):
    first = run(nongxin_settings, "demo", "--no-serve")
    assert "province.admin" in first.output and "nx_" in first.output
    assert "days overdue" in first.output and "bullet" in first.output  # the demo books (issue 11)
    assert "line in shortfall" in first.output and "land_rights" in first.output  # the demo collateral (issue 12)
    second = run(nongxin_settings, "demo", "--no-serve")
    assert "already seeded" in second.output


def test_plugins_commands(nongxin_settings, nongxin_demo):
    listed = run(nongxin_settings, "plugins", "list", "--institution", "JNRCB")
    assert "provincial_products" in listed.output and "enabled" in listed.output
    off = run(nongxin_settings, "plugins", "disable", "provincial_products", "--institution", "LYRCB")
    assert off.exit_code == 0 and "disabled (set at LYRCB)" in off.output
    bad = run(nongxin_settings, "plugins", "settings", "provincial_products", "--institution", "JNRCB",
              "spread_bp=5000")
    assert bad.exit_code == 2 and "spread_bp" in bad.output
    ok = run(nongxin_settings, "plugins", "settings", "provincial_products", "--institution", "JNRCB",
             "spread_bp=150")
    assert ok.exit_code == 0 and "spread_bp = 150" in ok.output
    check = run(nongxin_settings, "plugins", "check")
    assert check.exit_code == 0 and "ok      provincial_products" in check.output


def test_commands_on_an_empty_database_say_what_to_do(nongxin_settings):
    for args in (("plugins", "list"), ("tokens", "revoke", "nx_abcdefgh"), ("plugins", "enable", "bureau_sim", "--institution", "X")):
        result = run(nongxin_settings, *args)
        assert result.exit_code == 2 and "institutions import" in result.output, (args, result.output)


def test_production_cli_refuses_a_weak_secret_and_the_demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    weak = CliRunner().invoke(main, ["plugins", "list"], env={
        "NONGXIN_ENV": "production", "NONGXIN_SECRET_KEY": "x", "NONGXIN_DATABASE_URL": url})
    assert weak.exit_code == 2 and "NONGXIN_SECRET_KEY" in weak.output
    assert len(weak.output.strip().splitlines()) == 1
    demo = CliRunner().invoke(main, ["demo", "--no-serve"], env={
        "NONGXIN_ENV": "production", "NONGXIN_SECRET_KEY": "s" * 40, "NONGXIN_DATABASE_URL": url})
    assert demo.exit_code == 2 and "production" in demo.output
    assert len(demo.output.strip().splitlines()) == 1
    assert not (tmp_path / "prod.db").exists()
