"""Checkout Session ``discounts``: one coupon applied to the whole session, as Stripe does.

Stripe spreads a session-level discount over the line items in proportion to their
amounts; each item's ``amount_discount`` and ``discounts`` show its share, and the session's
``total_details.amount_discount`` the whole.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from localstripe.resources import Coupon

from app.stripe_emulator.errors import StripeError, invalid_param
from app.stripe_emulator.params import as_dict, as_list, as_str, reject_unknown


def parse_coupon(raw: Any) -> Coupon | None:
    """The coupon named by ``discounts`` (at most one; promotion codes are not emulated)."""
    entries = as_list(raw, "discounts")
    if not entries:
        return None
    if len(entries) > 1:
        raise invalid_param("discounts", "You may only specify one discount on a Checkout Session.")
    entry = as_dict(entries[0], "discounts[0]")
    reject_unknown(entry, {"coupon", "promotion_code"}, "discounts[0]")
    if entry.get("promotion_code") not in (None, ""):
        raise invalid_param(
            "discounts[0][promotion_code]",
            "The Stripe emulator has no promotion codes; pass a coupon.",
        )
    coupon_id = as_str(entry.get("coupon"), "discounts[0][coupon]")
    try:
        return Coupon._api_retrieve(coupon_id)
    except Exception as exc:
        raise StripeError(
            400,
            f"No such coupon: '{coupon_id}'",
            code="resource_missing",
            param="discounts[0][coupon]",
        ) from exc


def coupon_amount(coupon: Coupon, subtotal: int, currency: str) -> int:
    """What ``coupon`` takes off ``subtotal``, never more than it."""
    if coupon.amount_off is not None:
        if (coupon.currency or "").lower() != currency:
            raise invalid_param(
                "discounts[0][coupon]",
                f"The coupon's currency ({coupon.currency}) does not match the session's "
                f"currency ({currency}).",
            )
        return int(min(coupon.amount_off, subtotal))
    off = Decimal(subtotal) * Decimal(str(coupon.percent_off)) / 100
    return min(int(off.to_integral_value(rounding=ROUND_HALF_UP)), subtotal)


def apply_coupon(coupon: Coupon, line_items: list[dict[str, Any]], currency: str) -> int:
    """Spread the coupon over ``line_items`` in place; return the session's discount."""
    subtotal = sum(int(item["amount_subtotal"]) for item in line_items)
    total_off = coupon_amount(coupon, subtotal, currency)
    exported = coupon._export()
    left = total_off
    for index, item in enumerate(line_items):
        if index == len(line_items) - 1:
            share = left
        else:
            share = total_off * int(item["amount_subtotal"]) // subtotal if subtotal else 0
        left -= share
        item["amount_discount"] = share
        item["amount_total"] = int(item["amount_subtotal"]) - share
        item["discounts"] = [{"amount": share, "discount": _discount_object(exported)}]
    return total_off


def session_discounts(coupon: Coupon | None) -> list[dict[str, Any]]:
    """The session's ``discounts`` field."""
    return [] if coupon is None else [{"coupon": coupon.id, "promotion_code": None}]


def _discount_object(coupon: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"di_{coupon['id']}",
        "object": "discount",
        "coupon": coupon,
        "promotion_code": None,
    }
