"""Staff roles are ordered front_desk < manager < admin."""

from __future__ import annotations

from itertools import product

import pytest

from app.domain.roles import Role

ORDER = [Role.FRONT_DESK, Role.MANAGER, Role.ADMIN]


@pytest.mark.parametrize(("role", "other"), list(product(ORDER, ORDER)), ids=str)
def test_at_least(role: Role, other: Role) -> None:
    assert role.at_least(other) is (ORDER.index(role) >= ORDER.index(other))


def test_examples() -> None:
    assert Role.ADMIN.at_least(Role.MANAGER)
    assert Role.MANAGER.at_least(Role.FRONT_DESK)
    assert not Role.FRONT_DESK.at_least(Role.MANAGER)
    assert not Role.MANAGER.at_least(Role.ADMIN)


def test_rank_is_strictly_increasing() -> None:
    ranks = [role.rank for role in ORDER]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) == len(ranks)


def test_values_and_labels() -> None:
    assert [r.value for r in Role] == ["front_desk", "manager", "admin"]
    assert Role("manager") is Role.MANAGER
    assert [r.label for r in ORDER] == ["Front desk", "Manager", "Admin"]


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError):
        Role("owner")
