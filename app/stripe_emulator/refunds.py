"""``POST /v1/refunds`` with Stripe's checks and events.

localstripe creates refunds without checking the amount left on the charge and without
any event.  This handler refuses over-refunds like Stripe (``charge_already_refunded``,
``amount_too_large``) and emits ``charge.refunded`` (the Charge with updated
``amount_refunded``/``refunded``/``refunds``, plus ``previous_attributes``) followed by
``refund.created``.  A refund "made in the Stripe dashboard" is the same call made by a
test instead of by the service.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from localstripe.errors import UserError
from localstripe.resources import Charge, PaymentIntent, Refund

from app.stripe_emulator.checkout import format_amount
from app.stripe_emulator.errors import StripeError, invalid_param, json_response, no_such
from app.stripe_emulator.events import current_context, emit
from app.stripe_emulator.params import (
    as_bool,
    as_choice,
    as_expand,
    as_int,
    as_metadata,
    as_str,
    read_params,
    reject_unknown,
)

_REFUND_PARAMS = {
    "amount", "charge", "currency", "customer", "instructions_email", "metadata", "origin",
    "payment_intent", "reason", "refund_application_fee", "reverse_transfer",
}  # fmt: skip
_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def _charge_to_refund(data: dict[str, Any]) -> Any:
    charge_id = data.get("charge")
    pi_id = data.get("payment_intent")
    if charge_id not in (None, "") and pi_id not in (None, ""):
        raise invalid_param(
            "charge", "You may only specify one of these parameters: charge, payment_intent."
        )
    if pi_id not in (None, ""):
        pi_id = as_str(pi_id, "payment_intent")
        try:
            pi = PaymentIntent._api_retrieve(pi_id)
        except UserError:
            raise no_such("payment_intent", pi_id, "payment_intent") from None
        charge = pi.latest_charge
        if charge is None or charge.status == "failed":
            raise invalid_param(
                "payment_intent",
                f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
            )
        return charge
    if charge_id in (None, ""):
        raise StripeError(
            400,
            "One of the following params should be provided for this request: payment_intent "
            "or charge.",
        )
    charge_id = as_str(charge_id, "charge")
    try:
        charge = Charge._api_retrieve(charge_id)
    except UserError:
        raise no_such("charge", charge_id, "charge") from None
    if charge.status == "failed":
        raise invalid_param("charge", f"Charge {charge_id} has failed and cannot be refunded.")
    return charge


def create_refund(data: dict[str, Any]) -> Any:
    """Validate ``data`` like Stripe, create the Refund and emit its events."""
    reject_unknown(data, _REFUND_PARAMS)
    charge = _charge_to_refund(data)
    remaining = int(charge.amount) - int(charge.amount_refunded)
    if remaining <= 0:
        raise StripeError(
            400,
            f"Charge {charge.id} has already been refunded.",
            code="charge_already_refunded",
            charge=charge.id,
        )
    amount = remaining
    if data.get("amount") not in (None, ""):
        amount = as_int(data["amount"], "amount", minimum=1)
        if amount > remaining:
            raise StripeError(
                400,
                f"Refund amount ({format_amount(amount, charge.currency)}) is greater than "
                f"unrefunded amount on charge ({format_amount(remaining, charge.currency)})",
                code="amount_too_large",
                param="amount",
            )
    reason = None
    if data.get("reason") not in (None, ""):
        reason = as_choice(data["reason"], "reason", _REASONS)
    metadata = as_metadata(data.get("metadata"))
    for flag in ("refund_application_fee", "reverse_transfer"):
        if data.get(flag) not in (None, ""):
            as_bool(data[flag], flag)

    previous = {"amount_refunded": int(charge.amount_refunded), "refunded": charge.refunded}
    refund = Refund(charge=charge.id, amount=amount, metadata=metadata)
    refund.payment_intent = charge.payment_intent
    refund.reason = reason
    refund.receipt_number = None
    refund.source_transfer_reversal = None
    refund.transfer_reversal = None
    refund.destination_details = _destination_details(charge)
    account = current_context().account
    if charge.refunded == previous["refunded"]:
        previous.pop("refunded")
    emit("charge.refunded", charge, account=account, previous_attributes=previous)
    emit("refund.created", refund, account=account)
    return refund


def _destination_details(charge: Any) -> dict[str, Any]:
    kind = (getattr(charge, "payment_method_details", None) or {}).get("type", "card")
    if kind == "card":
        return {
            "card": {"reference_status": "pending", "reference_type": "acquirer_reference_number",
                     "type": "refund"},
            "type": "card",
        }  # fmt: skip
    return {kind: {}, "type": kind}


async def create_refund_route(request: web.Request) -> web.Response:
    """``POST /v1/refunds``."""
    data = await read_params(request)
    expand = as_expand(data)
    refund = create_refund(data)
    return json_response(refund._export(expand=expand))


def add_routes(app: web.Application) -> None:
    """Register the refund route on ``app`` (before localstripe's own)."""
    app.router.add_post("/v1/refunds", create_refund_route)
