"""The desk sync wire format: change pages, row shapes, desk actions and their answers.

Row shapes (``Change.row``): the columns listed in the ``*_FIELDS`` tuples below, then the
``*_EXTRA_FIELDS``, in that order. uuid → string, timestamptz → ISO-8601 with offset
(``"2026-11-24T13:58:00.123456+00:00"``; microseconds only when non-zero), date →
``"YYYY-MM-DD"``, time (venue-local wall clock) → ``"HH:MM:SS"``, money → integer minor units,
JSONB → as stored, null → null. None of these tables holds a secret; nothing is left out.

Cursors are ``change_log`` ids: increasing integers. A page never hands out a cursor past a
change that is still in flight, so ``next_cursor`` only ever moves forward over changes that
are final. A booking, customer, activity or session appears once per page at most (the
newest change of the page wins) and always carries its *current* row; ``op="delete"`` with
``row=null`` is a tombstone (the row is gone, or no longer visible to the organization).
A change of a venue (its name or time zone) is sent as an upsert of each of its activities.
``has_more=false`` means caught up with every final change; a read that finds only changes
held back behind a writer still in flight waits up to a second for it, then answers
``has_more=true`` (ask again).

The stream (``GET /sync/stream``) sends ``event: cursor`` / ``data: {"cursor": N}``: first the
organization's newest cursor, then one per committed transaction that touched its bookings,
customers, activities, sessions or venue (N is that transaction's first change; events may
be coalesced). N is not increasing from one event to the next (a transaction that began
earlier can commit later): pull whenever N is greater than the desk's own cursor. After the
service's listener reconnects, the newest cursor is sent again.

Actions (``POST /sync/actions``): ``happened_at`` (never later than the service's clock)
becomes the check-in time and decides which day "today" is; the booking's timeline records
when the action reached the service. ``performed_by`` names the member of staff who did it
at the desk when that is not who sends it (a queue filled offline by Alex and sent after Sam
signed in): the check-in, the timeline and the answer's ``by`` name the performer, and the
timeline line also says who sent it. ``guests_arrived`` records how many of a checked-in
party are here so far.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, Self, TypedDict

from pydantic import AwareDatetime, Field, model_validator

from app.server.core.schemas import RequestBody, ResponseBody

MAX_PAGE = 5000
DEFAULT_PAGE = 1000

# change_log.entity (the table) → the entity name on the wire.
ENTITIES: dict[str, str] = {
    "bookings": "booking",
    "customers": "customer",
    "activities": "activity",
    "activity_sessions": "session",
}

# The fields of each row, in the order they come (the table's column order). A row is every
# column of its table (Postgres's row_to_json), so a column added by a later migration comes
# too; tests/server/sync/test_changes.py holds these lists to the tables.
BOOKING_FIELDS = (
    "id", "booking_number", "venue_id", "activity_id", "customer_id", "session_id",
    "booking_date",  # venue-local date
    "start_time", "end_time",  # venue-local wall clock, "HH:MM:SS"
    "party_size", "adult_count", "child_count", "guests_arrived",
    "currency", "adult_unit_amount", "child_unit_amount", "subtotal_amount", "discount_amount",
    "total_amount", "amount_paid", "refunded_amount",  # minor units
    "status",  # app.domain.lifecycle.BookingStatus
    "payment_status",  # app.domain.lifecycle.PaymentStatus
    "source",  # admin | widget | walk_in | phone
    "promo_code", "special_requests", "notes",
    "stripe_payment_intent_id", "stripe_checkout_session_id",
    "expires_at", "confirmed_at", "checked_in_at", "checked_in_by", "cancelled_at",
    "cancelled_by", "cancel_reason", "attention_reason", "created_by",
    "version",  # bumped on every update
    "created_at", "updated_at", "organization_id",
    "contact_name", "contact_email", "contact_phone", "payment_link_url",
)  # fmt: skip
# Computed for bookings, after the columns: the staff names behind checked_in_by and
# cancelled_by (null if none), so the desk can say "already checked in at 14:02 by Sam".
BOOKING_EXTRA_FIELDS = ("checked_in_by_name", "cancelled_by_name")

CUSTOMER_FIELDS = (
    "id", "first_name", "last_name", "email", "phone", "sms_opt_in", "stripe_customer_id",
    "total_bookings", "total_spent", "average_booking_value", "lifetime_value",  # minor units
    "segment",  # new | active | vip | at_risk | churned
    "first_booking_date", "last_booking_date", "last_activity_date",
    "created_via", "status", "notes",
    "metadata",  # JSONB object
    "merged_into_id",  # set when merged into another customer (then ignore this one)
    "created_at", "updated_at", "organization_id",
)  # fmt: skip

ACTIVITY_FIELDS = (
    "id", "venue_id", "name", "description", "what_to_bring", "duration_minutes", "capacity",
    "currency", "adult_price", "child_price",  # minor units
    "min_adults", "active", "created_at", "updated_at", "organization_id",
)  # fmt: skip
# Computed for activities, after the columns: the venue's IANA time zone (every local date
# and time of the activity's bookings is read in it) and its name.
ACTIVITY_EXTRA_FIELDS = ("timezone", "venue_name")

SESSION_FIELDS = (
    "id", "activity_id", "starts_at", "ends_at",
    "capacity", "reserved",  # seats; remaining = capacity - reserved
    "status",  # open | closed
    "created_at", "updated_at", "organization_id",
)  # fmt: skip


class BookingRow(TypedDict):
    """``row`` of an ``entity="booking"`` change (see ``BOOKING_FIELDS``)."""

    id: str
    organization_id: str
    booking_number: str
    venue_id: str
    activity_id: str
    customer_id: str | None
    session_id: str
    booking_date: str
    start_time: str
    end_time: str
    party_size: int
    adult_count: int
    child_count: int
    guests_arrived: int
    currency: str
    adult_unit_amount: int
    child_unit_amount: int
    subtotal_amount: int
    discount_amount: int
    total_amount: int
    amount_paid: int
    refunded_amount: int
    status: str
    payment_status: str
    source: str
    promo_code: str | None
    special_requests: str
    notes: str
    contact_name: str
    contact_email: str | None
    contact_phone: str | None
    stripe_payment_intent_id: str | None
    stripe_checkout_session_id: str | None
    payment_link_url: str | None
    expires_at: str | None
    confirmed_at: str | None
    checked_in_at: str | None
    checked_in_by: str | None
    cancelled_at: str | None
    cancelled_by: str | None
    cancel_reason: str | None
    attention_reason: str | None
    created_by: str | None
    version: int
    created_at: str
    updated_at: str
    checked_in_by_name: str | None
    cancelled_by_name: str | None


class CustomerRow(TypedDict):
    """``row`` of an ``entity="customer"`` change (see ``CUSTOMER_FIELDS``)."""

    id: str
    organization_id: str
    first_name: str
    last_name: str
    email: str
    phone: str | None
    sms_opt_in: bool
    stripe_customer_id: str | None
    total_bookings: int
    total_spent: int
    average_booking_value: int
    lifetime_value: int
    segment: str
    first_booking_date: str | None
    last_booking_date: str | None
    last_activity_date: str | None
    created_via: str
    status: str
    notes: str
    metadata: dict[str, Any]
    merged_into_id: str | None
    created_at: str
    updated_at: str


class ActivityRow(TypedDict):
    """``row`` of an ``entity="activity"`` change (see ``ACTIVITY_FIELDS``)."""

    id: str
    organization_id: str
    venue_id: str
    name: str
    description: str
    what_to_bring: str
    duration_minutes: int
    capacity: int
    currency: str
    adult_price: int
    child_price: int
    min_adults: int
    active: bool
    created_at: str
    updated_at: str
    timezone: str
    venue_name: str


class SessionRow(TypedDict):
    """``row`` of an ``entity="session"`` change (see ``SESSION_FIELDS``)."""

    id: str
    organization_id: str
    activity_id: str
    starts_at: str
    ends_at: str
    capacity: int
    reserved: int
    status: str
    created_at: str
    updated_at: str


class Change(ResponseBody):
    """One entity's newest state as of ``cursor``."""

    cursor: int
    entity: Literal["booking", "customer", "activity", "session"]
    id: uuid.UUID
    op: Literal["upsert", "delete"]
    row: dict[str, Any] | None = Field(
        description="The current row (BookingRow, CustomerRow, ActivityRow or SessionRow); "
        "null for a delete."
    )


