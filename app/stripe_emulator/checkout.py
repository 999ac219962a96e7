"""Checkout Sessions (``checkout.session``), which localstripe does not have.

Routes (the same as Stripe's)::

    POST /v1/checkout/sessions                   create (mode=payment, price_data line items)
    GET  /v1/checkout/sessions                   list (limit, starting_after, ending_before,
                                                  payment_intent, customer, status)
    GET  /v1/checkout/sessions/{id}              retrieve (expand[]=line_items supported)
    POST /v1/checkout/sessions/{id}              update metadata
    POST /v1/checkout/sessions/{id}/expire       expire an open session
    GET  /v1/checkout/sessions/{id}/line_items   list line items

As on Stripe (API versions since 2022-08-01) the PaymentIntent is created only when the
customer pays, so ``payment_intent`` is ``null`` on a fresh session.  Paying is simulated
by :mod:`app.stripe_emulator.completion`.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import count
from typing import Any

from aiohttp import web
from localstripe.errors import UserError
from localstripe.resources import Customer, PaymentIntent, Product, StripeObject, store

from app.stripe_emulator.discounts import apply_coupon, parse_coupon, session_discounts
from app.stripe_emulator.errors import (
    StripeError,
    invalid_param,
    json_response,
    missing_param,
    no_such,
)
from app.stripe_emulator.events import RequestContext, current_context, emit, use_context
from app.stripe_emulator.listing import paginate
from app.stripe_emulator.params import (
    as_bool,
    as_choice,
    as_dict,
    as_email,
    as_expand,
    as_int,
    as_list,
    as_metadata,
    as_str,
    as_url,
    read_params,
    reject_unknown,
)
from app.stripe_emulator.payments import EmulatorPaymentIntent

MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 3600
_ALPHABET = string.ascii_letters + string.digits
_sequence = count()

# Smallest chargeable amounts (minor units) per currency, from Stripe's docs; default 50.
_MINIMUM_AMOUNTS = {
    "aed": 200, "bgn": 100, "czk": 1500, "dkk": 250, "gbp": 30, "hkd": 400, "huf": 17500,
    "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300, "pln": 200, "ron": 200, "sek": 300,
    "thb": 1000,
}  # fmt: skip
_ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
    "vuv", "xaf", "xof", "xpf",
}  # fmt: skip

_CREATE_PARAMS = {
    "adaptive_pricing", "after_expiration", "allow_promotion_codes", "automatic_tax",
    "billing_address_collection", "branding_settings", "cancel_url", "client_reference_id",
    "consent_collection", "currency", "custom_fields", "custom_text", "customer",
    "customer_creation", "customer_email", "customer_update", "discounts", "expand",
    "expires_at", "invoice_creation", "line_items", "locale", "metadata", "mode",
    "name_collection", "optional_items", "origin_context", "payment_intent_data",
    "payment_method_collection", "payment_method_configuration", "payment_method_data",
    "payment_method_options", "payment_method_types", "permissions",
    "phone_number_collection", "redirect_on_completion", "return_url",
    "saved_payment_method_options", "shipping_address_collection", "shipping_options",
    "submit_type", "success_url", "tax_id_collection", "ui_mode", "wallet_options",
}  # fmt: skip
_PAYMENT_INTENT_DATA_PARAMS = {
    "application_fee_amount", "capture_method", "description", "metadata", "on_behalf_of",
    "receipt_email", "setup_future_usage", "shipping", "statement_descriptor",
    "statement_descriptor_suffix", "transfer_data", "transfer_group",
}  # fmt: skip
_LIST_PARAMS = {
    "created", "customer", "customer_details", "ending_before", "limit", "payment_intent",
    "payment_link", "starting_after", "status", "subscription",
}  # fmt: skip


def _random_id(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def format_amount(amount: int, currency: str) -> str:
    """Format minor units like Stripe's messages do (``$25.00``, ``€0.50``, ``¥50``)."""
    symbols = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$"}
    prefix = symbols.get(currency, currency.upper() + " ")
    if currency in _ZERO_DECIMAL:
        return f"{prefix}{amount}"
    return f"{prefix}{amount / 100:.2f}"


