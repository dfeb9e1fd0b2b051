"""The audit chains are keyed, the query log is chained too, and the database refuses REPLACE and
TRUNCATE: what someone with write access to the database can no longer do unnoticed."""

import hashlib
import hmac
from dataclasses import replace

import pytest
import sqlalchemy as sa

from nongxin.core.audit import chain
from nongxin.core.audit.models import AuditEntry
from nongxin.core.audit.services import AUDIT_CHAIN, record, verify
from nongxin.core.bureau.models import QUERY_LOG_CHAIN, BureauQueryLog
from nongxin.core.config import Settings
from nongxin.core.db import UnitOfWork, append_only_ddl
from nongxin.core.errors import ConfigurationError

PERSON = {"kind": "resident_id", "id_number": "11010519491231002X", "name": "张三"}
EVIDENCE = {"ref": "archive://JNRCB/2026/auth-0001.pdf", "sha256": "ab" * 32}


def _dialect(uow):
    return uow.session.get_bind().dialect.name


def _forge(uow, key_id, sign):
    """Append an entry the way an intruder with SQL access would: correct prev_hash, recomputed hash."""
    last = uow.session.execute(sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
    forged = AuditEntry(at=last.at, actor="mallory", institution_code="JNRCB", action="user.create",
                        target="user:mallory", before=None, after={"role": "province_admin"},
                        prev_hash=last.hash, key_id=key_id)
    forged.hash = sign(AUDIT_CHAIN.signed(forged, last.hash))
    uow.session.add(forged)
    uow.commit()
    return forged.id


def test_a_forged_entry_with_a_recomputed_sha256_is_found(nongxin_demo, nongxin_uow):
    forged = _forge(nongxin_uow, None, lambda body: hashlib.sha256(body).hexdigest())
    problems = verify(nongxin_uow.session)
    assert [p.entry_id for p in problems] == [forged] and "forged" in problems[0].message


def test_an_entry_signed_with_a_guessed_key_is_found(nongxin_demo, nongxin_uow):
    current = chain.keyring_of(nongxin_uow.session).current_id
    forged = _forge(nongxin_uow, current, lambda body: hmac.new(b"guess", body, hashlib.sha256).hexdigest())
    problems = verify(nongxin_uow.session)
    assert [p.entry_id for p in problems] == [forged] and "without the audit key" in problems[0].message


def test_an_entry_signed_with_an_unknown_key_is_named(nongxin_demo, nongxin_uow):
    forged = _forge(nongxin_uow, "0123456789abcdef", lambda body: hmac.new(b"k", body, hashlib.sha256).hexdigest())
    problems = verify(nongxin_uow.session)
    assert [p.entry_id for p in problems] == [forged] and "not configured" in problems[0].message


def test_entries_signed_without_the_key_never_verify(nongxin_settings, nongxin_demo, nongxin_app):
    """The same database read with another key: every keyed entry fails, none passes by accident."""
    stranger = UnitOfWork(chain.session_factory(nongxin_app.extensions["nongxin"].engine,
                                                chain.Keyring.from_secrets("another-key-" + "x" * 32)))
    with stranger:
        problems = verify(stranger.session)
    count = len(problems)
    assert count > 20 and all("not configured" in p.message for p in problems)


def test_rotation_old_keys_still_verify(nongxin_settings, nongxin_demo, nongxin_app):
    engine = nongxin_app.extensions["nongxin"].engine
    old = nongxin_settings.audit_key
    rotated = replace(nongxin_settings, audit_key="rotated-key-" + "y" * 32, audit_old_keys=(old,))
    with UnitOfWork(chain.session_factory(engine, rotated.keyring())) as unit:
        record(unit.session, actor="province.admin", action="test.rotate", target="key")
        unit.commit()
        assert verify(unit.session) == []
        ids = {e.key_id for e in unit.session.execute(sa.select(AuditEntry)).scalars()}
        assert ids == {chain.key_id(old), chain.key_id(rotated.audit_key)}
    forgot = replace(rotated, audit_old_keys=())
    with UnitOfWork(chain.session_factory(engine, forgot.keyring())) as unit:
        assert verify(unit.session) and all("not configured" in p.message for p in verify(unit.session))


def test_unkeyed_entries_are_accepted_only_as_the_prefix(nongxin_uow):
    """Entries written before 0004 keyed the chain carry a plain SHA-256 and still verify."""
    session = nongxin_uow.session
    prev = chain.GENESIS
    for n in range(2):
        entry = AuditEntry(at=chain_time(), actor="legacy", institution_code=None, action="old",
                           target=f"t{n}", before=None, after=None, prev_hash=prev, key_id=None)
        entry.hash = hashlib.sha256(AUDIT_CHAIN.signed(entry, prev)).hexdigest()
        session.add(entry)
        session.flush()
        prev = entry.hash
    record(session, actor="system", action="new", target="t2")
    nongxin_uow.commit()
    assert verify(session) == []


def chain_time():
    from nongxin.core.db import utcnow

    return utcnow().replace(microsecond=0)


def test_production_requires_a_long_audit_key():
    base = Settings(environment="production", secret_key="s" * 40, audit_key="k" * 40)
    base.check()
    for bad in ("", "short", "nongxin-demo-audit-key-not-secret"):
        with pytest.raises(ConfigurationError, match="NONGXIN_AUDIT_KEY"):
            replace(base, audit_key=bad).check()


def test_keys_come_from_the_environment():
    settings = Settings.from_env({"NONGXIN_ENV": "testing", "NONGXIN_AUDIT_KEY": "a" * 32,
                                  "NONGXIN_AUDIT_OLD_KEYS": "b" * 32 + ", " + "c" * 32})
    keyring = settings.keyring()
    assert keyring.current_id == chain.key_id("a" * 32)
    assert {chain.key_id(k * 32) for k in "abc"} <= set(keyring.keys)
    assert "a" * 32 not in repr(keyring)  # a key never reaches a log line


# -- the database refuses REPLACE and TRUNCATE ------------------------------------------------

@pytest.mark.parametrize("table", ["audit_log", "bureau_query_log"])
def test_replace_and_upsert_are_refused(table, nongxin_demo, nongxin_uow, cm_with_a_query):
    session = nongxin_uow.session
    columns = [c.name for c in (AuditEntry if table == "audit_log" else BureauQueryLog).__table__.columns]
    listed = ", ".join(columns)
    if _dialect(nongxin_uow) == "sqlite":
        statements = [f"INSERT OR REPLACE INTO {table} ({listed}) SELECT {listed} FROM {table} WHERE id = 1",
                      f"REPLACE INTO {table} ({listed}) SELECT {listed} FROM {table} WHERE id = 1"]
    else:
        statements = [f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {table} WHERE id = 1 "
                      "ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id", f"TRUNCATE {table}"]
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            session.execute(sa.text(statement))
        nongxin_uow.rollback()
    assert session.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one() > 0


@pytest.fixture
def cm_with_a_query(nongxin_client):
    cm = nongxin_client.as_user("jinan.cm")
    assert cm.post("/api/bureau/authorizations", json={"subject": PERSON, "purposes": ["02"],
                                                       "channel": "paper", "evidence": EVIDENCE}).status_code == 201
    for ref in ("APP-1", "APP-2"):
        resp = cm.post("/api/bureau/queries", json={"subject": PERSON, "purpose": "02",
                                                     "for": {"kind": "application", "ref": ref}})
        assert resp.status_code == 200, resp.get_json()
    return cm


# -- the query log is a keyed chain of its own ----------------------------------------------------

def test_query_log_rows_are_chained_and_verify(cm_with_a_query, nongxin_uow):
    rows = list(nongxin_uow.session.execute(sa.select(BureauQueryLog).order_by(BureauQueryLog.id)).scalars())
    assert len(rows) == 2 and rows[0].prev_hash == chain.GENESIS and rows[1].prev_hash == rows[0].hash
    assert all(r.key_id == chain.keyring_of(nongxin_uow.session).current_id for r in rows)
    assert chain.verify(nongxin_uow.session, QUERY_LOG_CHAIN) == []


def test_a_rewritten_query_log_row_is_named_by_audit_verify(cm_with_a_query, nongxin_settings, nongxin_uow):
    """The finding: a row rewritten to nobody|failed|TAMPERED went unnoticed."""
    from tests.core.test_audit import _cli

    dialect = _dialect(nongxin_uow)
    conn = nongxin_uow.session.connection()
    triggers = {"sqlite": ["DROP TRIGGER bureau_query_log_no_update"],
                "postgresql": ["DROP TRIGGER bureau_query_log_append_only ON bureau_query_log"]}[dialect]
    for ddl in triggers:
        conn.execute(sa.text(ddl))
    first = nongxin_uow.session.execute(sa.select(sa.func.min(BureauQueryLog.id))).scalar_one()
    conn.execute(sa.text("UPDATE bureau_query_log SET operator = 'nobody', outcome = 'failed', "
                         f"error = 'TAMPERED' WHERE id = {first}"))
    for ddl in append_only_ddl(dialect, "bureau_query_log"):
        if "no_update" in ddl or "append_only BEFORE" in ddl:
            conn.execute(sa.text(ddl))
    nongxin_uow.commit()
    problems = chain.verify(nongxin_uow.session, QUERY_LOG_CHAIN)
    assert [(p.chain, p.entry_id) for p in problems] == [("bureau_query_log", first)]
    result = _cli(nongxin_settings)("audit", "verify")
    assert result.exit_code == 1
    assert "bureau_query_log: BROKEN" in result.output and "audit_log: intact" in result.output


def test_concurrent_appends_never_fork_the_chain(nongxin_app, nongxin_demo, nongxin_uow):
    """Threads appending at once wait for the head and each get their own place in the chain."""
    from concurrent.futures import ThreadPoolExecutor

    sessions = nongxin_app.extensions["nongxin"].sessions

    def write(n):
        with UnitOfWork(sessions) as unit:
            record(unit.session, actor="load", action="test.append", target=f"n{n}")
            unit.commit()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(64)))
    nongxin_uow.rollback()
    assert verify(nongxin_uow.session) == []
    count = nongxin_uow.session.execute(sa.select(sa.func.count()).select_from(AuditEntry)
                                        .where(AuditEntry.action == "test.append")).scalar_one()
    assert count == 64


def test_the_demo_generates_its_own_key_and_later_commands_use_it(tmp_path, monkeypatch):
    """`nongxin demo` in a fresh folder: a private key file appears, and `audit verify` run later in
    that folder (a new process would read the same environment) finds the chains intact."""
    import stat

    from click.testing import CliRunner

    from nongxin.core.cli import main

    monkeypatch.chdir(tmp_path)
    for name in ("NONGXIN_AUDIT_KEY", "NONGXIN_AUDIT_OLD_KEYS", "NONGXIN_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NONGXIN_DATABASE_URL", f"sqlite:///{tmp_path / 'nongxin.db'}")
    assert CliRunner().invoke(main, ["demo", "--no-serve"]).exit_code == 0
    key_file = tmp_path / "nongxin-audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_text().strip()) == 64
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 0 and "audit_log: intact" in result.output
    settings = Settings.from_env()
    assert settings.keyring().current_id == chain.key_id(key_file.read_text().strip())
    key_file.write_text("someone-else's-key-" + "z" * 32)  # a swapped key cannot vouch for the entries
    assert CliRunner().invoke(main, ["audit", "verify"]).exit_code == 1