class ChangesPage(ResponseBody):
    """``GET /sync/changes``: send ``next_cursor`` as ``since`` next time."""

    changes: list[Change]
    next_cursor: int
    has_more: bool = Field(
        description="True: ask again at once. False: caught up; wait for the stream."
    )


# --- POST /sync/actions -------------------------------------------------------------------

ActionKind = Literal["check_in", "undo_check_in", "no_show", "note", "guests_arrived"]
Outcome = Literal["applied", "already_done", "rejected"]

# Codes of a rejected action. The door vocabulary (app.domain.checkin) first; then
# "invalid_transition" (the lifecycle refuses it, or guests arrived for a booking that is
# not checked in), "forbidden" (this action id was already used for something else, or by
# another organization; or performed_by is not an active member of this organization's
# staff), "too_early" (no-show before the session starts) and "invalid" (e.g. more guests
# arrived than the party has).
REJECTION_CODES = (
    "cancelled", "expired", "not_today", "unpaid", "unknown",
    "invalid_transition", "forbidden", "too_early", "invalid",
)  # fmt: skip


class DeskAction(RequestBody):
    """One action taken at the desk, possibly while offline."""

    id: uuid.UUID = Field(description="Chosen by the desk; the same id is applied once.")
    kind: ActionKind = Field(
        description="check_in, undo_check_in, no_show, note, or guests_arrived (how many of "
        "a checked-in party are here so far)."
    )
    booking_id: uuid.UUID
    happened_at: AwareDatetime = Field(description="When staff did it at the desk.")
    performed_by: uuid.UUID | None = Field(
        default=None,
        description="The staff user who did it at the desk, if not the sender (the queue may "
        "go out under a later sign-in). Must be an active member of the organization's staff, "
        "else the action is rejected as forbidden. Absent: the sender.",
    )
    guests_arrived: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="check_in: how many of the party came in (default: all of it); "
        "guests_arrived: how many are here now (1 to the party size).",
    )
    override_unpaid: bool = False
    note: str | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _fields_of_the_kind(self) -> Self:
        if self.kind == "note" and self.note is None:
            raise ValueError("A note action needs the note's text.")
        if self.kind != "note" and self.note is not None:
            raise ValueError("Only a note action carries a note.")
        if self.kind == "guests_arrived" and self.guests_arrived is None:
            raise ValueError("A guests_arrived action needs how many guests arrived.")
        if self.kind not in ("check_in", "guests_arrived") and self.guests_arrived is not None:
            raise ValueError("Only a check-in or guests_arrived carries guests_arrived.")
        return self


class ActionBatch(RequestBody):
    """The desk's queue, oldest first."""

    device_id: str = Field(min_length=1, max_length=100)
    actions: list[DeskAction] = Field(min_length=1, max_length=500)


class ActionResult(ResponseBody):
    """What became of one action (the stored answer, when it was sent before)."""

    id: uuid.UUID
    outcome: Outcome
    code: str | None = Field(description="Set for a rejection (see REJECTION_CODES).")
    message: str = Field(description="The sentence staff read, naming who and when if known.")
    at: datetime | None = Field(description="When it was done (applied or earlier), if known.")
    by: str | None = Field(
        description="Who did it (staff name, the performer rather than the sender), if known."
    )
    cursor: int | None = Field(
        description="For applied: the feed's cursor of the booking's change; the desk's copy "
        "is current once it has pulled up to it."
    )


class ActionResults(ResponseBody):
    results: list[ActionResult]
