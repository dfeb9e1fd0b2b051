"""Database plumbing: the declarative base, engines, the unit of work services take, and the
money column.

Writers never fail because of each other. On SQLite a unit of work that may write begins with
``BEGIN IMMEDIATE``: it takes the write lock before its first read, so a second writer waits on the
busy timeout instead of failing on a read-to-write upgrade (which SQLite answers with "database is
locked" at once, whatever the timeout). Read-only units of work (GET requests) begin deferred and stay
concurrent under WAL. On PostgreSQL writers run concurrently under READ COMMITTED; the few
serialization points (the heads of the hash chains, the plugin generation row) take a row or
advisory lock for the rest of their short transaction.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from nongxin.core.clock import utc_now

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The column default for timestamps: the system clock's aware UTC wall time. It stays a plain
    function (a column default cannot reach a runtime) and reads the clock module's ``utc_now``."""
    return utc_now()


def as_utc(value: datetime) -> datetime:
    """The same moment in UTC; a naive value is read as UTC (SQLite hands back naive datetimes,
    and we store UTC)."""
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A moment stored in UTC and read back aware, on every database.

    SQLite keeps a datetime as text without its offset, so ``2026-11-23T00:00+08:00`` written as
    is would read back as midnight UTC, eight hours late. Every value is converted to UTC on the
    way in (a naive one is taken as UTC already) and comes back with ``tzinfo=UTC``."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime()}


#: How long a SQLite writer waits for the write lock before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Execution option a unit of work sets on its connection when it may write.
WRITE_OPTION = "nongxin_write"


def make_engine(url: str, **kwargs: Any) -> Engine:
    # Never log bound parameters: they hold identity numbers and names (see the README).
    kwargs.setdefault("hide_parameters", True)
    engine = sa.create_engine(url, future=True, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(conn: Any) -> None:
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite starts transactions lazily and lets SAVEPOINT escape them, so a row-level savepoint
    # would commit on release. Take over BEGIN ourselves (SQLAlchemy's documented recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA recursive_triggers=ON")  # REPLACE's implicit delete fires DELETE triggers
    cursor.close()


class UnitOfWork:
    """One business transaction: everything commits together or nothing does.

    Services receive a unit of work rather than a session so that the API, the CLI and batch jobs
    share one transaction boundary and a failed request leaves the database as it was.
    """

    def __init__(self, factory: sessionmaker[Session], *, write: bool = True) -> None:
        """``write=False`` promises the unit of work only reads (SQLite then begins deferred, so
        readers stay concurrent); a write in it would fail under contention."""
        self._factory = factory
        self.write = write
        bind = factory.kw.get("bind")
        if write and isinstance(bind, Engine):
            # Every transaction of this session (the first and those after each commit) begins
            # as a writer; connections are taken lazily, so the lock is held only while needed.
            self.session: Session = factory(bind=bind.execution_options(**{WRITE_OPTION: True}))
        else:
            self.session = factory()

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


class Money(sa.types.TypeDecorator[Decimal]):
    """Money: ``Decimal`` yuan in Python, an exact integer number of fen (BIGINT) in the database.

    SQLite keeps ``NUMERIC(18, 2)`` as a binary float (1047.29 is not 1047.29 there, and SUM adds
    floats), so no money column is ever NUMERIC. Binding refuses floats and sub-fen amounts rather
    than rounding them: a value that cannot be stored exactly is a bug upstream. ``SUM`` over a
    Money column comes back as exact ``Decimal`` yuan on both databases.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        return None if value is None else to_fen(value)

    def process_literal_param(self, value: Any, dialect: Any) -> str:
        return "NULL" if value is None else str(to_fen(value))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else from_fen(value)

    @property
    def python_type(self) -> type:
        return Decimal


class Hundredths(Money):
    """A quantity of two decimal places that is not money (land under contract, in mu): ``Decimal``
    in Python, an exact integer number of hundredths (BIGINT) in the database, for the reason money
    is never NUMERIC (SQLite would keep it as a binary float)."""

    cache_ok = True


class Rate(sa.types.TypeDecorator[Decimal]):
    """An annual interest rate: ``Decimal`` in Python (``Decimal("0.0435")`` is 4.35%), an exact
    integer number of millionths in the database (43500), for the reason money is never NUMERIC.
    Binding refuses floats and rates finer than a millionth (0.0001 basis point)."""

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
            raise TypeError(f"a rate must be a Decimal, not {type(value).__name__}")
        scaled = Decimal(value).scaleb(6)
        if not scaled.is_finite() or scaled != scaled.to_integral_value():
            raise ValueError(f"rate {value} is finer than a millionth")
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(int(value)).scaleb(-6).normalize()

    @property
    def python_type(self) -> type:
        return Decimal


#: The largest amount a BIGINT holds, in fen (about 92 thousand trillion yuan).
MAX_FEN = 2**63 - 1


def to_fen(value: Any) -> int:
    """``Decimal("1047.29")`` -> ``104729``; refuses floats, text and fractions of a fen."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"money must be a Decimal or an int number of yuan, not {type(value).__name__}")
    try:
        fen = Decimal(value).scaleb(2)
        exact = fen.is_finite() and fen == fen.to_integral_value()
    except InvalidOperation:
        exact = False
    if not exact:
        raise ValueError(f"{value} yuan is not a whole number of fen")
    if abs(fen) > MAX_FEN:
        raise ValueError(f"{value} yuan is beyond the range of a money column")
    return int(fen)


def from_fen(fen: Any) -> Decimal:
    """``104729`` -> ``Decimal("1047.29")``, always with two places."""
    return Decimal(int(fen)).scaleb(-2)


def no_replace_ddl(dialect: str, table: str, unique_columns: tuple[str, ...]) -> list[str]:
    """Close what ``append_only_ddl`` leaves open: SQLite's ``INSERT OR REPLACE`` deletes the row in
    its way without firing DELETE triggers, and PostgreSQL's ``TRUNCATE`` fires no row triggers."""
    if dialect == "postgresql":
        return [f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION nongxin_append_only()"]
    if dialect == "sqlite":
        clash = " OR ".join(f"{c} = NEW.{c}" for c in unique_columns)
        return [f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
                f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {clash}) BEGIN "
                f"SELECT RAISE(ABORT, 'table {table} is append-only: REPLACE refused'); END"]
    return []


def rows_frame(rows: Any, columns: list[str]) -> Any:
    """Query rows (SQLAlchemy ``Row`` objects or tuples) as a pandas frame with ``columns``, built
    column by column: ``pd.DataFrame(rows)`` inspects every ``Row`` object on its own and was the
    slowest step of the nightly jobs (1.5 s per 200,000 rows)."""
    import pandas as pd

    rows = list(rows)
    if not rows:  # no rows: object columns, as pandas makes of an empty row list
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in columns}, columns=columns)
    return pd.DataFrame({name: list(values) for name, values in zip(columns, zip(*rows))}, columns=columns)
