"""What a party pays: per-tier prices, and a promo code's discount, in integer minor units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class PromoKind(StrEnum):
    PERCENT = "percent"  # value in basis points: 1500 = 15 %
    FIXED = "fixed"  # value in minor units of the promo's currency


@dataclass(frozen=True, slots=True)
class Promo:
    """A promo code as the venue set it up."""

    code: str
    kind: PromoKind
    value: int
    currency: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    usage_limit: int | None = None
    times_used: int = 0
    active: bool = True


class PromoRefused(ValueError):
    """The code exists but cannot be used for this booking; the message says why."""


@dataclass(frozen=True, slots=True)
class Quote:
    """The price of one booking."""

    adult_count: int
    child_count: int
    adult_unit_amount: int
    child_unit_amount: int
    discount_amount: int
    currency: str

    @property
    def subtotal_amount(self) -> int:
        return self.adult_count * self.adult_unit_amount + self.child_count * self.child_unit_amount

    @property
    def total_amount(self) -> int:
        return self.subtotal_amount - self.discount_amount


def check_promo(promo: Promo, currency: str, now: datetime) -> None:
    """Raise :class:`PromoRefused` unless ``promo`` can be used now, in ``currency``."""
    if not promo.active:
        raise PromoRefused(f"Promo code {promo.code} is no longer active.")
    if promo.valid_from and now < promo.valid_from:
        raise PromoRefused(f"Promo code {promo.code} is not valid yet.")
    if promo.valid_until and now >= promo.valid_until:
        raise PromoRefused(f"Promo code {promo.code} has expired.")
    if promo.usage_limit is not None and promo.times_used >= promo.usage_limit:
        raise PromoRefused(f"Promo code {promo.code} has been used up.")
    if promo.kind is PromoKind.FIXED and promo.currency and promo.currency != currency:
        raise PromoRefused(f"Promo code {promo.code} does not apply to prices in {currency}.")


def discount(promo: Promo | None, subtotal: int) -> int:
    """The amount ``promo`` takes off ``subtotal``: never more than the subtotal.

    Percentages round half up to the minor unit, so 15 % of 3,333 is 500, not 499.
    """
    if promo is None or subtotal <= 0:
        return 0
    if promo.kind is PromoKind.PERCENT:
        off = (subtotal * promo.value + 5000) // 10000
    else:
        off = promo.value
    return min(off, subtotal)


def quote(
    adult_count: int,
    child_count: int,
    adult_price: int,
    child_price: int,
    currency: str,
    promo: Promo | None = None,
) -> Quote:
    """Price a party, with the promo's discount applied to the whole."""
    subtotal = adult_count * adult_price + child_count * child_price
    return Quote(
        adult_count=adult_count,
        child_count=child_count,
        adult_unit_amount=adult_price,
        child_unit_amount=child_price,
        discount_amount=discount(promo, subtotal),
        currency=currency,
    )


def application_fee(total: int, fee_bps: int) -> int:
    """The platform's fee on a Connect payment: ``fee_bps`` basis points, rounded half up."""
    return (total * fee_bps + 5000) // 10000
