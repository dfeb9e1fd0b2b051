"""Concurrent writers through a real server never see a failure caused by each other.

8 clients x 100 mixed writes (plugin switches and settings, bureau authorizations and queries, new
users) against waitress on 127.0.0.1: no errors, exactly one row per success, no duplicate ids, and
the audit chains verify. Before BEGIN IMMEDIATE and the chain-head lock, about 77% of these writes
answered 500 "database is locked" on SQLite.
"""

import sqlalchemy as sa

from nongxin.core import loadgen
from nongxin.core.audit import chain
from nongxin.core.audit.models import AuditEntry
from nongxin.core.audit.services import chains
from nongxin.core.bureau.models import BureauAuthorization, BureauQueryLog
from nongxin.core.institutions.models import User

THREADS, PER_THREAD = 8, 100


def _count(session, model, *where):
    return session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


def test_eight_writers_never_fail_and_every_success_is_one_row(nongxin_app, nongxin_demo, nongxin_uow):
    session = nongxin_uow.session
    audit_before = _count(session, AuditEntry)
    nongxin_uow.rollback()
    with loadgen.Server(nongxin_app, threads=THREADS) as server:
        report = loadgen.run(server.port, nongxin_demo.tokens, threads=THREADS, per_thread=PER_THREAD)

    assert len(report.outcomes) == THREADS * PER_THREAD
    assert report.errors == [], report.errors[:5]
    nongxin_uow.rollback()
    assert _count(session, BureauAuthorization) == report.succeeded("authorize")
    assert _count(session, BureauQueryLog) == report.succeeded("query")
    assert _count(session, User, User.username.like("load.%")) == report.succeeded("user")
    audited = sum(report.succeeded(op) for op in ("switch", "settings", "authorize", "user"))
    assert _count(session, AuditEntry) - audit_before == audited
    for model in (AuditEntry, BureauQueryLog, BureauAuthorization):
        ids = session.execute(sa.select(model.id)).scalars().all()
        assert len(ids) == len(set(ids))
    for spec in chains().values():
        assert chain.verify(session, spec) == []
