"""One-time codes read from a real mailbox over IMAP (``CHORUS_OTP_SOURCE=imaps://…``).

The source is described by ``imaps://user@host[:port][/folder][?consume=delete|seen]``:

- ``imaps://``          TLS from the first byte (port 993 by default);
- ``imap+starttls://``  a plain connection upgraded with STARTTLS (port 143 by default);
- ``imap://``           the same as ``imap+starttls://``, or TLS when the port is 993.

The user may be an e-mail address (``user@example.fr@host`` or ``user%40example.fr@host``);
the folder defaults to ``INBOX``. The password never appears in the address: it comes from
``CHORUS_OTP_IMAP_PASSWORD``; ``CHORUS_OTP_IMAP_CAFILE`` names a private certificate
authority. The server's certificate is always verified and the password is sent only over an
encrypted connection.

A code is consumed once read, so that it is never used twice: flagged ``\\Seen \\Deleted``
and expunged (``consume=delete``, the default) or flagged ``\\Seen`` only (``consume=seen``).
When the server has CONDSTORE (RFC 7162) the flag change is conditional: of two workers
reading the same message, only one gets it.

Which message holds the code (recipient, date, subject, the six digits) is decided by
:func:`robot.otp._mail.read_code`, the rules the Maildir source
(:class:`robot.otp.sources.MaildirOtp`) follows too; the server's arrival time stands for a
missing ``Date``. This module imports nothing from :mod:`robot.otp.sources`: the sources
build an IMAP one through :func:`make_imap_otp`.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from robot.errors import OtpError
from robot.otp._mail import CLOCK_SLACK, aware, read_code
from robot.secrets import Secret, register

#: The address schemes of an IMAP source (``CHORUS_OTP_SOURCE=imaps://…``).
IMAP_SCHEMES = ("imaps", "imap+starttls", "imap")
PASSWORD_VARIABLE = "CHORUS_OTP_IMAP_PASSWORD"
CAFILE_VARIABLE = "CHORUS_OTP_IMAP_CAFILE"
#: Seconds between two looks at the mailbox.
POLL_S = 1.0

Security = Literal["tls", "starttls"]
Consume = Literal["delete", "seen"]
_CONSUME: tuple[Consume, ...] = ("delete", "seen")


@dataclass(frozen=True)
class ImapTarget:
    """Where the codes arrive; holds no secret (the address may not carry a password)."""

    host: str
    port: int
    user: str
    folder: str = "INBOX"
    security: Security = "tls"
    consume: Consume = "delete"

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


def is_imap_spec(spec: str) -> bool:
    """Whether ``spec`` names an IMAP source (valid or not)."""
    scheme, sep, _ = spec.strip().partition("://")
    return bool(sep) and scheme.lower() in IMAP_SCHEMES


def parse_imap_spec(spec: str) -> ImapTarget:
    """The mailbox ``spec`` describes; ``ValueError`` with a French reason otherwise.

    Messages never quote ``spec``: a mistaken one might hold a password.
    """
    try:
        parts = urlsplit(spec.strip())
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise ValueError("l'adresse IMAP n'est pas valide (port incorrect ?)") from None
    scheme = parts.scheme.lower()
    if scheme not in IMAP_SCHEMES:
        raise ValueError("l'adresse IMAP doit commencer par imaps://, imap+starttls:// ou imap://")
    if parts.password is not None:
        raise ValueError(
            f"l'adresse IMAP ne doit pas contenir de mot de passe : indiquez-le dans "
            f"{PASSWORD_VARIABLE}"
        )
    user = unquote(parts.username or "")
    if not user:
        raise ValueError("identifiant IMAP manquant (imaps://identifiant@serveur/INBOX)")
    if not host:
        raise ValueError("serveur IMAP manquant (imaps://identifiant@serveur/INBOX)")
    security: Security = (
        "tls" if scheme == "imaps" or (scheme == "imap" and port == 993) else ("starttls")
    )
    if port is None:
        port = 993 if security == "tls" else 143
    consume: Consume = "delete"
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key != "consume" or value not in _CONSUME:
            raise ValueError(
                "paramètre de l'adresse IMAP inconnu (seuls consume=delete et consume=seen "
                "sont admis)"
            )
        consume = value
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapTarget(host, port, user, folder, security, consume)


def make_imap_otp(
    spec: str,
    *,
    password: Secret | None = None,
    cafile: Path | None = None,
    timeout_s: float = 60,
    environ: Mapping[str, str] | None = None,
) -> ImapOtp:
    """The IMAP source of ``spec``; password and CA file default to the environment.

    Raises ``ValueError`` (French) when the spec is wrong or the password missing.
    """
    try:
        target = parse_imap_spec(spec)
    except ValueError as exc:
        raise ValueError(f"CHORUS_OTP_SOURCE : {exc}.") from None
    env = os.environ if environ is None else environ
    if password is None and env.get(PASSWORD_VARIABLE, ""):
        password = Secret(env[PASSWORD_VARIABLE])
    if not password:
        raise ValueError(f"{PASSWORD_VARIABLE} : obligatoire avec une source IMAP.")
    if cafile is None and env.get(CAFILE_VARIABLE, "").strip():
        cafile = Path(env[CAFILE_VARIABLE].strip()).expanduser()
    if cafile is not None and not cafile.is_file():
        raise ValueError(f"{CAFILE_VARIABLE} : « {cafile} » n'existe pas.")
    return ImapOtp(target, password, cafile=cafile, timeout_s=timeout_s)


class ImapOtp:
    """Waits for the portal's code in an IMAP folder, takes the newest and consumes it."""

    def __init__(
        self,
        target: ImapTarget,
        password: Secret,
        *,
        cafile: Path | None = None,
        timeout_s: float = 60,
        poll_s: float = POLL_S,
    ) -> None:
        self.target = target
        self.cafile = cafile
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self._password = password
        self._waiter = threading.Event()

    def __repr__(self) -> str:
        return f"ImapOtp({str(self.target)!r}, {self.target.security}, timeout_s={self.timeout_s})"

    def get_code(self, *, since: datetime, recipient: str) -> str:
        since = aware(since)
        deadline = time.monotonic() + self.timeout_s
        session = self._open()
        try:
            while True:
                try:
                    code = session.take(since=since, recipient=recipient)
                except (OSError, imaplib.IMAP4.abort):
                    # The server dropped the connection (restart, idle limit): log in again.
                    session.close()
                    code, session = None, self._open()
                except imaplib.IMAP4.error:
                    raise OtpError(
                        f"Le serveur IMAP {self.target.host} a refusé une commande de recherche "
                        "ou de marquage des messages."
                    ) from None
                if code is not None:
                    register(code)
                    return code
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise OtpError(
                        f"Aucun code de vérification reçu pour {recipient} dans la boîte IMAP "
                        f"{self.target} en {self.timeout_s:g} s."
                    )
                self._waiter.wait(min(self.poll_s, remaining))
        finally:
            session.close()

    def _open(self) -> _Session:
        io_timeout = min(max(self.timeout_s, 5.0), 30.0)
        return _Session.open(self.target, self._password, self.cafile, io_timeout)


