"""Institution tree operations. Every change is audited in the same transaction."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import Conflict, NotFound, invalid
from nongxin.core.institutions.models import ALLOWED_PARENTS, Institution, Level
from nongxin.core.permissions import Action, require

CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def get_by_code(session: Session, code: str) -> Institution | None:
    return session.execute(sa.select(Institution).where(Institution.code == code)).scalar_one_or_none()


def visible(session: Session, principal: Principal, code: str) -> Institution:
    """The institution if the caller may see it; otherwise the same 404 as for a missing one."""
    inst = get_by_code(session, code)
    if inst is None or not principal.can_see(inst):
        raise NotFound(f"institution {code} not found", fields={"institution": ["not found"]})
    return inst


def visible_for(session: Session, principal: Principal, code: str, action: Action) -> Institution:
    """The institution a caller acts on: 404 outside their subtree, then 403 unless the
    permission table lets their role perform ``action``."""
    inst = visible(session, principal, code)
    require(principal, action)
    return inst


def read_subtree(session: Session, principal: Principal) -> list[Institution]:
    """The caller's institution and everything below it."""
    return subtree(session, visible_for(session, principal, principal.institution_code, Action.INSTITUTION_READ))


def root(session: Session) -> Institution | None:
    return session.execute(
        sa.select(Institution).where(Institution.parent_id.is_(None)).order_by(Institution.id)
    ).scalars().first()


def subtree(session: Session, top: Institution) -> list[Institution]:
    stmt = sa.select(Institution).where(Institution.path.startswith(top.path, autoescape=True))
    return list(session.execute(stmt.order_by(Institution.path)).scalars())


def ancestry(session: Session, inst: Institution) -> list[Institution]:
    """From the province down to ``inst`` itself."""
    ids = [int(part) for part in inst.path.strip("/").split("/")]
    rows = {i.id: i for i in session.execute(sa.select(Institution).where(Institution.id.in_(ids))).scalars()}
    return [rows[i] for i in ids]


def county_bank_of(session: Session, inst: Institution) -> Institution | None:
    """The county bank that owns data filed at ``inst``: itself or its nearest county ancestor."""
    for node in reversed(ancestry(session, inst)):
        if node.level is Level.COUNTY:
            return node
    return None


def _check_parent(level: Level, parent: Institution | None) -> None:
    allowed = ALLOWED_PARENTS[level]
    if parent is None:
        if allowed:
            raise invalid("parent", f"a {level.value} needs a parent ({' or '.join(a.value for a in allowed)})")
        return
    if parent.level not in allowed:
        if not allowed:
            raise invalid("parent", f"a {level.value} is the root and cannot have a parent")
        raise invalid(
            "parent",
            f"a {level.value} cannot sit under a {parent.level.value} ({parent.code}); "
            f"its parent must be a {' or '.join(a.value for a in allowed)}",
        )


def create(
    uow: UnitOfWork, principal: Principal | None, *, code: str, name: str, level: Level,
    parent_code: str | None,
) -> Institution:
    """``principal`` None means the bootstrap path (first province, CLI on an empty database)."""
    session = uow.session
    if not CODE_RE.match(code):
        raise invalid("code", "use 1-32 letters, digits, '-' or '_'")
    if not name.strip():
        raise invalid("name", "must not be empty")
    parent = None
    if parent_code is not None:
        parent = (visible(session, principal, parent_code) if principal
                  else get_by_code(session, parent_code))
        if parent is None:
            raise invalid("parent", f"no institution with code {parent_code}")
    if principal is not None:
        require(principal, Action.INSTITUTION_CREATE)
    _check_parent(level, parent)
    if level is Level.PROVINCE and root(session) is not None:
        raise invalid("level", "there is already a province; one installation serves one province")
    if get_by_code(session, code) is not None:
        raise Conflict(f"an institution with code {code} already exists", code="duplicate_code",
                       fields={"code": ["already exists"]})
    inst = Institution(code=code, name=name.strip(), level=level, parent=parent, path="")
    session.add(inst)
    session.flush()
    inst.path = f"{parent.path if parent else '/'}{inst.id}/"
    record(session, actor=principal.username if principal else "system", action="institution.create",
           target=f"institution:{code}", institution_code=code, after=inst.to_audit())
    return inst


def rename(uow: UnitOfWork, principal: Principal, code: str, name: str) -> Institution:
    inst = visible(uow.session, principal, code)
    require(principal, Action.INSTITUTION_RENAME)
    if not name.strip():
        raise invalid("name", "must not be empty")
    before = inst.to_audit()
    inst.name = name.strip()
    record(uow.session, actor=principal.username, action="institution.rename",
           target=f"institution:{code}", institution_code=code, before=before, after=inst.to_audit())
    return inst


def move(uow: UnitOfWork, principal: Principal, code: str, new_parent_code: str) -> Institution:
    session = uow.session
    inst = visible(session, principal, code)
    require(principal, Action.INSTITUTION_MOVE)
    parent = visible(session, principal, new_parent_code)
    if parent.is_within(inst):
        raise invalid("parent", f"{new_parent_code} is inside {code}; a node cannot move under itself")
    _check_parent(inst.level, parent)
    before = inst.to_audit()
    old_path, new_path = inst.path, f"{parent.path}{inst.id}/"
    for node in subtree(session, inst):
        node.path = new_path + node.path[len(old_path):]
    inst.parent = parent
    session.flush()
    record(session, actor=principal.username, action="institution.move", target=f"institution:{code}",
           institution_code=code, before=before, after=inst.to_audit())
    return inst


def parse_level(value: str, field: str = "level") -> Level:
    try:
        return Level(value.strip().lower())
    except ValueError:
        raise invalid(field, f"{value!r} is not one of {', '.join(l.value for l in Level)}") from None

