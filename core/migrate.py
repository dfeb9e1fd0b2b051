"""Schema changes go through Alembic, for the demo and production alike."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "nongxin.core:migrations")
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@functools.cache
def heads() -> tuple[str, ...]:
    """The revisions this code expects (read once from the migration scripts)."""
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "nongxin.core:migrations")
    return tuple(ScriptDirectory.from_config(cfg).get_heads())


def _missing_sqlite_file(engine: Engine) -> bool:
    """Connecting to SQLite creates the file; check first, so a refused command leaves nothing."""
    if engine.dialect.name != "sqlite":
        return False
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return False
    return not Path(database).exists()


def schema_problem(engine: Engine) -> str | None:
    """Why the database cannot be used by this code yet, in one line naming what to run; or None."""
    where = engine.url.render_as_string(hide_password=True)
    if _missing_sqlite_file(engine):
        return f"the database {where} does not exist yet: run `nongxin db upgrade` (or `nongxin demo`) first"
    try:
        revision = current(engine)
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        return f"cannot reach the database {where}: {reason}"
    expected = heads()
    if revision is None:
        return f"the database {where} has no schema yet: run `nongxin db upgrade` (or `nongxin demo`) first"
    if revision not in expected:
        return (f"the database schema is at revision {revision}, this version of Nongxin needs "
                f"{', '.join(expected)}: run `nongxin db upgrade`")
    return None


def recreate(url: str) -> None:
    """An empty database at the head revision: a SQLite file made anew, or PostgreSQL's public schema
    dropped and recreated. For test and benchmark databases only: everything in it is lost."""
    from pathlib import Path

    import sqlalchemy as sa

    from nongxin.core.db import make_engine

    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        upgrade(engine)
    finally:
        engine.dispose()
