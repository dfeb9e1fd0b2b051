"""Work queued with ``after_commit`` runs once the outermost transaction commits, never after a
rollback, and a rolled-back savepoint drops only what was queued inside it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from nongxin.core.after_commit import after_commit
from nongxin.core.db import make_engine


def _session() -> Any:
    return sessionmaker(bind=make_engine("sqlite://"))()


def test_runs_after_the_outer_commit_in_order_and_not_on_savepoint_release() -> None:
    session, calls = _session(), []
    session.execute(sa.text("SELECT 1"))
    after_commit(session, lambda: calls.append("outer"))
    with session.begin_nested():
        after_commit(session, lambda: calls.append("released savepoint"))
    assert calls == []  # releasing a savepoint commits nothing yet
    session.commit()
    assert calls == ["outer", "released savepoint"]
    session.commit()
    assert calls == ["outer", "released savepoint"]  # once


def test_a_rollback_drops_it_and_a_rolled_back_savepoint_only_its_own() -> None:
    session, calls = _session(), []
    session.execute(sa.text("SELECT 1"))
    after_commit(session, lambda: calls.append("kept"))
    nested = session.begin_nested()
    after_commit(session, lambda: calls.append("in the savepoint"))
    nested.rollback()
    session.commit()
    assert calls == ["kept"]
    session.execute(sa.text("SELECT 1"))
    after_commit(session, lambda: calls.append("rolled back"))
    session.rollback()
    session.commit()
    assert calls == ["kept"]


def test_a_failing_callback_is_logged_and_the_next_still_runs(caplog: Any) -> None:
    session, calls = _session(), []
    session.execute(sa.text("SELECT 1"))

    def boom() -> None:
        raise RuntimeError("SMS gateway down")

    after_commit(session, boom)
    after_commit(session, lambda: calls.append("next"))
    session.commit()
    assert calls == ["next"] and "after-commit work failed" in caplog.text
