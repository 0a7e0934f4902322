"""Which portal a command talks to: the configured URL, or the embedded sandbox.

Without ``CHORUS_PORTAL_URL`` the robot starts the sandbox in the background on a free
localhost port (docs/architecture.md, « Commands »). Its data persists in
``CHORUS_SANDBOX_DATA`` (default: ``<CHORUS_OUTPUT_DIR>/bac-a-sable``) so that
``chorus-robot rejections`` and ``chorus-robot run`` see the same invoices.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from robot.config import Config
from robot.otp import OtpSource, make_otp_source
from robot.secrets import Secret

#: Rejections seeded in the embedded sandbox the first time it starts.
EMBEDDED_SEED = 12


@dataclass
class PortalTarget:
    """A portal to drive, with the account to use on it."""

    url: str
    identifiant: str
    password: Secret
    otp_source: OtpSource | None
    embedded: bool
    maildir: Path | None = None  # the embedded sandbox's Maildir (one-time codes)
    _stop: Callable[[], None] | None = field(default=None, repr=False)

    def otp_callback(self) -> Callable[[datetime], str] | None:
        if self.otp_source is None:
            return None
        source, recipient = self.otp_source, self.identifiant
        return lambda since: source.get_code(since=since, recipient=recipient)

    def requests_per_min(self, config: Config) -> int:
        """Politeness applies to the real portal, not to the embedded sandbox (0: none)."""
        return 0 if self.embedded else config.max_requests_per_min

    def close(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


def default_sandbox_dir(config: Config) -> Path:
    configured = os.environ.get("CHORUS_SANDBOX_DATA", "").strip()
    return Path(configured) if configured else config.output_dir / "bac-a-sable"


def open_portal(
    config: Config,
    *,
    sandbox_dir: Path | None = None,
    reset_seed: int | None = None,
) -> PortalTarget:
    """The configured portal, or a freshly started embedded sandbox.

    ``reset_seed`` wipes the embedded sandbox and seeds that many rejections (the demo).
    """
    if config.portal_url:
        assert config.login is not None and config.password is not None  # checked by config
        return PortalTarget(
            url=config.portal_url.rstrip("/"),
            identifiant=config.login,
            password=config.password,
            otp_source=make_otp_source(
                config.otp_source,
                default_maildir=None,
                imap_password=config.otp_imap_password,
                imap_cafile=config.otp_imap_cafile,
            ),
            embedded=False,
        )
    from sandbox.server import start_sandbox  # the robot's embedded default only
    from sandbox.settings import SandboxOptions, user_origins

    # The real portal's shape (three origins) unless CHORUS_SANDBOX_ORIGINS says otherwise.
    options = SandboxOptions.from_env(origins=user_origins())
    data_dir = sandbox_dir or default_sandbox_dir(config)
    options = dataclasses.replace(options, data_dir=data_dir, host="127.0.0.1", port=0)
    if reset_seed is None and "CHORUS_SANDBOX_SEED" not in os.environ:
        options = dataclasses.replace(options, seed=EMBEDDED_SEED)  # used on first start only
    if reset_seed is not None:
        # A fresh sandbox: its data folder belongs to the robot's output, never the user's.
        shutil.rmtree(data_dir, ignore_errors=True)
        options = dataclasses.replace(options, seed=reset_seed)
    running = start_sandbox(options, mode="thread")
    return PortalTarget(
        url=running.url.rstrip("/"),
        identifiant=options.user,
        password=Secret(options.password),
        otp_source=make_otp_source(
            config.otp_source,
            default_maildir=running.maildir,
            imap_password=config.otp_imap_password,
            imap_cafile=config.otp_imap_cafile,
        ),
        embedded=True,
        maildir=running.maildir,
        _stop=running.stop,
    )
