"""The accounts a run may log in with: ``CHORUS_LOGIN``'s, and those of ``CHORUS_ACCOUNTS``.

One machine or many may serve several Chorus Pro accounts (a firm of accountants, one login
per client); a plan row names its account in its ``compte`` column, empty meaning the default
one (``CHORUS_LOGIN``, or the embedded sandbox's own). ``CHORUS_ACCOUNTS`` names a TOML file::

    [[compte]]
    identifiant = "comptable@client-a.fr"
    mot_de_passe = "…"                    # the file must then be chmod 600
    otp_source = "imaps://codes%40client-a.fr@imap.client-a.fr/INBOX"   # optional
    max_sessions = 2                      # optional, default CHORUS_MAX_SESSIONS

    [[compte]]
    identifiant = "comptable@client-b.fr"
    mot_de_passe_commande = "pass show chorus/client-b"   # run once, at load
    otp_source = "totp"                   # the authenticator application's codes…
    otp_totp_secret = "…"                 # …from its secret (base32): chmod 600 again

The file is checked whole, like the configuration: every problem is listed at once in a
:class:`~robot.config.ConfigError` (exit 2), naming the file, the account and the key.
Passwords and authenticator secrets are registered for redaction (:mod:`robot.secrets`) as soon
as they are read and never appear in a message; neither does a password command's output. An
account whose codes come from ``totp`` (its own ``otp_source``, or ``CHORUS_OTP_SOURCE``) needs
its own ``otp_totp_secret``: only the default account may use ``CHORUS_OTP_TOTP_SECRET``, the
secret of ``CHORUS_LOGIN``'s account (another account's codes would be refused, and count
towards its lockout).
"""

from __future__ import annotations

import difflib
import re
import shlex
import stat
import subprocess
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robot.config import VARIABLES, Config, ConfigError, is_email
from robot.otp import bind_totp, check_otp_spec, check_totp_secret, is_imap_spec, is_totp_spec
from robot.otp.totp import TOTP_SCHEME
from robot.secrets import Secret, register

__all__ = ["Account", "Accounts", "load_accounts", "run_password_command"]

ACCOUNTS_VARIABLE = VARIABLES["accounts_file"]
#: The keys of a ``[[compte]]`` block.
KEYS = (
    "identifiant",
    "mot_de_passe",
    "mot_de_passe_commande",
    "otp_source",
    "otp_totp_secret",
    "max_sessions",
)
#: The keys whose values are secrets written in the file: the file must then be private.
SECRET_KEYS = ("mot_de_passe", "otp_totp_secret")
MAX_SESSIONS_BOUNDS = (1, 16)
#: How long ``mot_de_passe_commande`` may take (a password manager asking for its own key).
COMMAND_TIMEOUT_S = 30
_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column \d+\)$")


@dataclass(frozen=True)
class Account:
    """One Chorus Pro login. ``otp_source`` None: the configuration's ``CHORUS_OTP_SOURCE``."""

    identifiant: str
    password: Secret
    otp_source: str | None
    #: Sessions the account may hold at once on the portal, all machines together.
    max_sessions: int
    #: Its authenticator application's secret (``otp_source = "totp"``); ``otp_source`` then
    #: carries it (:class:`robot.otp.TotpSpec`), wherever the account's source is handed.
    otp_totp_secret: Secret | None = None

    def __post_init__(self) -> None:
        if self.otp_totp_secret is not None:
            spec = bind_totp(self.otp_source or TOTP_SCHEME, self.otp_totp_secret)
            object.__setattr__(self, "otp_source", spec)

    @property
    def key(self) -> str:
        """How accounts are compared: the portal takes an identifiant whatever its case."""
        return self.identifiant.casefold()

    def otp_spec(self, config: Config) -> str:
        """Where this account's one-time codes come from (a ``CHORUS_OTP_SOURCE`` value)."""
        return self.otp_source or config.otp_source


