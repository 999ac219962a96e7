"""A venue's months planned in memory: who booked which session, and what became of it.

Every decision comes from one seeded random generator, so the same seed and the same "now"
give the same data (database ids are the only random part). Customers come in cohorts
whose visits fall in the windows of the segment rules (VIPs in each of the last three
30-day windows, at-risk customers 60–89 days ago, …); their figures and segment are then
computed by :func:`app.domain.segmentation.analyse` from the bookings as written, exactly
as ``refresh_analytics`` computes them.
"""

from __future__ import annotations

import unicodedata
import uuid
from bisect import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from random import Random
from secrets import token_hex
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from app.domain.booking_numbers import ALPHABET
from app.domain.lifecycle import STATUS_RULES, BookingStatus, PaymentStatus
from app.domain.money import Money, format_amount
from app.domain.segmentation import BookingFact, analyse
from app.server.bookings.events import Actor
from app.server.seed_demo.vocabulary import (
    AREA_CODES,
    CANCEL_REASONS,
    CUSTOMER_NOTES,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    GOODWILL_REASON,
    LAST_NAMES,
    SPECIAL_REQUESTS,
)

S, P = BookingStatus, PaymentStatus
HOLD = timedelta(minutes=10)
# Share of the window's seats that visits may take before the venue needs more rooms.
TARGET_FILL = 0.72
MEAN_PARTY = 3.35  # of the draws below
LOST_SHARE = 0.25  # bookings that never became a visit: cancelled, expired, failed, pending
PARTS = 2  # rows are written by this many transactions at once
TABLES = ("customers", "bookings", "payments", "refunds", "booking_events")
STRIPE, SYSTEM = Actor("stripe", None, "Stripe"), Actor("system", None, "System")
OPEN = 10**6  # an open end of a band
WEEKDAY_WEIGHTS = (0.7, 0.75, 0.8, 0.9, 1.25, 1.45, 1.1)

Rows = dict[str, list[dict[str, Any]]]
# (first day, last day, booked no earlier than day), relative to today
Band = tuple[int, int, int | None]
WHOLE: Band = (-OPEN, OPEN, None)
# cohort: share of customers, visits (min, max), the bands of the first visits
COHORTS: dict[str, tuple[float, tuple[int, int], tuple[Band, ...]]] = {
    "vip": (0.10, (3, 3), ((-29, 0, None), (-59, -30, None), (-89, -60, None))),
    "churned": (0.08, (1, 2), ((-OPEN, -90, None),)),
    "at_risk": (0.12, (1, 3), ((-89, -60, None),)),
    "one_time": (0.07, (1, 1), ((-59, -30, -59),)),
    "new": (0.15, (1, 1), ((-25, OPEN, -29),)),
    "active": (0.33, (2, 4), ((-59, OPEN, -59),)),
}

T = TypeVar("T")


class _Draw(Generic[T]):
    """A weighted choice by bisection: several times cheaper than ``Random.choices``."""

    def __init__(self, values: Iterable[T], weights: Iterable[float]) -> None:
        self.values, self.cum = tuple(values), list(accumulate(weights))

    def __call__(self, rng: Random) -> T:
        return self.values[bisect(self.cum, rng.random() * self.cum[-1])]


ADULTS = _Draw(range(1, 7), (5, 36, 24, 20, 9, 6))
CHILDREN = _Draw(range(4), (340, 30, 21, 9))
LEAD_DAYS = _Draw((0, 1, 2, 3, 5, 7, 10, 14, 21), (14, 16, 14, 12, 12, 11, 9, 7, 5))


@dataclass(frozen=True, slots=True)
class ActivityFacts:
    """What a booking needs from its activity."""

    id: uuid.UUID
    venue_id: uuid.UUID
    zone: ZoneInfo
    currency: str
    adult_price: int
    child_price: int


@dataclass(slots=True)
class Slot:
    """A session of the window, with the seats the plan has used."""

    id: uuid.UUID
    activity: ActivityFacts
    starts_at: datetime
    ends_at: datetime
    day: int  # local date minus today
    capacity: int
    reserved: int  # before the seed
    room: int  # seats not taken by a planned visit or hold
    held: int = 0  # seats held by the bookings' final statuses


