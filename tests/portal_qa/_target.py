"""The portal the QA suite runs against, and the rules that keep it safe on production.

- ``QaPortal``: the URL, the account and the one-time-code source; ``sandbox`` is the local
  sandbox when the suite runs against it (then its admin interface can cross-check).
- ``mutating_refusal``: why a ``mutating`` test must not run against that portal (None: it
  may). Only this machine's portal (the sandbox, a local copy) is fair game without
  ``--qa-allow-mutating``.
- ``marker_refusal``: every QA test says whether it changes data.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from robot.otp import make_otp_source
from robot.secrets import Secret
from sandbox.server import RunningSandbox

ALLOW_MUTATING = "--qa-allow-mutating"
READONLY, MUTATING = "readonly", "mutating"

OtpCallback = Callable[[datetime], str]


@dataclass(frozen=True)
class QaPortal:
    """A portal to test and the account to use on it (the password never shows in a repr)."""

    url: str
    identifiant: str
    password: Secret
    otp: OtpCallback | None = field(default=None, repr=False)
    sandbox: RunningSandbox | None = None

    @classmethod
    def from_environment(cls, url: str) -> QaPortal:
        """The portal at ``url`` with ``CHORUS_LOGIN``, ``CHORUS_PASSWORD`` and
        ``CHORUS_OTP_SOURCE`` (ValueError with a French message when one is missing)."""
        identifiant = os.environ.get("CHORUS_LOGIN", "").strip()
        password = os.environ.get("CHORUS_PASSWORD", "")
        missing = [
            name
            for name, value in (("CHORUS_LOGIN", identifiant), ("CHORUS_PASSWORD", password))
            if not value
        ]
        if missing:
            raise ValueError(
                f"Tests sur {url} : définissez {' et '.join(missing)} dans l'environnement "
                "(compte du portail à tester)."
            )
        source = make_otp_source(os.environ.get("CHORUS_OTP_SOURCE", "none"), default_maildir=None)
        otp = None
        if source is not None:
            otp = _callback(source.get_code, identifiant)
        return cls(url.rstrip("/"), identifiant, Secret(password), otp)

    @classmethod
    def from_sandbox(cls, sandbox: RunningSandbox) -> QaPortal:
        """The local sandbox, its demo account, codes read from its Maildir."""
        source = make_otp_source(f"maildir:{sandbox.maildir}", default_maildir=None)
        assert source is not None
        user = sandbox.options.user
        return cls(
            sandbox.url,
            user,
            Secret(sandbox.options.password),
            _callback(source.get_code, user),
            sandbox,
        )


def sandbox_state(portal: QaPortal) -> list[tuple[Any, ...]]:
    """What the sandbox holds (empty for another portal): proves a test changed nothing."""
    if portal.sandbox is None:
        return []
    return sorted(
        (i["numero"], i["statut"], i["acquittee"], i["rejet_traite"], len(i["historique"]))
        for i in portal.sandbox.invoices()
    )


def pending_rejections(portal: QaPortal) -> set[str]:
    """Numbers of the sandbox's rejected invoices whose rejection is not processed."""
    assert portal.sandbox is not None
    return {i["numero"] for i in portal.sandbox.invoices("REJETEE") if not i["rejet_traite"]}


def _callback(get_code: Callable[..., str], recipient: str) -> OtpCallback:
    return lambda since: get_code(since=since, recipient=recipient)


def is_local(url: str) -> bool:
    """True for a portal on this machine (localhost, 127.0.0.0/8, ::1)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mutating_refusal(url: str | None, *, allowed: bool) -> str | None:
    """The French reason a ``mutating`` test may not run against ``url``; None if it may.

    ``url`` None means the local sandbox.
    """
    if url is None or allowed or is_local(url):
        return None
    host = urlsplit(url).hostname or url
    return (
        f"Test « mutating » refusé sur {host} : ce portail n'est pas local et ce test modifie "
        "des données (acquittement, traitement du rejet, nouvelle facture). Relancez avec "
        f"{ALLOW_MUTATING} si c'est voulu, ou ne lancez que les tests en lecture seule "
        "(-m readonly)."
    )


def marker_refusal(markers: set[str]) -> str | None:
    """The French reason a QA test is badly marked; None when it has exactly one marker."""
    found = markers & {READONLY, MUTATING}
    if len(found) == 1:
        return None
    return (
        "Chaque test de tests/portal_qa doit être marqué soit @pytest.mark.readonly (sans "
        "effet sur le portail), soit @pytest.mark.mutating (modifie des données)."
    )
