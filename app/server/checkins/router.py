"""``POST /checkins``: the door's one call."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from app.server.bookings.events import Actor
from app.server.bookings.router import booking_detail
from app.server.bookings.schemas import BookingDetail
from app.server.checkins import service
from app.server.core.deps import DbDep, StaffUser
from app.server.core.schemas import RequestBody, ResponseBody

router = APIRouter(prefix="/checkins", tags=["checkins"])


class ScanRequest(RequestBody):
    booking_number: str = Field(min_length=1, max_length=64)
    guests_arrived: int | None = Field(default=None, ge=1, le=1000)
    override_unpaid: bool = False


class ScanResponse(ResponseBody):
    result: str
    message: str
    booking: BookingDetail | None


@router.post("")
async def scan(body: ScanRequest, principal: StaffUser, db: DbDep) -> ScanResponse:
    """Look up a typed or scanned booking number and check it in when it may enter.

    Every answer is a 200 with ``result`` in DESIGN.md's vocabulary: the door is told why
    not, not given an error.
    """
    async with db.tenant(principal.organization_id) as session:
        outcome = await service.scan(
            session,
            body.booking_number,
            Actor.staff(principal),
            guests_arrived=body.guests_arrived,
            override_unpaid=body.override_unpaid,
        )
        detail = await booking_detail(session, outcome.booking.id) if outcome.booking else None
    return ScanResponse(
        result=outcome.answer.result.value, message=outcome.answer.message, booking=detail
    )