class _Session:
    """One logged-in connection with the folder selected."""

    def __init__(self, imap: imaplib.IMAP4, target: ImapTarget, capabilities: set[str]) -> None:
        self.imap = imap
        self.target = target
        self.capabilities = capabilities

    @classmethod
    def open(
        cls, target: ImapTarget, password: Secret, cafile: Path | None, io_timeout: float
    ) -> _Session:
        imap = _connect(target, cafile, io_timeout)
        try:
            _login(imap, target, password)
            _, data = imap.capability()
            capabilities = set(data[-1].decode("ascii", "replace").upper().split())
            status, _ = imap.select(_quoted(_utf7(target.folder)))
        except (OSError, imaplib.IMAP4.error):
            _logout(imap)
            raise OtpError(
                f"Le serveur IMAP {target.host} a interrompu la connexion à l'ouverture de la "
                "boîte."
            ) from None
        except BaseException:
            _logout(imap)
            raise
        if status != "OK":
            _logout(imap)
            raise OtpError(f"Dossier « {target.folder} » introuvable sur le serveur IMAP {target}.")
        return cls(imap, target, capabilities)

    def take(self, *, since: datetime, recipient: str) -> str | None:
        """The code of the newest matching message, consumed; None when there is none yet."""
        imap = self.imap
        imap.noop()  # lets the server report messages delivered since the last look
        criteria = ["UNSEEN", "UNDELETED", "SINCE", search_since(since)]
        if recipient.isascii():
            criteria += ["TO", _quoted(recipient.strip())]
        _, data = imap.uid("SEARCH", " ".join(criteria))
        uids = b" ".join(d for d in data if isinstance(d, bytes)).split()
        if not uids:
            return None
        modseq = "MODSEQ " if "CONDSTORE" in self.capabilities else ""
        _, data = imap.uid(
            "FETCH", b",".join(uids).decode(), f"(UID INTERNALDATE {modseq}BODY.PEEK[])"
        )
        found: list[tuple[datetime, int, int | None, str]] = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta, raw = item
            uid = re.search(rb"\bUID (\d+)", meta)
            version = re.search(rb"\bMODSEQ \((\d+)\)", meta)
            mail = read_code(raw, since=since, recipient=recipient, received=_internaldate(meta))
            if mail is not None and uid is not None:
                changes = int(version.group(1)) if version else None
                found.append((mail.sent, int(uid.group(1)), changes, mail.code))
        for _, uid_value, changes, code in sorted(found, reverse=True):
            if self._claim(uid_value, changes):
                return code
        return None

    def _claim(self, uid: int, modseq: int | None) -> bool:
        """Consume message ``uid``; False when another reader changed it first."""
        imap = self.imap
        flags = r"(\Seen \Deleted)" if self.target.consume == "delete" else r"(\Seen)"
        imap.response("MODIFIED")  # forget any stale answer
        if modseq is not None:
            status, _ = imap.uid(
                "STORE", str(uid), f"(UNCHANGEDSINCE {modseq})", "+FLAGS.SILENT", flags
            )
        else:
            status, _ = imap.uid("STORE", str(uid), "+FLAGS.SILENT", flags)
        _, modified = imap.response("MODIFIED")
        if status != "OK" or any(modified):
            return False
        if self.target.consume == "delete":
            if "UIDPLUS" in self.capabilities:
                imap.uid("EXPUNGE", str(uid))
            else:
                imap.expunge()
        return True

    def close(self) -> None:
        # LOGOUT, not CLOSE: CLOSE would also expunge messages others flagged \Deleted.
        _logout(self.imap)


