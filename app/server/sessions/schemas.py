"""Bodies of the activity and session endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.server.core.schemas import RequestBody, ResponseBody


class ActivityRead(ResponseBody):
    id: uuid.UUID
    venue_id: uuid.UUID
    name: str
    description: str
    duration_minutes: int
    capacity: int
    currency: str
    adult_price: int
    child_price: int
    min_adults: int
    active: bool


class SessionRead(ResponseBody):
    id: uuid.UUID
    activity_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    capacity: int
    reserved: int
    remaining: int
    status: str


class GenerateSessionsRequest(RequestBody):
    days: int = Field(default=30, ge=1, le=366)


class GenerateSessionsResponse(ResponseBody):
    created: int
