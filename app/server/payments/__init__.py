"""Online payments: Stripe Checkout, webhooks and their processing, holds, refunds."""
