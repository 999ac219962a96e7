"""Replaying the stored answer of a staff request sent again with the same Idempotency-Key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.server.auth.principal import Principal
from app.server.core.errors import Conflict
from app.server.db.models import IdempotencyKey


def request_fingerprint(method: str, path: str, body: Any) -> str:
    """A hash of what was asked, so a key reused for something else is caught."""
    blob = json.dumps([method, path, body], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


async def run_once(
    session: AsyncSession,
    principal: Principal,
    key: str | None,
    method: str,
    path: str,
    body: Any,
    action: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Run ``action`` unless this key already ran it; return its (stored) JSON answer.

    The key row is inserted first: a concurrent request with the same key waits on it and
    then reads the stored answer, and a refused action rolls the key back with everything.
    """
    if key is None:
        return await action()
    fingerprint = request_fingerprint(method, path, body)
    claimed = await session.scalar(
        insert(IdempotencyKey)
        .values(
            organization_id=principal.organization_id,
            key=key,
            staff_user_id=principal.staff_user_id,
            method=method,
            path=path,
            request_hash=fingerprint,
            response_status=0,
            response_body={},
        )
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    )
    if claimed is None:
        stored = await session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.key == key,
                IdempotencyKey.staff_user_id == principal.staff_user_id,
            )
        )
        if stored is None or stored.request_hash != fingerprint:
            raise Conflict(
                "This Idempotency-Key was already used for a different request.",
                code="idempotency_key_reused",
            )
        return stored.response_body
    answer = await action()
    row = await session.get_one(IdempotencyKey, (key, principal.staff_user_id))
    row.response_status = 200
    row.response_body = json.loads(json.dumps(answer, default=str))
    return answer
