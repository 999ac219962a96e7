"""Completion outcomes, signed ordered webhooks, refunds and idempotency."""

from __future__ import annotations

import aiohttp
import pytest
import stripe

from app.stripe_emulator import sign_payload, start_emulator

META = {"booking_id": "bk_123", "venue_id": "v_1"}

# The stripe SDK's HTTPXClient passes raw bytes as ``data=``, which httpx deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


async def _paid_session(client, emulator, session_params):
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    done = await emulator.complete_checkout(session.id, "paid")
    await emulator.wait_for_webhooks()
    return done


async def test_paid(client, receiver, emulator, session_params):
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    result = await emulator.complete_checkout(session.id, "paid", name="Ada Lovelace")
    await emulator.wait_for_webhooks()

    assert receiver.rejected == []
    assert receiver.types() == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    for event in receiver.events:
        assert event["object"] == "event"
        assert event["id"].startswith("evt_")
        assert event["livemode"] is False
        assert event["api_version"] == stripe.api_version
        assert event["request"] == {"id": None, "idempotency_key": None}
        assert event["pending_webhooks"] == 1
        assert "account" not in event

    completed = receiver.events[-1]["data"]["object"]
    assert completed["id"] == session.id
    assert completed["status"] == "complete"
    assert completed["payment_status"] == "paid"
    assert completed["payment_intent"].startswith("pi_")
    assert completed["metadata"] == META
    assert completed["customer_details"]["email"] == "guest@example.com"
    assert completed["customer_details"]["name"] == "Ada Lovelace"
    assert completed["url"] is None
    assert result["payment_intent"] == completed["payment_intent"]

    pi_event = receiver.of_type("payment_intent.succeeded")[0]["data"]["object"]
    assert pi_event["amount"] == 5000
    assert pi_event["amount_received"] == 5000
    assert pi_event["metadata"] == META
    charge = receiver.of_type("charge.succeeded")[0]["data"]["object"]
    assert charge["paid"] is True
    assert charge["amount_captured"] == 5000
    assert charge["payment_intent"] == pi_event["id"]
    assert charge["metadata"] == META

    pi = await client.v1.payment_intents.retrieve_async(completed["payment_intent"])
    assert pi.status == "succeeded"
    assert pi.amount == 5000
    assert pi.metadata.to_dict() == META


async def test_signatures_verify_only_with_the_right_secret(client, receiver, emulator,
                                                            session_params):  # fmt: skip
    await _paid_session(client, emulator, session_params)
    payload, header = receiver.raw[0]
    stripe.Webhook.construct_event(payload, header, receiver.secret)
    parts = dict(item.split("=", 1) for item in header.split(","))
    assert set(parts) == {"t", "v1"}
    assert sign_payload(payload, receiver.secret, int(parts["t"])) == header
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_wrong")


async def test_declined_then_paid(client, receiver, emulator, session_params):
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    declined = await emulator.complete_checkout(session.id, "declined")
    await emulator.wait_for_webhooks()

    assert declined["status"] == "open"
    assert declined["payment_status"] == "unpaid"
    assert receiver.types() == [
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
    ]
    failed = receiver.events[-1]["data"]["object"]
    assert failed["status"] == "requires_payment_method"
    assert failed["metadata"] == META
    error = failed["last_payment_error"]
    assert error["code"] == "card_declined"
    assert error["decline_code"] == "generic_decline"
    assert error["type"] == "card_error"
    assert error["message"] == "Your card was declined."

    receiver.clear()
    paid = await emulator.complete_checkout(session.id, "paid")
    await emulator.wait_for_webhooks()
    assert paid["payment_intent"] == failed["id"]  # the same PaymentIntent, retried
    assert receiver.types() == [
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]


async def test_delayed_success(client, receiver, emulator, session_params):
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    result = await emulator.complete_checkout(session.id, "delayed_success")
    assert result["status"] == "complete"
    assert result["payment_status"] == "unpaid"
    await emulator.wait_for_webhooks()

    assert receiver.types() == [
        "payment_intent.created",
        "charge.pending",
        "payment_intent.processing",
        "checkout.session.completed",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.async_payment_succeeded",
    ]
    assert (
        receiver.of_type("checkout.session.completed")[0]["data"]["object"]["payment_status"]
        == "unpaid"
    )
    final = receiver.events[-1]["data"]["object"]
    assert final["payment_status"] == "paid"
    assert receiver.of_type("payment_intent.processing")[0]["data"]["object"]["status"] == (
        "processing"
    )
    fetched = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert fetched.payment_status == "paid"


