"""Options of one sandbox server (command line, environment, test harness).

Every option can also come from the environment as ``CHORUS_SANDBOX_<NAME>`` (e.g.
``CHORUS_SANDBOX_LATENCY_MS=200``; the label-drift knobs as JSON:
``CHORUS_SANDBOX_LABEL_RENAMES='{"Traiter le rejet": "Traiter"}'``,
``CHORUS_SANDBOX_LABEL_REMOVALS='["Numéro de marché"]'``). Invalid values raise
:class:`OptionError` with a French message, so the command line can print it as is.

``fault_seed`` (``CHORUS_SANDBOX_FAULT_SEED``) seeds the random fault decisions (error rate,
pop-ups, jitter, drifted names); without it a seed is drawn at start, and shown, so that a run
can be replayed with the same decisions.

``accounts`` (``CHORUS_SANDBOX_ACCOUNTS``, default 1) is how many supplier accounts the seed
creates, each with its own supplier structure: account 1 is ``user``, account k (k ≥ 2) the
same address with ``+k`` before the ``@`` (:func:`account_email`), all with ``password``.
``max_sessions_per_account`` (``CHORUS_SANDBOX_MAX_SESSIONS_PER_ACCOUNT``, default 0: no
limit) caps the live sessions of one account (a fault knob too).

``origins`` (``CHORUS_SANDBOX_ORIGINS``, ``--origines``, 1 or 3) chooses between the single
origin and the portal's three (shell, identity provider, invoicing application), with
``idp_port`` and ``cpp_port`` (``CHORUS_SANDBOX_IDP_PORT``, ``CHORUS_SANDBOX_CPP_PORT``; 0: a
free port) beside ``port`` (:mod:`sandbox.origins`). What users start when they say nothing
— ``chorus-sandbox serve`` and the robot's embedded sandbox (``make demo``) — is the real
portal's shape, :data:`USER_DEFAULT_ORIGINS`; the dataclass keeps 1, the layout most of the
test suite drives (one origin: shorter to address in HTTP tests).

``totp_secret`` (``CHORUS_SANDBOX_TOTP_SECRET``, ``--totp-secret``, base32) enrols the ``user``
account for authenticator codes (TOTP) instead of the e-mailed code: at start, and again after
every reset. The admin interface enrols or unenrols any account (``/_admin/totp``).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.security import totp_secret_problem

ENV_PREFIX = "CHORUS_SANDBOX_"
FAULT_SEED_MAX = 2**31 - 1  # the largest --fault-seed
ACCOUNTS_MAX = 500  # the largest --accounts

_TRUE = {"1", "true", "yes", "oui", "on", "vrai"}
_FALSE = {"0", "false", "no", "non", "off", "faux", ""}


class OptionError(ValueError):
    """An option has a value the sandbox cannot use (message in French)."""


#: The layout of ``chorus-sandbox serve`` and of the robot's embedded sandbox when neither
#: ``--origines`` nor ``CHORUS_SANDBOX_ORIGINS`` says otherwise: the real portal's three
#: origins.
USER_DEFAULT_ORIGINS = 3


def user_origins(environ: Mapping[str, str] | None = None) -> int | None:
    """:data:`USER_DEFAULT_ORIGINS` unless ``CHORUS_SANDBOX_ORIGINS`` is set (then None: the
    environment decides)."""
    env = os.environ if environ is None else environ
    return None if (ENV_PREFIX + "ORIGINS") in env else USER_DEFAULT_ORIGINS


@dataclass
class SandboxOptions:
    """How a sandbox server runs: where its data lives, its seed, and its fault knobs."""

    data_dir: Path = field(default_factory=lambda: Path("sandbox-data"))
    host: str = "127.0.0.1"
    port: int = 0  # the single origin's, or the shell's (« portail ») with three origins
    #: 1: one origin (the dataclass's default); 3: the portal's three systems on three ports
    #: (:mod:`sandbox.origins`): the shell on ``port``, the identity provider on ``idp_port``,
    #: the invoicing application (``/cpp/…``) on ``cpp_port`` (0: a free port).
    origins: int = 1
    idp_port: int = 0
    cpp_port: int = 0
    seed: int = 0
    seed_suspended: int = 0  # suspended invoices not yet acknowledged, besides the seed's
    seed_recycle: int = 0  # invoices « À recycler », besides the seed's
    accounts: int = 1  # supplier accounts seeded, each with its own structure and invoices
    random_seed: int = 42
    fault_seed: int | None = None  # None: drawn when the server starts
    user: str = "comptable@exemple-fournisseur.fr"
    password: str = field(default="Demo-Chorus-2026", repr=False)
    otp: bool = False
    #: The ``user`` account's authenticator secret (base32); None: not enrolled.
    totp_secret: str | None = field(default=None, repr=False)
    admin_token: str | None = field(default=None, repr=False)
    latency_ms: int = 0
    jitter_ms: int = 0
    error_rate: float = 0.0
    session_idle_s: float = 0
    session_max_requests: int = 0
    max_sessions_per_account: int = 0  # live sessions one account may hold (0: no limit)
    maintenance: bool = False
    popup_rate: float = 0.0
    slow_list_ms: int = 0
    layout_drift: bool = False
    label_renames: dict[str, str] = field(default_factory=dict)
    label_removals: list[str] = field(default_factory=list)
    reorder: bool = False
    acheminement_s: float = 2.0

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`OptionError` when a value is out of range."""
        for name in ("port", "idp_port", "cpp_port"):
            port = getattr(self, name)
            if not 0 <= port <= 65535:
                raise OptionError(f"Port invalide : {port} (attendu entre 0 et 65535).")
        if self.origins not in (1, 3):
            raise OptionError(f"L'option --origines doit valoir 1 ou 3 (reçu : {self.origins}).")
        for name in (
            "seed",
            "seed_suspended",
            "seed_recycle",
            "latency_ms",
            "jitter_ms",
            "slow_list_ms",
            "session_max_requests",
            "max_sessions_per_account",
        ):
            if getattr(self, name) < 0:
                raise OptionError(f"L'option {_flag(name)} ne peut pas être négative.")
        for name in ("session_idle_s", "acheminement_s"):
            if getattr(self, name) < 0:
                raise OptionError(f"L'option {_flag(name)} ne peut pas être négative.")
        if not 1 <= self.accounts <= ACCOUNTS_MAX:
            raise OptionError(
                f"L'option --accounts doit être comprise entre 1 et {ACCOUNTS_MAX} "
                f"(reçu : {self.accounts})."
            )
        if self.fault_seed is not None and not 0 <= self.fault_seed <= FAULT_SEED_MAX:
            raise OptionError(
                f"L'option --fault-seed doit être comprise entre 0 et {FAULT_SEED_MAX} "
                f"(reçu : {self.fault_seed})."
            )
        for name in ("error_rate", "popup_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise OptionError(
                    f"L'option {_flag(name)} doit être comprise entre 0 et 1 (reçu : {value})."
                )
        if "@" not in self.user:
            raise OptionError(f"Identifiant invalide : « {self.user} » (adresse électronique).")
        if not self.password:
            raise OptionError("Le mot de passe de démonstration ne peut pas être vide.")
        if self.totp_secret is not None:
            problem = totp_secret_problem(self.totp_secret)
            if problem is not None:
                raise OptionError(f"Option --totp-secret : {problem}")
        if self.admin_token is not None and len(self.admin_token) < 8:
            raise OptionError("Le jeton d'administration doit compter au moins 8 caractères.")
        renames, removals = self.label_renames, self.label_removals
        if not isinstance(renames, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k and v for k, v in renames.items()
        ):
            raise OptionError("L'option --label-renames attend {libellé: nouveau libellé}.")
        if not isinstance(removals, list) or not all(isinstance(x, str) and x for x in removals):
            raise OptionError("L'option --label-removals attend une liste de libellés.")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "sandbox.db"

    @property
    def maildir(self) -> Path:
        return self.data_dir / "maildir"

    def replace(self, **changes: Any) -> SandboxOptions:
        """A copy with some options changed (validated)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> SandboxOptions:
        """Options from ``CHORUS_SANDBOX_*`` variables; ``overrides`` win over the environment."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = parse_value(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def origin_urls(options: SandboxOptions) -> dict[str, str]:
    """The three origins' addresses once their ports are bound: ``{"portail": shell,
    "idp": identity provider, "cpp": invoicing application}`` (``http://host:port``)."""
    host = options.host
    return {
        "portail": f"http://{host}:{options.port}",
        "idp": f"http://{host}:{options.idp_port}",
        "cpp": f"http://{host}:{options.cpp_port}",
    }