@dataclass(slots=True)
class _Person:
    id: uuid.UUID
    part: int
    first_name: str
    last_name: str
    email: str
    phone: str | None
    cohort: str
    visits: int = 0
    facts: list[BookingFact] = field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    first_source: str | None = None


@dataclass(slots=True)
class _Plan:
    person: _Person
    slot: Slot
    adults: int
    children: int
    status: BookingStatus
    booked_from: datetime | None = None


class Planner:
    """Decides every customer and booking, then writes them as rows, split in parts."""

    def __init__(
        self,
        rng: Random,
        org_id: uuid.UUID,
        now: datetime,
        today: date,
        zone: ZoneInfo,
        slots: Sequence[Slot],
        staff: Sequence[Actor],
        window: tuple[int, int],
        promos: Sequence[tuple[str, str, int]],
        taken_emails: set[str],
    ) -> None:
        self.rng, self.org_id, self.now, self.today, self.zone = rng, org_id, now, today, zone
        self.slots, self.staff, self.promos, self.taken = slots, staff, promos, taken_emails
        self.first_day, self.last_day = -window[0], window[1] - 1
        self.by_day: dict[int, list[Slot]] = {}
        for slot in slots:
            self.by_day.setdefault(slot.day, []).append(slot)
        self.bands: dict[tuple[int, int], tuple[list[int], _Draw[int]]] = {}
        self.numbers: set[str] = set()
        self.people: list[_Person] = []
        self.plans: list[_Plan] = []
        self.promo_uses: Counter[str] = Counter()
        self.parts: list[Rows] = [{t: [] for t in TABLES} for _ in range(PARTS)]

    def run(self, customers: int, bookings: int) -> None:
        """Plan ``customers`` and ``bookings`` and fill :attr:`parts` with their rows."""
        visits = round(bookings * (1 - LOST_SHARE))
        cohorts = self._cohorts(customers, visits)
        self.people = [self._person(i, cohort) for i, cohort in enumerate(cohorts)]
        missed = self._plan_visits(visits)
        self._plan_lost(bookings - len(self.plans), missed)
        self._early_arrivals()
        for plan in self.plans:
            self._book(plan)
        for person in self.people:
            self._customer(person)

    def promo_codes(self, currency: str) -> list[dict[str, Any]]:
        """Rows of the promo codes the bookings used, with their use counts."""
        return [
            {"id": uuid.uuid4(), "organization_id": self.org_id, "code": code, "kind": kind,
             "value": value, "currency": None if kind == "percent" else currency,
             "valid_from": self._midnight(self.first_day), "valid_until": None,
             "usage_limit": None, "times_used": self.promo_uses[code], "active": True,
             "created_at": self._midnight(self.first_day)}
            for code, kind, value in self.promos if self.promo_uses[code]
        ]  # fmt: skip

    # --- placing bookings in sessions -------------------------------------------------

    def _clamp(self, band: Band) -> tuple[int, int]:
        return max(band[0], self.first_day), min(band[1], self.last_day)

    def _band(self, band: Band) -> tuple[list[int], _Draw[int]]:
        """The band's days that have sessions, and a draw of one (busier at weekends)."""
        key = self._clamp(band)
        if key not in self.bands:
            days = [d for d in range(key[0], key[1] + 1) if d in self.by_day]
            weights = []
            for d in days:
                w = WEEKDAY_WEIGHTS[(self.today + timedelta(days=d)).weekday()]
                weights.append(w * max(0.3, 1 - d / 40) if d > 0 else w)  # fewer far ahead
            self.bands[key] = days, _Draw(days, weights)
        return self.bands[key]

    def _any_slot(self, band: Band = WHOLE) -> Slot:
        slots = self.by_day[self._band(band)[1](self.rng)]
        return slots[int(self.rng.random() * len(slots))]

    def _pick(self, band: Band, party: int, after: datetime | None = None) -> Slot | None:
        """A session of the band with room for ``party`` (or the roomiest, if none has)."""
        days = self._band(band)[0]
        if not days:
            return None
        for _ in range(12):
            slot = self._any_slot(band)
            if slot.room >= party and (after is None or slot.starts_at > after):
                return slot
        # Nearly full: walk the band from a random day to the first session that fits.
        start = int(self.rng.random() * len(days))
        roomiest = None
        for day in days[start:] + days[:start]:
            for slot in self.by_day[day]:
                if not slot.room or (after is not None and slot.starts_at <= after):
                    continue
                if slot.room >= party:
                    return slot
                if roomiest is None or slot.room > roomiest.room:
                    roomiest = slot
        return roomiest

    def _party(self, limit: int) -> tuple[int, int]:
        adults = min(ADULTS(self.rng), limit)
        return adults, min(CHILDREN(self.rng), limit - adults)

    def _take(self, person: _Person, band: Band, status: BookingStatus | None) -> bool:
        """Place a booking that occupies seats (a visit when ``status`` is None)."""
        adults, children = self._party(9)
        after = self.now + timedelta(minutes=20) if status is S.PENDING_PAYMENT else None
        slot = self._pick(band, adults + children, after)
        if slot is None:
            return False
        adults = min(adults, slot.room)
        children = min(children, slot.room - adults)
        slot.room -= adults + children
        booked_from = None if band[2] is None else self._midnight(band[2])
        status = status or self._visit_status(slot)
        self.plans.append(_Plan(person, slot, adults, children, status, booked_from))
        return True

    def _visit_status(self, slot: Slot) -> BookingStatus:
        if slot.ends_at + timedelta(minutes=45) <= self.now:
            r = self.rng.random()
            if slot.day == 0 and r < 0.3:
                return S.CHECKED_IN  # today's games are closed at the end of the day
            return S.NO_SHOW if r > 0.93 else S.COMPLETED
        if slot.starts_at - timedelta(minutes=45) <= self.now:
            return S.CHECKED_IN if self.rng.random() < 0.85 else S.CONFIRMED
        return S.CONFIRMED

    # --- who books what ---------------------------------------------------------------

    def _cohorts(self, customers: int, visits: int) -> list[str]:
        """Each customer's cohort: by share, within what the cohort's band can seat."""
        counts = {}
        for name, (share, (least, _), bands) in COHORTS.items():
            days = self._band(bands[0])[0]
            seats = sum(s.room for d in days for s in self.by_day[d])
            # At most half of what the band seats, leaving room for the others' visits.
            room = int(seats * TARGET_FILL / MEAN_PARTY / 2 / least)
            counts[name] = min(round(customers * share), room)
        need = sum(counts[n] * COHORTS[n][1][0] for n in counts)
        if need > visits:
            counts = {n: int(c * visits / need) for n, c in counts.items()}
        while sum(counts.values()) > customers:
            counts["active"] -= 1
        names = [n for n, c in counts.items() for _ in range(c)]
        # The idle ones have no visit: imported, or only ever abandoned a checkout.
        return names + ["idle"] * (customers - len(names))

    def _plan_visits(self, budget: int) -> list[_Person]:
        """Each cohort's visits in its bands, the rest to the VIPs; returns who missed one."""
        for p in self.people:
            if p.cohort in COHORTS:
                least, most = COHORTS[p.cohort][1]
                p.visits = min(_between(self.rng, least, most), budget)
                budget -= p.visits
        regulars = [p for p in self.people if p.cohort == "vip"] or [
            p for p in self.people if p.cohort != "idle"
        ]
        if regulars and budget > 0:
            # A few regulars (team-building accounts) book far more than the others.
            draw = _Draw(regulars, (self.rng.paretovariate(1.3) for _ in regulars))
            for _ in range(budget):
                draw(self.rng).visits += 1
        requests = []
        for p in self.people:
            if p.cohort != "idle":
                bands = COHORTS[p.cohort][2]
                extra = WHOLE if p.cohort == "vip" else bands[0]
                requests += [(p, bands[i] if i < len(bands) else extra) for i in range(p.visits)]
        # Two regulars play today, so that even a small seed has arrivals at the desk.
        today = [i for i, (p, _) in enumerate(requests) if p.cohort == "active"][:2]
        for i in today:
            requests[i] = (requests[i][0], (0, 0, COHORTS["active"][2][0][2]))
        # Narrow bands first, so that the broad ones fill in around them.
        requests.sort(key=lambda r: min(r[1][1], OPEN) - max(r[1][0], -OPEN))
        return [p for p, band in requests if not self._take(p, band, None)]

    def _plan_lost(self, count: int, owners: list[_Person]) -> None:
        """Bookings that never became a visit: expired, failed, cancelled, still pending."""
        statuses = [S.PENDING_PAYMENT] * max(2, round(count * 0.03))
        statuses += [S.EXPIRED] * round(count * 0.36) + [S.PAYMENT_FAILED] * round(count * 0.13)
        statuses = (statuses + [S.CANCELLED] * count)[:count]
        anyone = _Draw(self.people, ({"idle": 3.0, "vip": 2.0}.get(p.cohort, 1.0)
                                     for p in self.people))  # fmt: skip
        for status in statuses:
            person = owners.pop() if owners else anyone(self.rng)
            if status is S.PENDING_PAYMENT:
                if self._take(person, (0, 14, None), status):
                    continue
                status = S.EXPIRED
            slot = self._any_slot()
            self.plans.append(_Plan(person, slot, *self._party(slot.capacity), status))

    def _early_arrivals(self) -> None:
        """Make sure someone is checked in today, unless the day has only just begun.

        Before the first game a party has come early; after the last, a game is not closed.
        """
        if any(p.status is S.CHECKED_IN for p in self.plans):
            return
        if self.now - self._midnight(0) < timedelta(minutes=30):
            return
        late_or_early = (S.CONFIRMED, S.COMPLETED)
        today = [p for p in self.plans if p.slot.day == 0 and p.status in late_or_early]
        for plan in sorted(today, key=lambda p: abs(p.slot.starts_at - self.now))[:2]:
            plan.status = S.CHECKED_IN

    def _person(self, index: int, cohort: str) -> _Person:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        base, domain, n = f"{_ascii(first)}.{_ascii(last)}", rng.choice(EMAIL_DOMAINS), 1
        email = f"{base}@{domain}"
        while email in self.taken:
            n += 1
            email = f"{base}{n}@{domain}"
        self.taken.add(email)
        phone = None
        if rng.random() < 0.92:
            phone = f"+1{rng.choice(AREA_CODES)}555{_between(rng, 100, 199):04d}"
        return _Person(uuid.uuid4(), index % PARTS, first, last, email, phone, cohort)

    # --- rows -------------------------------------------------------------------------

    def _midnight(self, day: int) -> datetime:
        local = datetime.combine(self.today + timedelta(days=day), time(0), self.zone)
        return local.astimezone(UTC)

    def _number(self) -> str:
        while True:
            code = "".join(self.rng.choices(ALPHABET, k=10))
            number = f"BK-{code[:6]}-{code[6:]}"
            if number not in self.numbers:
                self.numbers.add(number)
                return number

    def _source(self, status: BookingStatus) -> str:
        if status in (S.PENDING_PAYMENT, S.EXPIRED, S.PAYMENT_FAILED):
            return "widget"
        r = self.rng.random()
        if r < 0.08 and status in (S.CHECKED_IN, S.COMPLETED):
            return "walk_in"
        return "widget" if r < 0.68 else "phone" if r < 0.85 else "admin"

    def _created(self, plan: _Plan, source: str) -> datetime:
        """When the booking was made: ahead of the game, never after it or after now."""
        rng, start = self.rng, plan.slot.starts_at
        if plan.status is S.PENDING_PAYMENT:
            return self.now - timedelta(seconds=_between(rng, 30, 540))
        if source == "walk_in":
            walk_in = start - timedelta(minutes=_between(rng, 5, 30))
            return min(walk_in, self.now - timedelta(minutes=1))
        at = start - timedelta(days=LEAD_DAYS(rng), seconds=_between(rng, 3600, 86_400))
        if plan.booked_from is not None:
            at = max(at, plan.booked_from)
        return min(at, min(start, self.now) - timedelta(minutes=15))

    def _discount(self, currency: str, subtotal: int, source: str) -> tuple[str | None, int]:
        if not self.promos or self.rng.random() > (0.12 if source == "widget" else 0.03):
            return None, 0
        code, kind, value = self.rng.choice(self.promos)
        if kind == "percent":
            return code, Money(subtotal, currency).percent(value).amount
        return code, min(value, subtotal)

    def _event(
        self,
        out: Rows,
        booking_id: uuid.UUID,
        at: datetime,
        kind: str,
        actor: Actor,
        before: BookingStatus | None = None,
        after: BookingStatus | None = None,
        message: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        out["booking_events"].append(
            {"organization_id": self.org_id, "booking_id": booking_id, "at": at, "kind": kind,
             "actor_type": actor.type, "actor_id": actor.id, "actor_name": actor.name,
             "from_status": before.value if before else None,
             "to_status": after.value if after else None, "message": message,
             "data": data or {}}
        )  # fmt: skip

    def _payment(
        self, out: Rows, booking_id: uuid.UUID, amount: int, currency: str, at: datetime,
        by: Actor | None = None, method: str = "card", ok: bool = True,
    ) -> dict[str, Any]:  # fmt: skip
        """A Stripe payment (``by`` None) or one taken at the desk by ``by``."""
        stripe = by is None
        row = {
            "id": uuid.uuid4(), "organization_id": self.org_id, "booking_id": booking_id,
            "provider": "stripe" if stripe else "desk", "method": method,
            "status": "succeeded" if ok else "failed", "amount": amount, "refunded_amount": 0,
            "currency": currency,
            "stripe_payment_intent_id": f"pi_{token_hex(12)}" if stripe else None,
            "stripe_charge_id": f"ch_{token_hex(12)}" if stripe and ok else None,
            "application_fee_amount": None, "received_by": by.id if by else None,
            "created_at": at, "updated_at": at,
        }  # fmt: skip
        out["payments"].append(row)
        return row

    def _paid_at_desk(
        self, out: Rows, booking_id: uuid.UUID, amount: int, currency: str, at: datetime,
        by: Actor, method: str,
    ) -> dict[str, Any]:  # fmt: skip
        """A payment taken at the desk, with its line in the timeline."""
        payment = self._payment(out, booking_id, amount, currency, at, by, method)
        money = format_amount(amount, currency)
        self._event(
            out, booking_id, at, "payment", by, message=f"Paid {money} at the desk ({method})."
        )
        return payment

    def _refund(
        self, out: Rows, payment: dict[str, Any], amount: int, at: datetime, by: Actor, reason: str
    ) -> None:
        payment["refunded_amount"] += amount
        payment["updated_at"] = at
        stripe = payment["provider"] == "stripe"
        out["refunds"].append(
            {"id": uuid.uuid4(), "organization_id": self.org_id,
             "booking_id": payment["booking_id"], "payment_id": payment["id"],
             "provider": payment["provider"], "origin": "desk",
             "method": None if stripe else payment["method"], "status": "succeeded",
             "amount": amount, "currency": payment["currency"], "reason": reason,
             "stripe_refund_id": f"re_{token_hex(12)}" if stripe else None,
             "idempotency_key": None, "created_by": by.id, "created_at": at, "updated_at": at}
        )  # fmt: skip
        money = format_amount(amount, payment["currency"])
        self._event(out, payment["booking_id"], at, "refund", by,
                    message=f"Refunded {money}: {reason}", data={"amount": amount})  # fmt: skip

    def _book(self, plan: _Plan) -> None:
        """The booking row of a plan, with its timeline, payments and refunds."""
        rng, now, slot, person, status = self.rng, self.now, plan.slot, plan.person, plan.status
        out, act, bid = self.parts[person.part], slot.activity, uuid.uuid4()
        staff = self.staff[int(rng.random() * len(self.staff))]
        party, cur = plan.adults + plan.children, act.currency
        subtotal = plan.adults * act.adult_price + plan.children * act.child_price
        source = self._source(status)
        code, discount = self._discount(cur, subtotal, source)
        total = subtotal - discount
        events = len(out["booking_events"])
        created = self._created(plan, source)
        payment: dict[str, Any] | None = None
        confirmed_at = checkout = expires_at = None
        state = S.PENDING_PAYMENT

        if source == "widget":
            checkout = f"cs_{token_hex(16)}"
            self._event(out, bid, created, "created", Actor("customer", None, _name(person)),
                        None, state, f"Checkout started online for {party}.")  # fmt: skip
            if status in (S.PENDING_PAYMENT, S.EXPIRED):
                expires_at = created + HOLD
                if status is S.EXPIRED:
                    at = expires_at + timedelta(seconds=_between(rng, 5, 60))
                    message = "Not paid within 10 minutes; the seats were released."
                    self._event(out, bid, at, "expired", SYSTEM, state, status, message)
            elif status is S.PAYMENT_FAILED:
                at = created + timedelta(seconds=_between(rng, 60, 360))
                if total:
                    self._payment(out, bid, total, cur, at, ok=False)
                self._event(out, bid, at, "payment_failed", STRIPE, state, status,
                            "The card was declined.")  # fmt: skip
            elif status is not S.CANCELLED or rng.random() > 0.15:
                confirmed_at = created + timedelta(seconds=_between(rng, 60, 480))
                if total:
                    payment = self._payment(out, bid, total, cur, confirmed_at)
                self._event(out, bid, confirmed_at, "payment", STRIPE, state, S.CONFIRMED,
                            f"Paid {format_amount(total, cur)} by card.")  # fmt: skip
                state = S.CONFIRMED
        else:
            state, confirmed_at = S.CONFIRMED, created
            self._event(out, bid, created, "created", staff, None, state,
                        f"Booked at the desk for {party} ({plan.adults} adults, "
                        f"{plan.children} children).")  # fmt: skip
            if total and rng.random() < {"walk_in": 1.0, "admin": 0.5, "phone": 0.3}[source]:
                method = "card" if source == "phone" else rng.choice(("cash", "card_terminal"))
                payment = self._paid_at_desk(out, bid, total, cur, created, staff, method)

        arrived, checked_in_at, cancelled_at, reason = 0, None, None, None
        if status in (S.CHECKED_IN, S.COMPLETED):
            assert confirmed_at is not None
            lo = max(confirmed_at + timedelta(minutes=1), self._midnight(slot.day))
            at = slot.starts_at - timedelta(minutes=_between(rng, 0, 25))
            at = max(lo, min(at, now - timedelta(minutes=_between(rng, 1, 10))))
            if payment is None and total:
                method = rng.choice(("cash", "card_terminal"))
                payment = self._paid_at_desk(out, bid, total, cur, at, staff, method)
            arrived = party
            if status is S.CHECKED_IN and party > 1 and rng.random() < 0.15:
                arrived = _between(rng, 1, party - 1)  # the rest of the party is on its way
            self._event(out, bid, at, "check_in", staff, S.CONFIRMED, S.CHECKED_IN,
                        data={"guests_arrived": arrived})  # fmt: skip
            checked_in_at = at
            if status is S.COMPLETED:
                done = slot.ends_at + timedelta(minutes=_between(rng, 2, 40))
                self._event(out, bid, done, "complete", staff, S.CHECKED_IN, status)
                later = done + timedelta(hours=_between(rng, 1, 48))
                if payment and total >= 500 and later < now and rng.random() < 0.04:
                    self._refund(out, payment, total // 500 * 100, later, staff, GOODWILL_REASON)
        elif status is S.NO_SHOW:
            at = slot.starts_at + timedelta(minutes=_between(rng, 15, 50))
            self._event(out, bid, at, "no_show", staff, S.CONFIRMED, status,
                        "The party did not come.")  # fmt: skip
        elif status is S.CANCELLED:
            since = confirmed_at or created
            cancelled_at = since + (min(slot.starts_at, now) - since) * rng.uniform(0.1, 0.9)
            reason = rng.choice(CANCEL_REASONS)
            self._event(out, bid, cancelled_at, "cancel", staff, state, status, reason)
            if payment:
                # Late cancellations keep half, by policy. Money kept counts as spent, so only
                # customers whose segment does not hang on their spending keep any.
                keep = rng.random() < 0.25 and person.cohort in ("vip", "at_risk", "churned")
                at = cancelled_at + timedelta(seconds=_between(rng, 5, 120))
                self._refund(out, payment, total - total // 2 if keep else total, at, staff,
                             reason)  # fmt: skip

        paid = payment["amount"] if payment else 0
        refunded = payment["refunded_amount"] if payment else 0
        local_start = slot.starts_at.astimezone(act.zone)
        timeline = out["booking_events"][events:]
        if code and status not in (S.EXPIRED, S.PAYMENT_FAILED):
            self.promo_uses[code] += 1
        if STATUS_RULES[status].holds_capacity:
            slot.held += party
        out["bookings"].append(
            {"id": bid, "organization_id": self.org_id, "booking_number": self._number(),
             "venue_id": act.venue_id, "activity_id": act.id, "customer_id": person.id,
             "session_id": slot.id, "booking_date": local_start.date(),
             "start_time": local_start.time(),
             "end_time": slot.ends_at.astimezone(act.zone).time(), "party_size": party,
             "adult_count": plan.adults, "child_count": plan.children,
             "guests_arrived": arrived, "currency": cur, "adult_unit_amount": act.adult_price,
             "child_unit_amount": act.child_price, "subtotal_amount": subtotal,
             "discount_amount": discount, "total_amount": total, "amount_paid": paid,
             "refunded_amount": refunded, "status": status.value,
             "payment_status": _payment_status(status, total, paid, refunded).value,
             "source": source, "promo_code": code,
             "special_requests": rng.choice(SPECIAL_REQUESTS) if rng.random() < 0.1 else "",
             "notes": "",
             "stripe_payment_intent_id": payment and payment["stripe_payment_intent_id"],
             "stripe_checkout_session_id": checkout, "expires_at": expires_at,
             "confirmed_at": confirmed_at, "checked_in_at": checked_in_at,
             "checked_in_by": staff.id if checked_in_at else None,
             "cancelled_at": cancelled_at, "cancelled_by": staff.id if cancelled_at else None,
             "cancel_reason": reason, "attention_reason": None,
             "created_by": None if source == "widget" else staff.id,
             "version": len(timeline), "created_at": created,
             "updated_at": max(e["at"] for e in timeline)}
        )  # fmt: skip
        booked_on = created.astimezone(self.zone).date()
        person.facts.append(BookingFact(booked_on, local_start.date(), paid - refunded, status))
        if person.first_seen is None or created < person.first_seen:
            person.first_seen, person.first_source = created, source
        person.last_seen = max(person.last_seen or created, timeline[-1]["at"])

    def _customer(self, p: _Person) -> None:
        """The customer row, its figures and segment computed by the segmentation rules."""
        rng = self.rng
        figures = analyse(p.facts, self.today)
        if p.first_seen is not None:
            created = p.first_seen - timedelta(seconds=_between(rng, 0, 90))
            via = {"widget": "booking_widget", "walk_in": "walk_in"}.get(p.first_source or "")
        else:
            created = self.now - timedelta(seconds=_between(rng, 86_400, 180 * 86_400))
            via = rng.choice(("import", "admin"))
        r = rng.random()
        self.parts[p.part]["customers"].append(
            {"id": p.id, "organization_id": self.org_id, "first_name": p.first_name,
             "last_name": p.last_name, "email": p.email, "phone": p.phone,
             "sms_opt_in": p.phone is not None and rng.random() < 0.3,
             "stripe_customer_id": None, "total_bookings": figures.total_bookings,
             "total_spent": figures.total_spent,
             "average_booking_value": figures.average_booking_value,
             "lifetime_value": figures.lifetime_value, "segment": figures.segment.value,
             "first_booking_date": figures.first_booking_date,
             "last_booking_date": figures.last_booking_date,
             "last_activity_date": figures.last_activity_date, "created_via": via or "admin",
             "status": "blocked" if r < 0.005 else "inactive" if r < 0.025 else "active",
             "notes": rng.choice(CUSTOMER_NOTES) if rng.random() < 0.15 else "",
             "metadata": {"marketing_opt_in": rng.random() < 0.4}, "merged_into_id": None,
             "created_at": created, "updated_at": max(created, p.last_seen or created)}
        )  # fmt: skip


def _between(rng: Random, lo: int, hi: int) -> int:
    """A whole number in [lo, hi]: ``Random.randint`` costs several times as much."""
    return lo + int(rng.random() * (hi - lo + 1))


def _name(person: _Person) -> str:
    return f"{person.first_name} {person.last_name}"


def _payment_status(status: BookingStatus, total: int, paid: int, refunded: int) -> PaymentStatus:
    if status is S.PAYMENT_FAILED:
        return P.FAILED
    if not paid:
        free = total == 0 and status not in (S.PENDING_PAYMENT, S.EXPIRED)
        return P.PAID if free else P.UNPAID
    if not refunded:
        return P.PAID
    return P.REFUNDED if refunded == paid else P.PARTIALLY_REFUNDED


def _ascii(name: str) -> str:
    """A name as part of an e-mail address: "Zoë" → "zoe", "O'Brien" → "obrien"."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum() or c == "-")
