"""Bodies of the money endpoints: refund, cancel, reschedule, mark paid."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from app.server.core.schemas import RequestBody, ResponseBody

DeskMethod = Literal["cash", "card_terminal", "other"]


class RefundCreate(RequestBody):
    """Give back ``amount`` minor units; ``method`` is how desk money goes back."""

    amount: int = Field(gt=0)
    reason: str = Field(min_length=3, max_length=500)
    method: DeskMethod | None = None


class CancelRequest(RequestBody):
    """Cancel with a reason, and with no, a full or a partial refund."""

    reason: str = Field(min_length=3, max_length=500)
    refund: Literal["none", "full", "partial"] = "none"
    refund_amount: int | None = Field(default=None, gt=0)
    refund_method: DeskMethod | None = None

    @model_validator(mode="after")
    def _amount_for_partial(self) -> CancelRequest:
        if self.refund == "partial" and self.refund_amount is None:
            raise ValueError("refund_amount is required for a partial refund")
        if self.refund != "partial" and self.refund_amount is not None:
            raise ValueError("refund_amount goes with refund 'partial'")
        return self


class RescheduleRequest(RequestBody):
    """Move to ``session_id`` and settle the price difference as ``settle`` says."""

    session_id: uuid.UUID
    settle: Literal["none", "charge_at_desk", "refund", "payment_link"] = "none"
    payment_method: Literal["cash", "card_terminal"] | None = None
    reason: str | None = Field(default=None, max_length=500)


class RescheduleOptionRead(ResponseBody):
    session_id: uuid.UUID
    activity_id: uuid.UUID
    activity_name: str
    starts_at: datetime
    ends_at: datetime
    remaining: int
    total_amount: int
    difference: int
    currency: str


class RescheduleOptions(ResponseBody):
    items: list[RescheduleOptionRead]


class MarkPaidRequest(RequestBody):
    """Money taken at the desk, at most the balance due."""

    amount: int = Field(gt=0)
    method: DeskMethod