class CheckoutSession(StripeObject):
    """A Checkout Session in ``payment`` mode, stored in localstripe's store."""

    object = "checkout.session"
    _id_prefix = "cs_test_"

    def __init__(self, params: dict[str, Any], *, base_url: str, account: str | None) -> None:
        spec = _parse_create_params(params, account)
        super().__init__(id=_random_id("cs_test_", 58))
        self._seq = next(_sequence)
        self._base_url = base_url.rstrip("/")
        self._account = account
        self._line_items: list[dict[str, Any]] = spec["line_items"]
        self._payment_intent_data: dict[str, Any] = spec["payment_intent_data"]

        amount = sum(int(item["amount_total"]) for item in self._line_items)
        subtotal = sum(int(item["amount_subtotal"]) for item in self._line_items)
        self.adaptive_pricing = None
        self.after_expiration = None
        self.allow_promotion_codes = spec["allow_promotion_codes"]
        self.amount_subtotal = subtotal
        self.amount_total = amount
        self.automatic_tax = {
            "enabled": spec["automatic_tax"],
            "liability": None,
            "provider": None,
            "status": "complete" if spec["automatic_tax"] else None,
        }
        self.billing_address_collection = spec["billing_address_collection"]
        self.cancel_url = spec["cancel_url"]
        self.client_reference_id = spec["client_reference_id"]
        self.client_secret = None
        self.collected_information = None
        self.consent = None
        self.consent_collection = None
        self.currency = spec["currency"]
        self.currency_conversion = None
        self.custom_fields: list[Any] = []
        self.custom_text = {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        }
        self.customer = spec["customer"]
        self.customer_creation = None if self.customer else spec["customer_creation"]
        self.customer_details = spec["customer_details"]
        self.customer_email = spec["customer_email"]
        self.discounts: list[Any] = session_discounts(spec["coupon"])
        self.expires_at = spec["expires_at"] or self.created + MAX_EXPIRY_SECONDS
        self.invoice = None
        self.invoice_creation = {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        }
        self.locale = spec["locale"]
        self.metadata = spec["metadata"]
        self.mode = "payment"
        self.payment_intent: str | None = None
        self.payment_link = None
        self.payment_method_collection = "always"
        self.payment_method_configuration_details = None
        self.payment_method_options: dict[str, Any] = {}
        self.payment_method_types = spec["payment_method_types"]
        self.payment_status = "no_payment_required" if amount == 0 else "unpaid"
        self.phone_number_collection = {"enabled": spec["phone_number_collection"]}
        self.recovered_from = None
        self.saved_payment_method_options = None
        self.setup_intent = None
        self.shipping_address_collection = None
        self.shipping_cost = None
        self.shipping_options: list[Any] = []
        self.status = "open"
        self.submit_type = spec["submit_type"]
        self.subscription = None
        self.success_url = spec["success_url"]
        self.total_details = {
            "amount_discount": spec["amount_discount"],
            "amount_shipping": 0,
            "amount_tax": 0,
        }
        self.ui_mode = "hosted"

    @property
    def url(self) -> str | None:
        """The hosted payment page (served by the emulator) while the session is open."""
        if self.status != "open":
            return None
        return f"{self._base_url}/checkout/{self.id}"

    def _line_items_list(self) -> dict[str, Any]:
        return paginate(f"/v1/checkout/sessions/{self.id}/line_items", self._line_items)

    def _export(self, expand: list[str] | None = None) -> dict[str, Any]:
        wanted = list(expand or [])
        with_items = "line_items" in wanted
        rest = [e for e in wanted if e != "line_items" and not e.startswith("line_items.")]
        exported: dict[str, Any] = super()._export(expand=rest)
        if with_items:
            exported["line_items"] = self._line_items_list()
        return exported

    def _mark_complete(self, customer_details: dict[str, Any], payment_status: str) -> None:
        self.status = "complete"
        self.payment_status = payment_status
        self.customer_details = customer_details


