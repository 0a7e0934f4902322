"""Sessions, CSRF tokens, login lockout, one-time codes (by e-mail, or from an authenticator
application) and their e-mail (Maildir).

Sessions live server-side (in memory): the cookie only carries a random id, rotated at login.

**Live sessions of an account** (the ``max_sessions_per_account`` knob, ``/_admin/stats``): the
sessions logged in as that identifiant (after the one-time code when the account has one) that
have not ended: not logged out, not idle longer than ``session_idle_s`` (when set), not past
``session_max_requests`` pages (when set), not expired by the admin interface nor forgotten
by a reset. An expired session still held in memory (its browser has not come back yet) is
pruned when counted. :meth:`SessionStore.admit` counts and logs in under one lock, so two
simultaneous logins cannot both take the last slot; it keeps each account's peak of live
sessions since the last :meth:`SessionStore.clear` (reset).

**Authenticator codes** (TOTP, RFC 6238, with ``pyotp``): an account enrolled with a secret
(``--totp-secret``, or ``POST /_admin/totp``) is asked, after its password, for the code its
application shows instead of an e-mailed one: 6 digits per 30-second period, the periods just
before and after the current one accepted too (clock drift, typing time: :func:`totp_step`).
A period whose code was accepted once, or any earlier one, is refused afterwards (a replay,
RFC 6238 § 5.2); the store keeps the periods used.

Nothing here logs or shows a password, a code, a secret, a session id or a CSRF token; the
records that hold them keep them out of their ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from enum import StrEnum
from pathlib import Path

import pyotp

Clock = Callable[[], float]

SESSION_COOKIE = "chorus_session"
MAX_SESSIONS = 5000  # above this, stale anonymous sessions are pruned
ANONYMOUS_TTL_S = 3600
MAX_FAILURES = 5  # consecutive failures before the identifiant is locked (documented)
LOCKOUT_S = 60 * 60  # the real portal locks the account for 1 hour (documented)
OTP_TTL_S = 10 * 60  # [assumed] a code is valid 10 minutes
OTP_MAX_FAILURES = 5  # wrong codes before the code is void (no brute force of 6 digits)
OTP_SENDER = "ne-pas-repondre@chorus-pro.gouv.fr"
OTP_SUBJECT = "Chorus Pro - Code de vérification"
TOTP_PERIOD_S = 30  # RFC 6238's default, and every authenticator application's
TOTP_DIGITS = 6
TOTP_WINDOW = 1  # periods accepted before and after the current one
TOTP_MIN_CHARS = 16  # base32 characters (80 bits): the shortest secrets applications use


class OtpCheck(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"


@dataclass
class OtpChallenge:
    """A one-time code waiting to be typed (the code itself never shows in a repr)."""

    email: str
    code: str = field(repr=False)
    expires_at: float
    failures: int = 0

    def check(self, typed: str, now: float) -> OtpCheck:
        """OK, WRONG, or EXPIRED (too late, or too many wrong codes: log in again)."""
        if now > self.expires_at or self.failures >= OTP_MAX_FAILURES:
            return OtpCheck.EXPIRED
        if hmac.compare_digest(typed.strip().encode(), self.code.encode()):
            return OtpCheck.OK
        self.failures += 1
        return OtpCheck.WRONG


@dataclass
class TotpChallenge:
    """The login of an account enrolled for authenticator codes, waiting for one (the codes
    are checked against the account's secret, :func:`totp_step`)."""

    email: str
    expires_at: float

    def expired(self, now: float) -> bool:
        return now > self.expires_at


def normalized_totp_secret(secret: str) -> str:
    """A base32 secret as applications show it (groups, lower case, padding) made plain."""
    return re.sub(r"[\s\-=]", "", secret).upper()


def totp_secret_problem(secret: str) -> str | None:
    """Why ``secret`` cannot be enrolled (French, never quoting it), or None."""
    plain = normalized_totp_secret(secret)
    if not re.fullmatch(r"[A-Z2-7]+", plain):
        return "Le secret doit être écrit en base32 (lettres A à Z et chiffres 2 à 7)."
    try:
        base64.b32decode(plain + "=" * (-len(plain) % 8))
    except binascii.Error:
        return "Le secret base32 est tronqué (longueur impossible)."
    if len(plain) < TOTP_MIN_CHARS:
        return f"Le secret doit compter au moins {TOTP_MIN_CHARS} caractères base32."
    return None


def totp_step(secret: str, typed: str, now: float) -> int | None:
    """The period whose code ``typed`` is, within :data:`TOTP_WINDOW` periods of ``now``
    (seconds since the epoch); None when it is none of them."""
    totp = pyotp.TOTP(normalized_totp_secret(secret), digits=TOTP_DIGITS, interval=TOTP_PERIOD_S)
    current = int(now // TOTP_PERIOD_S)
    given = typed.strip().encode()
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if hmac.compare_digest(given, totp.at(step * TOTP_PERIOD_S).encode()):
            return step
    return None


def new_totp_secret() -> str:
    """A fresh secret (160 bits, base32), as the admin interface draws one."""
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` address an authenticator application reads (as a QR code)."""
    totp = pyotp.TOTP(normalized_totp_secret(secret), digits=TOTP_DIGITS, interval=TOTP_PERIOD_S)
    return totp.provisioning_uri(name=email, issuer_name="Chorus Pro (bac à sable)")


@dataclass
class Session:
    """One browser's session: anonymous (login form) or logged in."""

    sid: str = field(repr=False)
    csrf: str = field(repr=False)
    last_seen: float
    email: str | None = None
    supplier_id: int | None = None
    otp: OtpChallenge | TotpChallenge | None = field(default=None, repr=False)
    window_closed: bool = False
    flashes: list[tuple[str, str]] = field(default_factory=list)
    served: int = 0  # requests served while logged in (the « expire after N requests » knob)
    #: Three origins (:mod:`sandbox.origins`): what a pre-session waits for (an OpenID
    #: Connect ``state``, a pending authorization request), kept when the id rotates.
    pending: object = field(default=None, repr=False)
    #: Three origins: the identity provider's session this one was born from (its logout
    #: ends this one too).
    idp_sid: str | None = field(default=None, repr=False)

    @property
    def logged_in(self) -> bool:
        return self.email is not None

    def flash(self, kind: str, text: str) -> None:
        """Queue a message for the next page (``kind``: ``status`` or ``alert``)."""
        self.flashes.append((kind, text))

    def pop_flashes(self) -> list[tuple[str, str]]:
        out, self.flashes = self.flashes, []
        return out

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token).encode(), self.csrf.encode())


def account_key(email: str) -> str:
    """How sessions and peaks name an account: its identifiant, case-insensitive."""
    return email.strip().lower()


class SessionStore:
    """Server-side sessions keyed by a random id; idle ones expire when the knob says so."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        #: Every session id handed out since the last clear (tests hunt them in artifacts).
        self.issued: list[str] = []
        #: The most live sessions each account held at once since the last clear.
        self._peaks: dict[str, int] = {}

    def now(self) -> float:
        return self._clock()

    def new(self) -> Session:
        with self._lock:
            return self._new_locked()

    def _new_locked(self) -> Session:
        session = Session(
            sid=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), last_seen=self.now()
        )
        if len(self._sessions) >= MAX_SESSIONS:
            self._prune(session.last_seen)
        self._sessions[session.sid] = session
        self.issued.append(session.sid)
        return session

    def _prune(self, now: float) -> None:
        """Forget anonymous sessions idle for an hour (a robot's many logins must not pile up)."""
        stale = [
            sid
            for sid, s in self._sessions.items()
            if not s.logged_in and now - s.last_seen > ANONYMOUS_TTL_S
        ]
        for sid in stale:
            del self._sessions[sid]

    def get(
        self, sid: str | None, *, idle_s: float = 0, max_requests: int = 0
    ) -> tuple[Session | None, bool]:
        """The live session for ``sid`` and whether a session was found but had expired.

        A found session is touched (its idle timer restarts).
        """
        if not sid:
            return None, False
        now = self.now()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None, True  # unknown id: the server forgot it (reset, restart)
            # Only a logged-in session expires when idle: the login form's must not.
            if idle_s > 0 and session.logged_in and now - session.last_seen > idle_s:
                del self._sessions[sid]
                return None, True
            if session.logged_in:
                session.served += 1
                if max_requests > 0 and session.served > max_requests:
                    del self._sessions[sid]
                    return None, True
            session.last_seen = now
            return session, False

    def rotate(self, old: Session) -> Session:
        """A new id and CSRF token for the same state (at login: no session fixation)."""
        with self._lock:
            return self._rotate_locked(old)

    def _rotate_locked(self, old: Session) -> Session:
        fresh = self._new_locked()
        fresh.flashes = list(old.flashes)
        fresh.pending = old.pending
        self._sessions.pop(old.sid, None)
        return fresh

    def admit(
        self,
        old: Session,
        email: str,
        supplier_id: int,
        *,
        limit: int = 0,
        idle_s: float = 0,
        max_requests: int = 0,
    ) -> Session | None:
        """Log ``email`` in on a fresh session replacing ``old`` (rotated: no session
        fixation), or None, changing nothing, when the account already holds ``limit`` live
        sessions (0: no limit). ``old`` itself is not counted: it ends here."""
        key = account_key(email)
        with self._lock:
            live = self._live_locked(idle_s, max_requests, ignore=old.sid).get(key, 0)
            if limit > 0 and live >= limit:
                return None
            fresh = self._rotate_locked(old)
            fresh.email = email
            fresh.supplier_id = supplier_id
            fresh.otp = None
            fresh.pending = None
            fresh.window_closed = False
            self._peaks[key] = max(self._peaks.get(key, 0), live + 1)
            return fresh

    def live_counts(self, *, idle_s: float = 0, max_requests: int = 0) -> dict[str, int]:
        """Live sessions per account (:func:`account_key`); ended ones are pruned."""
        with self._lock:
            return self._live_locked(idle_s, max_requests)

    def peaks(self) -> dict[str, int]:
        """The most live sessions each account held at once since the last clear."""
        with self._lock:
            return dict(self._peaks)

    def _live_locked(
        self, idle_s: float, max_requests: int, ignore: str | None = None
    ) -> dict[str, int]:
        now = self.now()
        ended = [
            sid
            for sid, s in self._sessions.items()
            if s.logged_in
            and (
                (idle_s > 0 and now - s.last_seen > idle_s)
                or (max_requests > 0 and s.served >= max_requests)
            )
        ]
        for sid in ended:  # as :meth:`get` would find them: expired
            del self._sessions[sid]
        counts: dict[str, int] = {}
        for sid, s in self._sessions.items():
            if s.email is not None and sid != ignore:
                key = account_key(s.email)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def drop(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.sid, None)

    def drop_born_of(self, idp_sid: str) -> int:
        """End every session born from the identity provider's session ``idp_sid`` (its
        back-channel logout); returns how many."""
        with self._lock:
            ended = [sid for sid, s in self._sessions.items() if s.idp_sid == idp_sid]
            for sid in ended:
                del self._sessions[sid]
            return len(ended)

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()
            self.issued.clear()
            self._peaks.clear()

    def expire_all(self) -> int:
        """End every session now (as an idle expiry would); returns how many."""
        with self._lock:
            count = len(self._sessions)
            self._sessions.clear()
            return count


CODE_TTL_S = 60  # an authorization code's life (OpenID Connect: short, single use)


@dataclass
class Grant:
    """What an authorization code stands for: a login of the identity provider's session
    ``idp_sid``, for one client and one return address."""

    client_id: str
    redirect_uri: str
    idp_sid: str = field(repr=False)
    email: str
    supplier_id: int
    expires_at: float


class AuthorizationCodes:
    """The identity provider's authorization codes (three origins, :mod:`sandbox.origins`):
    single use, short-lived, bound to the client and the return address they were issued
    for."""

    def __init__(self, clock: Clock = time.monotonic, ttl_s: float = CODE_TTL_S) -> None:
        self._clock = clock
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._grants: dict[str, Grant] = {}

    def issue(self, client_id: str, redirect_uri: str, session: Session) -> str:
        """A fresh code for the logged-in identity provider's ``session``."""
        assert session.email is not None and session.supplier_id is not None
        code = secrets.token_urlsafe(32)
        now = self._clock()
        grant = Grant(
            client_id,
            redirect_uri,
            session.sid,
            session.email,
            session.supplier_id,
            now + self._ttl_s,
        )
        with self._lock:
            for old in [c for c, g in self._grants.items() if g.expires_at < now]:
                del self._grants[old]
            self._grants[code] = grant
        return code

    def redeem(self, code: str, client_id: str, redirect_uri: str) -> Grant | None:
        """The code's grant, once (the code is spent even when refused), or None: unknown,
        expired, or issued for another client or return address."""
        with self._lock:
            grant = self._grants.pop(code, None)
        if grant is None or self._clock() > grant.expires_at:
            return None
        if grant.client_id != client_id or grant.redirect_uri != redirect_uri:
            return None
        return grant

    def clear(self) -> None:
        with self._lock:
            self._grants.clear()


class LoginGuard:
    """Counts consecutive login failures per identifiant and locks it for a while."""

    def __init__(
        self,
        clock: Clock = time.monotonic,
        *,
        max_failures: int = MAX_FAILURES,
        lockout_s: float = LOCKOUT_S,
    ) -> None:
        self._clock = clock
        self._max = max_failures
        self._lockout_s = lockout_s
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}

    def is_locked(self, email: str) -> bool:
        key = email.strip().lower()
        with self._lock:
            until = self._locked_until.get(key)
            if until is None:
                return False
            if self._clock() >= until:
                del self._locked_until[key]
                self._failures.pop(key, None)
                return False
            return True

    def failure(self, email: str) -> bool:
        """Record a failure; True when the identifiant is now locked."""
        key = email.strip().lower()
        with self._lock:
            count = self._failures.get(key, 0) + 1
            self._failures[key] = count
            if count >= self._max:
                self._locked_until[key] = self._clock() + self._lockout_s
                return True
            return False

    def success(self, email: str) -> None:
        key = email.strip().lower()
        with self._lock:
            self._failures.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
            self._locked_until.clear()


def new_otp(email: str, now: float, ttl_s: float = OTP_TTL_S) -> OtpChallenge:
    """A fresh 6-digit code for ``email``."""
    return OtpChallenge(email=email, code=f"{secrets.randbelow(10**6):06d}", expires_at=now + ttl_s)


class Maildir:
    """A Maildir (``cur``/``new``/``tmp``) the sandbox « sends » its e-mails to."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._counter = 0

    def ensure(self) -> None:
        for sub in ("cur", "new", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def clear(self) -> None:
        """Delete every message (the folders stay)."""
        self.ensure()
        for sub in ("cur", "new", "tmp"):
            for path in (self.root / sub).iterdir():
                if path.is_file():
                    path.unlink()

    def deliver(self, message: EmailMessage) -> Path:
        """Write to ``tmp`` then rename into ``new`` (the Maildir way: never half a file)."""
        self.ensure()
        with self._lock:
            self._counter += 1
            name = f"{time.time_ns()}.P{os.getpid()}Q{self._counter}.{socket.gethostname()}"
        tmp = self.root / "tmp" / name
        tmp.write_bytes(bytes(message))
        final = self.root / "new" / f"{name}.eml"
        os.replace(tmp, final)
        return final

    def last(self) -> EmailMessage | None:
        """The most recently delivered message still in ``new``, if any."""
        self.ensure()
        paths = sorted((self.root / "new").glob("*.eml"), key=lambda p: p.name)
        if not paths:
            return None
        from email import message_from_bytes, policy

        parsed = message_from_bytes(paths[-1].read_bytes(), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def otp_message(to: str, code: str) -> EmailMessage:
    """The e-mail carrying a one-time code (RFC 5322)."""
    msg = EmailMessage()
    msg["From"] = f"Chorus Pro <{OTP_SENDER}>"
    msg["To"] = to
    msg["Subject"] = OTP_SUBJECT
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="chorus-pro.gouv.fr")
    msg.set_content(
        "Bonjour,\n\n"
        f"Votre code de vérification est : {code}\n\n"
        "Ce code est valable 10 minutes. Si vous n'êtes pas à l'origine de cette demande, "
        "ignorez ce message.\n\n"
        "L'équipe Chorus Pro\n"
    )
    return msg
