"""PaymentIntents and Charges closer to Stripe's, and the payment flows Checkout uses.

:class:`EmulatorPaymentIntent` extends localstripe's ``PaymentIntent`` with:

* the fields Stripe has and localstripe lacks (``application_fee_amount``,
  ``amount_received``, ``description``, ``payment_method_types``, ``canceled_at`` …);
* the events Stripe sends and localstripe does not: ``payment_intent.created``,
  ``charge.succeeded`` (before ``payment_intent.succeeded``), ``charge.failed``,
  ``payment_intent.canceled``, ``payment_intent.processing``, ``charge.pending``;
* a Stripe-shaped ``last_payment_error`` and 402 ``card_error`` on declines.

It is used for ``POST /v1/payment_intents`` and for the PaymentIntents that Checkout
creates when a customer pays.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from localstripe.errors import UserError
from localstripe.resources import (
    BalanceTransaction,
    Charge,
    Invoice,
    PaymentIntent,
    PaymentMethod,
    store,
)

from app.stripe_emulator.errors import StripeError, json_response
from app.stripe_emulator.events import current_context, emit
from app.stripe_emulator.listing import paginate
from app.stripe_emulator.params import (
    as_choice,
    as_dict,
    as_expand,
    as_int,
    as_list,
    as_str,
    read_params,
    reject_unknown,
)

CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINES = "4000000000000341"  # attaches fine, declined when charged
IBAN_SUCCEEDS = "DE89370400440532013000"

_CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
_CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)


class EmulatorPaymentIntent(PaymentIntent):
    """localstripe's PaymentIntent with Stripe's missing fields and events."""

    def __init__(
        self,
        application_fee_amount: Any = None,
        description: Any = None,
        receipt_email: Any = None,
        on_behalf_of: Any = None,
        transfer_data: Any = None,
        transfer_group: Any = None,
        statement_descriptor: Any = None,
        statement_descriptor_suffix: Any = None,
        setup_future_usage: Any = None,
        shipping: Any = None,
        automatic_payment_methods: Any = None,
        payment_method_types: Any = None,
        **kwargs: Any,
    ) -> None:
        fee = None
        if application_fee_amount not in (None, ""):
            fee = as_int(application_fee_amount, "application_fee_amount", minimum=0)
        types = [str(t) for t in as_list(payment_method_types, "payment_method_types")]
        auto_pm = as_dict(automatic_payment_methods, "automatic_payment_methods") or None
        super().__init__(payment_method_types=types or None, **kwargs)
        self.amount_details: dict[str, Any] = {"tip": {}}
        self.application_fee_amount = fee
        self.automatic_payment_methods = auto_pm
        self.canceled_at: int | None = None
        self.cancellation_reason: str | None = None
        self.confirmation_method = "automatic"
        self.description = _opt_str(description, "description")
        self.on_behalf_of = _opt_str(on_behalf_of, "on_behalf_of")
        self.payment_method_options: dict[str, Any] = {}
        self.payment_method_types = types or ["card"]
        self.processing = None
        self.receipt_email = _opt_str(receipt_email, "receipt_email")
        self.setup_future_usage = _opt_str(setup_future_usage, "setup_future_usage")
        self.shipping = as_dict(shipping, "shipping") or None
        self.statement_descriptor = _opt_str(statement_descriptor, "statement_descriptor")
        self.statement_descriptor_suffix = _opt_str(
            statement_descriptor_suffix, "statement_descriptor_suffix"
        )
        self.transfer_data = as_dict(transfer_data, "transfer_data") or None
        self.transfer_group = _opt_str(transfer_group, "transfer_group")
        self._account = current_context().account
        emit("payment_intent.created", self, account=self._account)

    # -- derived fields ------------------------------------------------------------

    @property
    def amount_received(self) -> int:
        """Amount captured so far (Stripe's ``amount_received``)."""
        charge = self.latest_charge
        if charge is not None and charge.status == "succeeded" and charge.captured:
            return int(charge.amount)
        return 0

    @property
    def amount_capturable(self) -> int:
        """Amount authorised but not yet captured."""
        return int(self.amount) if self.status == "requires_capture" else 0

    @property
    def last_payment_error(self) -> dict[str, Any] | None:
        """localstripe's error enriched to Stripe's shape (type, decline_code, doc_url…)."""
        error = super().last_payment_error
        if not error:
            return None
        result = dict(error)
        charge = self.latest_charge
        pm = _payment_method_of(charge) if charge is not None else None
        if result.get("code"):
            result["doc_url"] = "https://stripe.com/docs/error-codes/" + str(
                result["code"]
            ).replace("_", "-")
        if result.get("code") == "card_declined":
            result.setdefault("decline_code", "generic_decline")
        result.setdefault(
            "type",
            "card_error" if pm is not None and pm.type == "card" else "invalid_request_error",
        )
        if pm is not None:
            result["payment_method"] = pm._export()
        return result

    def _export(self, expand: list[str] | None = None) -> dict[str, Any]:
        """Export like Stripe: ``latest_charge`` is an id unless expanded, and the
        ``charges`` list (removed from the API in 2022-11-15) is left out."""
        exported: dict[str, Any] = super()._export(expand=expand)
        exported.pop("charges", None)
        wanted = expand or []
        charge = exported.get("latest_charge")
        if isinstance(charge, dict) and not any(
            path == "latest_charge" or path.startswith("latest_charge.") for path in wanted
        ):
            exported["latest_charge"] = charge["id"]
        return exported

    # -- overridden localstripe hooks ----------------------------------------------

    def _create_charge(self, on_failure_now: Any) -> None:
        if self.status != "requires_confirmation":
            raise UserError(400, "Bad request")
        charge = Charge(
            amount=self.amount,
            currency=self.currency,
            customer=self.customer,
            source=self.payment_method,
            capture=(self.capture_method != "manual"),
        )
        charge.payment_intent = self.id
        decorate_charge(charge, self)
        self.latest_charge = charge
        charge._initialize_charge(self._on_success, on_failure_now, self._report_async_failure)
        if charge.status == "succeeded" and not charge.captured:
            sync_charge(charge)
            emit("charge.succeeded", charge, account=self._account)
            emit("payment_intent.amount_capturable_updated", self, account=self._account)

    def _on_success(self) -> None:
        charge = self.latest_charge
        sync_charge(charge)
        kind = "charge.captured" if self.capture_method == "manual" else "charge.succeeded"
        emit(kind, charge, account=self._account)
        super()._on_success()  # payment_intent.succeeded (+ invoice bookkeeping)

    def _emit_failure_events(self) -> None:
        """Emit ``charge.failed`` then ``payment_intent.payment_failed`` (no exception)."""
        sync_charge(self.latest_charge)
        emit("charge.failed", self.latest_charge, account=self._account)
        emit("payment_intent.payment_failed", self, account=self._account)

    def _report_failure(self) -> None:
        self._emit_failure_events()
        if self.invoice:
            Invoice._api_retrieve(self.invoice)._on_payment_failure_now()
        charge = self.latest_charge
        raise StripeError(
            402,
            charge.failure_message or "Your card was declined.",
            error_type="card_error",
            code=charge.failure_code or "card_declined",
            decline_code="generic_decline",
            charge=charge.id,
            payment_intent=self._export(),
        )

    def _report_async_failure(self) -> None:
        self._emit_failure_events()
        if self.invoice:
            Invoice._api_retrieve(self.invoice)._on_payment_failure_later()

    def _cancel(self, reason: str | None) -> None:
        """Cancel like Stripe: record when and why, emit ``payment_intent.canceled``."""
        self._canceled = True
        self.next_action = None
        self.canceled_at = int(time.time())
        self.cancellation_reason = reason
        emit("payment_intent.canceled", self, account=self._account)

    @classmethod
    def _api_cancel(cls, id: str, cancellation_reason: Any = None, **kwargs: Any) -> Any:
        if kwargs:
            raise StripeError(400, "Received unknown parameter: " + ", ".join(kwargs))
        reason = None
        if cancellation_reason not in (None, ""):
            reason = as_choice(cancellation_reason, "cancellation_reason", _CANCELLATION_REASONS)
        obj = cls._api_retrieve(id)
        if not isinstance(obj, EmulatorPaymentIntent):
            return super()._api_cancel(id)
        if obj.status not in _CANCELABLE:
            raise StripeError(
                400,
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{obj.status}. Only a PaymentIntent with one of the following statuses may "
                f"be canceled: {', '.join(_CANCELABLE)}.",
                code="payment_intent_unexpected_state",
            )
        obj._cancel(reason)
        return obj


def _opt_str(value: Any, param: str) -> str | None:
    return None if value in (None, "") else as_str(value, param)


def _payment_method_of(charge: Any) -> Any:
    try:
        return PaymentMethod._api_retrieve(charge.payment_method)
    except UserError:
        return None


def decorate_charge(charge: Any, pi: EmulatorPaymentIntent) -> None:
    """Give a localstripe Charge the Stripe fields it lacks, copied from its PaymentIntent."""
    pm = _payment_method_of(charge)
    charge.amount_captured = 0
    charge.application_fee = None
    charge.application_fee_amount = pi.application_fee_amount
    charge.billing_details = _billing_details(pm)
    charge.calculated_statement_descriptor = "STRIPE EMULATOR"
    charge.description = pi.description
    charge.disputed = False
    charge.fraud_details = {}
    charge.metadata = dict(pi.metadata or {})
    charge.on_behalf_of = pi.on_behalf_of
    charge.outcome = None
    charge.payment_method_details = _payment_method_details(pm)
    charge.receipt_email = pi.receipt_email
    charge.receipt_url = None
    charge.transfer_data = pi.transfer_data
    charge.transfer_group = pi.transfer_group


def sync_charge(charge: Any) -> None:
    """Refresh derived Charge fields (``amount_captured``, ``outcome``) before an event."""
    if charge is None:
        return
    succeeded = charge.status == "succeeded"
    charge.amount_captured = charge.amount if succeeded and charge.captured else 0
    if succeeded:
        charge.outcome = {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 32,
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    elif charge.status == "failed":
        charge.captured = False
        charge.outcome = {
            "network_status": "declined_by_network",
            "reason": "generic_decline",
            "risk_level": "normal",
            "risk_score": 40,
            "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined",
        }


def _billing_details(pm: Any) -> dict[str, Any]:
    details = dict(getattr(pm, "billing_details", None) or {})
    return {
        "address": details.get("address")
        or {
            "city": None,
            "country": None,
            "line1": None,
            "line2": None,
            "postal_code": None,
            "state": None,
        },
        "email": details.get("email"),
        "name": details.get("name"),
        "phone": details.get("phone"),
    }


def _payment_method_details(pm: Any) -> dict[str, Any] | None:
    if pm is None:
        return None
    if pm.type == "card":
        card = pm.card
        return {
            "type": "card",
            "card": {
                "brand": card["brand"],
                "checks": {
                    "address_line1_check": None,
                    "address_postal_code_check": None,
                    "cvc_check": "pass",
                },
                "country": card["country"],
                "exp_month": card["exp_month"],
                "exp_year": card["exp_year"],
                "fingerprint": card["fingerprint"],
                "funding": card["funding"],
                "last4": card["last4"],
                "network": card["brand"],
                "three_d_secure": None,
                "wallet": None,
            },
        }
    if pm.type == "sepa_debit":
        sepa = pm.sepa_debit
        return {
            "type": "sepa_debit",
            "sepa_debit": {
                "bank_code": sepa["bank_code"],
                "branch_code": "",
                "country": sepa["country"],
                "fingerprint": sepa["fingerprint"],
                "last4": sepa["last4"],
                "mandate": "mandate_" + sepa["mandate_reference"],
            },
        }
    return {"type": pm.type}


# -- flows used by Checkout ---------------------------------------------------------


def _test_card(number: str, billing_details: dict[str, Any]) -> Any:
    year = datetime.now(UTC).year + 3
    card = {"number": number, "exp_month": 12, "exp_year": year, "cvc": "123"}
    return PaymentMethod(type="card", card=card, billing_details=billing_details)


def pay_with_card(pi: EmulatorPaymentIntent, *, declined: bool, billing: dict[str, Any]) -> None:
    """Confirm ``pi`` with a fresh test card, as the customer does on Checkout.

    Success emits ``charge.succeeded`` then ``payment_intent.succeeded``; a decline emits
    ``charge.failed`` then ``payment_intent.payment_failed`` and leaves ``pi`` in
    ``requires_payment_method`` so another attempt can follow.
    """
    pm = _test_card(CARD_DECLINES if declined else CARD_SUCCEEDS, billing)
    pi.payment_method = pm.id
    pi.latest_charge = None
    pi.next_action = None
    pi._create_charge(on_failure_now=pi._emit_failure_events)


def begin_delayed_payment(pi: EmulatorPaymentIntent, *, billing: dict[str, Any]) -> None:
    """Start a delayed-notification payment (SEPA Direct Debit): the charge is pending.

    Emits ``charge.pending`` and ``payment_intent.processing``.
    """
    pm = PaymentMethod(
        type="sepa_debit", sepa_debit={"iban": IBAN_SUCCEEDS}, billing_details=billing
    )
    pi.payment_method = pm.id
    pi.next_action = None
    charge = Charge(amount=pi.amount, currency=pi.currency, customer=pi.customer, source=pm.id)
    charge.payment_intent = pi.id
    decorate_charge(charge, pi)
    pi.latest_charge = charge
    emit("charge.pending", charge, account=pi._account)
    emit("payment_intent.processing", pi, account=pi._account)


def settle_delayed_payment(pi: EmulatorPaymentIntent, *, succeed: bool) -> None:
    """Finish a delayed payment started by :func:`begin_delayed_payment`.

    Success emits ``charge.succeeded`` + ``payment_intent.succeeded``; failure emits
    ``charge.failed`` + ``payment_intent.payment_failed``.
    """
    charge = pi.latest_charge
    if succeed:
        txn = BalanceTransaction(
            amount=charge.amount,
            currency=charge.currency,
            description=charge.description,
            exchange_rate=1.0,
            reporting_category="charge",
            source=charge.id,
            type="charge",
        )
        charge.balance_transaction = txn.id
        charge.status = "succeeded"
        pi._on_success()
    else:
        charge.status = "failed"
        charge.failure_code = "insufficient_funds"
        charge.failure_message = (
            "The customer's account has insufficient funds to cover this payment."
        )
        pi._emit_failure_events()


# -- routes -----------------------------------------------------------------------------


async def list_charges(request: web.Request) -> web.Response:
    """``GET /v1/charges`` with Stripe's ``payment_intent``/``customer`` filters, newest first."""
    data = await read_params(request)
    expand = as_expand(data)
    reject_unknown(
        data, ("created", "customer", "ending_before", "limit", "payment_intent", "starting_after")
    )
    charges = [v for v in list(store.values()) if isinstance(v, Charge)]
    if data.get("payment_intent") not in (None, ""):
        charges = [c for c in charges if c.payment_intent == data["payment_intent"]]
    if data.get("customer") not in (None, ""):
        charges = [c for c in charges if c.customer == data["customer"]]
    charges.reverse()  # the store keeps creation order; Stripe lists newest first
    item_expand = [e[len("data.") :] for e in expand if e.startswith("data.")]
    return json_response(
        paginate(
            "/v1/charges",
            [c._export(expand=item_expand) for c in charges],
            limit=data.get("limit"),
            starting_after=data.get("starting_after"),
            ending_before=data.get("ending_before"),
            object_name="charge",
        )
    )
