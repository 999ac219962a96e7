"""The payment state a booking's money amounts to."""

from __future__ import annotations

import pytest

from app.domain.lifecycle import PaymentStatus, payment_status_for


@pytest.mark.parametrize(("paid", "refunded", "failed", "status"), [
    (0, 0, False, PaymentStatus.UNPAID),
    (0, 0, True, PaymentStatus.FAILED),
    (6000, 0, False, PaymentStatus.PAID),
    (6000, 1, False, PaymentStatus.PARTIALLY_REFUNDED),
    (6000, 5999, False, PaymentStatus.PARTIALLY_REFUNDED),
    (6000, 6000, False, PaymentStatus.REFUNDED),
    (6000, 6000, True, PaymentStatus.REFUNDED),
])
def test_payment_status_follows_the_money(paid, refunded, failed, status):
    assert payment_status_for(paid, refunded, failed=failed) is status
