"""Where the robot gets the one-time code the portal asks for after the password.

    source = make_otp_source(config.otp_source, ...)   # None: no second factor
    code = source.get_code(since=moment, recipient=identifiant)

Sources: a prompt, a Maildir, a command (:mod:`robot.otp.sources`), a real mailbox over IMAP
(:mod:`robot.otp.imap`). Failing to get a code raises :class:`~robot.errors.OtpError`.
"""

from robot.errors import OtpError
from robot.otp.sources import (
    CommandOtp,
    MaildirOtp,
    OtpSource,
    PromptOtp,
    check_otp_spec,
    is_imap_spec,
    make_otp_source,
)

__all__ = [
    "CommandOtp",
    "MaildirOtp",
    "OtpError",
    "OtpSource",
    "PromptOtp",
    "check_otp_spec",
    "is_imap_spec",
    "make_otp_source",
]
