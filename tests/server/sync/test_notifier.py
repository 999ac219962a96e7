"""The fan-out of change notices to a service's streams (the listener itself is exercised
over real Postgres in test_stream.py)."""

from __future__ import annotations

import json
import uuid

import pytest

from app.server.sync.notifier import ChangeNotifier, StreamClosed


@pytest.fixture
def notifier() -> ChangeNotifier:
    return ChangeNotifier("postgresql+psycopg://nobody@127.0.0.1:1/unused")


def notice(org: uuid.UUID, cursor: int) -> str:
    return json.dumps({"organization_id": str(org), "cursor": cursor})


async def test_notices_reach_only_their_organization_and_a_slow_reader_gets_the_newest(
    notifier,
):
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    mine, other = notifier.subscribe(ours), notifier.subscribe(theirs)
    for cursor in (40, 55, 47):
        notifier._dispatch(notice(ours, cursor))
    notifier._dispatch(notice(theirs, 60))
    assert await mine.next() == 55
    notifier._dispatch(notice(ours, 41))  # a transaction that began earlier, committed later
    assert await mine.next() == 41
    assert await other.next() == 60


async def test_after_a_reconnect_a_reader_is_told_to_look_again(notifier):
    org = uuid.uuid4()
    sub = notifier.subscribe(org)
    notifier._dispatch(notice(org, 9))
    notifier.publish(org, None)
    assert await sub.next() is None


async def test_malformed_notices_are_ignored(notifier):
    org = uuid.uuid4()
    sub = notifier.subscribe(org)
    for payload in ("", "{}", str(org), json.dumps({"organization_id": "x", "cursor": 1})):
        notifier._dispatch(payload)
    notifier._dispatch(notice(org, 3))
    assert await sub.next() == 3


async def test_stopping_ends_every_stream(notifier):
    sub = notifier.subscribe(uuid.uuid4())
    await notifier.stop()
    with pytest.raises(StreamClosed):
        await sub.next()
