"""Staff roles, ordered: front_desk < manager < admin."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a member of staff may do; each role may do everything of the ones below it."""

    FRONT_DESK = "front_desk"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        """Whether this role includes the rights of ``other``."""
        return self.rank >= other.rank

    @property
    def label(self) -> str:
        return {"front_desk": "Front desk", "manager": "Manager", "admin": "Admin"}[self.value]


_RANK = {Role.FRONT_DESK: 0, Role.MANAGER: 1, Role.ADMIN: 2}
