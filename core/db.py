"""Database plumbing: the declarative base, engines, and the unit of work services take."""

from __future__ import annotations

from datetime import datetime, timezone
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: sa.DateTime(timezone=True)}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; we store UTC, so naive means UTC."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def make_engine(url: str, **kwargs: Any) -> Engine:
    engine = sa.create_engine(url, future=True, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite starts transactions lazily and lets SAVEPOINT escape them, so a row-level savepoint
    # would commit on release. Take over BEGIN ourselves (SQLAlchemy's documented recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class UnitOfWork:
    """One business transaction: everything commits together or nothing does.

    Services receive a unit of work rather than a session so that the API, the CLI and batch jobs
    share one transaction boundary and a failed request leaves the database as it was.
    """

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self.session: Session = factory()

    def __enter__(self) -> "UnitOfWork":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def flush(self) -> None:
        self.session.flush()


def str_enum(enum_cls: type, length: int = 32) -> sa.Enum:
    """Store an enum by its value ('county'), readable in SQL and stable across renames."""
    return sa.Enum(enum_cls, native_enum=False, length=length,
                   values_callable=lambda e: [m.value for m in e], validate_strings=True)


def append_only_ddl(dialect: str, table: str) -> list[str]:
    """Triggers that make the database itself refuse UPDATE and DELETE on ``table``.

    The application never edits these tables; the triggers stop everyone else who has SQL access.
    """
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION nongxin_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP; END; "
            "$$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION nongxin_append_only()",
        ]
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN "
            f"SELECT RAISE(ABORT, 'table {table} is append-only: UPDATE refused'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN "
            f"SELECT RAISE(ABORT, 'table {table} is append-only: DELETE refused'); END",
        ]
    return []