# -- parameter parsing ----------------------------------------------------------------


def _parse_create_params(data: dict[str, Any], account: str | None) -> dict[str, Any]:
    reject_unknown(data, _CREATE_PARAMS)
    if "mode" not in data:
        raise missing_param("mode")
    mode = as_choice(data["mode"], "mode", ("payment", "setup", "subscription"))
    if mode != "payment":
        raise invalid_param(
            "mode", f"The Stripe emulator only supports mode=payment (got mode={mode})."
        )
    ui_mode = data.get("ui_mode") or "hosted"
    if ui_mode != "hosted":
        raise invalid_param("ui_mode", "The Stripe emulator only supports ui_mode=hosted.")

    raw_items = as_list(data.get("line_items"), "line_items")
    if not raw_items:
        raise missing_param("line_items")
    line_items = [_parse_line_item(i, raw) for i, raw in enumerate(raw_items)]
    currencies = {item["currency"] for item in line_items}
    if len(currencies) > 1:
        raise invalid_param(
            "line_items", "All line items on a Checkout Session must use the same currency."
        )
    currency = currencies.pop()
    if data.get("currency") not in (None, "") and str(data["currency"]).lower() != currency:
        raise invalid_param(
            "currency",
            f"The currency provided ({data['currency']}) does not match the line items' "
            f"currency ({currency}).",
        )
    coupon = parse_coupon(data.get("discounts"))
    amount_discount = apply_coupon(coupon, line_items, currency) if coupon else 0
    total = sum(item["amount_total"] for item in line_items)
    minimum = _MINIMUM_AMOUNTS.get(currency, 50)
    if 0 < total < minimum:
        raise invalid_param(
            "line_items",
            "The Checkout Session's total amount due must add up to at least "
            f"{format_amount(minimum, currency)} {currency}",
        )

    expires_at = None
    if data.get("expires_at") not in (None, ""):
        expires_at = as_int(data["expires_at"], "expires_at")
        delta = expires_at - int(time.time())
        if delta < MIN_EXPIRY_SECONDS:
            raise invalid_param(
                "expires_at",
                "The `expires_at` timestamp must be at least 30 minutes from Checkout "
                "Session creation.",
            )
        if delta > MAX_EXPIRY_SECONDS:
            raise invalid_param(
                "expires_at",
                "The `expires_at` timestamp must be less than 24 hours from Checkout "
                "Session creation.",
            )

    customer, customer_email, customer_details = _parse_customer(data)
    types = [str(t) for t in as_list(data.get("payment_method_types"), "payment_method_types")]
    return {
        "allow_promotion_codes": _opt_bool(data, "allow_promotion_codes"),
        "automatic_tax": bool(
            _opt_bool(as_dict(data.get("automatic_tax"), "automatic_tax"), "enabled")
        ),
        "billing_address_collection": _opt_choice(
            data, "billing_address_collection", ("auto", "required")
        ),
        "cancel_url": _opt(data, "cancel_url", as_url),
        "client_reference_id": _opt(
            data, "client_reference_id", lambda v, p: as_str(v, p, max_length=200)
        ),
        "amount_discount": amount_discount,
        "coupon": coupon,
        "currency": currency,
        "customer": customer,
        "customer_creation": _opt_choice(data, "customer_creation", ("if_required", "always"))
        or "if_required",
        "customer_details": customer_details,
        "customer_email": customer_email,
        "expires_at": expires_at,
        "line_items": line_items,
        "locale": _opt(data, "locale", as_str),
        "metadata": as_metadata(data.get("metadata")),
        "payment_intent_data": _parse_payment_intent_data(data.get("payment_intent_data"), account),
        "payment_method_types": types or ["card"],
        "phone_number_collection": bool(
            _opt_bool(
                as_dict(data.get("phone_number_collection"), "phone_number_collection"),
                "enabled",
            )
        ),
        "submit_type": _opt_choice(
            data, "submit_type", ("auto", "book", "donate", "pay", "subscribe")
        ),
        "success_url": _opt(data, "success_url", as_url),
    }


