"""The robot's configuration: environment variables and an optional ``.env`` file.

The real environment wins over the ``.env`` file (which is read, never loaded into
``os.environ``). Everything is checked at once: :class:`ConfigError` lists every problem, in
French, naming the variable. ``CHORUS_SANDBOX_*`` variables belong to the sandbox and are
left alone.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from dotenv import dotenv_values

from robot.audit.retention import parse_keep
from robot.errors import Refused
from robot.otp import bind_totp, check_otp_spec, check_totp_secret, is_imap_spec, is_totp_spec
from robot.otp.totp import normalized_secret
from robot.secrets import MASK, Secret, register

PREFIX = "CHORUS_"
SANDBOX_PREFIX = "CHORUS_SANDBOX_"
ARTIFACT_MODES = ("on", "off", "retain-on-failure")

#: Field → environment variable.
VARIABLES: dict[str, str] = {
    "portal_url": "CHORUS_PORTAL_URL",
    "login": "CHORUS_LOGIN",
    "password": "CHORUS_PASSWORD",
    "otp_source": "CHORUS_OTP_SOURCE",
    "otp_imap_password": "CHORUS_OTP_IMAP_PASSWORD",
    "otp_imap_cafile": "CHORUS_OTP_IMAP_CAFILE",
    "otp_totp_secret": "CHORUS_OTP_TOTP_SECRET",
    "browser": "CHORUS_BROWSER",
    "headless": "CHORUS_HEADLESS",
    "output_dir": "CHORUS_OUTPUT_DIR",
    "timeout_ms": "CHORUS_TIMEOUT_MS",
    "journal": "CHORUS_JOURNAL",
    "workers": "CHORUS_WORKERS",
    "video": "CHORUS_VIDEO",
    "trace": "CHORUS_TRACE",
    "keep_runs": "CHORUS_KEEP_RUNS",
    "audit_key": "CHORUS_AUDIT_KEY",
    "max_retries": "CHORUS_MAX_RETRIES",
    "retry_budget_s": "CHORUS_RETRY_BUDGET_S",
    "retry_base_ms": "CHORUS_RETRY_BASE_MS",
    "retry_seed": "CHORUS_RETRY_SEED",
    "slow_mo_ms": "CHORUS_SLOW_MO_MS",
    "recycle_every": "CHORUS_RECYCLE_EVERY",
    "batch_size": "CHORUS_BATCH_SIZE",
    "max_sessions": "CHORUS_MAX_SESSIONS",
    "max_requests_per_min": "CHORUS_MAX_REQUESTS_PER_MIN",
    "notify_url": "CHORUS_NOTIFY_URL",
    "lease_s": "CHORUS_LEASE_S",
    "accounts_file": "CHORUS_ACCOUNTS",
    "session_wait_s": "CHORUS_SESSION_WAIT_S",
    "audit_signing_key": "CHORUS_AUDIT_SIGNING_KEY",
    "tsa_url": "CHORUS_TSA_URL",
    "notify_email": "CHORUS_NOTIFY_EMAIL",
    "smtp_url": "CHORUS_SMTP_URL",
    "smtp_password": "CHORUS_SMTP_PASSWORD",
    "smtp_from": "CHORUS_SMTP_FROM",
    "smtp_cafile": "CHORUS_SMTP_CAFILE",
}

#: Integer fields → inclusive bounds.
_BOUNDS: dict[str, tuple[int, int]] = {
    "timeout_ms": (1000, 300_000),
    "workers": (1, 16),
    "max_retries": (0, 20),
    "retry_budget_s": (0, 86_400),
    "retry_base_ms": (0, 60_000),
    "retry_seed": (0, 2**31 - 1),
    "slow_mo_ms": (0, 10_000),
    "recycle_every": (0, 100_000),
    "batch_size": (1, 50),
    "max_sessions": (1, 16),
    "max_requests_per_min": (0, 100_000),
    "lease_s": (5, 3600),
    "session_wait_s": (0, 86_400),
}

_TRUE = {"1", "true", "yes", "oui", "on", "vrai"}
_FALSE = {"0", "false", "no", "non", "off", "faux"}
_AUTO_MAILDIR = re.compile(r"\s*maildir\s*:\s*auto\s*", re.IGNORECASE)
_SECRETS = ("password", "audit_key", "otp_imap_password", "otp_totp_secret", "smtp_password")
#: Every field checked by :func:`_semantic_problems`: one per variable, and ``journal_url``
#: (``CHORUS_JOURNAL`` when it names a server).
_FIELDS = (*VARIABLES, "journal_url")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: Fields holding the path of a file that must exist.
_FILES = ("otp_imap_cafile", "accounts_file", "audit_signing_key", "smtp_cafile")


def is_email(text: str) -> bool:
    """Whether ``text`` looks like an e-mail address: what a Chorus Pro identifiant is."""
    return _EMAIL.fullmatch(text) is not None


class ConfigError(Refused):
    """The configuration cannot be used; ``problems`` lists every reason, in French."""


#: Schemes of a PostgreSQL journal in ``CHORUS_JOURNAL`` (libpq's own two spellings).
DATABASE_SCHEMES = ("postgresql", "postgres")
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def is_database_url(raw: str) -> bool:
    """Whether ``raw`` names a server (``scheme://…``) rather than a journal file."""
    return _URL_SCHEME.match(raw.strip()) is not None


@dataclass(frozen=True, repr=False)
class DatabaseUrl:
    """The address of a PostgreSQL journal: ``postgresql://user:password@host:port/db``.

    The password is a :class:`Secret` (registered for redaction as soon as it is read): the
    address is shown as :meth:`masked`, everywhere; only :meth:`reveal` gives the address to
    connect with, for the database driver and nothing else.
    """

    host: str
    database: str
    user: str | None = None
    password: Secret | None = None
    port: int | None = None
    #: libpq parameters after ``?`` (``sslmode=require``…), as written.
    query: str = ""

    @classmethod
    def parse(cls, raw: str) -> DatabaseUrl:
        """The address in ``raw``; ValueError with a French reason that never quotes it (the
        text may hold the password)."""
        raw = raw.strip()
        found = _URL_SCHEME.match(raw)
        scheme = found.group(1).lower() if found else ""
        if scheme not in DATABASE_SCHEMES:
            shown = f"« {scheme}:// » n'est" if scheme else "cette adresse n'est"
            raise ValueError(
                f"{shown} pas une adresse de journal : un fichier SQLite (chemin) ou "
                "postgresql://utilisateur:motdepasse@serveur:port/base attendu"
            )
        parts = urlsplit(raw)
        password = Secret(unquote(parts.password)) if parts.password else None
        try:
            port = parts.port
        except ValueError:
            raise ValueError("le port de l'adresse PostgreSQL n'est pas valide") from None
        if not parts.hostname:
            raise ValueError("l'adresse PostgreSQL n'indique pas de serveur")
        database = unquote(parts.path.removeprefix("/"))
        if not database or "/" in database:
            raise ValueError(
                "l'adresse PostgreSQL doit nommer une base : postgresql://…@serveur:port/base"
            )
        if parts.fragment:
            raise ValueError("l'adresse PostgreSQL ne doit pas contenir de « # »")
        names = {pair.partition("=")[0].lower() for pair in parts.query.split("&") if pair}
        if "password" in names:
            raise ValueError(
                "le mot de passe se met dans l'adresse (postgresql://utilisateur:motdepasse@…), "
                "pas en paramètre « password= »"
            )
        return cls(
            host=parts.hostname,
            database=database,
            user=unquote(parts.username) if parts.username else None,
            password=password,
            port=port,
            query=parts.query,
        )

    def _address(self, password: str | None) -> str:
        user = quote(self.user, safe="") if self.user else ""
        if password is not None:
            user += ":" + password
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        query = f"?{self.query}" if self.query else ""
        at = "@" if user else ""
        return f"postgresql://{user}{at}{host}{port}/{quote(self.database, safe='')}{query}"

    def masked(self) -> str:
        """The address with its password shown as ``********``: for messages and reports."""
        return self._address(MASK if self.password else None)

    def reveal(self) -> str:
        """The full address, password included: for the database driver only."""
        password = self.password.reveal() if self.password else None
        return self._address(quote(password, safe="") if password is not None else None)

    def __repr__(self) -> str:
        return f"DatabaseUrl('{self.masked()}')"

    def __str__(self) -> str:
        return self.masked()


#: ``CHORUS_SMTP_URL``'s schemes: STARTTLS on 587 by default, or TLS from the start on 465.
SMTP_SCHEMES = {"smtp": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    """Where the end-of-run e-mail goes out: ``smtp://user@host:587`` (STARTTLS, always
    required) or ``smtps://user@host:465`` (TLS from the start). No password in it: that is
    ``CHORUS_SMTP_PASSWORD``, a secret."""

    host: str
    port: int
    implicit_tls: bool
    user: str | None = None

    @classmethod
    def parse(cls, raw: str) -> SmtpServer:
        """The server in ``raw``; ValueError with a French reason (never quoting a password)."""
        found = _URL_SCHEME.match(raw)
        scheme = found.group(1).lower() if found else ""
        if scheme not in SMTP_SCHEMES:
            raise ValueError(
                "smtp://utilisateur@serveur:587 (STARTTLS) ou smtps://utilisateur@serveur:465 "
                "(TLS) attendu"
            )
        parts = urlsplit(raw)
        if parts.password is not None:
            raise ValueError(
                "le mot de passe ne se met pas dans l'adresse : utilisez CHORUS_SMTP_PASSWORD"
            )
        try:
            port = parts.port
        except ValueError:
            raise ValueError("le port de l'adresse SMTP n'est pas valide") from None
        if not parts.hostname:
            raise ValueError("l'adresse SMTP n'indique pas de serveur")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(
                "l'adresse SMTP ne nomme qu'un serveur : smtp://utilisateur@serveur:port"
            )
        return cls(
            host=parts.hostname,
            port=port or SMTP_SCHEMES[scheme],
            implicit_tls=scheme == "smtps",
            user=unquote(parts.username) if parts.username else None,
        )

    def __str__(self) -> str:
        user = f"{quote(self.user, safe='')}@" if self.user else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{host}:{self.port}"


def email_addresses(raw: str) -> list[str]:
    """The addresses of a list written ``a@x.fr, b@y.fr`` (``;`` or spaces also separate)."""
    return [part for part in re.split(r"[,;\s]+", raw) if part]


@dataclass(frozen=True)
class Config:
    """What a run needs to know, validated. ``portal_url`` None = the embedded sandbox."""

    portal_url: str | None = None
    login: str | None = None
    password: Secret | None = None
    otp_source: str = "maildir:auto"
    otp_imap_password: Secret | None = None
    otp_imap_cafile: Path | None = None
    #: The authenticator application's secret (base32) of ``CHORUS_OTP_SOURCE=totp``; once
    #: the configuration is built, ``otp_source`` carries it (:class:`robot.otp.TotpSpec`).
    otp_totp_secret: Secret | None = None
    browser: str | None = None
    headless: bool = True
    output_dir: Path = field(default_factory=lambda: Path("runs"))
    timeout_ms: int = 15_000
    #: The SQLite journal file (``CHORUS_JOURNAL`` as a path); None: see ``journal_url``, else
    #: ``<output_dir>/journal.sqlite``.
    journal: Path | None = None
    workers: int = 1
    video: str = "off"
    trace: str = "on"
    keep_runs: str | None = None
    audit_key: Secret | None = None
    max_retries: int = 3
    retry_budget_s: int = 300
    retry_base_ms: int = 500
    retry_seed: int | None = None  # None: drawn at each run, and written to run.log
    slow_mo_ms: int = 0
    recycle_every: int = 10
    #: How many transactions a worker claims together: their rejections are processed in
    #: « Synthèse » with one « Traiter le rejet » (robot.run.worker); 1: one at a time.
    batch_size: int = 10
    max_sessions: int = 2
    max_requests_per_min: int = 120
    notify_url: str | None = None
    #: How long a claim or a session slot lasts without a heartbeat, in seconds.
    lease_s: int = 60
    #: The TOML file of the accounts (robot.accounts); None: CHORUS_LOGIN's account only.
    accounts_file: Path | None = None
    #: How long a worker waits for one of an account's session slots (all leased, or the
    #: portal refusing a login for too many sessions) before giving up, in seconds. Waiting
    #: spends no retry budget: the portal is not failing, the account is busy.
    session_wait_s: int = 1800
    #: The Ed25519 private key (PEM) that signs the audit manifest; None: not signed so.
    audit_signing_key: Path | None = None
    #: An RFC 3161 time-stamp authority (http(s)://…); None: no time stamp.
    tsa_url: str | None = None
    #: Who receives the end-of-run e-mail (addresses separated by commas); None: no e-mail.
    notify_email: str | None = None
    #: The SMTP server it is sent through (STARTTLS or TLS), and its login's password.
    smtp_url: SmtpServer | None = None
    smtp_password: Secret | None = None
    #: The sender's address; None: the SMTP login, when it is an address.
    smtp_from: str | None = None
    #: A private certificate authority of the SMTP server (PEM); None: the system's.
    smtp_cafile: Path | None = None
    #: The PostgreSQL journal (``CHORUS_JOURNAL=postgresql://…``); None: a SQLite file.
    journal_url: DatabaseUrl | None = None

    def __post_init__(self) -> None:
        problems = _semantic_problems({name: getattr(self, name) for name in _FIELDS})
        if problems:
            raise ConfigError(problems)
        if self.otp_totp_secret is not None:
            # As the applications show it (groups of four) and as the codes are computed.
            register(normalized_secret(self.otp_totp_secret.reveal()))
            object.__setattr__(self, "otp_source", bind_totp(self.otp_source, self.otp_totp_secret))

    @property
    def embedded_sandbox(self) -> bool:
        return self.portal_url is None

    def describe(self) -> dict[str, str]:
        """Variable → value as text, for reports; secrets shown as ``********``."""
        shown: dict[str, str] = {}
        for name, variable in VARIABLES.items():
            value = getattr(self, name)
            if name == "journal" and self.journal_url is not None:
                value = self.journal_url.masked()
            if isinstance(value, Secret):
                shown[variable] = MASK if value else "(vide)"
            elif value is None:
                shown[variable] = (
                    "(bac à sable intégré)" if name == "portal_url" else "(non défini)"
                )
            elif isinstance(value, bool):
                shown[variable] = "oui" if value else "non"
            else:
                shown[variable] = str(value)
        return shown


def load_config(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")
) -> Config:
    """The configuration from ``dotenv`` (when the file exists) overridden by ``environ``.

    ``environ`` defaults to ``os.environ``, which is never modified. Raises
    :class:`ConfigError` listing every problem.
    """
    merged: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        merged.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    merged.update(os.environ if environ is None else environ)

    problems = _unknown_variables(merged)
    values: dict[str, Any] = {}
    for name, variable in VARIABLES.items():
        raw = merged.get(variable, "")
        if raw.strip():
            try:
                # A password is taken as typed: spaces around it may belong to it.
                values[name] = _parse(name, raw if name in _SECRETS else raw.strip())
            except ValueError as exc:
                problems.append(f"{variable} : {exc}")
    if isinstance(values.get("journal"), DatabaseUrl):
        values["journal_url"] = values.pop("journal")
    problems += _semantic_problems(_with_defaults(values))
    if "portal_url" in values and "otp_source" not in values:
        # A real portal and no code source said: none (a clear message at login if the
        # portal then asks for a code). « maildir:auto » is the embedded sandbox's own.
        values["otp_source"] = "none"
    otp_source = values.get("otp_source", "maildir:auto")
    if "portal_url" in values and _AUTO_MAILDIR.fullmatch(otp_source):
        problems.append(
            "CHORUS_OTP_SOURCE : « maildir:auto » ne vaut que pour le bac à sable intégré ; "
            "avec CHORUS_PORTAL_URL, indiquez prompt, maildir:/chemin, command:<commande>, "
            "imaps://identifiant@serveur/INBOX, totp ou none"
        )
    if problems:
        raise ConfigError(problems)
    return Config(**values)


def _with_defaults(values: Mapping[str, Any]) -> dict[str, Any]:
    complete: dict[str, Any] = {}
    for name, spec in Config.__dataclass_fields__.items():
        if name in values:
            complete[name] = values[name]
        elif spec.default_factory is not MISSING:
            complete[name] = spec.default_factory()
        else:
            complete[name] = spec.default
    return complete


def _parse(name: str, raw: str) -> Any:
    """The typed value of one variable; ValueError with a French reason."""
    if name in _SECRETS:
        return Secret(raw)
    if name == "headless":
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ValueError(f"« {raw} » n'est pas un booléen (oui/non, true/false, 1/0 attendu)")
    if name in _BOUNDS:
        if not re.fullmatch(r"[+-]?\d+", raw):
            raise ValueError(f"« {raw} » n'est pas un nombre entier")
        return int(raw)
    if name == "journal" and is_database_url(raw):
        return DatabaseUrl.parse(raw)
    if name == "smtp_url":
        return SmtpServer.parse(raw)
    if name in ("output_dir", "journal", *_FILES):
        return Path(raw).expanduser()
    if name in ("video", "trace"):
        return raw.lower()
    return raw


def _unknown_variables(merged: Mapping[str, str]) -> list[str]:
    known = set(VARIABLES.values())
    problems = []
    for variable in sorted(merged):
        if not variable.startswith(PREFIX) or variable.startswith(SANDBOX_PREFIX):
            continue
        if variable in known:
            continue
        close = difflib.get_close_matches(variable, sorted(known), n=1, cutoff=0.6)
        hint = f" (vouliez-vous dire {close[0]} ?)" if close else ""
        problems.append(f"{variable} : variable inconnue{hint}")
    return problems


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_problems(url: str) -> list[str]:
    var = VARIABLES["portal_url"]
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return [f"{var} : l'adresse n'est pas valide (port incorrect ?)"]
    if parts.username or parts.password:
        # Not quoted: the address holds credentials.
        return [f"{var} : l'adresse ne doit pas contenir d'identifiant ni de mot de passe"]
    if parts.scheme not in ("http", "https") or not host:
        return [f"{var} : « {url} » doit commencer par https:// et indiquer un serveur"]
    if parts.scheme == "http" and not _is_loopback(host):
        return [
            f"{var} : « {url} » n'est pas chiffrée (http://) ; le mot de passe circulerait en "
            "clair. Utilisez https:// (http:// n'est admis que pour localhost)"
        ]
    return []


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in url


def _semantic_problems(values: Mapping[str, Any]) -> list[str]:
    """Range, choice and consistency problems of already typed values (field → value)."""
    var = VARIABLES
    problems: list[str] = []
    for name, (low, high) in _BOUNDS.items():
        if values[name] is not None and not low <= values[name] <= high:
            problems.append(
                f"{var[name]} : {values[name]} est hors limites (entre {low} et {high} attendu)"
            )
    for name in ("video", "trace"):
        if values[name] not in ARTIFACT_MODES:
            problems.append(
                f"{var[name]} : « {values[name]} » inconnu ({', '.join(ARTIFACT_MODES)} attendu)"
            )
    otp_problem = check_otp_spec(values["otp_source"])
    if otp_problem:
        problems.append(f"{var['otp_source']} : {otp_problem}")
    problems += _imap_problems(values)
    problems += _totp_problems(values)
    keep_runs: str | None = values["keep_runs"]
    if keep_runs is not None:
        try:
            parse_keep(keep_runs)
        except ValueError as exc:
            problems.append(str(exc))
    login: str | None = values["login"]
    if login is not None and not is_email(login):
        problems.append(f"{var['login']} : « {login} » n'est pas une adresse électronique")
    browser: str | None = values["browser"]
    if browser is not None and not Path(browser).is_file():
        problems.append(f"{var['browser']} : « {browser} » n'existe pas")
    output_dir: Path = values["output_dir"]
    if output_dir.exists() and not output_dir.is_dir():
        problems.append(f"{var['output_dir']} : « {output_dir} » n'est pas un dossier")
    journal: Path | None = values["journal"]
    if journal is not None and journal.is_dir():
        problems.append(f"{var['journal']} : « {journal} » est un dossier")
    journal_url: DatabaseUrl | None = values["journal_url"]
    if journal_url is not None and journal is not None:
        problems.append(
            f"{var['journal']} : un fichier SQLite ou une adresse PostgreSQL, pas les deux"
        )
    notify_url: str | None = values["notify_url"]
    if notify_url is not None and not re.match(r"https?://[^/\s]+", notify_url):
        problems.append(f"{var['notify_url']} : « {notify_url} » n'est pas une adresse http(s)")
    tsa_url: str | None = values["tsa_url"]
    if tsa_url is not None and not _is_http_url(tsa_url):
        problems.append(
            f"{var['tsa_url']} : « {tsa_url} » n'est pas une adresse http(s) "
            "(http://horodatage.exemple.fr/tsa attendu)"
        )
    for name in ("accounts_file", "audit_signing_key"):
        path: Path | None = values[name]
        if path is not None and not path.is_file():
            shown = "est un dossier" if path.is_dir() else "n'existe pas"
            problems.append(f"{var[name]} : « {path} » {shown}")
    problems += _email_problems(values)
    portal_url: str | None = values["portal_url"]
    if portal_url is not None:
        problems += _url_problems(portal_url)
        if not login:
            problems.append(f"{var['login']} : obligatoire avec CHORUS_PORTAL_URL")
        if not values["password"]:
            problems.append(f"{var['password']} : obligatoire avec CHORUS_PORTAL_URL")
    return problems


def _email_problems(values: Mapping[str, Any]) -> list[str]:
    """The end-of-run e-mail: valid addresses, a server to send through, a password for its
    login, a sender, a CA file that exists."""
    var = VARIABLES
    problems: list[str] = []
    recipients: str | None = values["notify_email"]
    server: SmtpServer | None = values["smtp_url"]
    sender: str | None = values["smtp_from"]
    if recipients is not None:
        wrong = [a for a in email_addresses(recipients) if not is_email(a)]
        if wrong or not email_addresses(recipients):
            shown = ", ".join(f"« {a} »" for a in wrong) or "aucune adresse"
            problems.append(f"{var['notify_email']} : {shown} (adresse électronique attendue)")
        if server is None:
            problems.append(f"{var['smtp_url']} : obligatoire avec {var['notify_email']}")
    if sender is not None and not is_email(sender):
        problems.append(f"{var['smtp_from']} : « {sender} » n'est pas une adresse électronique")
    if server is not None:
        if server.user and not values["smtp_password"]:
            problems.append(
                f"{var['smtp_password']} : obligatoire quand {var['smtp_url']} nomme un utilisateur"
            )
        if recipients is not None and sender is None and not is_email(server.user or ""):
            problems.append(
                f"{var['smtp_from']} : obligatoire quand l'utilisateur de {var['smtp_url']} "
                "n'est pas une adresse électronique"
            )
    if values["smtp_password"] and (server is None or not server.user):
        problems.append(
            f"{var['smtp_password']} : sans usage sans utilisateur dans {var['smtp_url']} "
            "(smtp://utilisateur@serveur:587)"
        )
    cafile: Path | None = values["smtp_cafile"]
    if cafile is not None and not cafile.is_file():
        problems.append(f"{var['smtp_cafile']} : « {cafile} » n'existe pas")
    return problems


def _imap_problems(values: Mapping[str, Any]) -> list[str]:
    """An IMAP source needs its password; a private CA file must exist."""
    var = VARIABLES
    problems: list[str] = []
    if is_imap_spec(values["otp_source"]) and not values["otp_imap_password"]:
        problems.append(f"{var['otp_imap_password']} : obligatoire avec une source IMAP")
    cafile: Path | None = values["otp_imap_cafile"]
    if cafile is not None and not cafile.is_file():
        problems.append(f"{var['otp_imap_cafile']} : « {cafile} » n'existe pas")
    return problems


def _totp_problems(values: Mapping[str, Any]) -> list[str]:
    """``totp`` needs its secret, a valid one (never quoted); a secret needs ``totp``."""
    var = VARIABLES
    secret: Secret | None = values["otp_totp_secret"]
    wanted = is_totp_spec(values["otp_source"])
    if secret is None:
        if wanted:
            return [
                f"{var['otp_totp_secret']} : obligatoire avec {var['otp_source']}=totp (le "
                "secret de l'application d'authentification, en base32)"
            ]
        return []
    problem = check_totp_secret(secret.reveal())
    if problem is not None:
        return [f"{var['otp_totp_secret']} : {problem}"]
    if not wanted:
        return [f"{var['otp_totp_secret']} : sans usage sans {var['otp_source']}=totp"]
    return []
