"""Who is asking: the signed-in member of staff behind a request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.domain.roles import Role


@dataclass(frozen=True, slots=True)
class Principal:
    """A staff user resolved from a bearer token."""

    staff_user_id: uuid.UUID
    organization_id: uuid.UUID
    role: Role
    email: str
    name: str
    token_id: uuid.UUID

    def can(self, role: Role) -> bool:
        """Whether this user holds ``role`` or a higher one."""
        return self.role.at_least(role)
