"""``/customers``: list with stats, detail with history, edits, merge."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lifecycle import local_today
from app.server.bookings import repository as bookings_repository
from app.server.bookings.router import _read
from app.server.bookings.schemas import BookingRead
from app.server.core.deps import DbDep, ManagerUser, StaffUser
from app.server.core.errors import Invalid, NotFound
from app.server.customers import repository, service
from app.server.customers.repository import CustomerSort
from app.server.customers.schemas import (
    CustomerDetail,
    CustomerMerge,
    CustomerPage,
    CustomerRead,
    CustomerUpdate,
)
from app.server.db.models import Customer
from app.server.sessions.repository import organization_timezone

router = APIRouter(prefix="/customers", tags=["customers"])

Segment = Annotated[str | None, Query(pattern="^(new|active|vip|at_risk|churned)$")]
Status = Annotated[str | None, Query(pattern="^(active|inactive|blocked)$")]


@router.get("")
async def list_customers(
    principal: StaffUser,
    db: DbDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    segment: Segment = None,
    status: Status = None,
    sort: CustomerSort = "name",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> CustomerPage:
    """Customers matching search and filters, with the count of every segment."""
    async with db.tenant(principal.organization_id) as session:
        rows, total = await repository.search(
            session, q=q, segment=segment, status=status, sort=sort, limit=limit, offset=offset
        )
        segments = await repository.segment_counts(session)
    return CustomerPage(
        items=[CustomerRead.model_validate(c) for c in rows], total=total, segments=segments
    )


async def _detail(session: AsyncSession, customer: Customer) -> CustomerDetail:
    await session.flush()
    await session.refresh(customer)  # triggers set updated_at; read what the database holds
    page = await bookings_repository.list_page(
        session,
        bookings_repository.BookingFilter(customer_id=customer.id),
        after=None,
        limit=1000,
    )
    history = [
        BookingRead.model_validate(
            _read(row[0], (row.first_name, row.last_name, row.email, row.phone), row.activity_name)
        )
        for row in reversed(page)
    ]
    return CustomerDetail.model_validate(
        {
            **CustomerRead.model_validate(customer).model_dump(by_alias=False),
            "metadata_": customer.metadata_,
            "bookings": history,
        }
    )


@router.get("/{customer_id}")
async def get_customer(customer_id: uuid.UUID, principal: StaffUser, db: DbDep) -> CustomerDetail:
    """One customer with their booking history, newest first."""
    async with db.tenant(principal.organization_id) as session:
        customer = await repository.get(session, customer_id)
        if customer is None:
            raise NotFound("No such customer.")
        return await _detail(session, customer)


@router.patch("/{customer_id}")
async def update_customer(
    customer_id: uuid.UUID, body: CustomerUpdate, principal: StaffUser, db: DbDep
) -> CustomerDetail:
    """Edit contact details, notes or status."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise Invalid("Nothing to change.")
    for required in ("first_name", "email"):
        if required in changes and changes[required] is None:
            raise Invalid(f"{required} cannot be empty.")
    async with db.tenant(principal.organization_id) as session:
        customer = await service.update_customer(session, customer_id, changes)
        return await _detail(session, customer)


@router.post("/merge")
async def merge_customers(body: CustomerMerge, principal: ManagerUser, db: DbDep) -> CustomerDetail:
    """Fold duplicates into one customer: bookings move, analytics add up."""
    async with db.tenant(principal.organization_id) as session:
        tz = await organization_timezone(session)
        today = local_today(tz)
        kept = await service.merge(session, body.keep_id, body.merge_ids, today, tz)
        return await _detail(session, kept)
