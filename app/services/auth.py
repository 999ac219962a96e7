"""Signing in and out, and who the desk is signed in as."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from app.domain.roles import Role
from app.services.api_client import ApiClient


@dataclass(frozen=True, slots=True)
class Identity:
    """The signed-in member of staff and their organization."""

    user_id: uuid.UUID
    name: str
    email: str
    role: Role
    organization_name: str
    organization_slug: str
    currency: str
    timezone: str
    organization_id: uuid.UUID

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Identity:
        user, org = data["user"], data["organization"]
        return cls(
            user_id=uuid.UUID(user["id"]),
            name=user["name"],
            email=user["email"],
            role=Role(user["role"]),
            organization_name=org["name"],
            organization_slug=org["slug"],
            currency=org["currency"],
            timezone=org["timezone"],
            organization_id=uuid.UUID(org["id"]),
        )


async def sign_in(client: ApiClient, email: str, password: str) -> tuple[Identity, str]:
    """Exchange e-mail and password for a token; the client keeps using it."""
    data = await client.post(
        "/auth/login", {"email": email.strip(), "password": password, "client": "desk"}
    )
    client.token = data["token"]
    return Identity.from_json(data), data["token"]


async def who_am_i(client: ApiClient) -> Identity:
    """Who the client's token belongs to (:class:`SessionExpired` if nobody)."""
    return Identity.from_json(await client.get("/auth/me"))


async def sign_out(client: ApiClient) -> None:
    """Revoke the client's token on the service."""
    await client.post("/auth/logout")
    client.token = None
