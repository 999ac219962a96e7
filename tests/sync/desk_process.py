"""A desk process for the crash test: opens a cache, checks in the booking numbers it is
given at the door (the service is unreachable), says so, and waits to be killed.

    python -m tests.sync.desk_process CACHE SERVICE_URL TOKEN NUMBER...
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from app.sync import actions
from app.sync.cache import Cache
from app.sync.engine import SyncEngine
from app.sync.remote import SyncApi


async def main(cache_path: str, url: str, token: str, numbers: list[str]) -> None:
    engine = SyncEngine(
        Cache(Path(cache_path)), SyncApi(url, lambda: token), timezone="America/New_York"
    )
    engine.start()
    answers = [
        (await engine.scan(number, staff_name="Killed desk", staff_id=None)).answer.result.value
        for number in numbers
    ]
    waiting = await engine.read(actions.waiting)
    print(f"queued {waiting} answers {','.join(sorted(set(answers)))}", flush=True)
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
