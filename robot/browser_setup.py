"""Find or install the Chromium the robot drives, and the ffmpeg Playwright records videos with.

Run as ``python -m robot.browser_setup`` by ``make setup``. The search order is the one the
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

#: Flags that keep Chromium quiet on a closed network (design.md, « Browser »).
QUIET_FLAGS: tuple[str, ...] = (
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)

_SYSTEM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
_PATH_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_HEADLESS_SHELL = "chromium-headless-shell"
_SYSTEM_HEADLESS_CANDIDATES = ("/usr/bin/chromium-headless-shell",)


def _playwright_chromium() -> str | None:
    """Path of Playwright's own Chromium if it is installed, else None."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            path = p.chromium.executable_path
    except Exception:
        return None
    return path if path and Path(path).is_file() else None


def _system_chromium() -> str | None:
    for candidate in _SYSTEM_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    for name in _PATH_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _system_headless_shell() -> str | None:
    for candidate in _SYSTEM_HEADLESS_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which(_HEADLESS_SHELL)


def find_chromium(*, headless: bool = True) -> str | None:
    """The Chromium executable to launch, or None to let Playwright use its own.

    Returns a path for ``executable_path``; ``None`` means Playwright's bundled browser is
    installed and should be used as is (Playwright picks its own headless shell for headless
    runs). A system Chromium's headless shell is preferred for headless runs.
    """
    configured = os.environ.get("CHORUS_BROWSER", "").strip()
    if configured:
        return configured
    if _playwright_chromium():
        return None
    system = _system_chromium()
    if headless:
        system = _system_headless_shell() or system
    if system:
        return system
    raise BrowserNotFound(
        "Aucun navigateur Chromium trouvé. Lancez « make setup », installez Chromium "
        "(« apt-get install chromium » sous Debian) ou indiquez son chemin dans CHORUS_BROWSER."
    )


class BrowserNotFound(RuntimeError):
    """No Chromium could be found or installed."""


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
    own = _playwright_chromium()
    if own:
        return f"Chromium de Playwright : {own}"
    system = _system_chromium()
    if system:
        return f"Chromium du système : {system}{_with_headless_shell()}"
    print("Chromium absent : tentative « playwright install chromium »…", flush=True)
    if _run([sys.executable, "-m", "playwright", "install", "chromium"]) and _playwright_chromium():
        return "Chromium de Playwright (installé)"
    if _is_root_debian():
        print("Téléchargement impossible : installation du paquet Debian « chromium »…", flush=True)
        _run(["apt-get", "update", "-qq"])
        if _run(["apt-get", "install", "-y", "-qq", "chromium"]):
            system = _system_chromium()
            if system:
                return f"Chromium du système (installé) : {system}{_with_headless_shell()}"
    raise BrowserNotFound(
        "Impossible d'obtenir Chromium. Installez-le (Debian : « apt-get install chromium », "
        "ou « playwright install chromium » avec un accès à Internet), ou indiquez son chemin "
        "dans CHORUS_BROWSER."
    )


def _with_headless_shell() -> str:
    """Install Debian's headless shell next to a system Chromium (best effort); say so."""
    shell = _system_headless_shell()
    if shell is None and _is_root_debian():
        _run(["apt-get", "install", "-y", "-qq", _HEADLESS_SHELL])
        shell = _system_headless_shell()
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
