"""Where the robot gets the one-time code the portal asks for after the password.

    source = make_otp_source(config.otp_source, ...)   # None: no second factor
    code = source.get_code(since=moment, recipient=identifiant)

Public names:

- :class:`OtpSource`: what every source offers, ``get_code(since=, recipient=)``;
- :func:`make_otp_source`: the source a ``CHORUS_OTP_SOURCE`` value describes;
- :func:`check_otp_spec`, :func:`is_imap_spec`: the checks the configuration makes on it;
- :class:`PromptOtp`, :class:`MaildirOtp`, :class:`CommandOtp`: the terminal, Maildir and
  command sources;
- :class:`TotpOtp`: the authenticator application's codes (``totp``), computed from a secret;
  :class:`TotpSpec`, :func:`bind_totp`: ``totp`` carrying that secret;
  :func:`check_totp_secret`, :func:`is_totp_spec`: the checks the configuration makes;
- :class:`~robot.errors.OtpError`: raised when no code could be obtained (exit code 3).

Modules: :mod:`robot.otp.sources` (the prompt, Maildir and command sources,
:func:`make_otp_source`, :func:`check_otp_spec`), :mod:`robot.otp.imap` (a real mailbox over
IMAP, :func:`is_imap_spec`), :mod:`robot.otp.totp` (authenticator codes, RFC 6238),
:mod:`robot.otp._mail` (private: which e-mail holds the code, the rules both mailbox sources
share). ``sources`` imports ``imap``, ``totp`` and ``_mail``; ``imap`` imports only ``_mail``;
``totp`` imports none of them.
"""

from robot.errors import OtpError
from robot.otp.imap import is_imap_spec
from robot.otp.sources import (
    CommandOtp,
    MaildirOtp,
    OtpSource,
    PromptOtp,
    check_otp_spec,
    make_otp_source,
)
from robot.otp.totp import TotpOtp, TotpSpec, bind_totp, check_totp_secret, is_totp_spec

__all__ = [
    "CommandOtp",
    "MaildirOtp",
    "OtpError",
    "OtpSource",
    "PromptOtp",
    "TotpOtp",
    "TotpSpec",
    "bind_totp",
    "check_otp_spec",
    "check_totp_secret",
    "is_imap_spec",
    "is_totp_spec",
    "make_otp_source",
]
