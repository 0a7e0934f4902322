"""PostgreSQL, for the tests of the journal on a server (and a journal shared by machines).

Run as ``python -m robot.setup.postgresql`` by ``make setup``. The robot's default journal is a
SQLite file: it needs no server. Only the tests of the PostgreSQL journal start one (a
throw-away cluster of their own, with ``initdb`` and ``pg_ctl``), and a production server is
the administrator's, elsewhere. So this step never fails the set-up: it installs Debian's
``postgresql`` when it can (root on Debian), stops the system cluster the package starts, and
otherwise says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

POSTGRESQL_PACKAGE = "postgresql"
#: Debian keeps the server's programs out of the PATH, one folder per major version.
DEBIAN_BIN_ROOT = Path("/usr/lib/postgresql")


def find_pg_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (the newest version), or None."""
    versions = []
    if DEBIAN_BIN_ROOT.is_dir():
        for folder in DEBIAN_BIN_ROOT.iterdir():
            if folder.name.isdigit() and _has_server(folder / "bin"):
                versions.append((int(folder.name), folder / "bin"))
    if versions:
        return max(versions)[1]
    initdb = shutil.which("initdb")
    if initdb and _has_server(Path(initdb).resolve().parent):
        return Path(initdb).resolve().parent
    return None


def _has_server(folder: Path) -> bool:
    return all(
        (folder / name).is_file() and os.access(folder / name, os.X_OK)
        for name in ("initdb", "pg_ctl", "postgres")
    )


def _run(cmd: list[str], timeout: int = 900) -> bool:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _is_root_debian() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and Path("/etc/debian_version").exists()


def _apt_install(package: str) -> bool:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=900, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _stop_system_cluster() -> str:
    """Stop and disable the cluster Debian's package starts: the tests start their own, and
    a server nobody uses would only listen on port 5432 for nothing."""
    if Path("/run/systemd/system").is_dir():
        _run(["systemctl", "disable", "--now", "postgresql.service"], timeout=60)
        return " (service système désactivé)"
    if shutil.which("pg_lsclusters") and shutil.which("pg_ctlcluster"):
        # No systemd (a container): the package's script may have started the cluster.
        try:
            listed = subprocess.run(
                ["pg_lsclusters", "--no-header"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            return ""
        stopped = False
        for line in listed.splitlines():
            fields = line.split()
            if len(fields) >= 4 and fields[3] == "online":
                stopped |= _run(["pg_ctlcluster", fields[0], fields[1], "stop"], timeout=60)
        return " (serveur du paquet arrêté)" if stopped else ""
    return ""


def ensure_postgresql() -> str:
    """Make sure PostgreSQL's server programs are installed if we can; a French line saying
    how it went.

    Never raises: the robot runs without PostgreSQL (its default journal is SQLite), only the
    tests of the PostgreSQL journal need it.
    """
    found = find_pg_bin()
    if found:
        return f"PostgreSQL (tests du journal partagé) : {found}"
    if not _is_root_debian():
        return (
            "PostgreSQL absent : les tests du journal PostgreSQL échoueront. Installez le "
            f"paquet « {POSTGRESQL_PACKAGE} » (Debian : sudo apt-get install "
            f"{POSTGRESQL_PACKAGE} ; ailleurs, le serveur PostgreSQL avec initdb et pg_ctl), "
            "puis relancez « make setup »."
        )
    print(
        f"PostgreSQL absent : installation du paquet Debian « {POSTGRESQL_PACKAGE} »…", flush=True
    )
    if not _apt_install(POSTGRESQL_PACKAGE):
        _run(["apt-get", "update", "-qq"])
        _apt_install(POSTGRESQL_PACKAGE)
    found = find_pg_bin()
    if found is None:
        return (
            f"PostgreSQL n'a pas pu être installé (« apt-get install {POSTGRESQL_PACKAGE} » a "
            "échoué) : les tests du journal PostgreSQL échoueront."
        )
    return f"PostgreSQL (tests du journal partagé) installé : {found}{_stop_system_cluster()}"


def main() -> int:
    print(ensure_postgresql())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
