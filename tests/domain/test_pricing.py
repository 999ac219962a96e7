"""Prices, promo discounts and the platform fee, in integer minor units."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.pricing import (
    Promo,
    PromoKind,
    PromoRefused,
    application_fee,
    check_promo,
    discount,
    quote,
)

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def test_a_party_is_priced_per_tier():
    q = quote(2, 3, 3200, 2200, "USD")
    assert (q.subtotal_amount, q.discount_amount, q.total_amount) == (13000, 0, 13000)


@pytest.mark.parametrize(("bps", "subtotal", "off"), [
    (1500, 3333, 500),   # 499.95 rounds half up
    (1000, 5, 1),        # 0.5 rounds up
    (1000, 4, 0),
    (10000, 6000, 6000),
])
def test_percent_off_rounds_half_up(bps, subtotal, off):
    assert discount(Promo("P", PromoKind.PERCENT, bps), subtotal) == off


def test_fixed_off_never_exceeds_the_price():
    promo = Promo("TENOFF", PromoKind.FIXED, 1000, "USD")
    assert discount(promo, 6000) == 1000
    assert quote(1, 0, 800, 0, "USD", promo).total_amount == 0


@pytest.mark.parametrize(("promo", "message"), [
    (Promo("X", PromoKind.FIXED, 100, active=False), "no longer active"),
    (Promo("X", PromoKind.FIXED, 100, valid_from=NOW + timedelta(seconds=1)), "not valid yet"),
    (Promo("X", PromoKind.FIXED, 100, valid_until=NOW), "has expired"),
    (Promo("X", PromoKind.FIXED, 100, usage_limit=3, times_used=3), "used up"),
    (Promo("X", PromoKind.FIXED, 100, currency="EUR"), "does not apply to prices in USD"),
])
def test_unusable_promos_are_refused_with_the_reason(promo, message):
    with pytest.raises(PromoRefused, match=message):
        check_promo(promo, "USD", NOW)


def test_a_usable_promo_passes_at_its_boundaries():
    check_promo(Promo("X", PromoKind.PERCENT, 500, valid_from=NOW, usage_limit=3, times_used=2,
                      valid_until=NOW + timedelta(seconds=1)), "USD", NOW)


@pytest.mark.parametrize(("total", "bps", "fee"), [(6000, 250, 150), (3333, 250, 83),
                                                   (100, 0, 0), (199, 250, 5)])
def test_platform_fee_in_basis_points(total, bps, fee):
    assert application_fee(total, bps) == fee
