"""Process-wide hooks into localstripe, installed when an emulator starts.

localstripe keeps every object in one module-level ``store`` and, by design of its CLI,
pickles that store to ``/tmp/localstripe.pickle`` on every change.  When an emulator
starts (never at import time) we:

* turn the pickling off by shadowing ``store.dump_to_disk``/``store.try_load_from_disk``
  with no-ops on the store instance (this stays off for the rest of the process, so that
  nothing created after a stop can write the file either);
* replace ``localstripe.resources.schedule_webhook`` (the name its resources call) so
  events go to our dispatcher instead of localstripe's 1-second, unordered sender (this
  also stays: with no emulator running, localstripe events are simply dropped);
* clear the store, so each emulator starts empty.

Because of the shared store only one emulator may run per process at a time.
"""

from __future__ import annotations

import threading
from typing import Any

from localstripe import resources as ls_resources

from app.stripe_emulator.events import (
    WebhookDispatcher,
    adopt_localstripe_event,
    set_active_dispatcher,
)

_lock = threading.Lock()
_owner: object | None = None


def _noop(*_args: Any, **_kwargs: Any) -> None:
    """Stand-in for localstripe's pickle load/save."""


def disable_store_persistence() -> None:
    """Make localstripe's store purely in-memory (no ``/tmp/localstripe.pickle``)."""
    store = ls_resources.store
    store.dump_to_disk = _noop
    store.try_load_from_disk = _noop


def install(owner: object, dispatcher: WebhookDispatcher) -> None:
    """Hook localstripe up to ``dispatcher`` on behalf of ``owner``.

    Raises :class:`RuntimeError` if another emulator is running in this process.
    """
    global _owner
    with _lock:
        if _owner is not None:
            raise RuntimeError(
                "A Stripe emulator is already running in this process; localstripe keeps "
                "its data in a process-wide store, so stop it before starting another."
            )
        disable_store_persistence()
        ls_resources.schedule_webhook = adopt_localstripe_event
        ls_resources.store.clear()
        set_active_dispatcher(dispatcher)
        _owner = owner


def uninstall(owner: object) -> None:
    """Detach ``owner``'s dispatcher (the store stays non-persistent)."""
    global _owner
    with _lock:
        if _owner is not owner:
            return
        set_active_dispatcher(None)
        _owner = None
