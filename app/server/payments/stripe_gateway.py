"""The service's only door to Stripe: Checkout Sessions, PaymentIntents, refunds.

Every call carries the connected account when the organization has one (Connect direct
charges) and an idempotency key when it creates something, so retries never pay or refund
twice. Network failures are retried by the SDK; what still fails becomes
:class:`PaymentProviderError`, which the API answers as 502 with a readable message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe

from app.server.core.errors import AppError


class PaymentProviderError(AppError):
    """Stripe could not be reached or refused the request."""

    status = 502
    code = "payment_provider_error"


class PaymentsNotConfigured(AppError):
    """The service has no Stripe key, so it cannot take payments online."""

    status = 503
    code = "payments_not_configured"


@dataclass(frozen=True, slots=True)
class CheckoutSessionRef:
    """What the widget needs of a created Checkout Session."""

    id: str
    url: str
    payment_intent: str | None


def _options(account: str | None, idempotency_key: str | None = None) -> stripe.RequestOptions:
    options: stripe.RequestOptions = {}
    if account:
        options["stripe_account"] = account
    if idempotency_key:
        options["idempotency_key"] = idempotency_key
    return options


class StripeGateway:
    """Async Stripe calls made with one configured client."""

    def __init__(self, secret_key: str, api_base: str | None = None) -> None:
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=stripe.HTTPXClient(),
            max_network_retries=2,
        )

    async def create_checkout_session(
        self, params: dict[str, Any], *, account: str | None, idempotency_key: str
    ) -> CheckoutSessionRef:
        """Create a Checkout Session; the same key answers the same session again."""
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params=params,  # type: ignore[arg-type]
                options=_options(account, idempotency_key),
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(_describe(exc, "open the payment page")) from exc
        return CheckoutSessionRef(
            id=session["id"], url=session["url"], payment_intent=session["payment_intent"]
        )

    async def create_coupon(
        self,
        coupon_id: str,
        amount_off: int,
        currency: str,
        *,
        account: str | None,
        metadata: dict[str, str],
    ) -> None:
        """A one-off coupon worth a promo code's discount, applied to one Checkout Session."""
        try:
            await self._client.v1.coupons.create_async(
                params={
                    "id": coupon_id,
                    "amount_off": amount_off,
                    "currency": currency.lower(),
                    "duration": "once",
                    "metadata": metadata,
                },
                options=_options(account, f"coupon-{coupon_id}"),
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(_describe(exc, "apply the promo code")) from exc

    async def retrieve_checkout_session(
        self, session_id: str, account: str | None
    ) -> dict[str, Any]:
        """The session as Stripe has it now."""
        try:
            found = await self._client.v1.checkout.sessions.retrieve_async(
                session_id, options=_options(account)
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(_describe(exc, "read the payment")) from exc
        return found.to_dict()

    async def expire_checkout_session(self, session_id: str, account: str | None) -> bool:
        """Close an open session so it can no longer be paid; False if it was not open."""
        try:
            await self._client.v1.checkout.sessions.expire_async(
                session_id, options=_options(account)
            )
        except stripe.InvalidRequestError:
            return False  # already complete or expired: the webhook tells the rest
        except stripe.StripeError as exc:
            raise PaymentProviderError(_describe(exc, "close the payment page")) from exc
        return True

    async def retrieve_payment_intent(
        self, payment_intent_id: str, account: str | None
    ) -> dict[str, Any]:
        """The PaymentIntent as Stripe has it now (its metadata names our booking)."""
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(
                payment_intent_id, options=_options(account)
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(_describe(exc, "read the payment")) from exc
        return intent.to_dict()

    async def refund(
        self,
        payment_intent_id: str,
        amount: int,
        *,
        account: str | None,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        """Refund ``amount`` minor units of a payment; the key makes a retry harmless."""
        params: dict[str, Any] = {
            "payment_intent": payment_intent_id,
            "amount": amount,
            "metadata": metadata,
        }
        if account:
            # A direct charge's platform fee goes back in proportion to the refund.
            params["refund_application_fee"] = True
        try:
            refund = await self._client.v1.refunds.create_async(
                params=params,  # type: ignore[arg-type]
                options=_options(account, idempotency_key),
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(_describe(exc, "refund the payment")) from exc
        return refund.to_dict()


def _describe(exc: stripe.StripeError, doing: str) -> str:
    if isinstance(exc, stripe.APIConnectionError):
        return f"Could not reach Stripe to {doing}; please try again."
    detail = exc.user_message or getattr(exc, "_message", None) or "it refused the request"
    return f"Stripe could not {doing}: {detail}"
