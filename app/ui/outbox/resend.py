"""The booking detail's "Resend confirmation": queue it again and say where it goes."""

from __future__ import annotations

from app.services.bookings import BookingDetail
from app.ui.context import DeskContext

RESENDABLE = frozenset({"confirmed", "checked_in", "completed"})


def can_resend(booking: BookingDetail) -> bool:
    """Whether the booking has a confirmation to send again, and an address for it."""
    return booking.status.value in RESENDABLE and bool(booking.customer_email)


def resend_confirmation(context: DeskContext, booking: BookingDetail | None) -> None:
    """Ask the service to send the booking's confirmation (with its receipt) again."""
    if booking is None:
        return

    async def resend() -> None:
        queued = await context.services.outbox.resend_confirmation(booking.id)
        where = ", ".join(m.recipient for m in queued) or "the customer"
        context.notify(
            f"The confirmation of {booking.booking_number} is on its way to {where}.", "info"
        )

    context.runner.spawn(resend())
