"""Find or install the Chromium the robot drives, and the ffmpeg Playwright records videos with.

Run as ``python -m robot.setup.chromium`` by ``make setup``. The search order is the one the
README documents:

1. ``CHORUS_BROWSER`` when set;
2. Playwright's own Chromium when installed;
3. a system Chromium (``/usr/bin/chromium`` on Debian, or ``chromium``/``google-chrome`` on
   the ``PATH``); for headless runs its headless shell (Debian's ``chromium-headless-shell``,
   the build Playwright itself uses headless) when installed: about a fifth less CPU and a
   third less memory per worker (bench/README.md);
4. ``playwright install chromium`` (needs internet);
5. ``apt-get install -y chromium`` when running as root on Debian (and, best effort,
   ``chromium-headless-shell``);
6. otherwise a French message saying what to install, and exit code 1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from robot.browser.find import (
    HEADLESS_SHELL,
    installed_playwright_chromium,
    system_chromium,
    system_headless_shell,
)
from robot.errors import BrowserNotFound


def _run(cmd: list[str], timeout: int = 900) -> bool:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _is_root_debian() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and Path("/etc/debian_version").exists()


def ensure_chromium() -> str:
    """Make sure a Chromium is available; return a short French description of it."""
    configured = os.environ.get("CHORUS_BROWSER", "").strip()
    if configured:
        if not Path(configured).is_file():
            raise BrowserNotFound(f"CHORUS_BROWSER désigne « {configured} », qui n'existe pas.")
        return f"navigateur configuré : {configured}"
    own = installed_playwright_chromium()
    if own:
        return f"Chromium de Playwright : {own}"
    system = system_chromium()
    if system:
        return f"Chromium du système : {system}{_with_headless_shell()}"
    print("Chromium absent : tentative « playwright install chromium »…", flush=True)
    if (
        _run([sys.executable, "-m", "playwright", "install", "chromium"])
        and installed_playwright_chromium()
    ):
        return "Chromium de Playwright (installé)"
    if _is_root_debian():
        print("Téléchargement impossible : installation du paquet Debian « chromium »…", flush=True)
        _run(["apt-get", "update", "-qq"])
        if _run(["apt-get", "install", "-y", "-qq", "chromium"]):
            system = system_chromium()
            if system:
                return f"Chromium du système (installé) : {system}{_with_headless_shell()}"
    raise BrowserNotFound(
        "Impossible d'obtenir Chromium. Installez-le (Debian : « apt-get install chromium », "
        "ou « playwright install chromium » avec un accès à Internet), ou indiquez son chemin "
        "dans CHORUS_BROWSER."
    )


def _with_headless_shell() -> str:
    """Install Debian's headless shell next to a system Chromium (best effort); say so."""
    shell = system_headless_shell()
    if shell is None and _is_root_debian():
        _run(["apt-get", "install", "-y", "-qq", HEADLESS_SHELL])
        shell = system_headless_shell()
    if shell is None:
        return " (sans « chromium-headless-shell » : les runs sans fenêtre utilisent Chromium)"
    return f", sans fenêtre : {shell}"


def _ffmpeg_location() -> Path | None:
    """Where Playwright expects its ffmpeg, read from ``playwright install --dry-run ffmpeg``."""
    try:
        out = subprocess.run(
            [sys.executable, "-m", "playwright", "install", "--dry-run", "ffmpeg"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"Install location:\s*(\S+)", out)
    return Path(match.group(1)) if match else None


def ensure_ffmpeg() -> str:
    """Make sure Playwright can record videos: its own ffmpeg, else the system's linked in."""
    location = _ffmpeg_location()
    if location is None:
        return "ffmpeg : emplacement attendu par Playwright inconnu (vidéos indisponibles)"
    target = location / "ffmpeg-linux"
    if target.exists():
        return f"ffmpeg : {target}"
    if (
        _run([sys.executable, "-m", "playwright", "install", "ffmpeg"], timeout=300)
        and target.exists()
    ):
        return f"ffmpeg de Playwright (installé) : {target}"
    system = shutil.which("ffmpeg")
    if system is None and _is_root_debian():
        _run(["apt-get", "install", "-y", "-qq", "ffmpeg"])
        system = shutil.which("ffmpeg")
    if system is None:
        return "ffmpeg absent : les vidéos ne pourront pas être enregistrées"
    location.mkdir(parents=True, exist_ok=True)
    target.symlink_to(system)
    return f"ffmpeg du système relié pour Playwright : {target} → {system}"


def main() -> int:
    try:
        print(f"Navigateur : {ensure_chromium()}")
    except BrowserNotFound as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(ensure_ffmpeg())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
