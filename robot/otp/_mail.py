"""Which e-mail holds the portal's one-time code: the rules shared by every mailbox source.

Both the Maildir source (:class:`robot.otp.sources.MaildirOtp`) and the IMAP source
(:class:`robot.otp.imap.ImapOtp`) hand each candidate message to :func:`read_code`; only
how they list, fetch and consume messages differs. A message holds a code for ``recipient``
when:

- it was sent no earlier than ``since`` minus :data:`CLOCK_SLACK` (:func:`sent_at`);
- its subject contains :data:`SUBJECT_MARK` (case-insensitive);
- one of its ``To`` addresses is ``recipient`` (case-insensitive, :func:`addressed_to`);
- its text says « code » followed by six digits (:func:`code_in`).

This module imports no other module of :mod:`robot.otp`, so that every source can use it.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

#: What the subject of the portal's one-time-code e-mail contains, case folded.
SUBJECT_MARK = "code de vérification"
#: Mail clocks and ours may differ a little: a message dated this much before ``since`` counts.
CLOCK_SLACK = timedelta(seconds=5)
_CODE_IN_MAIL = re.compile(r"code\b.*?(?<!\d)(\d{6})(?!\d)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class MailCode:
    """A one-time code found in a message, with the moment the message was sent."""

    sent: datetime
    code: str = field(repr=False)


def aware(moment: datetime) -> datetime:
    """``moment`` with a time zone: a naive one is taken as local time."""
    return moment if moment.tzinfo is not None else moment.astimezone()


def read_code(
    raw: bytes, *, since: datetime, recipient: str, received: datetime | None = None
) -> MailCode | None:
    """The code of a raw message if it is the portal's, to ``recipient``, sent after ``since``.

    ``received`` is when the message reached the mailbox (the file's time in a Maildir, the
    server's arrival time over IMAP): it stands for the sending time when the ``Date`` header
    is missing or unreadable. None when the message holds no code for ``recipient``.
    """
    message = email.message_from_bytes(raw, policy=email.policy.default)
    sent = sent_at(message) or received
    if sent is None or sent < aware(since) - CLOCK_SLACK:
        return None
    if SUBJECT_MARK not in str(message.get("Subject", "")).casefold():
        return None
    if not addressed_to(message, recipient):
        return None
    code = code_in(message)
    return MailCode(sent, code) if code is not None else None


def sent_at(message: EmailMessage) -> datetime | None:
    """When ``message`` was sent, from its ``Date`` header; None when missing or unreadable."""
    try:
        header = message.get("Date")
        sent = parsedate_to_datetime(str(header)) if header else None
    except (TypeError, ValueError):
        return None
    if sent is not None and sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)  # « -0000 »: UTC, origin unknown (RFC 5322)
    return sent


def addressed_to(message: EmailMessage, recipient: str) -> bool:
    """Whether one of the ``To`` addresses of ``message`` is ``recipient``, whatever the case."""
    wanted = recipient.strip().casefold()
    addresses = getaddresses([str(v) for v in message.get_all("To", [])])
    return wanted in {address.strip().casefold() for _, address in addresses}


def code_in(message: EmailMessage) -> str | None:
    """The six digits that follow the word « code » in the text of ``message``, if any."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        return None
    if not isinstance(content, str):
        return None
    match = _CODE_IN_MAIL.search(content)
    return match.group(1) if match else None