def _opt(data: dict[str, Any], key: str, parse: Callable[[Any, str], Any]) -> Any:
    value = data.get(key)
    return None if value in (None, "") else parse(value, key)


def _opt_bool(data: dict[str, Any], key: str) -> bool | None:
    value = data.get(key)
    return None if value in (None, "") else as_bool(value, key)


def _opt_choice(data: dict[str, Any], key: str, choices: tuple[str, ...]) -> str | None:
    value = data.get(key)
    return None if value in (None, "") else as_choice(value, key, choices)


def _parse_customer(
    data: dict[str, Any],
) -> tuple[str | None, str | None, dict[str, Any] | None]:
    customer_id = _opt(data, "customer", as_str)
    email = _opt(data, "customer_email", as_email)
    if customer_id and email:
        raise invalid_param(
            "customer_email",
            "You may only specify one of these parameters: customer, customer_email.",
        )
    if customer_id:
        try:
            customer = Customer._api_retrieve(customer_id)
        except UserError:
            raise no_such("customer", customer_id, "customer") from None
        email = None
        details_email = customer.email
    else:
        details_email = email
    details = None
    if details_email:
        details = {
            "address": None,
            "email": details_email,
            "name": None,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": None,
        }
    return customer_id, email, details


def _parse_line_item(index: int, raw: Any) -> dict[str, Any]:
    param = f"line_items[{index}]"
    item = as_dict(raw, param)
    reject_unknown(
        item,
        {"adjustable_quantity", "dynamic_tax_rates", "metadata", "price", "price_data",
         "quantity", "tax_rates"},
        param,
    )  # fmt: skip
    if "price" in item and "price_data" in item:
        raise invalid_param(
            f"{param}[price]", "You may only specify one of these parameters: price, price_data."
        )
    if item.get("price") not in (None, ""):
        raise StripeError(
            400,
            f"No such price: '{item['price']}' (the Stripe emulator has no Prices API; "
            "use price_data)",
            code="resource_missing",
            param=f"{param}[price]",
        )
    if "price_data" not in item:
        raise invalid_param(
            param, "You must specify either `price` or `price_data` for each line item."
        )
    price_param = f"{param}[price_data]"
    price_data = as_dict(item["price_data"], price_param)
    reject_unknown(
        price_data,
        {"currency", "product", "product_data", "recurring", "tax_behavior", "unit_amount",
         "unit_amount_decimal"},
        price_param,
    )  # fmt: skip
    if price_data.get("recurring") not in (None, ""):
        raise invalid_param(
            f"{price_param}[recurring]",
            "You specified `payment` mode but passed a recurring price. Either switch to "
            "`subscription` mode or use only one-time prices.",
        )
    if price_data.get("currency") in (None, ""):
        raise missing_param(f"{price_param}[currency]")
    currency = as_str(price_data["currency"], f"{price_param}[currency]").lower()
    if len(currency) != 3 or not currency.isalpha():
        raise invalid_param(
            f"{price_param}[currency]", f"Invalid currency: {currency}", "parameter_invalid_string"
        )
    unit_amount, unit_decimal = _parse_unit_amount(price_data, price_param)
    product_id, name = _parse_product(price_data, price_param)

    if item.get("quantity") in (None, ""):
        raise missing_param(f"{param}[quantity]")
    quantity = as_int(item["quantity"], f"{param}[quantity]", minimum=1, maximum=999_999)
    amount = int((unit_decimal * quantity).to_integral_value(rounding=ROUND_HALF_UP))
    tax_behavior = price_data.get("tax_behavior") or "unspecified"
    price: dict[str, Any] = {
        "id": _random_id("price_", 24),
        "object": "price",
        "active": False,
        "billing_scheme": "per_unit",
        "created": int(time.time()),
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": product_id,
        "recurring": None,
        "tax_behavior": tax_behavior,
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_decimal),
    }
    return {
        "id": _random_id("li_", 24),
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": currency,
        "description": name,
        "metadata": as_metadata(item.get("metadata"), f"{param}[metadata]"),
        "price": price,
        "quantity": quantity,
    }