async def test_delayed_failure(client, receiver, emulator, session_params):
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    await emulator.complete_checkout(session.id, "delayed_failure")
    await emulator.wait_for_webhooks()

    assert receiver.types() == [
        "payment_intent.created",
        "charge.pending",
        "payment_intent.processing",
        "checkout.session.completed",
        "charge.failed",
        "payment_intent.payment_failed",
        "checkout.session.async_payment_failed",
    ]
    final = receiver.events[-1]["data"]["object"]
    assert final["status"] == "complete"
    assert final["payment_status"] == "unpaid"
    pi = receiver.of_type("payment_intent.payment_failed")[0]["data"]["object"]
    assert pi["last_payment_error"]["code"] == "insufficient_funds"


async def test_complete_rejects_closed_sessions_and_bad_outcomes(client, emulator, session_params):
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    with pytest.raises(Exception, match="outcome"):
        await emulator.complete_checkout(session.id, "maybe")
    await emulator.complete_checkout(session.id, "paid")
    with pytest.raises(Exception, match="only open sessions"):
        await emulator.complete_checkout(session.id, "paid")


async def test_strict_metadata_option(receiver, session_params, make_client):
    async with (
        start_emulator(
            webhook_delay=0, webhook_retries=0, copy_session_metadata_to_payment_intent=False
        ) as emulator,
        make_client(emulator.url) as client,
    ):
        await emulator.register_webhook(receiver.url, receiver.secret)
        params = session_params(payment_intent_data={"metadata": {"booking_id": "bk_123"}})
        session = await client.v1.checkout.sessions.create_async(params=params)
        await emulator.complete_checkout(session.id, "paid")
        await emulator.wait_for_webhooks()
    pi = receiver.of_type("payment_intent.succeeded")[0]["data"]["object"]
    assert pi["metadata"] == {"booking_id": "bk_123"}


# -- refunds ----------------------------------------------------------------------------


async def test_partial_then_full_refund(client, receiver, emulator, session_params):
    done = await _paid_session(client, emulator, session_params)
    receiver.clear()
    pi_id = done["payment_intent"]

    first = await client.v1.refunds.create_async(params={"payment_intent": pi_id, "amount": 1500})
    assert first.object == "refund"
    assert first.amount == 1500
    assert first.status == "succeeded"
    assert first.payment_intent == pi_id
    await emulator.wait_for_webhooks()
    assert receiver.types() == ["charge.refunded", "refund.created"]
    charge = receiver.events[0]["data"]["object"]
    assert charge["object"] == "charge"
    assert charge["amount_refunded"] == 1500
    assert charge["refunded"] is False
    assert [r["id"] for r in charge["refunds"]["data"]] == [first.id]
    assert receiver.events[0]["data"]["previous_attributes"] == {"amount_refunded": 0}
    assert receiver.events[0]["request"]["id"].startswith("req_")
    assert receiver.events[1]["data"]["object"]["id"] == first.id

    receiver.clear()
    rest = await client.v1.refunds.create_async(params={"charge": charge["id"]})
    assert rest.amount == 3500
    await emulator.wait_for_webhooks()
    charge = receiver.of_type("charge.refunded")[0]["data"]["object"]
    assert charge["amount_refunded"] == 5000
    assert charge["refunded"] is True
    assert len(charge["refunds"]["data"]) == 2

    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.refunds.create_async(params={"payment_intent": pi_id, "amount": 1})
    assert info.value.code == "charge_already_refunded"
    assert info.value.http_status == 400


async def test_over_refund_refused(client, receiver, emulator, session_params):
    done = await _paid_session(client, emulator, session_params)
    pi_id = done["payment_intent"]
    await client.v1.refunds.create_async(params={"payment_intent": pi_id, "amount": 4000})
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.refunds.create_async(params={"payment_intent": pi_id, "amount": 1001})
    error = info.value
    assert error.param == "amount"
    assert error.json_body["error"]["type"] == "invalid_request_error"
    assert "greater than unrefunded amount on charge (€10.00)" in str(error.user_message)
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.refunds.create_async(params={"payment_intent": pi_id, "amount": 9999})
    ok = await client.v1.refunds.create_async(params={"payment_intent": pi_id, "amount": 1000})
    assert ok.amount == 1000


async def test_refund_of_declined_payment_refused(client, emulator, session_params):
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    declined = await emulator.complete_checkout(session.id, "declined")
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.refunds.create_async(params={"payment_intent": declined["payment_intent"]})


# -- idempotency ------------------------------------------------------------------------


async def test_idempotent_session_create(client, emulator, session_params):
    params = session_params()
    first = await client.v1.checkout.sessions.create_async(
        params=params, options={"idempotency_key": "booking-bk_123"}
    )
    again = await client.v1.checkout.sessions.create_async(
        params=params, options={"idempotency_key": "booking-bk_123"}
    )
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    listing = await client.v1.checkout.sessions.list_async()
    assert len(listing.data) == 1

    with pytest.raises(stripe.IdempotencyError) as info:
        await client.v1.checkout.sessions.create_async(
            params=session_params(client_reference_id="other"),
            options={"idempotency_key": "booking-bk_123"},
        )
    assert info.value.http_status == 400
    assert info.value.json_body["error"]["type"] == "idempotency_error"

    with pytest.raises(stripe.IdempotencyError):
        await client.v1.refunds.create_async(
            params={"charge": "ch_x"}, options={"idempotency_key": "booking-bk_123"}
        )


