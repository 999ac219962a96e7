"""Every setting of the service in one typed place, read from the environment."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field, SecretStr
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
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where customers reach the booking widget (Checkout return pages).",
    )
    hold_minutes: int = Field(
        default=10, ge=1, le=60, description="How long seats wait for an online payment."
    )
    stripe_secret_key: SecretStr | None = Field(
        default=None, description="Stripe secret key; unset refuses online checkout."
    )
    stripe_webhook_secret: SecretStr | None = Field(
        default=None, description="Signing secret of the Stripe webhook endpoint."
    )
    stripe_api_base: str | None = Field(
        default=None,
        description="Stripe API address; unset is Stripe itself (the emulator's URL in the demo).",
    )
    run_jobs: bool = Field(
        default=True, description="Run a job worker (webhooks, hold expiry) in this instance."
    )
    # Jobs are database work: four at a time keep one core busy. On 2 cores, 2 × 4
    # processed Stripe events at 317–347/s where 2 × 8 gave 239–351/s (bench.webhooks).
    job_concurrency: int = Field(
        default=4, ge=1, le=100, description="Jobs one instance runs at the same time."
    )

    email_provider: Literal["file", "smtp", "resend"] = Field(
        default="file",
        description="How e-mails leave: .eml files in the data dir, an SMTP server, or Resend.",
    )
    email_from: str = Field(
        default="BookingTMS <bookings@localhost>",
        description="Sender of customer and staff e-mails ('Name <address>' or an address).",
    )
    smtp_host: str = Field(default="localhost", description="SMTP server (email_provider=smtp).")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="STARTTLS on a plain connection, implicit TLS (port 465), or none.",
    )
    smtp_username: str | None = Field(default=None, description="SMTP login; unset sends none.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_timeout_seconds: float = Field(
        default=30.0, gt=0, description="How long one SMTP conversation may take."
    )
    resend_api_key: SecretStr | None = Field(
        default=None, description="Resend API key (email_provider=resend)."
    )
    resend_base_url: str = Field(
        default="https://api.resend.com", description="Resend API address."
    )
    twilio_account_sid: str | None = Field(
        default=None, description="Twilio account SID; with the token and sender, enables SMS."
    )
    twilio_auth_token: SecretStr | None = Field(default=None, description="Twilio auth token.")
    twilio_from_number: str | None = Field(
        default=None, description="Twilio sender: an E.164 number or a Messaging Service SID."
    )
    twilio_base_url: str = Field(
        default="https://api.twilio.com", description="Twilio API address."
    )
    outbox_max_attempts: int = Field(
        default=8, ge=1, le=50, description="Attempts at one message before it is marked failed."
    )
    outbox_retry_base_seconds: float = Field(
        default=30.0, gt=0, description="Wait before the first retry; doubles each attempt."
    )
    outbox_retry_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest wait between two attempts."
    )
    outbox_lease_seconds: int = Field(
        default=300,
        ge=30,
        description="How long a sender owns a message it claimed; then another may retry it.",
    )

    @property
    def sms_configured(self) -> bool:
        """Whether Twilio is set up, so SMS messages can go out."""
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number)

    @cached_property
    def outbox_dir(self) -> Path:
        """Where the ``file`` e-mail provider writes its .eml files."""
        return self.data_dir / "outbox"

    @cached_property
    def pgdata_dir(self) -> Path:
        """Data directory of the embedded PostgreSQL server."""
        return self.data_dir / "pgdata"