def _parse_unit_amount(price_data: dict[str, Any], param: str) -> tuple[int | None, Decimal]:
    has_amount = price_data.get("unit_amount") not in (None, "")
    has_decimal = price_data.get("unit_amount_decimal") not in (None, "")
    if has_amount and has_decimal:
        raise invalid_param(
            f"{param}[unit_amount]",
            "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
        )
    if has_amount:
        unit_amount = as_int(price_data["unit_amount"], f"{param}[unit_amount]", minimum=0)
        return unit_amount, Decimal(unit_amount)
    if has_decimal:
        try:
            decimal = Decimal(str(price_data["unit_amount_decimal"]))
        except InvalidOperation:
            raise invalid_param(
                f"{param}[unit_amount_decimal]",
                f"Invalid decimal: {price_data['unit_amount_decimal']}",
            ) from None
        if decimal < 0:
            raise invalid_param(f"{param}[unit_amount_decimal]", "Invalid non-negative decimal")
        integral = int(decimal) if decimal == decimal.to_integral_value() else None
        return integral, decimal
    raise missing_param(f"{param}[unit_amount]")


def _parse_product(price_data: dict[str, Any], param: str) -> tuple[str, str]:
    if price_data.get("product") not in (None, ""):
        product_id = as_str(price_data["product"], f"{param}[product]")
        try:
            product = Product._api_retrieve(product_id)
        except UserError:
            raise no_such("product", product_id, f"{param}[product]") from None
        return product_id, str(product.name)
    if price_data.get("product_data") in (None, ""):
        raise invalid_param(
            param, "You must specify either `product` or `product_data` when creating a price."
        )
    product_param = f"{param}[product_data]"
    product_data = as_dict(price_data["product_data"], product_param)
    reject_unknown(
        product_data,
        {"description", "images", "metadata", "name", "tax_code", "unit_label"},
        product_param,
    )
    if product_data.get("name") in (None, ""):
        raise missing_param(f"{product_param}[name]")
    name = as_str(product_data["name"], f"{product_param}[name]", max_length=5000)
    return _random_id("prod_", 14), name


def _parse_payment_intent_data(raw: Any, account: str | None) -> dict[str, Any]:
    data = as_dict(raw, "payment_intent_data")
    reject_unknown(data, _PAYMENT_INTENT_DATA_PARAMS, "payment_intent_data")
    result: dict[str, Any] = {
        "metadata": as_metadata(data.get("metadata"), "payment_intent_data[metadata]")
    }
    transfer_data = as_dict(data.get("transfer_data"), "payment_intent_data[transfer_data]")
    if data.get("application_fee_amount") not in (None, ""):
        fee = as_int(
            data["application_fee_amount"],
            "payment_intent_data[application_fee_amount]",
            minimum=0,
        )
        if account is None and not transfer_data.get("destination"):
            raise invalid_param(
                "payment_intent_data[application_fee_amount]",
                "Can only apply an application_fee_amount when the PaymentIntent is attempting "
                "a direct payment (using an OAuth key or Stripe-Account header) or destination "
                "payment (using `transfer_data[destination]`).",
            )
        result["application_fee_amount"] = fee
    if data.get("capture_method") not in (None, ""):
        result["capture_method"] = as_choice(
            data["capture_method"],
            "payment_intent_data[capture_method]",
            ("automatic", "automatic_async", "manual"),
        )
    if data.get("statement_descriptor") not in (None, ""):
        result["statement_descriptor"] = as_str(
            data["statement_descriptor"],
            "payment_intent_data[statement_descriptor]",
            max_length=22,
        )
    for key in ("description", "on_behalf_of", "receipt_email", "setup_future_usage",
                "statement_descriptor_suffix", "transfer_group"):  # fmt: skip
        if data.get(key) not in (None, ""):
            result[key] = as_str(data[key], f"payment_intent_data[{key}]")
    if transfer_data:
        result["transfer_data"] = transfer_data
    if data.get("shipping") not in (None, ""):
        result["shipping"] = as_dict(data["shipping"], "payment_intent_data[shipping]")
    return result


