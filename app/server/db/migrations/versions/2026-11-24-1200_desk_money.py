"""Money at the desk: the payment link sent for a booking, and refunds found by payment.

A desk booking paid by link (or a reschedule's price difference) keeps the Stripe Checkout
URL it was sent, so staff can show or resend it while the balance is due. Refunds are
summed per payment to know what is still refundable, hence the index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("payment_link_url", sa.Text(), nullable=True))
    op.create_index("ix_refunds_payment", "refunds", ["payment_id"])


def downgrade() -> None:
    op.drop_index("ix_refunds_payment", table_name="refunds")
    op.drop_column("bookings", "payment_link_url")
