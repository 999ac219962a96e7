"""E-mails as MIME (stdlib ``email``): plain text and HTML alternatives, plus attachments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to an e-mail."""

    filename: str
    content: bytes
    mime_type: str = "application/pdf"


def sender_domain(sender: str) -> str:
    """The domain of ``"Name <user@domain>"`` (``localhost`` when it has none)."""
    _, address = parseaddr(sender)
    return address.rpartition("@")[2] or "localhost"


def build_email(
    *,
    message_id: uuid.UUID,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    date: datetime,
    reply_to: str | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> EmailMessage:
    """A ``multipart/alternative`` (text, HTML) message, inside ``multipart/mixed`` when
    something is attached. The Message-ID derives from the outbox row, so every attempt at
    one message carries the same id and receivers can tell a repeat."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = format_datetime(date)
    message["Message-ID"] = f"<{message_id}@{sender_domain(sender)}>"
    message["X-BookingTMS-Outbox-Id"] = str(message_id)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


def plain_address(value: str) -> str:
    """The bare address of ``"Name <user@domain>"``."""
    return parseaddr(value)[1] or value


def is_valid_address(value: str) -> bool:
    """Whether ``value`` parses as one ``user@domain`` address."""
    try:
        address = Address(addr_spec=plain_address(value))
    except (ValueError, IndexError):
        return False
    return bool(address.username and address.domain)