def _connect(target: ImapTarget, cafile: Path | None, io_timeout: float) -> imaplib.IMAP4:
    """An encrypted connection to the server, its certificate verified."""
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    where = f"{target.host}:{target.port}"
    imap: imaplib.IMAP4 | None = None
    try:
        if target.security == "tls":
            imap = imaplib.IMAP4_SSL(
                target.host, target.port, ssl_context=context, timeout=io_timeout
            )
        else:
            imap = imaplib.IMAP4(target.host, target.port, timeout=io_timeout)
            if "STARTTLS" not in imap.capabilities:
                raise OtpError(
                    f"Le serveur IMAP {where} ne propose pas STARTTLS : le mot de passe ne sera "
                    "pas envoyé sur une connexion non chiffrée."
                )
            imap.starttls(ssl_context=context)
    except ssl.SSLCertVerificationError as exc:
        _logout(imap)
        raise OtpError(
            f"Certificat du serveur IMAP {where} refusé ({exc.verify_message}). Si le serveur "
            f"utilise une autorité de certification privée, indiquez-la dans {CAFILE_VARIABLE}."
        ) from None
    except ssl.SSLError as exc:
        _logout(imap)
        raise OtpError(
            f"Échec de la négociation TLS avec le serveur IMAP {where} ({exc.reason})."
        ) from None
    except (OSError, imaplib.IMAP4.error) as exc:
        _logout(imap)
        raise OtpError(f"Connexion impossible au serveur IMAP {where} : {_reason(exc)}.") from None
    except BaseException:
        _logout(imap)
        raise
    if not isinstance(imap.sock, ssl.SSLSocket):  # never reached: a last guard for the password
        _logout(imap)
        raise OtpError(f"La connexion au serveur IMAP {where} n'est pas chiffrée.")
    return imap


def _login(imap: imaplib.IMAP4, target: ImapTarget, password: Secret) -> None:
    secret = password.reveal()
    try:
        if "AUTH=PLAIN" in imap.capabilities:  # SASL PLAIN also carries non-ASCII passwords
            payload = f"\0{target.user}\0{secret}".encode()
            imap.authenticate("PLAIN", lambda _challenge: payload)
        else:
            imap.login(target.user, secret)
    except (imaplib.IMAP4.error, UnicodeEncodeError):
        raise OtpError(
            f"Le serveur IMAP {target.host} a refusé l'identifiant « {target.user} » ou son mot "
            f"de passe ({PASSWORD_VARIABLE})."
        ) from None
    finally:
        # imaplib remembers the last lines it sent, LOGIN and its password among them.
        log = getattr(imap, "_cmd_log", None)
        if isinstance(log, dict):
            log.clear()


def _logout(imap: imaplib.IMAP4 | None) -> None:
    if imap is None:
        return
    try:
        imap.logout()
    except (OSError, imaplib.IMAP4.error):
        with contextlib.suppress(OSError):
            imap.shutdown()


_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (ConnectionRefusedError, "connexion refusée"),
    (TimeoutError, "pas de réponse dans le délai"),
    (socket.gaierror, "serveur inconnu"),
)


def _reason(exc: BaseException) -> str:
    for kind, text in _REASONS:
        if isinstance(exc, kind):
            return text
    if isinstance(exc, imaplib.IMAP4.error):
        return "réponse inattendue du serveur"
    return str(exc) or type(exc).__name__


def _quoted(text: str) -> str:
    """An IMAP quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501, 5.1.3): « Boîte » → « Bo&AO4-te »."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def search_since(since: datetime) -> str:
    """The IMAP ``SINCE`` date for ``since``: a day earlier, as servers compare their own dates."""
    day = (aware(since) - CLOCK_SLACK - timedelta(days=1)).date()
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _internaldate(meta: bytes) -> datetime | None:
    """The server's arrival time of a message, from a FETCH response."""
    moment = imaplib.Internaldate2tuple(meta)
    return None if moment is None else datetime.fromtimestamp(time.mktime(moment)).astimezone()
