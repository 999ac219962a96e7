"""The desk's services without Qt: API errors, credentials, CSV, and the no-Qt rule."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import keyring
import pytest
from keyring.backends import fail

from app.domain.lifecycle import Action, BookingStatus
from app.domain.roles import Role
from app.services.api_client import ApiClient, ApiError, ServiceUnavailable, SessionExpired
from app.services.booking_actions import action_state
from app.services.credentials import CredentialStore
from app.services.exports import decimal_amount
from tests.desk.conftest import MemoryKeyring
from tests.factories import make_org


class TestApiClient:
    async def test_service_errors_keep_code_and_message(self, db: Any, service_url: str) -> None:
        org = await make_org(db)
        client = ApiClient(service_url, token=org.front_desk.token)
        with pytest.raises(ApiError) as caught:
            await client.get("/bookings/00000000-0000-0000-0000-000000000000")
        assert (caught.value.status, caught.value.code) == (404, "not_found")
        assert str(caught.value) == "No such booking."
        assert client.online is True
        await client.aclose()

    async def test_401_is_session_expired(self, service_url: str) -> None:
        client = ApiClient(service_url, token="btms_not-a-token")
        with pytest.raises(SessionExpired):
            await client.get("/auth/me")
        await client.aclose()

    async def test_unreachable_service_is_one_readable_error(self) -> None:
        changes: list[bool] = []
        client = ApiClient("127.0.0.1:9")
        client.add_connection_listener(changes.append)
        with pytest.raises(ServiceUnavailable) as caught:
            await client.get("/auth/me")
        assert str(caught.value).startswith("Cannot reach the service at http://127.0.0.1:9.")
        assert changes == [False]
        assert await client.ping() is False
        await client.aclose()


class TestCredentials:
    @pytest.fixture
    def no_keyring(self) -> Iterator[None]:
        previous = keyring.get_keyring()
        keyring.set_keyring(fail.Keyring())
        yield
        keyring.set_keyring(previous)

    def test_saved_in_the_keyring_per_server_and_email(self, memory_keyring: MemoryKeyring) -> None:
        store = CredentialStore()
        assert store.available
        assert store.save("http://desk:8000", "Sam@Venue.com", "btms_x") is True
        assert CredentialStore().load("http://desk:8000", "sam@venue.com") == "btms_x"
        assert CredentialStore().load("http://other:8000", "sam@venue.com") is None
        store.delete("http://desk:8000", "sam@venue.com")
        assert memory_keyring.secrets == {}

    def test_without_a_backend_only_memory_holds_it(self, no_keyring: None, tmp_path) -> None:  # type: ignore[no-untyped-def]
        store = CredentialStore()
        assert not store.available
        assert "No system keyring is available" in (store.unavailable_reason or "")
        assert store.save("http://desk:8000", "sam@venue.com", "btms_x") is False
        assert store.load("http://desk:8000", "sam@venue.com") == "btms_x"
        assert CredentialStore().load("http://desk:8000", "sam@venue.com") is None


def test_action_rules_follow_lifecycle_role_and_clock() -> None:
    from app.services.bookings import BookingRow

    now = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
    fields = {name: None for name in BookingRow.__dataclass_fields__}
    booking = BookingRow(
        **{
            **fields,
            "status": BookingStatus.CHECKED_IN,
            "booking_date": now.date(),
            "start_time": now.time(),
            "checked_in_at": now - timedelta(days=1),
        }
    )
    undo = action_state(Action.UNDO_CHECK_IN, booking, Role.FRONT_DESK, "UTC", now)
    assert undo.reason == "A check-in can only be undone on the day it was made."
    complete = action_state(Action.COMPLETE, booking, Role.FRONT_DESK, "UTC", now)
    assert complete.enabled
    cancel = action_state(Action.CANCEL, booking, Role.ADMIN, "UTC", now)
    assert cancel.enabled


def test_csv_amounts_are_exact_decimals() -> None:
    assert decimal_amount(4050, "USD") == "40.50"
    assert decimal_amount(-5, "USD") == "-0.05"
    assert decimal_amount(4000, "JPY") == "4000"


def test_services_never_import_qt() -> None:
    code = (
        "import sys, pkgutil, importlib, app.services as s\n"
        "for m in pkgutil.iter_modules(s.__path__):\n"
        "    importlib.import_module(f'app.services.{m.name}')\n"
        "print(sorted(n for n in sys.modules if n.startswith(('PySide6', 'qasync'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
