"""What a Stripe event tells us about a booking's money, read from its payload alone.

Events arrive late, twice and out of order, so each is reduced to a *fact* (paid,
processing, failed, expired, refunded) carrying absolute figures (amounts paid and
refunded so far), never deltas: applying facts in any order, any number of times, ends in
the same state.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FactKind(StrEnum):
    PAID = "paid"
    PROCESSING = "processing"  # checkout completed with a delayed payment method
    FAILED = "failed"
    EXPIRED = "expired"
    REFUNDED = "refunded"


HANDLED_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "charge.refunded",
        "refund.created",
        "refund.updated",
    }
)


@dataclass(frozen=True, slots=True)
class RefundFact:
    """One Stripe Refund as the event shows it."""

    id: str
    amount: int
    status: str
    reason: str | None
    metadata: dict[str, str]


@dataclass(frozen=True, slots=True)
class PaymentFact:
    """What one event says, and how to find the booking it is about."""

    kind: FactKind
    booking_id: uuid.UUID | None
    checkout_session_id: str | None = None
    payment_intent_id: str | None = None
    charge_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    amount_refunded: int | None = None
    refunds: tuple[RefundFact, ...] = field(default=())
    failure_message: str | None = None

    @property
    def stripe_refs(self) -> tuple[str, ...]:
        """Stripe ids the booking may be known by, most specific first."""
        return tuple(r for r in (self.checkout_session_id, self.payment_intent_id) if r)


def _booking_id(metadata: Any, fallback: Any = None) -> uuid.UUID | None:
    for raw in ((metadata or {}).get("booking_id"), fallback):
        if raw:
            try:
                return uuid.UUID(str(raw))
            except ValueError:
                continue
    return None


def _refund(obj: dict[str, Any]) -> RefundFact:
    return RefundFact(
        id=obj["id"],
        amount=int(obj["amount"]),
        status=obj.get("status") or "succeeded",
        reason=obj.get("reason"),
        metadata=dict(obj.get("metadata") or {}),
    )


def fact_of(event: dict[str, Any]) -> PaymentFact | None:
    """The fact an event states, or None when it says nothing we act on."""
    kind, obj = event["type"], event["data"]["object"]
    if kind.startswith("checkout.session."):
        base = {
            "booking_id": _booking_id(obj.get("metadata"), obj.get("client_reference_id")),
            "checkout_session_id": obj["id"],
            "payment_intent_id": obj.get("payment_intent"),
            "amount": obj.get("amount_total"),
            "currency": obj.get("currency"),
        }
        if kind == "checkout.session.expired":
            return PaymentFact(FactKind.EXPIRED, **base)
        if kind == "checkout.session.async_payment_failed":
            return PaymentFact(FactKind.FAILED, **base)
        if obj.get("payment_status") in ("paid", "no_payment_required"):
            return PaymentFact(FactKind.PAID, **base)
        if kind == "checkout.session.completed":
            return PaymentFact(FactKind.PROCESSING, **base)
        return None
    if kind.startswith("payment_intent."):
        base = {
            "booking_id": _booking_id(obj.get("metadata")),
            "payment_intent_id": obj["id"],
            "charge_id": obj.get("latest_charge"),
            "currency": obj.get("currency"),
        }
        if kind == "payment_intent.succeeded":
            return PaymentFact(
                FactKind.PAID, amount=obj.get("amount_received") or obj.get("amount"), **base
            )
        error = obj.get("last_payment_error") or {}
        return PaymentFact(FactKind.FAILED, failure_message=error.get("message"), **base)
    if kind == "charge.refunded":
        listed = (obj.get("refunds") or {}).get("data") or []
        return PaymentFact(
            FactKind.REFUNDED,
            booking_id=_booking_id(obj.get("metadata")),
            payment_intent_id=obj.get("payment_intent"),
            charge_id=obj["id"],
            amount=obj.get("amount_captured") or obj.get("amount"),
            currency=obj.get("currency"),
            amount_refunded=int(obj.get("amount_refunded") or 0),
            refunds=tuple(_refund(r) for r in listed),
        )
    if kind in ("refund.created", "refund.updated"):
        return PaymentFact(
            FactKind.REFUNDED,
            booking_id=_booking_id(obj.get("metadata")),
            payment_intent_id=obj.get("payment_intent"),
            charge_id=obj.get("charge"),
            currency=obj.get("currency"),
            refunds=(_refund(obj),),
        )
    return None
