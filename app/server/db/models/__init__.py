"""All tables of the service, importable from one place (Alembic reads ``Base.metadata``)."""

from app.server.db.models.base import Base
from app.server.db.models.bookings import Booking, BookingEvent
from app.server.db.models.catalog import Activity, ActivitySchedule, ActivitySession, PromoCode
from app.server.db.models.customers import Customer
from app.server.db.models.notifications import OutboxMessage
from app.server.db.models.organizations import Organization, Venue
from app.server.db.models.payments import Payment, Refund, StripeEvent
from app.server.db.models.staff import AuthToken, LoginThrottle, StaffUser
from app.server.db.models.sync import ChangeLog, ClientAction, IdempotencyKey

TENANT_TABLES = (
    "venues",
    "activities",
    "activity_schedules",
    "activity_sessions",
    "promo_codes",
    "customers",
    "bookings",
    "booking_events",
    "payments",
    "refunds",
    "staff_users",
    "auth_tokens",
    "email_outbox",
    "client_actions",
    "idempotency_keys",
    "change_log",
)

__all__ = [
    "TENANT_TABLES",
    "Activity",
    "ActivitySchedule",
    "ActivitySession",
    "AuthToken",
    "Base",
    "Booking",
    "BookingEvent",
    "ChangeLog",
    "ClientAction",
    "Customer",
    "IdempotencyKey",
    "LoginThrottle",
    "Organization",
    "OutboxMessage",
    "Payment",
    "PromoCode",
    "Refund",
    "StaffUser",
    "StripeEvent",
    "Venue",
]
