"""Who ran a run and with what: the account(s), the OS user, the host, the robot's version, the
plan's SHA-256, and whether the portal was a sandbox.

Written into the ``run_start`` event and ``summary.json`` (the report shows it too), so that
an auditor reading any one of them knows who did what without the others.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from robot.audit.report import is_sandbox_url

#: What summary.json and the report say when the robot's version cannot be read.
UNKNOWN_VERSION = "inconnue"


def robot_version() -> str:
    """The installed chorus-robot's version (« inconnue » when it is not installed)."""
    try:
        return version("chorus-robot")
    except PackageNotFoundError:
        return UNKNOWN_VERSION


def os_user() -> str:
    """The OS account the robot runs as (its uid when the system has no name for it)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return f"uid {os.getuid()}"


@dataclass(frozen=True)
class RunIdentity:
    """Who ran the run and with what. ``accounts``: the portal identifiant(s) used."""

    accounts: tuple[str, ...]
    os_user: str
    host: str
    robot_version: str
    plan_sha256: str
    sandbox: bool

    @classmethod
    def here(
        cls, accounts: tuple[str, ...], plan_sha256: str, portal_url: str, *, embedded: bool
    ) -> RunIdentity:
        """This process's identity, for a run it starts on ``portal_url``."""
        return cls(
            accounts=accounts,
            os_user=os_user(),
            host=socket.gethostname(),
            robot_version=robot_version(),
            plan_sha256=plan_sha256,
            sandbox=embedded or is_sandbox_url(portal_url),
        )

    @classmethod
    def from_event(
        cls, event: Mapping[str, Any], accounts: tuple[str, ...], portal_url: str
    ) -> RunIdentity:
        """The identity a ``run_start`` event recorded (a queued run: the machine that
        enqueued it). An OS user the event does not name stays empty (unknown), rather than
        taken for the user of the process sealing the run."""
        here = cls.here(accounts, str(event.get("plan_sha256", "")), portal_url, embedded=False)
        recorded = event.get("comptes") or event.get("accounts")
        machine = str(event.get("machine", "")).split(":", 1)[0]
        return cls(
            accounts=tuple(sorted({*accounts, *(str(a) for a in recorded or ())})),
            os_user=str(event.get("os_user") or ""),
            host=str(event.get("host") or machine or here.host),
            robot_version=str(event.get("robot_version") or here.robot_version),
            plan_sha256=here.plan_sha256,
            sandbox=bool(event.get("sandbox", here.sandbox)),
        )

    def as_record(self) -> dict[str, Any]:
        """The identity as the ``run_start`` event and ``summary.json`` write it."""
        return {
            "accounts": list(self.accounts),
            "os_user": self.os_user,
            "host": self.host,
            "robot_version": self.robot_version,
            "plan_sha256": self.plan_sha256,
            "sandbox": self.sandbox,
        }
