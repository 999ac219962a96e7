"""Start-up, threads, the CLI, and the guarantee that nothing is pickled to /tmp."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from localstripe import resources as ls_resources

from app.stripe_emulator import run_emulator_in_thread, start_emulator
from app.stripe_emulator.checkout import find_session

PICKLE = Path("/tmp/localstripe.pickle")
ROOT = Path(__file__).resolve().parents[2]

# The stripe SDK's HTTPXClient passes raw bytes as ``data=``, which httpx deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def _pickle_state() -> tuple[bool, int | None]:
    if not PICKLE.exists():
        return False, None
    return True, PICKLE.stat().st_mtime_ns


def test_import_does_not_patch_localstripe():
    code = (
        "import app.stripe_emulator, localstripe.resources as r, localstripe.webhooks as w;"
        "assert 'dump_to_disk' not in vars(r.store);"
        "assert r.schedule_webhook is w.schedule_webhook;"
        "print('clean')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "clean"


async def test_nothing_written_to_tmp(client, emulator, session_params):
    before = _pickle_state()
    session = await client.v1.checkout.sessions.create_async(params=session_params())
    done = await emulator.complete_checkout(session.id, "paid")
    await client.v1.refunds.create_async(params={"payment_intent": done["payment_intent"]})
    await client.v1.customers.create_async(params={"email": "x@example.com"})
    await emulator.wait_for_webhooks()
    assert _pickle_state() == before
    assert "dump_to_disk" in vars(ls_resources.store)  # shadowed by a no-op


async def test_binds_loopback_on_free_port():
    async with start_emulator() as first:
        assert first.url.startswith("http://127.0.0.1:")
        assert first.port > 0
        with pytest.raises(RuntimeError, match="already running"):
            await start_emulator()
    async with start_emulator() as second:  # can start again after a stop
        assert second.port > 0


async def test_await_form_and_reset(session_params, make_client):
    handle = await start_emulator(webhook_delay=0)
    try:
        async with make_client(handle.url) as client:
            await client.v1.checkout.sessions.create_async(params=session_params())
            await handle.reset()
            assert (await client.v1.checkout.sessions.list_async()).data == []
    finally:
        await handle.stop()


def test_run_in_thread_with_sync_sdk(session_params, make_sync_client):
    with (
        run_emulator_in_thread(webhook_delay=0) as emulator,
        make_sync_client(emulator.url) as client,
    ):
        session = client.v1.checkout.sessions.create(
            params=session_params(), options={"idempotency_key": "thread-1"}
        )
        again = client.v1.checkout.sessions.create(
            params=session_params(), options={"idempotency_key": "thread-1"}
        )
        assert again.id == session.id
        done = emulator.complete_checkout(session.id, "paid")
        emulator.wait_for_webhooks()
        pi = client.v1.payment_intents.retrieve(done["payment_intent"])
        assert pi.status == "succeeded"
        listed = client.v1.checkout.sessions.list(params={"payment_intent": pi.id})
        assert [s.id for s in listed.data] == [session.id]
        refund = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 100})
        assert refund.amount == 100
        expired = client.v1.checkout.sessions.create(params=session_params())
        assert client.v1.checkout.sessions.expire(expired.id).status == "expired"
    assert not emulator._thread.is_alive()


def test_cli_prints_url_and_serves(make_sync_client):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.stripe_emulator", "--port", "0",
         "--webhook-url", "http://127.0.0.1:9/hook", "--webhook-secret", "whsec_cli"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("Stripe emulator listening on http://127.0.0.1:"), line
        url = line.rsplit(" ", 1)[-1]
        with make_sync_client(url) as client:
            customer = client.v1.customers.create(params={"email": "cli@example.com"})
        assert customer.id.startswith("cus_")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert proc.returncode == 0


def test_expiry_sweeper(session_params, make_sync_client):
    """Sessions past expires_at expire on their own (without anyone retrieving them)."""
    with (
        run_emulator_in_thread(webhook_delay=0, expiry_check_interval=0.05) as emulator,
        make_sync_client(emulator.url) as client,
    ):
        session = client.v1.checkout.sessions.create(params=session_params())
        emulator._run(_backdate(session.id))
        deadline = time.monotonic() + 5
        while emulator._run(_status(session.id)) != "expired":
            assert time.monotonic() < deadline, "session did not expire"
            time.sleep(0.05)


async def _backdate(session_id: str) -> None:
    find_session(session_id).expires_at = int(time.time()) - 1


async def _status(session_id: str) -> str:
    return str(find_session(session_id).status)
