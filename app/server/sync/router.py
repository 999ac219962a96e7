"""``/sync``: the desk's change feed, its live stream of cursors, and its queued actions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.server.auth.principal import Principal
from app.server.core.db import Database
from app.server.core.deps import DbDep, StaffUser
from app.server.sync import feed, repository
from app.server.sync.actions import apply_actions
from app.server.sync.notifier import ChangeNotifier, StreamClosed
from app.server.sync.schemas import (
    DEFAULT_PAGE,
    MAX_PAGE,
    ActionBatch,
    ActionResult,
    ActionResults,
    ChangesPage,
)

router = APIRouter(prefix="/sync", tags=["sync"])

HEARTBEAT_SECONDS = 15

_ERROR = {"description": '{"error": {"code", "message"}}'}


@router.get(
    "/changes",
    response_class=Response,
    responses={
        200: {"model": ChangesPage, "description": "A page of changes."},
        400: {**_ERROR, "description": "invalid_cursor: negative, not a number, or ahead."},
    },
)
async def changes(
    principal: StaffUser,
    db: DbDep,
    since: Annotated[
        str | None, Query(description="The next_cursor of the previous page; 0 to start.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
) -> Response:
    """The organization's bookings, customers, activities and sessions changed after ``since``.

    Each change carries the entity's current row (or a tombstone). Changes of transactions
    still in flight are held back, never skipped.
    """
    cursor = feed.parse_cursor(since)
    page = await feed.read_page(db, principal.organization_id, cursor, limit)
    return Response(page.to_json(), media_type="application/json")


async def _newest(db: Database, principal: Principal) -> ServerSentEvent:
    async with db.tenant(principal.organization_id) as session:
        cursor = await repository.newest_cursor(session)
    return ServerSentEvent(event="cursor", data=json.dumps({"cursor": cursor}))


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "cursor events"}},
)
async def stream(request: Request, principal: StaffUser, db: DbDep) -> EventSourceResponse:
    """Server-sent ``cursor`` events: the newest cursor now, then one per committed change.

    A ``: ping`` comment every 15 s keeps proxies from closing a quiet stream.
    """
    notifier: ChangeNotifier = request.app.state.notifier

    async def events() -> AsyncIterator[ServerSentEvent]:
        # Subscribed before the newest cursor is read, so no commit falls in between.
        subscription = notifier.subscribe(principal.organization_id)
        try:
            yield await _newest(db, principal)
            while True:
                cursor = await subscription.next()
                if cursor is None:  # the listener reconnected: notices may be lost
                    yield await _newest(db, principal)
                else:
                    yield ServerSentEvent(event="cursor", data=json.dumps({"cursor": cursor}))
        except StreamClosed:
            return
        finally:
            subscription.close()

    return EventSourceResponse(events(), ping=HEARTBEAT_SECONDS)


@router.post("/actions")
async def actions(body: ActionBatch, principal: StaffUser, db: DbDep) -> ActionResults:
    """Apply the desk's queued actions in order, each exactly once (by its id).

    Each is recorded as the work of whoever did it at the desk (``performed_by``, an active
    member of this organization's staff; by default the sender), and the timeline adds who
    sent it when that is someone else. Every action gets an answer: applied, already_done
    (when and by whom) or rejected (a code and a sentence naming who and when). A replayed
    id gets its stored answer.
    """
    answers = await apply_actions(db, principal, body.device_id, body.actions)
    return ActionResults(results=[ActionResult.model_validate(a) for a in answers])
