"""Who is calling: the principal every service receives, and its scope check (roles: ``permissions``)."""

from __future__ import annotations

from dataclasses import dataclass
from nongxin.core.errors import NotFound
from nongxin.core.institutions.models import Institution, Role


@dataclass(frozen=True)
class Principal:
    """The caller, reduced to what authorization needs; never an ORM row, so it outlives sessions."""

    username: str
    role: Role
    institution_id: int
    institution_code: str
    institution_path: str

    def can_see(self, institution: Institution) -> bool:
        return institution.path.startswith(self.institution_path)

    def require_visible(self, institution: Institution, what: str = "institution") -> None:
        # 404, not 403: a county bank must not learn that another bank's object exists.
        if not self.can_see(institution):
            raise NotFound(f"{what} {institution.code} not found")


def system_principal(root: Institution, name: str = "cli") -> Principal:
    """The operator at the console of the server acts as the province's administrator."""
    return Principal(name, Role.PROVINCE_ADMIN, root.id, root.code, root.path)
