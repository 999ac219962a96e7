"""The service under test: the real app on the test database, over httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.server.core.app import create_app
from app.server.core.settings import Settings
from tests.factories import Org, make_org


@pytest.fixture(scope="session")
async def service_app(database_url: str):  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=database_url, login_throttle_base_seconds=2.0, run_jobs=False
    )
    app = create_app(settings, database_url)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(service_app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=service_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as c:
        yield c


@pytest.fixture
async def org(db) -> Org:  # type: ignore[no-untyped-def]
    return await make_org(db)


@pytest.fixture
async def other_org(db) -> Org:  # type: ignore[no-untyped-def]
    return await make_org(db)