# -- lifecycle --------------------------------------------------------------------------


def find_session(session_id: str) -> CheckoutSession:
    """Return the session with ``session_id`` or raise Stripe's 404."""
    session = store.get(f"{CheckoutSession.object}:{session_id}")
    if not isinstance(session, CheckoutSession):
        raise no_such("checkout.session", session_id, "session")
    return session


def all_sessions() -> list[CheckoutSession]:
    """Every session, newest first (Stripe's list order)."""
    sessions = [v for v in list(store.values()) if isinstance(v, CheckoutSession)]
    sessions.sort(key=lambda s: (s.created, s._seq), reverse=True)
    return sessions


def session_payment_intent(session: CheckoutSession) -> EmulatorPaymentIntent | None:
    """The session's PaymentIntent object, if one was created."""
    if session.payment_intent is None:
        return None
    pi = store.get(f"{PaymentIntent.object}:{session.payment_intent}")
    return pi if isinstance(pi, EmulatorPaymentIntent) else None


def expire_session(session: CheckoutSession) -> None:
    """Expire an open session: cancel its PaymentIntent, emit ``checkout.session.expired``."""
    session.status = "expired"
    pi = session_payment_intent(session)
    if pi is not None and pi.status in ("requires_payment_method", "requires_confirmation",
                                        "requires_action"):  # fmt: skip
        pi._cancel(None)
    emit("checkout.session.expired", session, account=session._account)


def refresh_expiry(session: CheckoutSession, now: float | None = None) -> bool:
    """Expire ``session`` if its ``expires_at`` has passed; return whether it did.

    Stripe expires sessions by itself, so the event carries no request id.
    """
    current = time.time() if now is None else now
    if session.status == "open" and current >= session.expires_at:
        with use_context(RequestContext(account=session._account)):
            expire_session(session)
        return True
    return False


def payment_intent_params(
    session: CheckoutSession, *, copy_session_metadata: bool
) -> dict[str, Any]:
    """Keyword arguments for the PaymentIntent Checkout creates when the customer pays."""
    pid = dict(session._payment_intent_data)
    metadata = dict(session.metadata) if copy_session_metadata else {}
    metadata.update(pid.pop("metadata", {}))
    return {
        "amount": session.amount_total,
        "currency": session.currency,
        "customer": session.customer,
        "metadata": metadata,
        "payment_method_types": list(session.payment_method_types),
        "capture_method": pid.pop("capture_method", "automatic_async"),
        **pid,
    }


# -- HTTP handlers ----------------------------------------------------------------------


def base_url_of(request: web.Request) -> str:
    """The emulator's own base URL as the client reached it."""
    return f"{request.scheme}://{request.host}"


async def create_session(request: web.Request) -> web.Response:
    """``POST /v1/checkout/sessions``."""
    data = await read_params(request)
    expand = as_expand(data)
    session = CheckoutSession(
        data, base_url=base_url_of(request), account=current_context().account
    )
    return json_response(session._export(expand=expand))


