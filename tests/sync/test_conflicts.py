"""The "Needs attention" sentence for a refused action of every kind the service takes."""

from __future__ import annotations

import typing
from zoneinfo import ZoneInfo

import pytest

from app.server.sync.schemas import ActionKind
from app.sync.conflicts import REJECTED, sentence


@pytest.mark.parametrize("kind", typing.get_args(ActionKind))
def test_every_action_kind_reads_as_a_sentence_when_refused(kind: str) -> None:
    action = {"kind": kind, "offline": True, "happened_at": "2026-11-24T19:05:00+00:00"}
    refusal = {"outcome": REJECTED, "code": "cancelled", "message": "The booking was cancelled."}

    said = sentence(action, refusal, ZoneInfo("Europe/London"))

    assert said.endswith("offline at 19:05, but the booking was cancelled.")
