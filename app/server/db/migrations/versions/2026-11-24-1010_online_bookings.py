"""Online bookings: the contact on the booking, and finding a booking from a Stripe id.

An online booking keeps who booked on the booking until payment makes them a customer.
Stripe events and the success page know only Stripe ids or our booking id, not the
organization, so two SECURITY DEFINER lookups answer which organization and booking they
belong to; everything after that runs under row-level security.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "bookingtms_app"
FUNCTIONS = ("app_booking_by_stripe_ref(text)", "app_booking_owner(uuid)")


def upgrade() -> None:
    op.add_column(
        "bookings",
        sa.Column("contact_name", sa.String(length=200), server_default="", nullable=False),
    )
    op.add_column("bookings", sa.Column("contact_email", sa.String(length=320), nullable=True))
    op.add_column("bookings", sa.Column("contact_phone", sa.String(length=40), nullable=True))
    op.execute(
        """
        CREATE FUNCTION app_booking_by_stripe_ref(p_ref text)
        RETURNS TABLE (organization_id uuid, booking_id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT organization_id, id FROM bookings
          WHERE stripe_checkout_session_id = p_ref OR stripe_payment_intent_id = p_ref
          ORDER BY created_at LIMIT 1
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION app_booking_owner(p_booking uuid)
        RETURNS TABLE (organization_id uuid, id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT organization_id, id FROM bookings WHERE id = p_booking
        $$
        """
    )
    for fn in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO {APP_ROLE}")


def downgrade() -> None:
    for fn in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    op.drop_column("bookings", "contact_phone")
    op.drop_column("bookings", "contact_email")
    op.drop_column("bookings", "contact_name")
