"""Who did something to a booking, and the timeline row that remembers it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.server.auth.principal import Principal
from app.server.db.models import Booking, BookingEvent


@dataclass(frozen=True, slots=True)
class Actor:
    """The author of a change: a member of staff, the customer, Stripe, or the system."""

    type: str
    id: uuid.UUID | None = None
    name: str = field(default="")
    sent_by: Actor | None = None
    """Who sent the change, when that is not its author: an action queued at a desk under
    one sign-in and sent later under another."""

    @classmethod
    def staff(cls, principal: Principal) -> Actor:
        return cls("staff", principal.staff_user_id, principal.name)

    @classmethod
    def system(cls, name: str = "System") -> Actor:
        return cls("system", None, name)


async def record_event(
    session: AsyncSession,
    booking: Booking,
    kind: str,
    actor: Actor,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> BookingEvent:
    """Append one line to the booking's timeline."""
    message, data = timeline_text(actor, message, data)
    event = BookingEvent(
        organization_id=booking.organization_id,
        booking_id=booking.id,
        kind=kind,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name,
        from_status=from_status,
        to_status=to_status,
        message=message,
        data=data,
    )
    session.add(event)
    await session.flush()
    return event


def timeline_text(
    actor: Actor, message: str, data: dict[str, Any] | None
) -> tuple[str, dict[str, Any]]:
    """The message and data of a timeline line by ``actor``, naming who sent it if not them."""
    data = dict(data or {})
    sender = actor.sent_by
    if sender is None:
        return message, data
    data["sent_by"] = {"id": str(sender.id) if sender.id else None, "name": sender.name}
    if not message:
        return f"Sent later from the desk by {sender.name}.", data
    return f"{message} (sent later from the desk by {sender.name})", data
