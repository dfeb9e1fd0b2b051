"""Keyed hash chains: what makes an append-only table tamper-evident.

Every row of a chained table (the audit log, the credit-bureau query log) carries ``prev_hash``, the
``hash`` of the row before it, and its own ``hash``: an HMAC-SHA256 of its content and ``prev_hash``
under a key that lives only in the environment (``NONGXIN_AUDIT_KEY``), never in the database.
Anyone who can write the database can still append or rewrite rows, but without the key they cannot
make them verify. ``key_id`` names the key that signed a row (a digest of the key, not the key), so
keys can be rotated: the new key signs, the old ones stay listed in ``NONGXIN_AUDIT_OLD_KEYS`` to
verify older rows. Rows written before keying (``key_id`` NULL) carry a plain SHA-256 and are
accepted only as the chain's prefix: an unkeyed row after a keyed one is reported as forged.

A chain has one head, so appends serialize: on PostgreSQL ``append`` takes a transaction-scoped
advisory lock before it reads the head (held until commit; appends come last in a transaction, so
the lock is short); on SQLite the writer already holds the database's write lock (``BEGIN
IMMEDIATE``, see ``nongxin.core.db``). ``prev_hash`` is unique as a last line of defence: two
appends racing for one predecessor can never both commit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from nongxin.core.db import as_utc
from nongxin.core.errors import ConfigurationError

GENESIS = "0" * 64
#: Where a session finds the keyring (``Session.info``); set by ``session_factory``.
KEYRING_INFO = "nongxin.audit_keyring"


def key_id(secret: str) -> str:
    """A short public name for a key: a digest of it, so the id never reveals the key."""
    return hashlib.sha256(b"nongxin-audit-key-id:" + secret.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """The key that signs new rows, and every key (current and retired) that verifies old ones."""

    current_id: str
    keys: Mapping[str, bytes] = field(repr=False)

    @classmethod
    def from_secrets(cls, current: str, others: Sequence[str] = ()) -> "Keyring":
        if not current:
            raise ConfigurationError("the audit key is empty; set NONGXIN_AUDIT_KEY")
        keys = {key_id(s): s.encode("utf-8") for s in (*others, current) if s}
        return cls(key_id(current), keys)

    def sign(self, body: bytes) -> tuple[str, str]:
        return self.current_id, hmac.new(self.keys[self.current_id], body, hashlib.sha256).hexdigest()

    def expected(self, key: str | None, body: bytes) -> str | None:
        """The hash a row signed by ``key`` must carry; None when that key is not configured.
        ``key`` None means a row written before keying: a plain SHA-256."""
        if key is None:
            return hashlib.sha256(body).hexdigest()
        secret = self.keys.get(key)
        return None if secret is None else hmac.new(secret, body, hashlib.sha256).hexdigest()


def session_factory(engine: Engine, keyring: Keyring) -> sessionmaker[Session]:
    """Sessions that can sign chained rows; the API, the CLI and the tests all make them here."""
    return sessionmaker(engine, expire_on_commit=False, info={KEYRING_INFO: keyring})


def keyring_of(session: Session) -> Keyring:
    keyring = session.info.get(KEYRING_INFO)
    if keyring is None:
        raise ConfigurationError("this session has no audit keyring; make sessions with "
                                 "nongxin.core.audit.chain.session_factory")
    return keyring


def timestamp(at: datetime) -> str:
    """One spelling of a time on both databases, whatever the server's time zone."""
    return as_utc(at).astimezone(timezone.utc).isoformat()


def canonical(values: Sequence[Any]) -> bytes:
    return json.dumps(list(values), sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str).encode("utf-8")


@dataclass(frozen=True)
class Chain:
    """One chained table: its model (with ``id``, ``prev_hash``, ``hash``, ``key_id``), the
    advisory-lock number of its head, and what of a row is signed (``body(row)``, without
    ``prev_hash``, which ``append`` and ``verify`` put first)."""

    name: str
    model: Any
    lock_id: int
    body: Callable[[Any], Sequence[Any]]

    def signed(self, row: Any, prev_hash: str) -> bytes:
        return canonical([prev_hash, *self.body(row)])


def lock_head(session: Session, chain: Chain) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": chain.lock_id})


def append(session: Session, chain: Chain, row: Any) -> Any:
    """Sign ``row`` onto the end of ``chain`` in the caller's transaction."""
    keyring = keyring_of(session)
    lock_head(session, chain)
    model = chain.model
    prev = session.execute(sa.select(model.hash).order_by(model.id.desc()).limit(1)).scalar_one_or_none()
    row.prev_hash = prev or GENESIS
    row.key_id, row.hash = keyring.sign(chain.signed(row, row.prev_hash))
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Problem:
    entry_id: int
    message: str
    chain: str = "audit_log"


@dataclass(frozen=True)
class Anchor:
    """A chain's length and newest hash, written down outside the database (a daily report, a
    ticket). The chain alone cannot show that its newest entries were deleted; an anchor can."""

    position: int
    hash: str

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> "Anchor":
        position, sep, digest = text.strip().partition(":")
        if (not sep or not position.isdigit() or len(digest) != 64
                or any(c not in "0123456789abcdef" for c in digest.lower())):
            raise ValueError(f"an anchor looks like 123:<64 hex digits>, got {text!r}")
        return cls(int(position), digest.lower())


def head(session: Session, chain: Chain) -> Anchor | None:
    model = chain.model
    count = session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
    last = session.execute(sa.select(model.hash).order_by(model.id.desc()).limit(1)).scalar()
    return Anchor(count, last) if last else None


def verify(session: Session, chain: Chain, anchor: Anchor | None = None) -> list[Problem]:
    """Walk the chain from the start and name every row that was changed, forged (signed without
    the key) or whose predecessor is gone; with an anchor, also check that the chain still
    reaches it unchanged."""
    keyring = keyring_of(session)
    problems: list[Problem] = []

    def problem(row_id: int, message: str) -> None:
        problems.append(Problem(row_id, message, chain.name))

    expected_prev, position, keyed = GENESIS, 0, False
    anchored = anchor is None or anchor.position == 0
    for row in _rows(session, chain):
        position += 1
        what = f"{chain.name} entry {row.id}"
        if anchor is not None and position == anchor.position:
            anchored = True
            if row.hash != anchor.hash:
                problem(row.id, f"{what} at position {position} does not match the anchor: the chain "
                                "was rewritten or shortened")
        if row.prev_hash != expected_prev:
            problem(row.id, f"{what}: the entry before it was deleted or changed (chain broken)")
        expected = keyring.expected(row.key_id, chain.signed(row, row.prev_hash))
        if row.key_id is None and keyed:
            problem(row.id, f"{what} is not signed with an audit key although earlier entries are: "
                            "it was written outside the core (forged)")
        elif expected is None:
            problem(row.id, f"{what} is signed with key {row.key_id}, which is not configured; add the "
                            "key to NONGXIN_AUDIT_OLD_KEYS, or the entry was forged")
        elif not hmac.compare_digest(expected, row.hash):
            problem(row.id, f"{what} was changed after it was written, or written without the audit key")
        keyed = keyed or row.key_id is not None
        expected_prev = row.hash
    if not anchored:
        problem(0, f"{chain.name} has {position} entries but the anchor was taken at "
                   f"{anchor.position}: its newest entries were deleted")  # type: ignore[union-attr]
    return problems


def _rows(session: Session, chain: Chain) -> Iterator[Any]:
    model = chain.model
    yield from session.execute(sa.select(model).order_by(model.id).execution_options(yield_per=1000)).scalars()