@dataclass(frozen=True)
class Accounts:
    """The known accounts, in order: the default first (unless the file lists it), then the
    file's. Iterating gives the :class:`Account` objects; :meth:`get` finds one by identifiant,
    whatever its case, ``""`` meaning the default."""

    accounts: tuple[Account, ...] = ()
    #: ``CHORUS_LOGIN``'s account (or the embedded sandbox's); None when there is none.
    default: Account | None = None
    _by_key: dict[str, Account] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        accounts = self.accounts
        if self.default is not None and self.default.key not in {a.key for a in accounts}:
            accounts = (self.default, *accounts)
        by_key: dict[str, Account] = {}
        for account in accounts:
            if account.key in by_key:
                raise ValueError(f"compte « {account.identifiant} » en double")
            by_key[account.key] = account
        if self.default is not None and by_key[self.default.key] != self.default:
            raise ValueError(f"deux comptes « {self.default.identifiant} » différents")
        object.__setattr__(self, "accounts", accounts)
        object.__setattr__(self, "_by_key", by_key)

    def get(self, identifiant: str) -> Account | None:
        """The account ``identifiant`` names (any case); ``""``: the default one."""
        identifiant = identifiant.strip()
        if not identifiant:
            return self.default
        return self._by_key.get(identifiant.casefold())

    def names(self) -> list[str]:
        """Every account's identifiant, as written, in order."""
        return [account.identifiant for account in self.accounts]

    def __contains__(self, identifiant: object) -> bool:
        return isinstance(identifiant, str) and self.get(identifiant) is not None

    def __iter__(self) -> Iterator[Account]:
        return iter(self.accounts)

    def __len__(self) -> int:
        return len(self.accounts)


def load_accounts(config: Config, *, default: Account | None = None) -> Accounts:
    """The accounts of ``config``: its ``CHORUS_ACCOUNTS`` file, and the default account.

    The default is ``default`` when given (the embedded sandbox's account, which has no
    ``CHORUS_LOGIN``), else ``CHORUS_LOGIN``/``CHORUS_PASSWORD``'s account when both are set,
    else none; when the file lists the default's identifiant, the file's entry wins. Runs
    each ``mot_de_passe_commande``. Raises :class:`~robot.config.ConfigError` listing every
    problem of the file.
    """
    problems: list[str] = []
    wanted = default.key if default is not None else (config.login or "").casefold()
    listed = (
        _read_file(config.accounts_file, config, problems, wanted) if config.accounts_file else []
    )
    if problems:
        raise ConfigError(problems)
    from_file = next((a for a in listed if wanted and a.key == wanted), None)
    if from_file is not None:
        default = from_file
    elif default is None and config.login and config.password:
        default = Account(
            identifiant=config.login,
            password=config.password,
            otp_source=None,
            max_sessions=config.max_sessions,
        )
    return Accounts(tuple(listed), default)


def _read_file(
    path: Path, config: Config, problems: list[str], default_key: str = ""
) -> list[Account]:
    """The accounts the file lists; what is wrong with it goes to ``problems``.
    ``default_key``: the default account's :attr:`Account.key` ("" when there is none)."""
    where = f"{ACCOUNTS_VARIABLE} : {path}"
    try:
        text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        problems.append(f"{where} : le fichier n'est pas en UTF-8")
        return []
    except OSError as exc:
        problems.append(f"{where} : fichier illisible ({exc.strerror})")
        return []
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's reason names keys and characters, never a value: it may be shown.
        reason = str(exc)
        found = _TOML_WHERE.search(reason)
        line = f", ligne {found.group(1)}" if found else ""
        reason = _TOML_WHERE.sub("", reason).replace(" (at end of document)", "")
        problems.append(f"{where}{line} : TOML invalide ({reason})")
        return []
    for key in document:
        if key != "compte":
            problems.append(f"{where}, {key} : {_unknown_key(key, ('compte',))}")
    entries = document.get("compte")
    if entries is None:
        problems.append(f"{where} : aucun compte (un bloc [[compte]] par compte attendu)")
        return []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        problems.append(f"{where}, compte : un bloc [[compte]] par compte attendu")
        return []
    # Registered before anything else is done with the file: no message may show them.
    for entry in entries:
        for key in SECRET_KEYS:
            if isinstance(entry.get(key), str):
                register(entry[key])
    held = [key for key in SECRET_KEYS if any(key in entry for entry in entries)]
    if held:
        problems += _mode_problems(path, where, held)
    accounts: list[Account] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries, start=1):
        account = _Entry(where, index, entry, config, problems, default_key).account(seen)
        if account is not None:
            accounts.append(account)
    return accounts


