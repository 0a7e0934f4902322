"""System programs the test suite needs besides Chromium: Dovecot, the IMAP server.

Run as ``python -m robot.setup.dovecot`` by ``make setup``. The robot itself never needs Dovecot:
only the tests of the IMAP one-time-code source start one. So this step never fails the
set-up: it installs ``dovecot-imapd`` when it can (root on Debian), and otherwise says what to
install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

DOVECOT_PACKAGE = "dovecot-imapd"
#: ``/usr/sbin`` is often missing from an ordinary user's PATH.
_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def find_dovecot() -> str | None:
    """Path of the ``dovecot`` program, or None when it is not installed."""
    found = shutil.which("dovecot")
    if found:
        return found
    for directory in _SBIN_DIRS:
        candidate = Path(directory) / "dovecot"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


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


def ensure_dovecot() -> str:
    """Make sure Dovecot is installed if we can; a French line saying how it went.

    Never raises: the robot runs without Dovecot, only the IMAP tests need it.
    """
    found = find_dovecot()
    if found:
        return f"Dovecot (tests IMAP) : {found}"
    if not _is_root_debian():
        return (
            f"Dovecot absent : les tests de la source IMAP échoueront. Installez le paquet "
            f"« {DOVECOT_PACKAGE} » (Debian : sudo apt-get install {DOVECOT_PACKAGE}), puis "
            "relancez « make setup »."
        )
    print(f"Dovecot absent : installation du paquet Debian « {DOVECOT_PACKAGE} »…", flush=True)
    if not _apt_install(DOVECOT_PACKAGE):
        _run(["apt-get", "update", "-qq"])
        _apt_install(DOVECOT_PACKAGE)
    found = find_dovecot()
    if found is None:
        return (
            f"Dovecot n'a pas pu être installé (« apt-get install {DOVECOT_PACKAGE} » a échoué) : "
            "les tests de la source IMAP échoueront."
        )
    # The tests start their own Dovecot; the system service the package may have started
    # would only listen on ports 143/993 for nothing.
    if Path("/run/systemd/system").is_dir():
        _run(["systemctl", "disable", "--now", "dovecot.service", "dovecot.socket"], timeout=60)
        return f"Dovecot (tests IMAP) installé : {found} (service système désactivé)"
    return f"Dovecot (tests IMAP) installé : {found}"


def main() -> int:
    print(ensure_dovecot())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