def account_email(user: str, number: int) -> str:
    """The identifiant of account ``number`` (1-based): ``user`` itself for the first, the
    same address with ``+number`` before the ``@`` for the others
    (``fournisseur@exemple.fr`` → ``fournisseur+2@exemple.fr``)."""
    if number < 1:
        raise ValueError("account numbers start at 1")
    if number == 1:
        return user
    local, _, domain = user.rpartition("@")
    return f"{local}+{number}@{domain}"


def account_emails(user: str, accounts: int) -> list[str]:
    """The identifiants of accounts 1 to ``accounts``."""
    return [account_email(user, number) for number in range(1, accounts + 1)]


def _field_types() -> dict[str, str]:
    return {f.name: str(f.type) for f in dataclasses.fields(SandboxOptions)}


def parse_value(name: str, raw: str) -> Any:
    """Convert the text of an option (environment variable) to its type."""
    kind = _field_types().get(name)
    if kind is None:
        raise OptionError(f"Option inconnue : {name}.")
    text = raw.strip()
    try:
        if kind == "bool":
            lowered = text.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(text)
        if kind == "int":
            return int(text)
        if kind == "int | None":
            return int(text) if text else None
        if kind == "float":
            return float(text)
        if kind in ("dict[str, str]", "list[str]"):
            return _structured(text, dict if kind.startswith("dict") else list)
    except ValueError:
        raise OptionError(f"Valeur invalide pour {ENV_PREFIX}{name.upper()} : « {raw} ».") from None
    if kind == "Path":
        return Path(text)
    if kind == "str | None":
        return text or None
    return text


def _structured(text: str, kind: type) -> Any:
    """JSON (or the Python literal ``str()`` gives, as the test harness passes options)."""
    if not text:
        return kind()
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise ValueError(text) from None
    if not isinstance(value, kind):
        raise ValueError(text)
    return value


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")
