"""Every setting of the service in one typed place, read from the environment."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """The per-user data directory (embedded database, outbox files)."""
    return Path(platformdirs.user_data_dir("bookingtms", appauthor=False))


class Settings(BaseSettings):
    """Service settings. Environment variables are ``BOOKINGTMS_<NAME>`` unless noted."""

    model_config = SettingsConfigDict(env_prefix="BOOKINGTMS_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "BOOKINGTMS_DATABASE_URL"),
        description="PostgreSQL URL; unset starts the embedded server in the data dir.",
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where the embedded database and file-provider emails live.",
    )
    host: str = Field(default="127.0.0.1", description="Address the service listens on.")
    port: int = Field(default=8000, description="Port the service listens on.")
    token_ttl_hours: int = Field(default=12, description="Lifetime of a staff login token.")
    login_throttle_base_seconds: float = Field(
        default=1.0, description="First delay after a failed login; doubles per failure."
    )
    login_throttle_max_seconds: float = Field(
        default=60.0, description="Longest delay before another login is tried."
    )
    db_pool_size: int = Field(default=10, description="Connections per service instance.")
    lock_timeout_ms: int = Field(
        default=2000, description="How long a reservation waits for a seat lock before 'busy'."
    )
    log_level: str = Field(default="info", description="Log level of the service.")

    @cached_property
    def pgdata_dir(self) -> Path:
        """Data directory of the embedded PostgreSQL server."""
        return self.data_dir / "pgdata"
