"""Generating sessions from weekly schedules: idempotent, in the venue's zone, DST-proof."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.server.db.models import ActivitySession
from app.server.sessions.service import generate_sessions
from tests.factories import make_org, make_schedule


async def test_generation_is_idempotent_and_local(db):
    org = await make_org(db, timezone="America/New_York")  # the dates below are New York's
    await make_schedule(db, org, weekday=5, at=time(19, 0))  # Saturdays 19:00
    async with db.tenant(org.id) as s:
        first = await generate_sessions(s, org.id, date(2026, 10, 26), 14)
    async with db.tenant(org.id) as s:
        again = await generate_sessions(s, org.id, date(2026, 10, 26), 14)
        rows = (await s.scalars(select(ActivitySession).order_by(ActivitySession.starts_at))
                ).all()
    assert (first, again) == (2, 0)
    local = [r.starts_at.astimezone(ZoneInfo(org.timezone)) for r in rows]
    # 31 Oct is before and 7 Nov after the US clocks change on 1 Nov: 19:00 both times.
    assert [(d.date(), d.time()) for d in local] == [
        (date(2026, 10, 31), time(19, 0)), (date(2026, 11, 7), time(19, 0))]
    assert rows[0].starts_at.utcoffset() is not None
    assert rows[1].starts_at - rows[0].starts_at != (
        datetime(2026, 11, 7, 19) - datetime(2026, 10, 31, 19))  # 7 days plus an hour
    assert all(r.capacity == 10 and r.reserved == 0 for r in rows)


async def test_generate_endpoint_reports_new_sessions(client, db, org):
    await make_schedule(db, org, weekday=0, at=time(10, 0))
    r = await client.post("/api/v1/sessions/generate", headers=org.manager.headers,
                          json={"days": 14})
    assert r.json()["created"] == 2
    r = await client.post("/api/v1/sessions/generate", headers=org.manager.headers,
                          json={"days": 14})
    assert r.json()["created"] == 0
    r = await client.post("/api/v1/sessions/generate", headers=org.manager.headers,
                          json={"days": 5000})
    assert r.status_code == 422
