"""Remembering a staff token in the operating system's keyring, and only there.

When the platform has no usable keyring the token lives in memory for this run and the
desk says so; it is never written to a file of ours.
"""

from __future__ import annotations

import logging

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

SERVICE_NAME = "BookingTMS Desk"
NO_KEYRING = (
    "No system keyring is available, so the sign-in cannot be remembered after the desk closes."
)


def _usable(backend: KeyringBackend) -> bool:
    # The fail and null backends store nothing; keyrings.alt's file backends would put the
    # token in a plain file, which is exactly what we promise not to do.
    module = type(backend).__module__
    if module in ("keyring.backends.fail", "keyring.backends.null"):
        return False
    if module.startswith("keyrings.alt"):
        return False
    children = getattr(backend, "backends", None)
    return children is None or any(_usable(child) for child in children)


def _account(server_url: str, email: str) -> str:
    return f"{email.strip().lower()} @ {server_url}"


class CredentialStore:
    """Save, load and forget the token of one staff account on one service URL."""

    def __init__(self) -> None:
        self._memory: dict[str, str] = {}
        self._broken: str | None = None

    @property
    def available(self) -> bool:
        """Whether tokens can outlive this run (a usable keyring backend is installed)."""
        return self._broken is None and _usable(keyring.get_keyring())

    @property
    def unavailable_reason(self) -> str | None:
        """A sentence saying why tokens are kept in memory only, or ``None``."""
        if self.available:
            return None
        return self._broken or NO_KEYRING

    def save(self, server_url: str, email: str, token: str) -> bool:
        """Keep the token; ``True`` if the keyring holds it, ``False`` if only memory does."""
        account = _account(server_url, email)
        self._memory[account] = token
        if not self.available:
            return False
        try:
            keyring.set_password(SERVICE_NAME, account, token)
        except keyring.errors.KeyringError as exc:
            self._give_up(exc)
            return False
        return True

    def load(self, server_url: str, email: str) -> str | None:
        """The remembered token, or ``None``."""
        account = _account(server_url, email)
        if account in self._memory:
            return self._memory[account]
        if not self.available:
            return None
        try:
            return keyring.get_password(SERVICE_NAME, account)
        except keyring.errors.KeyringError as exc:
            self._give_up(exc)
            return None

    def delete(self, server_url: str, email: str) -> None:
        """Forget the token wherever it is kept."""
        account = _account(server_url, email)
        self._memory.pop(account, None)
        if not self.available:
            return
        try:
            keyring.delete_password(SERVICE_NAME, account)
        except keyring.errors.PasswordDeleteError:
            pass  # nothing was stored
        except keyring.errors.KeyringError as exc:
            self._give_up(exc)

    def _give_up(self, exc: Exception) -> None:
        log.warning("keyring failed: %s", exc)
        self._broken = (
            f"The system keyring did not work ({exc}); the sign-in is kept for this session only."
        )
