"""Where messages leave the service: e-mail by file, SMTP or Resend; SMS by Twilio.

Each provider sends one message and answers the provider's id for it, or raises
:class:`DeliveryError` saying whether trying again could help. Secrets never reach an
error message or a log line.
"""

from __future__ import annotations

import asyncio
import base64
import os
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any, Protocol

import httpx

from app.server.core.settings import Settings

HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Client errors a later attempt can cure: timeouts, conflicts, rate limits.
RETRYABLE_CLIENT_STATUSES = frozenset({408, 409, 425, 429})


class DeliveryError(Exception):
    """A message could not be handed over; ``permanent`` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class EmailProvider(Protocol):
    """Sends one e-mail; returns the provider's message id."""

    @property
    def name(self) -> str: ...

    async def send(self, message: EmailMessage, *, key: str) -> str: ...


class SmsProvider(Protocol):
    """Sends one text message; returns the provider's message id."""

    @property
    def name(self) -> str: ...

    async def send(self, to: str, body: str, *, key: str) -> str: ...


@dataclass(frozen=True, slots=True)
class FileEmailProvider:
    """Writes each e-mail as ``<key>.eml`` into a directory (the demo's mailbox)."""

    directory: Path
    name: str = "file"

    async def send(self, message: EmailMessage, *, key: str) -> str:
        data = message.as_bytes(policy=SMTP)
        return await asyncio.to_thread(self._write, data, key)

    def _write(self, data: bytes, key: str) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{key}.eml"
        # Written aside and renamed, so a reader never sees half a message.
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return target.name


@dataclass(frozen=True, slots=True)
class SmtpEmailProvider:
    """An SMTP server (stdlib ``smtplib`` in a worker thread): STARTTLS, TLS or plain."""

    host: str
    port: int
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    tls_context: ssl.SSLContext | None = None
    name: str = "smtp"

    async def send(self, message: EmailMessage, *, key: str) -> str:
        return await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> str:
        context = self.tls_context or ssl.create_default_context()
        try:
            client: smtplib.SMTP
            if self.security == "tls":
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                client.ehlo()
                if self.security == "starttls":
                    client.starttls(context=context)
                    client.ehlo()
                if self.username:
                    client.login(self.username, self.password or "")
                refused = client.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused ({exc.smtp_code}).", permanent=True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(
                f"SMTP server refused the recipient: {_smtp_reasons(exc.recipients)}",
                permanent=_all_permanent(exc.recipients),
            ) from None
        except smtplib.SMTPResponseException as exc:
            error = exc.smtp_error
            reply = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
            raise DeliveryError(
                f"SMTP server answered {exc.smtp_code} {reply}".strip(),
                permanent=500 <= exc.smtp_code < 600,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"Could not reach the SMTP server {self.host}:{self.port}: {exc}"
            ) from None
        if refused:
            raise DeliveryError(f"SMTP server refused: {_smtp_reasons(refused)}")
        return str(message["Message-ID"])


def _smtp_reasons(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{address} ({code} {reply.decode(errors='replace')})"
        for address, (code, reply) in recipients.items()
    )


def _all_permanent(recipients: dict[str, tuple[int, bytes]]) -> bool:
    return all(500 <= code < 600 for code, _ in recipients.values())


def _http_failure(service: str, response: httpx.Response) -> DeliveryError:
    """A readable error from an API's error answer (its own message when it has one)."""
    detail = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            detail = str(body.get("message") or body.get("error") or "")
    except ValueError:
        detail = response.text[:200]
    status = response.status_code
    permanent = 400 <= status < 500 and status not in RETRYABLE_CLIENT_STATUSES
    return DeliveryError(
        f"{service} answered {status}{': ' + detail if detail else ''}", permanent=permanent
    )


async def _post(service: str, url: str, **request: Any) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
            response = await client.post(url, **request)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"Could not reach {service}: {type(exc).__name__} {exc}") from None
    if response.status_code >= 300:
        raise _http_failure(service, response)
    try:
        body = response.json()
    except ValueError:
        raise DeliveryError(f"{service} answered something that is not JSON.") from None
    return body if isinstance(body, dict) else {}


@dataclass(frozen=True, slots=True)
class ResendEmailProvider:
    """Resend's HTTP API (``POST /emails``) with an idempotency key per message."""

    api_key: str
    base_url: str = "https://api.resend.com"
    name: str = "resend"

    async def send(self, message: EmailMessage, *, key: str) -> str:
        body = await _post(
            "Resend",
            f"{self.base_url.rstrip('/')}/emails",
            json=resend_payload(message),
            headers={"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": key},
        )
        return str(body.get("id") or "")


def resend_payload(message: EmailMessage) -> dict[str, Any]:
    """The JSON Resend expects for a MIME message built by :func:`build_email`."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    payload: dict[str, Any] = {
        "from": str(message["From"]),
        "to": [str(message["To"])],
        "subject": str(message["Subject"]),
        "text": text.get_content() if text is not None else "",
        "html": html.get_content() if html is not None else "",
        "headers": {"X-BookingTMS-Outbox-Id": str(message["X-BookingTMS-Outbox-Id"])},
    }
    if message["Reply-To"]:
        payload["reply_to"] = str(message["Reply-To"])
    attachments = []
    for part in message.iter_attachments():
        content = part.get_payload(decode=True)
        assert isinstance(content, bytes)
        attachments.append(
            {
                "filename": part.get_filename(),
                "content": base64.b64encode(content).decode("ascii"),
            }
        )
    if attachments:
        payload["attachments"] = attachments
    return payload


@dataclass(frozen=True, slots=True)
class TwilioSmsProvider:
    """Twilio's Messages API; the sender is a phone number or a Messaging Service SID."""

    account_sid: str
    auth_token: str
    sender: str
    base_url: str = "https://api.twilio.com"
    name: str = "twilio"

    async def send(self, to: str, body: str, *, key: str) -> str:
        form = {"To": to, "Body": body}
        if self.sender.startswith("MG"):
            form["MessagingServiceSid"] = self.sender
        else:
            form["From"] = self.sender
        answer = await _post(
            "Twilio",
            f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/Messages.json",
            data=form,
            auth=(self.account_sid, self.auth_token),
        )
        return str(answer.get("sid") or "")


class MisconfiguredProvider:
    """Stands for a provider whose settings are incomplete; every send says what is missing."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem

    async def send(self, *args: Any, **kwargs: Any) -> str:
        raise DeliveryError(self.problem, permanent=True)


def email_provider_from(settings: Settings) -> EmailProvider:
    """The e-mail provider ``settings.email_provider`` names, configured from settings."""
    if settings.email_provider == "smtp":
        return SmtpEmailProvider(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=(
                settings.smtp_password.get_secret_value() if settings.smtp_password else None
            ),
            timeout=settings.smtp_timeout_seconds,
        )
    if settings.email_provider == "resend":
        if settings.resend_api_key is None:
            return MisconfiguredProvider(
                "resend", "E-mail provider 'resend' needs BOOKINGTMS_RESEND_API_KEY."
            )
        return ResendEmailProvider(
            settings.resend_api_key.get_secret_value(), settings.resend_base_url
        )
    return FileEmailProvider(settings.outbox_dir)


def sms_provider_from(settings: Settings) -> SmsProvider | None:
    """Twilio when its account, token and sender are all set, else None (no SMS)."""
    if not settings.sms_configured:
        return None
    assert settings.twilio_account_sid and settings.twilio_auth_token
    assert settings.twilio_from_number
    return TwilioSmsProvider(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        settings.twilio_from_number,
        settings.twilio_base_url,
    )