async def list_sessions(request: web.Request) -> web.Response:
    """``GET /v1/checkout/sessions``."""
    data = await read_params(request)
    expand = as_expand(data)
    reject_unknown(data, _LIST_PARAMS)
    sessions = all_sessions()
    for session in sessions:
        refresh_expiry(session)
    if data.get("payment_intent") not in (None, ""):
        sessions = [s for s in sessions if s.payment_intent == data["payment_intent"]]
    if data.get("customer") not in (None, ""):
        sessions = [s for s in sessions if s.customer == data["customer"]]
    if data.get("status") not in (None, ""):
        status = as_choice(data["status"], "status", ("open", "complete", "expired"))
        sessions = [s for s in sessions if s.status == status]
    email = as_dict(data.get("customer_details"), "customer_details").get("email")
    if email:
        sessions = [s for s in sessions if (s.customer_details or {}).get("email") == email]
    if data.get("payment_link") not in (None, "") or data.get("subscription") not in (None, ""):
        sessions = []
    item_expand = [e[len("data.") :] for e in expand if e.startswith("data.")]
    items = [s._export(expand=item_expand) for s in sessions]
    return json_response(
        paginate(
            "/v1/checkout/sessions",
            items,
            limit=data.get("limit"),
            starting_after=data.get("starting_after"),
            ending_before=data.get("ending_before"),
            object_name="checkout.session",
        )
    )


async def retrieve_session(request: web.Request) -> web.Response:
    """``GET /v1/checkout/sessions/{id}``."""
    data = await read_params(request)
    expand = as_expand(data)
    reject_unknown(data, ())
    session = find_session(request.match_info["id"])
    refresh_expiry(session)
    return json_response(session._export(expand=expand))


async def update_session(request: web.Request) -> web.Response:
    """``POST /v1/checkout/sessions/{id}`` (metadata only)."""
    data = await read_params(request)
    expand = as_expand(data)
    reject_unknown(data, ("metadata",))
    session = find_session(request.match_info["id"])
    if "metadata" in data:
        merged = dict(session.metadata)
        for key, value in as_dict(data["metadata"], "metadata").items():
            if value in ("", None):
                merged.pop(key, None)
            else:
                merged[key] = value
        session.metadata = as_metadata(merged)
    return json_response(session._export(expand=expand))


async def expire_session_route(request: web.Request) -> web.Response:
    """``POST /v1/checkout/sessions/{id}/expire``."""
    data = await read_params(request)
    expand = as_expand(data)
    reject_unknown(data, ())
    session = find_session(request.match_info["id"])
    refresh_expiry(session)
    if session.status != "open":
        raise StripeError(
            400,
            'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f'Session has a status of "{session.status}".',
        )
    expire_session(session)
    return json_response(session._export(expand=expand))


async def list_line_items(request: web.Request) -> web.Response:
    """``GET /v1/checkout/sessions/{id}/line_items``."""
    data = await read_params(request)
    as_expand(data)
    reject_unknown(data, ("limit", "starting_after", "ending_before"))
    session = find_session(request.match_info["id"])
    return json_response(
        paginate(
            f"/v1/checkout/sessions/{session.id}/line_items",
            session._line_items,
            limit=data.get("limit"),
            starting_after=data.get("starting_after"),
            ending_before=data.get("ending_before"),
            object_name="line item",
        )
    )


def add_routes(app: web.Application) -> None:
    """Register the Checkout Session routes on ``app``."""
    app.router.add_post("/v1/checkout/sessions", create_session)
    app.router.add_get("/v1/checkout/sessions", list_sessions, allow_head=False)
    app.router.add_get("/v1/checkout/sessions/{id}/line_items", list_line_items,
                       allow_head=False)  # fmt: skip
    app.router.add_get("/v1/checkout/sessions/{id}", retrieve_session, allow_head=False)
    app.router.add_post("/v1/checkout/sessions/{id}", update_session)
    app.router.add_post("/v1/checkout/sessions/{id}/expire", expire_session_route)
