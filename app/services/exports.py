"""Exporting the bookings of the current filter to CSV, page by page, with progress."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Callable
from pathlib import Path
from typing import IO

from app.domain.lifecycle import STATUS_RULES
from app.domain.money import exponent
from app.services.bookings import MAX_PAGE_SIZE, BookingFilter, BookingRow, BookingsService

COLUMNS = (
    "booking_number",
    "status",
    "payment_status",
    "date",
    "start",
    "end",
    "activity",
    "customer",
    "email",
    "phone",
    "party_size",
    "adults",
    "children",
    "guests_arrived",
    "currency",
    "total",
    "paid",
    "refunded",
    "balance_due",
    "source",
    "created_at",
)

Progress = Callable[[int], None]


def decimal_amount(minor: int, currency: str) -> str:
    """``4050, "USD"`` → ``"40.50"``: exact, without a symbol, for spreadsheets."""
    places = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**places)
    return f"{sign}{whole}" + (f".{frac:0{places}d}" if places else "")


def csv_row(b: BookingRow) -> list[str | int]:
    """One booking as a CSV line, in :data:`COLUMNS` order."""
    money = (b.total_amount, b.amount_paid, b.refunded_amount, b.balance_due)
    return [
        b.booking_number,
        STATUS_RULES[b.status].label,
        b.payment_status.value,
        b.booking_date.isoformat(),
        b.start_time.strftime("%H:%M"),
        b.end_time.strftime("%H:%M"),
        b.activity_name,
        b.customer_name,
        b.customer_email or "",
        b.customer_phone or "",
        b.party_size,
        b.adult_count,
        b.child_count,
        b.guests_arrived,
        b.currency,
        *(decimal_amount(m, b.currency) for m in money),
        b.source,
        b.created_at.isoformat(),
    ]


def _write(out: IO[str], rows: list[list[str | int]]) -> None:
    csv.writer(out).writerows(rows)


async def export_bookings(
    bookings: BookingsService,
    filters: BookingFilter,
    path: Path,
    progress: Progress | None = None,
) -> int:
    """Write every booking matching ``filters`` to ``path``; returns how many.

    The file appears only when complete: a failed or cancelled export leaves nothing
    half-written behind.
    """
    partial = path.with_name(path.name + ".part")
    out = await asyncio.to_thread(partial.open, "w", newline="", encoding="utf-8")
    written = 0
    try:
        await asyncio.to_thread(_write, out, [list(COLUMNS)])
        cursor: str | None = None
        while True:
            page = await bookings.page(filters, cursor, MAX_PAGE_SIZE)
            await asyncio.to_thread(_write, out, [csv_row(b) for b in page.items])
            written += len(page.items)
            if progress:
                progress(written)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        await asyncio.to_thread(out.close)
        await asyncio.to_thread(partial.replace, path)
    except BaseException:
        out.close()
        partial.unlink(missing_ok=True)
        raise
    return written
