"""Authenticator codes (TOTP, RFC 6238) the robot computes itself: ``CHORUS_OTP_SOURCE=totp``.

The portal lets an account register an authenticator application instead of the e-mailed
code (docs/portal.md, « The second factor and lockout »): the robot then holds the
application's secret (``CHORUS_OTP_TOTP_SECRET``, or ``otp_totp_secret`` in the accounts
file) and no mailbox is in the loop. Codes are 6 digits over 30-second periods (the RFC's
and every authenticator application's defaults), computed with ``pyotp``.

Two rules make a code safe to submit unattended (:class:`TotpOtp`):

- **never at the end of a period**: with fewer than :data:`MARGIN_S` seconds left, the robot
  waits for the next period, so that the code is still the current one when the portal
  checks it, after it is typed and sent (a slow portal included: servers usually accept the
  previous period's code too, but nothing documents that the portal does);
- **never twice**: a server refuses a code already accepted (RFC 6238 § 5.2), so a re-login
  within the same period waits for the next one. The last period used per secret is kept by
  :class:`StepLedger`, shared by the threads and processes of the machine (a file under the
  temporary folder, locked); machines do not share it.

The secret travels as a :class:`TotpSpec`: the string ``totp`` carrying its secret, so that
every place that hands a ``CHORUS_OTP_SOURCE`` value to :func:`robot.otp.make_otp_source`
(a worker process, an account of the accounts file) hands the right secret with it. The secret
is a :class:`~robot.secrets.Secret` (registered for redaction as soon as it is read), and so is
every code computed; neither is ever logged, nor quoted in a message.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import functools
import hashlib
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyotp
from loguru import logger

from robot.secrets import Secret, register

#: What ``CHORUS_OTP_SOURCE`` (or an account's ``otp_source``) says for this source.
TOTP_SCHEME = "totp"
PERIOD_S = 30
DIGITS = 6
#: With fewer seconds than this left in the current period, wait for the next one.
MARGIN_S = 3.0
#: A secret shorter than this many base32 characters (80 bits) is refused: what the shortest
#: secrets of authenticator applications measure (RFC 4226 asks for 128 bits at least).
MIN_SECRET_CHARS = 16
#: A last period recorded further ahead than this is not trusted (a clock set back, a damaged
#: file): waiting for it could take hours.
_MAX_STEPS_AHEAD = 10
_BASE32 = re.compile(r"[A-Z2-7]+")

Clock = Callable[[], float]
Waiter = Callable[[float], Any]


def is_totp_spec(spec: str) -> bool:
    """Whether ``spec`` (a ``CHORUS_OTP_SOURCE`` value) names the authenticator source."""
    return spec.strip().lower() == TOTP_SCHEME


def normalized_secret(raw: str) -> str:
    """The secret as base32 letters only: spaces and hyphens (as applications show it, in
    groups of four) and padding removed, upper case."""
    return re.sub(r"[\s\-=]", "", raw).upper()


def check_totp_secret(raw: str) -> str | None:
    """Why ``raw`` is not a usable secret (French, never quoting it), or None when it is."""
    secret = normalized_secret(raw)
    if not secret:
        return "le secret est vide"
    if not _BASE32.fullmatch(secret):
        return "le secret n'est pas en base32 (lettres A à Z et chiffres 2 à 7 attendus)"
    try:
        base64.b32decode(secret + "=" * (-len(secret) % 8))
    except binascii.Error:
        return "le secret base32 est tronqué (longueur impossible)"
    if len(secret) < MIN_SECRET_CHARS:
        return f"le secret est trop court ({MIN_SECRET_CHARS} caractères base32 au moins attendus)"
    return None


class TotpSpec(str):
    """``totp``, carrying the secret its codes are computed from.

    A string, so that it goes wherever a ``CHORUS_OTP_SOURCE`` value goes (a configuration
    handed to a worker process, an account's ``otp_source``) and compares equal to ``totp``;
    its ``repr`` is ``'totp'``: the secret never shows.
    """

    secret: Secret

    def __new__(cls, secret: Secret) -> TotpSpec:
        spec = super().__new__(cls, TOTP_SCHEME)
        spec.secret = secret
        return spec

    def __reduce__(self) -> tuple[Any, tuple[Secret]]:
        return (TotpSpec, (self.secret,))


def bind_totp(spec: str, secret: Secret | None) -> str:
    """``spec`` bound to ``secret`` when it names the authenticator source, else ``spec``."""
    if secret is None or not is_totp_spec(spec):
        return spec
    return TotpSpec(secret)


def secret_of(spec: str) -> Secret | None:
    """The secret a :class:`TotpSpec` carries; None for any other value."""
    return spec.secret if isinstance(spec, TotpSpec) else None


class StepLedger:
    """The last period whose code was used, per secret, for every thread and process of the
    machine that uses this ledger's folder.

    ``folder`` None: this process only. A folder that cannot be used safely (not ours, open
    to others, unwritable) falls back to this process only, without failing the login.
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._memory: dict[str, int] = {}

    @classmethod
    def for_machine(cls) -> StepLedger:
        """The ledger every robot process of this user on this machine shares (one object per
        process: should the folder be unusable, the process still remembers)."""
        return _machine_ledger()

    def claim(self, key: str, choose: Callable[[int | None], int]) -> int:
        """``choose(last)`` under the ledger's lock, ``last`` being the last period used with
        ``key`` (None: none known); the period it returns is recorded, then returned."""
        with self._lock, self._file(key) as file:
            last = self._memory.get(key)
            if file is not None:
                stored = _read_step(file)
                if stored is not None and (last is None or stored > last):
                    last = stored
            step = choose(last)
            self._memory[key] = step
            if file is not None:
                with contextlib.suppress(OSError):
                    os.ftruncate(file, 0)
                    os.pwrite(file, str(step).encode(), 0)
            return step

    @contextlib.contextmanager
    def _file(self, key: str) -> Iterator[int | None]:
        """The key's file, open and locked (flock); None when the folder is not usable."""
        fd = self._open(key)
        if fd is None:
            yield None
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # releases the lock

    def _open(self, key: str) -> int | None:
        if self.folder is None:
            return None
        try:
            self.folder.mkdir(mode=0o700, exist_ok=True)
            info = self.folder.lstat()
            if (
                not stat.S_ISDIR(info.st_mode)
                or info.st_uid != os.getuid()
                or stat.S_IMODE(info.st_mode) & 0o077
            ):
                return None  # another user's, or open to others: not trusted
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
            return os.open(self.folder / key, flags, 0o600)
        except OSError:
            return None


@functools.cache
def _machine_ledger() -> StepLedger:
    return StepLedger(Path(tempfile.gettempdir()) / f"chorus-robot-totp-{os.getuid()}")


def _read_step(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class TotpOtp:
    """Computes the current authenticator code of ``secret`` (6 digits, 30-second periods).

    Waits for the next period when fewer than ``margin_s`` seconds are left in the current
    one, or when the current period's code was already used (:class:`StepLedger`). ``clock``
    (seconds since the epoch) and ``wait`` (seconds) are injectable: tests compute the wait,
    they do not sleep it.
    """

    def __init__(
        self,
        secret: Secret,
        *,
        clock: Clock = time.time,
        wait: Waiter | None = None,
        ledger: StepLedger | None = None,
        margin_s: float = MARGIN_S,
    ) -> None:
        problem = check_totp_secret(secret.reveal())
        if problem is not None:
            raise ValueError(f"CHORUS_OTP_TOTP_SECRET : {problem}.")
        normalized = normalized_secret(secret.reveal())
        register(normalized)
        self._totp = pyotp.TOTP(normalized, digits=DIGITS, interval=PERIOD_S)
        self._key = hashlib.sha256(b"chorus-robot-totp\0" + normalized.encode()).hexdigest()[:32]
        self._clock = clock
        self._wait = wait or threading.Event().wait
        self._ledger = ledger or StepLedger.for_machine()
        self.margin_s = margin_s

    def __repr__(self) -> str:
        return f"TotpOtp(margin_s={self.margin_s:g})"

    def get_code(self, *, since: datetime, recipient: str) -> str:
        """The code to type now (``since`` and ``recipient`` do not matter: nothing is sent)."""
        step = self._ledger.claim(self._key, self._choose)
        code = self._totp.at(step * PERIOD_S)
        register(code)
        return code

    def _choose(self, last: int | None) -> int:
        """The period whose code to use, after waiting for it to begin when it is ahead."""
        now = self._clock()
        current = int(now // PERIOD_S)
        step = current
        if (current + 1) * PERIOD_S - now < self.margin_s:
            step = current + 1
        if last is not None and last <= current + _MAX_STEPS_AHEAD:
            step = max(step, last + 1)
        delay = step * PERIOD_S - now
        if delay > 0:
            logger.info(
                "Code de l'application d'authentification : attente de {:.1f} s (période suivante)",
                delay,
            )
            self._wait(delay)
        return step
