"""A throw-away PostgreSQL server for the tests: its own cluster in a temporary folder.

:func:`start_postgres` runs ``initdb`` and ``pg_ctl start`` from Debian's server programs
(``robot.setup.postgresql.find_pg_bin``; ``make setup`` installs them), listening on
127.0.0.1 on a free port and on a Unix socket in the folder, with ``trust`` authentication
(any password is accepted: the tests use addresses with one). Durability is off (``fsync``):
a test cluster never outlives its session. :meth:`PostgresServer.create_database` gives each
test a fresh database; :meth:`PostgresServer.stop` stops the server (``-m fast``) and removes
the folder.

PostgreSQL refuses to run as root: as root (CI) the cluster belongs to the ``postgres`` user
and its programs run through ``runuser``; otherwise they run as the current user.

Fixtures: ``tests/journal/conftest.py`` (``pg_server``, session-scoped, and ``pg_url``, a
fresh database per test). Another folder reuses them by importing them into its conftest.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg

from robot.setup.postgresql import find_pg_bin

#: Who runs the server when the tests run as root.
SERVER_USER = "postgres"
#: Superuser of the test cluster.
ADMIN_USER = "postgres"
HOST = "127.0.0.1"
START_TIMEOUT_S = 60
START_TRIES = 5


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started (not installed, or it failed to start)."""


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running test cluster: :meth:`create_database` per test, :meth:`stop` at the end."""

    root: Path
    bin_dir: Path
    port: int
    _names: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        """``postgresql://postgres[:password]@127.0.0.1:PORT/database`` (the password
        percent-encoded, as an address needs)."""
        secret = f":{quote(password, safe='')}" if password else ""
        return f"postgresql://{ADMIN_USER}{secret}@{HOST}:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        """A superuser connection to the ``postgres`` database (autocommit)."""
        return psycopg.connect(self.url(), autocommit=True)

    def create_database(self, *, password: str | None = None) -> str:
        """A new empty database; its address (with ``password`` in it, when given)."""
        with self._lock:
            name = f"t{os.getpid()}_{next(self._names)}"
        with self.admin() as admin:
            # FILE_COPY: a copy of the template's files, faster than WAL-logging it.
            admin.execute(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')
        return self.url(name, password=password)

    def stop(self) -> None:
        pg_ctl = str(self.bin_dir / "pg_ctl")
        subprocess.run(
            _as_server_user([pg_ctl, "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            timeout=START_TIMEOUT_S,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """Start a fresh cluster; :class:`PostgresUnavailable` saying why when it cannot."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise PostgresUnavailable(
            "PostgreSQL n'est pas installé (initdb, pg_ctl) : lancez « make setup » "
            "(paquet Debian « postgresql »)."
        )
    # Under /tmp, not pytest's folders: those are private to the user running the tests,
    # and the server may run as another one (postgres).
    root = Path(tempfile.mkdtemp(prefix="chorus-pg-"))
    try:
        if os.geteuid() == 0:
            server = pwd.getpwnam(SERVER_USER)
            os.chown(root, server.pw_uid, server.pw_gid)
        _run(
            [
                str(bin_dir / "initdb"),
                *("-D", str(root / "data"), "-A", "trust", "-U", ADMIN_USER),
                *("-E", "UTF8", "--no-sync", "--no-instructions"),
            ],
            "initdb",
        )
        last = ""
        for _ in range(START_TRIES):  # another process may take the free port first
            port = _free_port()
            options = (
                f"-p {port} -k {root} -c listen_addresses={HOST} -c fsync=off"
                " -c synchronous_commit=off -c full_page_writes=off"
            )
            started = subprocess.run(
                _as_server_user(
                    [
                        str(bin_dir / "pg_ctl"),
                        *("-D", str(root / "data"), "-l", str(root / "server.log")),
                        *("-o", options, "-w", "-t", str(START_TIMEOUT_S), "start"),
                    ]
                ),
                capture_output=True,
                text=True,
                timeout=START_TIMEOUT_S + 10,
                check=False,
            )
            if started.returncode == 0:
                return PostgresServer(root=root, bin_dir=bin_dir, port=port)
            log = root / "server.log"
            last = log.read_text(errors="replace") if log.exists() else started.stderr
        raise PostgresUnavailable(f"pg_ctl start a échoué :\n{last[-2000:]}")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(
        _as_server_user(cmd), capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise PostgresUnavailable(f"{what} a échoué :\n{done.stdout}{done.stderr}"[-3000:])