async def test_idempotent_refund(client, receiver, emulator, session_params):
    done = await _paid_session(client, emulator, session_params)
    receiver.clear()
    params = {"payment_intent": done["payment_intent"], "amount": 2000}
    first = await client.v1.refunds.create_async(params=params, options={"idempotency_key": "r1"})
    second = await client.v1.refunds.create_async(params=params, options={"idempotency_key": "r1"})
    assert second.id == first.id
    await emulator.wait_for_webhooks()
    assert receiver.types() == ["charge.refunded", "refund.created"]
    assert receiver.events[0]["request"]["idempotency_key"] == "r1"
    pi = await client.v1.payment_intents.retrieve_async(
        done["payment_intent"], params={"expand": ["latest_charge"]}
    )
    assert pi.latest_charge.amount_refunded == 2000


async def test_validation_errors_are_not_saved(client, session_params):
    bad = session_params(expires_at=1)
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.checkout.sessions.create_async(
            params=bad, options={"idempotency_key": "k-fix"}
        )
    session = await client.v1.checkout.sessions.create_async(
        params=session_params(), options={"idempotency_key": "k-fix"}
    )
    assert session.status == "open"


async def test_idempotency_over_raw_http(emulator):
    body = {
        "mode": "payment",
        "line_items[0][price_data][currency]": "eur",
        "line_items[0][price_data][unit_amount]": "1200",
        "line_items[0][price_data][product_data][name]": "Laser tag",
        "line_items[0][quantity]": "1",
        "metadata[booking_id]": "bk_9",
    }
    headers = {"Authorization": "Bearer sk_test_x", "Idempotency-Key": "raw-1"}
    url = f"{emulator.url}/v1/checkout/sessions"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=body, headers=headers) as r1:
            assert r1.status == 200
            assert "Idempotent-Replayed" not in r1.headers
            one = await r1.json()
        async with http.post(url, data=body, headers=headers) as r2:
            assert r2.status == 200
            assert r2.headers["Idempotent-Replayed"] == "true"
            assert r2.headers["Original-Request"] == r1.headers["Request-Id"]
            assert (await r2.json())["id"] == one["id"]
        changed = {**body, "metadata[booking_id]": "bk_10"}
        async with http.post(url, data=changed, headers=headers) as r3:
            assert r3.status == 400
            assert (await r3.json())["error"]["type"] == "idempotency_error"
    assert one["metadata"] == {"booking_id": "bk_9"}
    assert one["amount_total"] == 1200


# -- PaymentIntents used directly (localstripe's flows, with Stripe's events) -----------


async def test_direct_payment_intent_events(client, receiver, emulator):
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 1999,
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "metadata": {"booking_id": "bk_7"},
            "description": "Walk-in",
        }
    )
    assert pi.status == "succeeded"
    assert isinstance(pi.latest_charge, str)  # an id unless expanded, as on Stripe
    assert pi.amount_received == 1999
    await emulator.wait_for_webhooks()
    assert receiver.types() == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]
    charges = await client.v1.charges.list_async(params={"payment_intent": pi.id})
    assert [c.id for c in charges.data] == [pi.latest_charge]
    assert charges.data[0].metadata.to_dict() == {"booking_id": "bk_7"}

    with pytest.raises(stripe.CardError) as info:
        await client.v1.payment_intents.create_async(
            params={
                "amount": 500,
                "currency": "eur",
                "payment_method": "pm_card_chargeCustomerFail",
                "confirm": True,
            }
        )
    assert info.value.code == "card_declined"

    open_pi = await client.v1.payment_intents.create_async(
        params={"amount": 700, "currency": "eur"}
    )
    canceled = await client.v1.payment_intents.cancel_async(
        open_pi.id, params={"cancellation_reason": "abandoned"}
    )
    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "abandoned"
    await emulator.wait_for_webhooks()
    assert receiver.types()[-1] == "payment_intent.canceled"


async def test_customer_creation_always(client, receiver, emulator, session_params):
    session = await client.v1.checkout.sessions.create_async(
        params=session_params(customer_creation="always")
    )
    done = await emulator.complete_checkout(session.id, "paid")
    assert done["customer"].startswith("cus_")
    await emulator.wait_for_webhooks()
    assert receiver.types()[0] == "customer.created"
    pi = await client.v1.payment_intents.retrieve_async(done["payment_intent"])
    assert pi.customer == done["customer"]
