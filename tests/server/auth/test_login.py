"""Logging in, tokens, logout, and the failed-login slowdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.server.db.models import AuthToken, LoginThrottle
from tests.factories import PASSWORD


async def login(client, email, password=PASSWORD):
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_login_gives_a_working_token_stored_hashed(client, db, org):
    r = await login(client, org.manager.email.upper())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["role"] == "manager"
    assert body["organization"]["slug"] == org.slug
    assert body["organization"]["timezone"] == org.timezone
    token = body["token"]
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["user"]["email"] == org.manager.email
    async with db.tenant(org.id) as s:
        hashes = (await s.scalars(select(AuthToken.token_hash))).all()
    assert token not in hashes and all(len(h) == 64 for h in hashes)


async def test_logout_revokes_the_token(client, org):
    token = (await login(client, org.front_desk.email)).json()["token"]
    h = {"Authorization": f"Bearer {token}"}
    assert (await client.post("/api/v1/auth/logout", headers=h)).status_code == 204
    r = await client.get("/api/v1/bookings", headers=h)
    assert r.status_code == 401
    assert "sign in again" in r.json()["error"]["message"]


async def test_missing_or_bad_tokens_are_refused(client):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope"},
                    {"Authorization": "Bearer btms_forged"}):
        r = await client.get("/api/v1/bookings", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["code"] in {"not_signed_in", "invalid_token"}


async def test_expired_token_is_refused(client, db, org):
    async with db.system() as s:
        row = await s.scalar(select(AuthToken).where(AuthToken.staff_user_id == org.admin.id))
        row.expires_at = row.created_at
    r = await client.get("/api/v1/bookings", headers=org.admin.headers)
    assert r.status_code == 401


async def test_wrong_password_and_unknown_email_read_the_same(client, org):
    wrong = await login(client, org.admin.email, "not the password")
    unknown = await login(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_repeated_failures_slow_down_logins(client, db, org):
    # The test settings start the delay at 2 s after three free attempts.
    for _ in range(3):
        assert (await login(client, org.front_desk.email, "guess")).status_code == 401
    blocked = await login(client, org.front_desk.email)  # even the right password waits
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    # Time passes (without making the test wait for it).
    async with db.system() as s:
        await s.execute(update(LoginThrottle).where(
            LoginThrottle.email == org.front_desk.email.lower()).values(
            blocked_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert (await login(client, org.front_desk.email)).status_code == 200
    # Success clears the count: the next failure is free again.
    assert (await login(client, org.front_desk.email, "guess")).status_code == 401
    assert (await login(client, org.front_desk.email)).status_code == 200
