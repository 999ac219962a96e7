"""Running the desk's coroutines on the qasync loop, and awaiting dialogs without blocking."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtWidgets import QDialog

ErrorHandler = Callable[[BaseException], None]


class TaskRunner:
    """Starts coroutines as tasks on one loop, keeps them alive, and reports failures.

    Widgets get the loop from here rather than from ``asyncio.get_running_loop()``: a Qt
    signal may fire while the loop is not running (in tests, typically), and the task
    then simply starts when it runs again.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, on_error: ErrorHandler) -> None:
        self.loop = loop
        self.on_error = on_error
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, on_error: ErrorHandler | None = None
    ) -> asyncio.Task[Any]:
        """Run ``coro``; an exception it raises goes to ``on_error`` (or the runner's)."""
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._finished(t, on_error or self.on_error))
        return task

    def _finished(self, task: asyncio.Task[Any], on_error: ErrorHandler) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            on_error(exc)

    @property
    def busy(self) -> bool:
        """Whether any task is still running."""
        return bool(self._tasks)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()


class LatestOnly:
    """One task at a time for one purpose: starting another cancels the one before.

    A search answer that arrives late therefore never overwrites a newer one.
    """

    def __init__(self, runner: TaskRunner) -> None:
        self._runner = runner
        self._task: asyncio.Task[Any] | None = None

    def run(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        self.cancel()
        self._task = self._runner.spawn(coro)
        return self._task

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()


async def ask(dialog: QDialog) -> int:
    """Open ``dialog`` window-modally and wait for its result without a nested event loop."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(result: int) -> None:
        if not future.done():
            future.set_result(result)

    dialog.finished.connect(finished)
    dialog.open()
    try:
        return await future
    finally:
        dialog.finished.disconnect(finished)
