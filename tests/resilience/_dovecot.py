"""A real Dovecot IMAP server for the tests: a child process on 127.0.0.1, state in a folder.

It listens on two free ports: IMAPS (TLS from the first byte) and IMAP with STARTTLS, with a
self-signed certificate made by ``openssl`` (a dependency of Dovecot's Debian package). Users
come from a passwd-file written before the start (Dovecot notices a change of it at most once a
second): each test takes a fresh :class:`Mailbox` (its own user and empty Maildir) from one
server started per test module.
Messages are delivered straight into the Maildir, as a mail server (or the sandbox) does.
Everything Dovecot writes (runtime sockets, state, log) stays in the folder.

Dovecot runs as the current user. Root is the exception Dovecot itself imposes: it never reads
mail as root, so then the mail processes run as ``nobody``, chrooted into the mailbox folder
(the pytest folders above it are private to root).
"""

from __future__ import annotations

import grp
import os
import pwd
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from robot.setup.dovecot import find_dovecot

PASSWORD = "Mdp-Imap-tres-secret-7"
START_TIMEOUT_S = 15.0
#: Mailboxes made at the start, one per test.
MAILBOXES = 20
#: Unix socket paths are limited to 107 bytes; Dovecot adds up to 25 to its runtime folder.
_MAX_RUN_DIR = 80


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


@dataclass
class Dovecot:
    """A running Dovecot; :meth:`new_mailbox` gives each test its own user; :meth:`stop`."""

    root: Path
    imaps_port: int
    starttls_port: int
    cafile: Path
    process: subprocess.Popen[bytes]
    mailboxes: list[Mailbox] = field(default_factory=list)

    def new_mailbox(self) -> Mailbox:
        """A user (password :data:`PASSWORD`) no test has used yet, with an empty Maildir."""
        if not self.mailboxes:
            pytest.fail(f"Plus de boîte libre : augmentez MAILBOXES ({MAILBOXES}).")
        return self.mailboxes.pop(0)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class Mailbox:
    """One user's mailbox on the server."""

    server: Dovecot
    user: str
    maildir: Path
    owner: tuple[int, int] | None

    def spec(self, *, starttls: bool = False, folder: str = "INBOX", query: str = "") -> str:
        """The CHORUS_OTP_SOURCE value of this mailbox."""
        if starttls:
            scheme, port = "imap+starttls", self.server.starttls_port
        else:
            scheme, port = "imaps", self.server.imaps_port
        user = self.user.replace("@", "%40")
        return f"{scheme}://{user}@127.0.0.1:{port}/{folder}" + (f"?{query}" if query else "")

    def deliver(self, message: bytes) -> Path:
        """Drop a message in the Maildir as a mail server does: written in tmp/, moved to new/."""
        name = f"{time.time_ns()}.M{os.getpid()}.tests"
        draft = self.maildir / "tmp" / name
        draft.write_bytes(message)
        if self.owner is not None:
            os.chown(draft, *self.owner)
        final = self.maildir / "new" / name
        os.rename(draft, final)
        return final

    def messages(self) -> list[Path]:
        """Every message file still in the Maildir (new/ and cur/)."""
        return sorted(p for d in ("new", "cur") for p in (self.maildir / d).iterdir())


def _make_mailboxes(root: Path) -> list[tuple[str, Path, str]]:
    """(user, Maildir, passwd-file line) of every mailbox, folders created."""
    owner = _mail_owner()
    made = []
    for number in range(1, MAILBOXES + 1):
        user = f"boite{number}@exemple-fournisseur.fr"
        home = root / "mail" / f"u{number}"
        for folder in ("new", "cur", "tmp"):
            (home / "Maildir" / folder).mkdir(parents=True)
        if owner is not None:
            for path in [home, *home.rglob("*")]:
                os.chown(path, *owner)
            ids = f"{owner[0]}:{owner[1]}::{home}/./"  # « /./ »: chroot into home
        else:
            ids = f"{os.getuid()}:{os.getgid()}::{home}"
        made.append((user, home / "Maildir", f"{user}:{{PLAIN}}{PASSWORD}:{ids}::\n"))
    return made


