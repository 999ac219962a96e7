"""Checkout Sessions through the stripe SDK: create, retrieve, list, expire, validation."""

from __future__ import annotations

import time

import aiohttp
import pytest
import stripe

# The stripe SDK's HTTPXClient passes raw bytes as ``data=``, which httpx deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


async def test_create_retrieve_session(client, emulator, session_params):
    session = await client.v1.checkout.sessions.create_async(params=session_params())

    assert session.object == "checkout.session"
    assert session.id.startswith("cs_test_")
    assert session.mode == "payment"
    assert session.status == "open"
    assert session.payment_status == "unpaid"
    assert session.payment_intent is None
    assert session.amount_subtotal == 5000
    assert session.amount_total == 5000
    assert session.currency == "eur"
    assert session.livemode is False
    assert session.customer is None
    assert session.customer_email == "guest@example.com"
    assert session["customer_details"]["email"] == "guest@example.com"
    assert session.client_reference_id == "bk_123"
    assert session.metadata.to_dict() == {"booking_id": "bk_123", "venue_id": "v_1"}
    assert session.success_url.endswith("session_id={CHECKOUT_SESSION_ID}")
    assert session.url == f"{emulator.url}/checkout/{session.id}"
    assert session.payment_method_types == ["card"]
    assert session.created <= time.time() + 1
    assert 30 * 60 <= session.expires_at - session.created <= 24 * 3600
    assert "line_items" not in session  # only with expand, as on Stripe

    fetched = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert fetched.to_dict() == session.to_dict()

    expanded = await client.v1.checkout.sessions.retrieve_async(
        session.id, params={"expand": ["line_items"]}
    )
    assert expanded.line_items.data[0].amount_total == 5000


async def test_default_expiry_is_24_hours(client, session_params):
    params = session_params()
    del params["expires_at"]
    session = await client.v1.checkout.sessions.create_async(params=params)
    assert session.expires_at == session.created + 24 * 3600


async def test_line_items(client, session_params):
    params = session_params(
        line_items=[
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 2500,
                    "product_data": {"name": "Adult"},
                },
                "quantity": 3,
            },
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 1500,
                    "product_data": {"name": "Child"},
                },
                "quantity": 1,
            },
        ]
    )
    session = await client.v1.checkout.sessions.create_async(params=params)
    assert session.amount_total == 9000

    items = await client.v1.checkout.sessions.line_items.list_async(session.id)
    assert items.object == "list"
    assert [(i.description, i.quantity, i.amount_subtotal, i.amount_total) for i in items.data] == [
        ("Adult", 3, 7500, 7500),
        ("Child", 1, 1500, 1500),
    ]
    first = items.data[0]
    assert first.object == "item"
    assert first.currency == "eur"
    assert first.price.unit_amount == 2500
    assert first.price.type == "one_time"

    page = await client.v1.checkout.sessions.line_items.list_async(session.id, params={"limit": 1})
    assert len(page.data) == 1
    assert page.has_more is True


async def test_list_sessions(client, emulator, session_params):
    created = [
        await client.v1.checkout.sessions.create_async(
            params=session_params(client_reference_id=f"bk_{i}")
        )
        for i in range(3)
    ]
    listing = await client.v1.checkout.sessions.list_async()
    assert [s.id for s in listing.data] == [s.id for s in reversed(created)]  # newest first

    page1 = await client.v1.checkout.sessions.list_async(params={"limit": 2})
    assert len(page1.data) == 2
    assert page1.has_more is True
    page2 = await client.v1.checkout.sessions.list_async(
        params={"limit": 2, "starting_after": page1.data[-1].id}
    )
    assert [s.id for s in page2.data] == [created[0].id]
    assert page2.has_more is False

    done = await emulator.complete_checkout(created[1].id, "paid")
    by_pi = await client.v1.checkout.sessions.list_async(
        params={"payment_intent": done["payment_intent"]}
    )
    assert [s.id for s in by_pi.data] == [created[1].id]


async def test_expire_session(client, receiver, emulator, session_params):
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    expired = await client.v1.checkout.sessions.expire_async(
        session.id, options={"idempotency_key": "expire-1"}
    )
    assert expired.status == "expired"
    assert expired.url is None

    await emulator.wait_for_webhooks()
    (event,) = receiver.of_type("checkout.session.expired")
    assert event["data"]["object"]["id"] == session.id
    assert event["data"]["object"]["status"] == "expired"
    assert event["request"]["idempotency_key"] == "expire-1"
    assert event["request"]["id"].startswith("req_")

    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.checkout.sessions.expire_async(session.id)
    assert info.value.http_status == 400
    assert 'status of "expired"' in str(info.value.user_message)


async def test_expire_completed_session_refused(client, emulator, session_params):
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    await emulator.complete_checkout(session.id, "paid")
    with pytest.raises(stripe.InvalidRequestError, match="complete"):
        await client.v1.checkout.sessions.expire_async(session.id)


