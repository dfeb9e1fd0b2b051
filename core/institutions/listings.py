"""Set-wise reads for the admins' console pages that no API service gives: how many users each
institution of the caller's subtree has, and the API tokens of the subtree's users.

The promise: each function checks the caller's role on the permission table (``user.read``, as
listing users does) and reads only rows filed within the caller's subtree, in one query, whatever
the size of the province; a token's secret is never read (only its prefix and dates).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from nongxin.core.auth import Principal
from nongxin.core.institutions.models import ApiToken, Institution, User
from nongxin.core.permissions import Action, require
from nongxin.core.scoping import in_subtree

#: The newest tokens a page lists at most.
TOKEN_LIMIT = 200


def user_counts(session: Session, principal: Principal) -> dict[str, int]:
    """Users (active or not) filed at each institution of the caller's subtree, by code; an
    institution without users is absent."""
    require(principal, Action.USER_READ)
    stmt = (sa.select(Institution.code, sa.func.count(User.id)).join(User, User.institution_id == Institution.id)
            .where(Institution.path.startswith(principal.institution_path, autoescape=True)).group_by(Institution.code))
    return {code: count for code, count in session.execute(stmt)}


def list_tokens(session: Session, principal: Principal, *, limit: int = TOKEN_LIMIT) -> list[ApiToken]:
    """API tokens of the users of the caller's subtree, newest first, at most ``limit``; each with
    its user and the user's institution loaded."""
    require(principal, Action.USER_READ)
    stmt = (in_subtree(sa.select(ApiToken).join(User, ApiToken.user_id == User.id), User.institution_id,
                       principal.institution_path)
            .options(joinedload(ApiToken.user).joinedload(User.institution))
            .order_by(ApiToken.id.desc()).limit(limit))
    return list(session.execute(stmt).scalars())
