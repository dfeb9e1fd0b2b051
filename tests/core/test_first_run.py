"""Before `nongxin db upgrade`: every command says what to run, creates nothing, and the server
refuses to start; /healthz tells the schema revision and answers 503 when it is behind."""

import pytest
from click.testing import CliRunner

from nongxin.core.cli import main

DB_COMMANDS = [
    ["plugins", "list"],
    ["audit", "verify"],
    ["audit", "head"],
    ["users", "create", "li.admin", "--role", "province_admin", "--institution", "SD"],
    ["tokens", "issue", "li.admin"],
    ["tokens", "revoke", "nx_abcdefg"],
    ["plugins", "enable", "bureau_sim", "--institution", "SD"],
    ["plugins", "settings", "bureau_sim", "--institution", "SD"],
    ["bureau", "log", "--user", "li.admin"],
    ["bureau", "query", "--user", "li.cm", "--id-number", "11010519491231002X", "--name", "张三",
     "--purpose", "02", "--for", "application:A-1"],
    ["institutions", "import", "{tree}"],
    ["serve"],
]


def invoke(tmp_path, monkeypatch, args, url=None):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("waitress.serve", lambda *a, **k: pytest.fail("served on a database that is not ready"))
    env = {"NONGXIN_DATABASE_URL": url or "sqlite:///nongxin.db", "NONGXIN_ENV": "demo"}
    return CliRunner().invoke(main, args, env=env)


@pytest.mark.parametrize("args", DB_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_before_db_upgrade_a_command_names_what_to_run_and_creates_nothing(tmp_path, tmp_path_factory,
                                                                          monkeypatch, args):
    tree = tmp_path_factory.mktemp("files") / "tree.csv"
    tree.write_text("code,name,level,parent\nSD,山东省农信联社,province,\n", encoding="utf-8")
    result = invoke(tmp_path, monkeypatch, [a.replace("{tree}", str(tree)) for a in args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "nongxin db upgrade" in lines[0], result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def behind(tmp_path):
    """A SQLite database migrated only to the first revision, as an older Nongxin left it."""
    from nongxin.core.db import make_engine
    from nongxin.core.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0001")
    engine.dispose()
    return url


@pytest.mark.parametrize("args", [["serve"], ["plugins", "list"]], ids=lambda a: a[0])
def test_a_schema_behind_head_is_refused_naming_the_command(tmp_path, monkeypatch, args):
    result = invoke(tmp_path, monkeypatch, args, url=behind(tmp_path))
    assert result.exit_code == 2 and "revision 0001" in result.output
    assert "nongxin db upgrade" in result.output and len(result.output.strip().splitlines()) == 1


def test_healthz_reports_the_schema_revision_and_503_when_behind(tmp_path, nongxin_app):
    from nongxin.core.app import create_app
    from nongxin.core.config import Settings
    from nongxin.core.migrate import heads

    current = nongxin_app.test_client().get("/healthz")
    assert current.status_code == 200
    assert current.get_json()["schema"]["revision"] in heads()
    assert current.get_json()["schema"]["status"] == "current"

    old = create_app(Settings(database_url=behind(tmp_path), environment="testing", secret_key="t"))
    try:
        resp = old.test_client().get("/healthz")
    finally:
        old.extensions["nongxin"].engine.dispose()
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["schema"]["revision"] == "0001" and body["schema"]["status"] == "behind"
    assert "nongxin db upgrade" in body["schema"]["action"]
