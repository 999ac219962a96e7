"""Bodies of the login endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.domain.roles import Role
from app.server.core.schemas import RequestBody, ResponseBody


class LoginRequest(RequestBody):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    client: str | None = Field(default=None, max_length=200)


class StaffRead(ResponseBody):
    id: uuid.UUID
    email: str
    name: str
    role: Role


class OrganizationRead(ResponseBody):
    id: uuid.UUID
    name: str
    slug: str
    currency: str
    timezone: str


class LoginResponse(ResponseBody):
    token: str
    expires_at: datetime
    user: StaffRead
    organization: OrganizationRead


class MeResponse(ResponseBody):
    user: StaffRead
    organization: OrganizationRead
