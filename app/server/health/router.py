"""``/healthz`` (the process answers) and ``/readyz`` (the database answers too)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.server.core.deps import DbDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The service process is alive."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(db: DbDep) -> JSONResponse | dict[str, str]:
    """The service can reach its database."""
    try:
        await db.ping()
    except Exception:
        return JSONResponse(
            {"error": {"code": "database_unreachable", "message": "Database not reachable."}},
            503,
        )
    return {"status": "ready"}