def _mail_owner() -> tuple[int, int] | None:
    """Who reads the mail when we are root (Dovecot refuses root); None: the current user."""
    if os.getuid() != 0:
        return None
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, nobody.pw_gid


def make_certificate(directory: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    command = [
        *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
        *("-nodes", "-days", "2", "-subj", "/CN=localhost"),
        *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        *("-keyout", str(key), "-out", str(cert)),
    ]
    try:
        subprocess.run(command, capture_output=True, check=True, timeout=60)
    except FileNotFoundError:
        pytest.fail("openssl est introuvable : lancez « make setup » (il installe Dovecot).")
    return Certificate(cert, key)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _users_config(root: Path) -> str:
    me = pwd.getpwuid(os.getuid())
    if _mail_owner() is not None:
        login_user = "dovenull" if _user_exists("dovenull") else "nobody"
        return (
            f"default_internal_user = root\ndefault_login_user = {login_user}\n"
            f"valid_chroot_dirs = {root}/mail\n"
        )
    return (
        f"default_internal_user = {me.pw_name}\ndefault_login_user = {me.pw_name}\n"
        f"default_internal_group = {grp.getgrgid(me.pw_gid).gr_name}\n"
        f"first_valid_uid = {me.pw_uid}\nfirst_valid_gid = {min(me.pw_gid, 1)}\n"
    )


def _config(root: Path, certificate: Certificate, ports: tuple[int, int]) -> str:
    return f"""\
base_dir = {root}/r
state_dir = {root}/state
log_path = {root}/dovecot.log
{_users_config(root)}
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{certificate.cert}
ssl_key = <{certificate.key}
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {ports[1]}
  }}
  inet_listener imaps {{
    port = {ports[0]}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def start_dovecot(root: Path, certificate: Certificate) -> Dovecot:
    """Start Dovecot with its state in ``root``; fails the test, in French, when it cannot."""
    executable = find_dovecot()
    if executable is None:
        pytest.fail(
            "Dovecot n'est pas installé : lancez « make setup » (il installe le paquet "
            "dovecot-imapd), ou « apt-get install dovecot-imapd »."
        )
    if len(str(root / "r")) > _MAX_RUN_DIR:
        pytest.fail(f"Dossier trop long pour les sockets de Dovecot : {root} (TMPDIR plus court ?)")
    ports = (_free_port(), _free_port())
    for folder in ("r", "state", "mail"):
        (root / folder).mkdir(parents=True)
    (root / "dovecot.conf").write_text(_config(root, certificate, ports), encoding="utf-8")
    mailboxes = _make_mailboxes(root)
    (root / "passwd").write_text("".join(line for _, _, line in mailboxes), encoding="utf-8")
    with (root / "dovecot.out").open("wb") as out:
        process = subprocess.Popen(
            [executable, "-F", "-c", str(root / "dovecot.conf")],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Dovecot(root, ports[0], ports[1], certificate.cert, process)
    owner = _mail_owner()
    server.mailboxes = [Mailbox(server, user, maildir, owner) for user, maildir, _ in mailboxes]
    try:
        _wait_until_listening(server, ports)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_listening(server: Dovecot, ports: tuple[int, int]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    pause = threading.Event()
    pending = list(ports)
    while pending:
        if server.process.poll() is not None:
            pytest.fail(f"Dovecot s'est arrêté au démarrage :\n{_output(server.root)}")
        try:
            with socket.create_connection(("127.0.0.1", pending[0]), timeout=1):
                pending.pop(0)
                continue
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(
                f"Dovecot n'écoute pas après {START_TIMEOUT_S:g} s :\n{_output(server.root)}"
            )
        pause.wait(0.05)


def _output(root: Path) -> str:
    files = (root / "dovecot.out", root / "dovecot.log")
    return "\n".join(p.read_text(errors="replace") for p in files if p.exists())[-3000:]
