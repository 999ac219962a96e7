"""Bookings at the desk: the filtered list, stats, detail, desk bookings, lifecycle actions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from app.domain.checkin import BookingAtDoor, CheckInResult, decide
from app.domain.lifecycle import Action, BookingStatus, PaymentStatus, local_today
from app.domain.segmentation import COUNTED_STATUSES
from app.services.api_client import ApiClient, ApiError, ServiceUnavailable
from app.services.auth import Identity
from app.sync import actions as local_actions
from app.sync import queries
from app.sync.engine import SyncEngine

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
MAX_NOTE = 2000


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class BookingRow:
    """A booking as the list shows it; dates and times are the venue's."""

    id: uuid.UUID
    booking_number: str
    status: BookingStatus
    payment_status: PaymentStatus
    source: str
    activity_id: uuid.UUID
    activity_name: str
    session_id: uuid.UUID
    customer_id: uuid.UUID | None
    customer_name: str
    customer_email: str | None
    customer_phone: str | None
    booking_date: date
    start_time: time
    end_time: time
    party_size: int
    adult_count: int
    child_count: int
    guests_arrived: int
    currency: str
    total_amount: int
    amount_paid: int
    refunded_amount: int
    balance_due: int
    checked_in_at: datetime | None
    attention_reason: str | None
    created_at: datetime

    @classmethod
    def fields_from_json(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": uuid.UUID(data["id"]),
            "booking_number": data["booking_number"],
            "status": BookingStatus(data["status"]),
            "payment_status": PaymentStatus(data["payment_status"]),
            "source": data["source"],
            "activity_id": uuid.UUID(data["activity_id"]),
            "activity_name": data["activity_name"],
            "session_id": uuid.UUID(data["session_id"]),
            "customer_id": uuid.UUID(data["customer_id"]) if data["customer_id"] else None,
            "customer_name": data["customer_name"],
            "customer_email": data["customer_email"],
            "customer_phone": data["customer_phone"],
            "booking_date": date.fromisoformat(data["booking_date"]),
            "start_time": time.fromisoformat(data["start_time"]),
            "end_time": time.fromisoformat(data["end_time"]),
            "party_size": data["party_size"],
            "adult_count": data["adult_count"],
            "child_count": data["child_count"],
            "guests_arrived": data["guests_arrived"],
            "currency": data["currency"],
            "total_amount": data["total_amount"],
            "amount_paid": data["amount_paid"],
            "refunded_amount": data["refunded_amount"],
            "balance_due": data["balance_due"],
            "checked_in_at": _dt(data["checked_in_at"]),
            "attention_reason": data["attention_reason"],
            "created_at": datetime.fromisoformat(data["created_at"]),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BookingRow:
        return cls(**cls.fields_from_json(data))

    def summary(self) -> BookingRow:
        """Just the list row (a :class:`BookingDetail` narrowed back to its row)."""
        return BookingRow(**{name: getattr(self, name) for name in BookingRow.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class BookingEvent:
    """One line of a booking's timeline."""

    at: datetime
    kind: str
    actor_name: str
    from_status: str | None
    to_status: str | None
    message: str


@dataclass(frozen=True, slots=True)
class MoneyMovement:
    """A payment or a refund of a booking."""

    at: datetime
    kind: str  # "payment" or "refund"
    provider: str
    method: str | None
    status: str
    amount: int
    currency: str
    note: str

    @classmethod
    def from_json(cls, data: dict[str, Any], kind: str, note: str) -> MoneyMovement:
        """A payment or refund as the service's JSON has it."""
        return cls(
            at=datetime.fromisoformat(data["created_at"]),
            kind=kind,
            provider=data["provider"],
            method=data["method"],
            status=data["status"],
            amount=data["amount"],
            currency=data["currency"],
            note=note,
        )


@dataclass(frozen=True, slots=True)
class BookingDetail(BookingRow):
    """Everything about one booking."""

    adult_unit_amount: int
    child_unit_amount: int
    subtotal_amount: int
    discount_amount: int
    promo_code: str | None
    special_requests: str
    notes: str
    expires_at: datetime | None
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    starts_at: datetime
    ends_at: datetime
    timezone: str
    events: tuple[BookingEvent, ...]
    payments: tuple[MoneyMovement, ...]
    refunds: tuple[MoneyMovement, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BookingDetail:
        return cls(
            **BookingRow.fields_from_json(data),
            adult_unit_amount=data["adult_unit_amount"],
            child_unit_amount=data["child_unit_amount"],
            subtotal_amount=data["subtotal_amount"],
            discount_amount=data["discount_amount"],
            promo_code=data["promo_code"],
            special_requests=data["special_requests"],
            notes=data["notes"],
            expires_at=_dt(data["expires_at"]),
            confirmed_at=_dt(data["confirmed_at"]),
            cancelled_at=_dt(data["cancelled_at"]),
            cancel_reason=data["cancel_reason"],
            starts_at=datetime.fromisoformat(data["starts_at"]),
            ends_at=datetime.fromisoformat(data["ends_at"]),
            timezone=data["timezone"],
            events=tuple(
                BookingEvent(
                    at=datetime.fromisoformat(e["at"]),
                    kind=e["kind"],
                    actor_name=e["actor_name"],
                    from_status=e["from_status"],
                    to_status=e["to_status"],
                    message=e["message"],
                )
                for e in data["events"]
            ),
            payments=tuple(
                MoneyMovement.from_json(p, "payment", p["stripe_payment_intent_id"] or "")
                for p in data["payments"]
            ),
            refunds=tuple(
                MoneyMovement.from_json(r, "refund", r["reason"]) for r in data["refunds"]
            ),
        )


@dataclass(frozen=True, slots=True)
class BookingPage:
    items: list[BookingRow]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class BookingFilter:
    """What the bookings list is narrowed to; every part optional."""

    date_from: date | None = None
    date_to: date | None = None
    statuses: tuple[BookingStatus, ...] = ()
    activity_id: uuid.UUID | None = None
    q: str = ""

    def params(self) -> dict[str, Any]:
        return {
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "status": [s.value for s in self.statuses] or None,
            "activity_id": str(self.activity_id) if self.activity_id else None,
            "q": self.q.strip() or None,
        }


@dataclass(frozen=True, slots=True)
class BookingStats:
    """The Bookings page header: counts and revenue (this week by default)."""

    today: int
    this_week: int
    revenue: int
    currency: str
    revenue_from: date
    revenue_to: date


@dataclass(frozen=True, slots=True)
class Activity:
    id: uuid.UUID
    name: str
    duration_minutes: int
    capacity: int
    currency: str
    adult_price: int
    child_price: int
    min_adults: int


@dataclass(frozen=True, slots=True)
class SessionSlot:
    """A scheduled session of an activity."""

    id: uuid.UUID
    activity_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    capacity: int
    reserved: int
    remaining: int
    status: str


@dataclass(frozen=True, slots=True)
class NewBooking:
    """A booking taken at the desk or on the phone."""

    session_id: uuid.UUID
    adult_count: int
    child_count: int
    email: str
    first_name: str
    last_name: str = ""
    phone: str | None = None
    special_requests: str = ""
    source: str = "admin"
    idempotency_key: str = field(default_factory=lambda: str(uuid.uuid4()))

    def body(self) -> dict[str, Any]:
        return {
            "session_id": str(self.session_id),
            "adult_count": self.adult_count,
            "child_count": self.child_count,
            "email": self.email.strip(),
            "first_name": self.first_name.strip(),
            "last_name": self.last_name.strip(),
            "phone": (self.phone or "").strip() or None,
            "special_requests": self.special_requests,
            "source": self.source,
        }


_ACTION_PATHS = {
    Action.CHECK_IN: "check-in",
    Action.UNDO_CHECK_IN: "undo-check-in",
    Action.NO_SHOW: "no-show",
    Action.COMPLETE: "complete",
    Action.CANCEL: "cancel",
}
# Applied to the cache at once and queued for the service (they work offline).
QUEUED_ACTIONS: dict[Action, str] = {
    Action.CHECK_IN: "check_in",
    Action.UNDO_CHECK_IN: "undo_check_in",
    Action.NO_SHOW: "no_show",
}
# A change made over the API is waited for in the cache this long at most.
READ_YOUR_WRITE_SECONDS = 5.0


class ActionRefused(ApiError):
    """The desk's own rules refuse an action (the same sentence the service would say)."""


def encode_cursor(row: dict[str, Any]) -> str:
    return f"{row['booking_date']}|{row['start_time']}|{row['id']}"


def decode_cursor(cursor: str) -> queries.Cursor:
    day, start, booking_id = cursor.split("|")
    return day, start, booking_id


def detail_from_cache(row: dict[str, Any], timezone: str) -> BookingDetail:
    """A cached booking as the detail panel shows it (the timeline and money movements
    are the service's: empty here)."""
    zone = row["timezone"] or timezone
    starts_at, ends_at = row["starts_at"], row["ends_at"]
    if not starts_at:
        tz = ZoneInfo(zone)
        day = date.fromisoformat(row["booking_date"])
        starts_at = datetime.combine(day, time.fromisoformat(row["start_time"]), tz).isoformat()
        ends_at = datetime.combine(day, time.fromisoformat(row["end_time"]), tz).isoformat()
    return BookingDetail.from_json(
        {**row, "timezone": zone, "starts_at": starts_at, "ends_at": ends_at,
         "events": [], "payments": [], "refunds": []}
    )  # fmt: skip


# What a local change sets on a booking; the rest of the service's detail stays.
_LOCAL_FIELDS = ("status", "checked_in_at", "guests_arrived", "notes")


class BookingsService:
    """Bookings use cases: lists, stats and the door from the cache; lifecycle actions
    queued through it; bookings taken, cancelled and completed over the API."""

    def __init__(self, client: ApiClient, sync: SyncEngine, identity: Identity) -> None:
        self._client = client
        self._sync = sync
        self._identity = identity

    async def page(
        self, filters: BookingFilter, cursor: str | None = None, limit: int = PAGE_SIZE
    ) -> BookingPage:
        """One page of bookings matching ``filters``, in date and time order."""
        query = queries.BookingQuery(
            date_from=filters.date_from,
            date_to=filters.date_to,
            statuses=tuple(s.value for s in filters.statuses),
            activity_id=str(filters.activity_id) if filters.activity_id else None,
            q=filters.q,
        )
        after = decode_cursor(cursor) if cursor else None
        rows = await self._sync.read(
            lambda conn: queries.bookings(conn, query, after=after, limit=limit + 1)
        )
        more = len(rows) > limit
        return BookingPage(
            items=[BookingRow.from_json(r) for r in rows[:limit]],
            next_cursor=encode_cursor(rows[limit - 1]) if more else None,
        )

    async def all(self, filters: BookingFilter) -> list[BookingRow]:
        """Every booking matching ``filters`` (for bounded ranges such as a week)."""
        rows: list[BookingRow] = []
        cursor: str | None = None
        while True:
            page = await self.page(filters, cursor, MAX_PAGE_SIZE)
            rows.extend(page.items)
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor

    async def rows(
        self, ids: Iterable[uuid.UUID | str], filters: BookingFilter | None = None
    ) -> list[BookingRow]:
        """The cached list rows of these bookings (only those matching ``filters``)."""
        f = filters or BookingFilter()
        query = queries.BookingQuery(
            date_from=f.date_from,
            date_to=f.date_to,
            statuses=tuple(s.value for s in f.statuses),
            activity_id=str(f.activity_id) if f.activity_id else None,
            q=f.q,
            ids=tuple(str(i) for i in ids),
        )
        found = await self._sync.read(
            lambda conn: queries.bookings(conn, query, limit=len(query.ids or ()) + 1)
        )
        return [BookingRow.from_json(r) for r in found]

    async def stats(self) -> BookingStats:
        """Today's and this week's bookings (real visits), and this week's revenue."""
        today = local_today(self._identity.timezone)
        week_start = today - timedelta(days=today.weekday())
        week_end = week_start + timedelta(days=6)
        live = tuple(s.value for s in COUNTED_STATUSES)

        def figures(conn: Connection) -> BookingStats:
            return BookingStats(
                today=queries.count_between(conn, today, today, live),
                this_week=queries.count_between(conn, week_start, week_end, live),
                revenue=queries.revenue_between(conn, week_start, week_end),
                currency=self._identity.currency,
                revenue_from=week_start,
                revenue_to=week_end,
            )

        return await self._sync.read(figures)

    async def cached(self, booking_id: uuid.UUID) -> BookingDetail | None:
        """The booking as this desk has it (with its local changes), if cached."""
        row = await self._sync.read(lambda conn: queries.booking(conn, str(booking_id)))
        return detail_from_cache(row, self._identity.timezone) if row else None

    async def get(self, booking_id: uuid.UUID) -> BookingDetail:
        """One booking with its timeline, payments and refunds (from the service when it
        answers, with this desk's unsent changes on top; else as cached)."""
        local = await self.cached(booking_id)
        if local is not None and self._sync.status.online is False:
            return local
        try:
            served = BookingDetail.from_json(await self._client.get(f"/bookings/{booking_id}"))
        except ServiceUnavailable:
            if local is None:
                raise
            return local
        if local is not None and await self._sync.read(
            lambda conn: (
                local_actions.booking_row(conn, str(booking_id), "booking_shadows") is not None
            )
        ):
            served = replace(served, **{f: getattr(local, f) for f in _LOCAL_FIELDS})
        return served

    async def activities(self) -> list[Activity]:
        """The organization's active activities."""
        return [
            Activity(
                id=uuid.UUID(a["id"]),
                name=a["name"],
                duration_minutes=a["duration_minutes"],
                capacity=a["capacity"],
                currency=a["currency"],
                adult_price=a["adult_price"],
                child_price=a["child_price"],
                min_adults=a["min_adults"],
            )
            for a in await self._sync.read(queries.activities)
        ]

    async def sessions(
        self, first: date, last: date, activity_id: uuid.UUID | None = None
    ) -> list[SessionSlot]:
        """Sessions starting on venue dates ``first`` to ``last`` inclusive."""
        timezone = self._identity.timezone
        rows = await self._sync.read(
            lambda conn: queries.sessions(
                conn, first, last, timezone, str(activity_id) if activity_id else None
            )
        )
        return [
            SessionSlot(
                id=uuid.UUID(s["id"]),
                activity_id=uuid.UUID(s["activity_id"]),
                starts_at=datetime.fromisoformat(s["starts_at"]),
                ends_at=datetime.fromisoformat(s["ends_at"]),
                capacity=s["capacity"],
                reserved=s["reserved"],
                remaining=s["capacity"] - s["reserved"],
                status=s["status"],
            )
            for s in rows
        ]

    async def _caught_up(self) -> None:
        # What this desk just did over the API shows in the lists at once.
        await self._sync.pull_now(READ_YOUR_WRITE_SECONDS)

    async def create(self, booking: NewBooking) -> BookingDetail:
        """Take a desk booking: seats reserved, confirmed, payment to be taken."""
        data = await self._client.post(
            "/bookings", booking.body(), idempotency_key=booking.idempotency_key
        )
        await self._caught_up()
        return BookingDetail.from_json(data)

    async def perform(
        self,
        action: Action,
        booking_id: uuid.UUID,
        *,
        override_unpaid: bool = False,
        guests_arrived: int | None = None,
    ) -> BookingDetail:
        """Move the booking through its lifecycle. Check-in, undo and no-show apply to the
        cache at once and are queued for the service (they work offline); the others need
        the service, which has the last word. Cancelling moves money: see MoneyService."""
        if action in QUEUED_ACTIONS:
            local = await self.cached(booking_id)
            if local is not None:
                return await self._queue(action, local, override_unpaid, guests_arrived)
        body: dict[str, Any] | None = None
        if action is Action.CHECK_IN:
            body = {"override_unpaid": override_unpaid, "guests_arrived": guests_arrived}
        data = await self._client.post(
            f"/bookings/{booking_id}/{_ACTION_PATHS[action]}",
            body,
            idempotency_key=str(uuid.uuid4()),
        )
        await self._caught_up()
        return BookingDetail.from_json(data)

    async def _queue(
        self,
        action: Action,
        booking: BookingDetail,
        override_unpaid: bool,
        guests_arrived: int | None,
    ) -> BookingDetail:
        # Imported here: booking_actions builds on this module's BookingRow.
        from app.services.booking_actions import action_state

        identity, now = self._identity, datetime.now(UTC)
        state = action_state(action, booking, identity.role, identity.timezone, now)
        if not state.enabled:
            raise ActionRefused(state.reason, code="refused")
        if action is Action.CHECK_IN:
            answer = decide(
                BookingAtDoor(
                    booking_number=booking.booking_number,
                    status=booking.status,
                    booking_date=booking.booking_date,
                    balance_due=booking.balance_due,
                    currency=booking.currency,
                ),
                local_today(booking.timezone, now),
                booking.timezone,
                override_unpaid=override_unpaid,
            )
            if answer.result is not CheckInResult.OK:
                raise ActionRefused(answer.message, code=answer.result.value)
        return await self.queue_action(
            QUEUED_ACTIONS[action],
            booking.id,
            happened_at=now,
            guests_arrived=guests_arrived if action is Action.CHECK_IN else None,
            override_unpaid=override_unpaid,
        )

    async def queue_action(
        self, kind: str, booking_id: uuid.UUID, happened_at: datetime | None = None, **fields: Any
    ) -> BookingDetail:
        """Apply a desk action of ``kind`` to the cache at once and queue it for the service,
        as the work of whoever is signed in; the booking as it now reads here."""
        try:
            await self._sync.queue(
                local_actions.DeskAction(
                    kind=kind,
                    booking_id=str(booking_id),
                    happened_at=happened_at or datetime.now(UTC),
                    staff_name=self._identity.name,
                    staff_id=str(self._identity.user_id),
                    **fields,
                )
            )
        except ValueError as exc:  # the cache changed in between
            raise ActionRefused(str(exc), code="refused") from exc
        updated = await self.cached(booking_id)
        assert updated is not None
        return updated

    async def add_note(self, booking_id: uuid.UUID, note: str) -> BookingDetail:
        """Append a note to the booking (at once here; queued for the service)."""
        text = note.strip()
        if not 1 <= len(text) <= MAX_NOTE:
            raise ActionRefused(f"A note has 1 to {MAX_NOTE:,} characters.", code="invalid")
        return await self.queue_action("note", booking_id, note=text)
