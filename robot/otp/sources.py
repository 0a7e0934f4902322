"""Where the robot gets the one-time code the portal sends by e-mail after the password.

Sources, chosen by ``CHORUS_OTP_SOURCE`` (see :func:`make_otp_source`):

- ``prompt``            asked on the terminal;
- ``maildir:/path``     read from a Maildir (``maildir:auto``: the embedded sandbox's own);
- ``command:<command>`` printed by a command (no shell), e.g. a mail-fetching script;
- ``imaps://user@host/INBOX`` read from a real mailbox over IMAP (:mod:`robot.otp.imap`);
- ``totp``              computed from an authenticator application's secret
  (``CHORUS_OTP_TOTP_SECRET``; :mod:`robot.otp.totp`): no mailbox at all;
- ``none``              the account has no second factor.

The prompt, Maildir and command sources live here, with :func:`make_otp_source` and
:func:`check_otp_spec`; the IMAP source lives in :mod:`robot.otp.imap`, the authenticator one
in :mod:`robot.otp.totp`. Which e-mail holds the code (recipient, date, subject, the six
digits) is decided in one place for both mailbox sources, :mod:`robot.otp._mail`. Every code
obtained is registered as a secret (:func:`robot.secrets.register`) and never logged.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TextIO

from robot.errors import OtpError
from robot.otp._mail import aware, read_code
from robot.otp.imap import is_imap_spec, make_imap_otp, parse_imap_spec
from robot.otp.totp import TotpOtp, is_totp_spec, secret_of
from robot.secrets import Secret, register

#: Seconds between two looks at the Maildir.
_POLL_S = 0.2
_CODE_ALONE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


class OtpSource(Protocol):
    """Gives the one-time code sent to ``recipient`` at or after ``since``."""

    def get_code(self, *, since: datetime, recipient: str) -> str: ...


class PromptOtp:
    """Asks for the code on the terminal; refuses when nobody can answer."""

    def __init__(
        self, *, stdin: TextIO | None = None, stdout: TextIO | None = None, attempts: int = 3
    ) -> None:
        self._stdin = stdin
        self._stdout = stdout
        self._attempts = attempts

    def get_code(self, *, since: datetime, recipient: str) -> str:
        stdin = self._stdin or sys.stdin
        stdout = self._stdout or sys.stdout
        if stdin is None or not stdin.isatty():
            raise OtpError(
                "Le portail demande un code de vérification, mais l'entrée standard n'est pas "
                "un terminal : personne ne peut le saisir. Indiquez une autre source dans "
                "CHORUS_OTP_SOURCE (totp, maildir:/chemin ou command:…)."
            )
        for _ in range(self._attempts):
            stdout.write(f"Code de vérification envoyé à {recipient} (6 chiffres) : ")
            stdout.flush()
            line = stdin.readline()
            if not line:
                break
            typed = re.sub(r"\s", "", line)
            if re.fullmatch(r"\d{6}", typed):
                register(typed)
                return typed
            stdout.write("Le code doit comporter exactement 6 chiffres.\n")
        raise OtpError("Aucun code de vérification valide n'a été saisi.")


class MaildirOtp:
    """Reads the code from the newest matching unread message of a Maildir, then marks it read.

    Which message matches is decided by :func:`robot.otp._mail.read_code` (addressed to
    ``recipient``, subject « Code de vérification », sent no earlier than ``since`` minus a
    few seconds; without a readable ``Date``, the file's time counts). The message is moved to
    ``cur/`` with the ``S`` (seen) flag, so that a code is never used twice, even by several
    workers sharing the Maildir (rename is atomic).
    """

    def __init__(self, path: Path, timeout_s: float = 60) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        self._waiter = threading.Event()

    def __repr__(self) -> str:
        return f"MaildirOtp({str(self.path)!r}, timeout_s={self.timeout_s})"

    def get_code(self, *, since: datetime, recipient: str) -> str:
        deadline = time.monotonic() + self.timeout_s
        while True:
            code = self._take(since=aware(since), recipient=recipient)
            if code is not None:
                register(code)
                return code
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise OtpError(
                    f"Aucun code de vérification reçu pour {recipient} dans la boîte "
                    f"{self.path} en {self.timeout_s:g} s."
                )
            self._waiter.wait(min(_POLL_S, remaining))

    def _take(self, *, since: datetime, recipient: str) -> str | None:
        """The code of the newest matching message, consumed; None when there is none yet."""
        candidates = sorted(self._matching(since, recipient), reverse=True)
        for _, file, code in candidates:
            if _mark_seen(file):
                return code
        return None

    def _matching(self, since: datetime, recipient: str) -> Iterator[tuple[datetime, Path, str]]:
        for file in self._unread_files():
            try:
                raw = file.read_bytes()
                arrived = datetime.fromtimestamp(file.stat().st_mtime, tz=UTC)
            except OSError:
                continue  # vanished (taken by another worker) or unreadable: not ours
            mail = read_code(raw, since=since, recipient=recipient, received=arrived)
            if mail is not None:
                yield mail.sent, file, mail.code

    def _unread_files(self) -> Iterator[Path]:
        for folder in ("new", "cur"):
            directory = self.path / folder
            try:
                entries = list(directory.iterdir())
            except OSError:
                continue  # the Maildir is created when the first message arrives
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                if folder == "cur" and "S" in _flags(entry.name):
                    continue
                yield entry


def _flags(name: str) -> str:
    _, sep, info = name.partition(":2,")
    return info if sep else ""


def _mark_seen(file: Path) -> bool:
    """Move ``file`` to ``cur/`` with the S flag; False when someone else took it first."""
    base, _, _ = file.name.partition(":2,")
    flags = "".join(sorted(set(_flags(file.name)) | {"S"}))
    target = file.parent.parent / "cur" / f"{base}:2,{flags}"
    try:
        target.parent.mkdir(exist_ok=True)
        os.rename(file, target)
    except FileNotFoundError:
        return False
    return True


class CommandOtp:
    """Runs a command (no shell) whose standard output contains the 6-digit code.

    The command receives ``OTP_RECIPIENT`` and ``OTP_SINCE`` (ISO 8601) in its environment.
    """

    def __init__(self, command: str, timeout_s: float = 60) -> None:
        self.args = shlex.split(command)
        if not self.args:
            raise ValueError("La commande qui fournit le code de vérification est vide.")
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"CommandOtp({self.args[0]!r}, timeout_s={self.timeout_s})"

    def get_code(self, *, since: datetime, recipient: str) -> str:
        env = dict(os.environ, OTP_RECIPIENT=recipient, OTP_SINCE=aware(since).isoformat())
        name = self.args[0]
        try:
            result = subprocess.run(
                self.args,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                env=env,
                check=False,
            )
        except FileNotFoundError:
            raise OtpError(f"La commande « {name} » est introuvable.") from None
        except PermissionError:
            raise OtpError(f"La commande « {name} » n'est pas exécutable.") from None
        except subprocess.TimeoutExpired:
            raise OtpError(
                f"La commande « {name} » n'a pas donné de code en {self.timeout_s:g} s."
            ) from None
        # Neither its output nor its errors are quoted: they may hold the code or a token.
        if result.returncode != 0:
            raise OtpError(f"La commande « {name} » a échoué (code de sortie {result.returncode}).")
        match = _CODE_ALONE.search(result.stdout)
        if match is None:
            raise OtpError(
                f"La sortie de la commande « {name} » ne contient pas de code à 6 chiffres."
            )
        code = match.group(1)
        register(code)
        return code


def check_otp_spec(spec: str) -> str | None:
    """Why ``spec`` is not a valid source description (French), or None when it is."""
    scheme, sep, rest = spec.strip().partition(":")
    scheme = scheme.strip().lower()
    if not sep and scheme in {"prompt", "none", "totp"}:
        return None
    if sep and scheme == "maildir":
        return None if rest.strip() else "chemin du Maildir manquant (maildir:/chemin)"
    if is_imap_spec(spec):
        try:
            parse_imap_spec(spec)
        except ValueError as exc:
            return str(exc)
        return None
    if sep and scheme == "command":
        try:
            args = shlex.split(rest)
        except ValueError:
            return "la commande est mal formée (guillemets non fermés ?)"
        return None if args else "commande manquante (command:<commande>)"
    # An address is not quoted: it might hold a password (imapss://user:secret@host).
    shown = "inconnue" if "@" in spec else f"« {spec} » inconnue"
    return (
        f"source {shown} : prompt, maildir:auto, maildir:/chemin, command:<commande>, "
        "imaps://identifiant@serveur/INBOX, totp ou none attendu"
    )


def make_otp_source(
    spec: str,
    *,
    default_maildir: Path | None,
    timeout_s: float = 60,
    imap_password: Secret | None = None,
    imap_cafile: Path | None = None,
) -> OtpSource | None:
    """The source ``spec`` describes; None for ``none``.

    ``maildir:auto`` means ``default_maildir`` (the embedded sandbox's Maildir). An IMAP
    source takes its password and CA file from ``imap_password``/``imap_cafile`` (the
    configuration's), else from ``CHORUS_OTP_IMAP_PASSWORD``/``CHORUS_OTP_IMAP_CAFILE`` in the
    environment. ``totp`` takes its secret from the spec itself, a
    :class:`~robot.otp.totp.TotpSpec` (the configuration's ``otp_source``, or an account's,
    bound to its secret). Raises ``ValueError`` (French message) for an unknown or unusable
    description.
    """
    problem = check_otp_spec(spec)
    if problem is not None:
        raise ValueError(f"CHORUS_OTP_SOURCE : {problem}.")
    if is_totp_spec(spec):
        secret = secret_of(spec)
        if secret is None:
            raise ValueError(
                "CHORUS_OTP_SOURCE : « totp » demande le secret de l'application "
                "d'authentification (CHORUS_OTP_TOTP_SECRET, ou otp_totp_secret du compte)."
            )
        return TotpOtp(secret)
    if is_imap_spec(spec):
        return make_imap_otp(spec, password=imap_password, cafile=imap_cafile, timeout_s=timeout_s)
    scheme, _, rest = spec.strip().partition(":")
    scheme = scheme.strip().lower()
    if scheme == "none":
        return None
    if scheme == "prompt":
        return PromptOtp()
    if scheme == "command":
        return CommandOtp(rest, timeout_s=timeout_s)
    location = rest.strip()
    if location.lower() == "auto":
        if default_maildir is None:
            raise ValueError(
                "CHORUS_OTP_SOURCE : « maildir:auto » ne vaut que pour le bac à sable intégré ; "
                "avec CHORUS_PORTAL_URL, indiquez prompt, maildir:/chemin, command:… ou none."
            )
        return MaildirOtp(default_maildir, timeout_s=timeout_s)
    return MaildirOtp(Path(location).expanduser(), timeout_s=timeout_s)