async def test_natural_expiry_has_no_request(client, receiver, emulator, session_params):
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    await emulator.expire_checkout(session.id)
    await emulator.wait_for_webhooks()
    (event,) = receiver.of_type("checkout.session.expired")
    assert event["request"] == {"id": None, "idempotency_key": None}
    fetched = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert fetched.status == "expired"


async def test_retrieve_unknown_session(client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.checkout.sessions.retrieve_async("cs_test_nope")
    assert info.value.http_status == 404
    assert info.value.code == "resource_missing"


@pytest.mark.parametrize(
    ("offset", "fragment"),
    [
        (29 * 60, "at least 30 minutes"),
        (60, "at least 30 minutes"),
        (-10, "at least 30 minutes"),
        (24 * 3600 + 60, "less than 24 hours"),
        (25 * 3600, "less than 24 hours"),
    ],
)
async def test_expires_at_validation(client, session_params, offset, fragment):
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.checkout.sessions.create_async(
            params=session_params(expires_at=int(time.time()) + offset)
        )
    error = info.value
    assert error.http_status == 400
    assert error.param == "expires_at"
    assert fragment in str(error.user_message)
    assert error.json_body["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("offset", [31 * 60, 2 * 3600, 23 * 3600 + 50 * 60])
async def test_expires_at_accepted(client, session_params, offset):
    expires_at = int(time.time()) + offset
    session = await client.v1.checkout.sessions.create_async(
        params=session_params(expires_at=expires_at)
    )
    assert session.expires_at == expires_at


async def test_validation_errors(client, session_params):
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.checkout.sessions.create_async(params=session_params(line_items=[]))
    assert info.value.code == "parameter_missing"
    assert info.value.param == "line_items"

    params = session_params()
    del params["mode"]
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.checkout.sessions.create_async(params=params)
    assert info.value.param == "mode"

    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.checkout.sessions.create_async(params=session_params(bogus="1"))
    assert info.value.code == "parameter_unknown"

    params = session_params()
    del params["line_items"][0]["quantity"]
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.checkout.sessions.create_async(params=params)
    assert info.value.param == "line_items[0][quantity]"

    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.checkout.sessions.create_async(
            params=session_params(customer="cus_missing")
        )
    assert "customer" in str(info.value.user_message)

    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.checkout.sessions.create_async(params=session_params(success_url="nope"))
    assert info.value.param == "success_url"


async def test_application_fee_needs_connect(client, receiver, emulator, session_params):
    params = session_params(
        payment_intent_data={"application_fee_amount": 150, "metadata": {"pi_only": "1"}}
    )
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.checkout.sessions.create_async(params=params)
    assert info.value.param == "payment_intent_data[application_fee_amount]"

    session = await client.v1.checkout.sessions.create_async(
        params=params, options={"stripe_account": "acct_venue1"}
    )
    await emulator.complete_checkout(session.id, "paid")
    await emulator.wait_for_webhooks()
    assert receiver.events, "no events received"
    assert {e.get("account") for e in receiver.events} == {"acct_venue1"}
    succeeded = receiver.of_type("payment_intent.succeeded")[0]["data"]["object"]
    assert succeeded["application_fee_amount"] == 150
    assert succeeded["metadata"] == {"booking_id": "bk_123", "venue_id": "v_1", "pi_only": "1"}


async def test_connect_endpoint_filtering(client, receiver, emulator, session_params):
    await emulator.register_webhook(receiver.url, "whsec_other", connect=True, endpoint_id="c")
    await emulator.register_webhook(
        receiver.url, "whsec_other", connect=False, endpoint_id="platform"
    )
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    await client.v1.checkout.sessions.expire_async(session.id)
    await emulator.wait_for_webhooks()
    targets = {d.endpoint_id for d in emulator.deliveries}
    assert targets == {"default", "platform"}


async def test_hosted_page(client, emulator, session_params):
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    async with aiohttp.ClientSession() as http:
        async with http.get(session.url) as page:
            assert page.status == 200
            text = await page.text()
            assert "Escape room" in text
            assert "€50.00" in text
        async with http.post(
            session.url, data={"outcome": "paid"}, allow_redirects=False
        ) as submitted:
            assert submitted.status == 303
            assert submitted.headers["Location"] == (
                f"http://127.0.0.1:9/done?session_id={session.id}"
            )
    fetched = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert fetched.status == "complete"
    assert fetched.payment_status == "paid"


async def test_stripe_errors_shape(emulator):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{emulator.url}/v1/checkout/sessions") as unauth:
            assert unauth.status == 401
        headers = {"Authorization": "Bearer sk_test_x"}
        async with http.get(f"{emulator.url}/v1/nothing_here", headers=headers) as missing:
            assert missing.status == 404
            body = await missing.json()
            assert body["error"]["type"] == "invalid_request_error"
            assert "Unrecognized request URL" in body["error"]["message"]
            assert missing.headers["Request-Id"].startswith("req_")