def _mode_problems(path: Path, where: str, held: list[str]) -> list[str]:
    """The file holds secrets (``held``: their keys) and others than its owner may read it."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return []  # read a moment ago: what changed since shows at the next start
    if not mode & 0o077:
        return []
    what = {
        "mot_de_passe": "des mots de passe",
        "otp_totp_secret": "des secrets d'application d'authentification",
    }
    instead = (
        ", ou remplacez mot_de_passe par mot_de_passe_commande" if "mot_de_passe" in held else ""
    )
    return [
        f"{where} : ce fichier contient {' et '.join(what[key] for key in held)} et d'autres "
        f"utilisateurs que son propriétaire y ont accès (droits {mode:03o}) : protégez-le avec "
        f"« chmod 600 {shlex.quote(str(path))} »{instead}"
    ]


def _unknown_key(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    hint = f" (vouliez-vous dire « {close[0]} » ?)" if close else ""
    return f"clé inconnue{hint}"


@dataclass
class _Entry:
    """Checks one ``[[compte]]`` block, adding every problem to ``problems``."""

    file: str
    index: int
    entry: dict[str, Any]
    config: Config
    problems: list[str]
    #: The default account's key ("" when there is none): it may use CHORUS_OTP_TOTP_SECRET.
    default_key: str = ""

    @property
    def identifiant(self) -> str:
        value = self.entry.get("identifiant")
        return value.strip() if isinstance(value, str) else ""

    def report(self, key: str, reason: str) -> None:
        who = f"compte {self.index}"
        if self.identifiant:
            who += f" ({self.identifiant})"
        self.problems.append(f"{self.file}, {who}, {key} : {reason}")

    def account(self, seen: dict[str, int]) -> Account | None:
        """The account the block describes, or None when something is wrong with it."""
        before = len(self.problems)
        for key in self.entry:
            if key not in KEYS:
                self.report(key, _unknown_key(key, KEYS))
        identifiant = self._identifiant(seen)
        password = self._password()
        otp_source = self._otp_source()
        totp_secret = self._otp_totp_secret(otp_source)
        max_sessions = self._max_sessions()
        if len(self.problems) > before or password is None:
            return None
        return Account(identifiant, password, otp_source, max_sessions, totp_secret)

    def _identifiant(self, seen: dict[str, int]) -> str:
        value = self.entry.get("identifiant")
        if value is None:
            self.report("identifiant", "obligatoire (l'adresse électronique de connexion)")
        elif not isinstance(value, str):
            self.report("identifiant", "du texte est attendu (adresse électronique)")
        elif not is_email(value.strip()):
            self.report("identifiant", f"« {value.strip()} » n'est pas une adresse électronique")
        else:
            key = value.strip().casefold()
            if key in seen:
                self.report(
                    "identifiant",
                    f"« {value.strip()} » en double (comptes {seen[key]} et {self.index})",
                )
            else:
                seen[key] = self.index
        return self.identifiant

    def _password(self) -> Secret | None:
        has_value = "mot_de_passe" in self.entry
        has_command = "mot_de_passe_commande" in self.entry
        if has_value and has_command:
            self.report(
                "mot_de_passe",
                "mot_de_passe ou mot_de_passe_commande, pas les deux",
            )
            return None
        if not has_value and not has_command:
            self.report(
                "mot_de_passe",
                "obligatoire (mot_de_passe, ou mot_de_passe_commande qui l'écrit)",
            )
            return None
        if has_value:
            value = self.entry["mot_de_passe"]
            if not isinstance(value, str) or not value:
                self.report("mot_de_passe", "du texte non vide est attendu")
                return None
            return Secret(value)
        command = self.entry["mot_de_passe_commande"]
        if not isinstance(command, str):
            self.report("mot_de_passe_commande", "du texte est attendu (une commande)")
            return None
        password, problem = run_password_command(command)
        if problem is not None:
            self.report("mot_de_passe_commande", problem)
        return password

    def _otp_source(self) -> str | None:
        value = self.entry.get("otp_source")
        if value is None:
            return None
        if not isinstance(value, str):
            self.report("otp_source", "du texte est attendu (comme CHORUS_OTP_SOURCE)")
            return None
        value = value.strip()
        if not value:
            return None
        problem = check_otp_spec(value)
        if problem is not None:
            self.report("otp_source", problem)
        elif self.config.portal_url and value.lower().replace(" ", "") == "maildir:auto":
            self.report(
                "otp_source",
                "« maildir:auto » ne vaut que pour le bac à sable intégré ; indiquez prompt, "
                "maildir:/chemin, command:<commande>, imaps://identifiant@serveur/INBOX, totp "
                "ou none",
            )
        elif is_imap_spec(value) and not self.config.otp_imap_password:
            self.report(
                "otp_source",
                f"une source IMAP demande {VARIABLES['otp_imap_password']} (mot de passe de la "
                "boîte aux lettres)",
            )
        return value

    def _otp_totp_secret(self, otp_source: str | None) -> Secret | None:
        """The account's authenticator secret: its own ``otp_totp_secret``, or, for the
        default account only, ``CHORUS_OTP_TOTP_SECRET``; required when its source is totp."""
        value = self.entry.get("otp_totp_secret")
        uses_totp = is_totp_spec(otp_source if otp_source is not None else self.config.otp_source)
        if value is None:
            if not uses_totp:
                return None
            is_default = bool(self.default_key) and self.identifiant.casefold() == self.default_key
            if is_default and self.config.otp_totp_secret is not None:
                return self.config.otp_totp_secret
            self.report(
                "otp_totp_secret",
                "obligatoire avec la source totp (le secret base32 de l'application "
                f"d'authentification de ce compte ; {VARIABLES['otp_totp_secret']} ne vaut que "
                "pour le compte par défaut)",
            )
            return None
        if not isinstance(value, str):
            self.report("otp_totp_secret", "du texte est attendu (un secret base32)")
            return None
        problem = check_totp_secret(value)
        if problem is not None:
            self.report("otp_totp_secret", problem)
            return None
        if not uses_totp:
            self.report(
                "otp_totp_secret", "sans usage : la source de codes du compte n'est pas « totp »"
            )
            return None
        return Secret(value)

    def _max_sessions(self) -> int:
        value = self.entry.get("max_sessions")
        if value is None:
            return self.config.max_sessions
        low, high = MAX_SESSIONS_BOUNDS
        if isinstance(value, bool) or not isinstance(value, int):
            self.report("max_sessions", f"« {value} » n'est pas un nombre entier")
        elif not low <= value <= high:
            self.report("max_sessions", f"{value} est hors limites (entre {low} et {high} attendu)")
        else:
            return value
        return self.config.max_sessions


def run_password_command(command: str) -> tuple[Secret | None, str | None]:
    """The password ``command`` writes (first line of its output, stripped), or a French
    reason it gave none. The command runs without a shell, for at most
    :data:`COMMAND_TIMEOUT_S` seconds; its output is never quoted, not even in a failure."""
    try:
        args = shlex.split(command)
    except ValueError:
        return None, "la commande est mal formée (guillemets non fermés ?)"
    if not args:
        return None, "la commande est vide"
    try:
        done = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        return None, f"commande « {args[0]} » introuvable"
    except PermissionError:
        return None, f"commande « {args[0]} » non exécutable"
    except subprocess.TimeoutExpired:
        return None, f"la commande n'a pas répondu en {COMMAND_TIMEOUT_S} s"
    except OSError as exc:
        return None, f"la commande n'a pas pu être lancée ({exc.strerror})"
    lines = done.stdout.decode("utf-8", errors="replace").splitlines()
    password = lines[0].strip() if lines else ""
    register(password)
    if done.returncode != 0:
        return None, f"la commande a échoué (code de sortie {done.returncode})"
    if not password:
        return None, "la commande n'a écrit aucun mot de passe (première ligne vide)"
    return Secret(password), None
