"""``chorus-sandbox``: run the local stand-in of the Chorus Pro portal.

Every option can also be given as ``CHORUS_SANDBOX_<NAME>`` (the command line wins). Data
persist in ``--data`` (SQLite ``sandbox.db`` and the Maildir ``maildir/``). The database is
seeded with ``--seed`` rejected invoices (and ``--seed-suspended`` suspended, ``--seed-recycle``
to recycle) only when it is empty, or when ``--reset`` is given:
restarting a server on the same folder keeps its state (the robot's resume tests rely on it).
``--accounts N`` seeds N supplier accounts, each with its own structure and invoices
(``--user``, then the same address with ``+2``… before the ``@``);
``--max-sessions-per-account N`` refuses a login of an account already holding N live sessions.
``--totp-secret BASE32`` enrols the ``--user`` account for authenticator codes (TOTP) instead of
the e-mailed code (the admin interface, ``/_admin/totp``, enrols any account).
``--origines 3`` serves the portal's three systems on three ports (the shell on ``--port``, the
identity provider on ``--idp-port``, the invoicing application under ``/cpp`` on ``--cpp-port``;
``sandbox/origins.py``) and prints the shell's address as the one to open.

The help is all French, the built-in ``--help`` and usage line included, and a value the
command line cannot use is refused with a French message (exit code 2).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
import uvicorn
from loguru import logger
from typer.core import TyperCommand, TyperGroup, TyperOption

from sandbox.settings import (
    ACCOUNTS_MAX,
    FAULT_SEED_MAX,
    OptionError,
    SandboxOptions,
    account_email,
    origin_urls,
    parse_value,
    user_origins,
)

HELP_TEXT = "Afficher cette aide et quitter."
USAGE_PREFIX = "Utilisation : "
COMMANDS_PANEL = "Commandes"
INTEGER = "ENTIER"
NUMBER = "NOMBRE"
_EXPECTED = {INTEGER: "un nombre entier", NUMBER: "un nombre"}
_EXTRA_ARGS = re.compile(r"Got unexpected extra argument.*? \((.*)\)$")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"Erreur : {message}", err=True)
    return typer.Exit(code=2)


def _shown(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _expected(param: Any) -> str:
    """What a numeric option accepts, in French (from its metavar and its range)."""
    kind = _EXPECTED.get(getattr(param, "metavar", None) or "", "une autre valeur")
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        expected = f"{kind} entre {_shown(low)} et {_shown(high)}"
    elif low is not None:
        expected = f"{kind} supérieur ou égal à {_shown(low)}"
    elif high is not None:
        expected = f"{kind} inférieur ou égal à {_shown(high)}"
    else:
        expected = kind
    if getattr(param, "metavar", None) == NUMBER:
        expected += ", écrit avec un point : 0.5"
    return expected


def _given(args: Sequence[str], flags: Sequence[str]) -> str | None:
    """The value typed for one of ``flags`` (the last one wins, as when parsing)."""
    value = None
    for i, arg in enumerate(args):
        for flag in flags:
            if arg == flag and i + 1 < len(args):
                value = args[i + 1]
            elif arg.startswith(flag + "="):
                value = arg[len(flag) + 1 :]
    return value


def _bad_value_message(exc: typer.BadParameter, args: Sequence[str]) -> str:
    param = exc.param
    flags: list[str] = list(getattr(param, "opts", None) or [])
    if not flags:
        return f"valeur invalide ({exc.format_message()})."
    value = _given(args, flags)
    typed = f" : « {value} »" if value is not None else ""
    return f"Valeur invalide pour {flags[0]}{typed} (attendu : {_expected(param)})."


def _option_usage_message(exc: Exception) -> str | None:
    """French text for an unknown option or an option missing its value (else None)."""
    name = getattr(exc, "option_name", None)
    if name is None:
        extra = _EXTRA_ARGS.match(str(getattr(exc, "message", "")))
        return f"argument inattendu : {extra.group(1)}." if extra else None
    if hasattr(exc, "possibilities"):
        close = sorted(getattr(exc, "possibilities", None) or [])
        hint = f" Vouliez-vous dire {', '.join(close)} ?" if close else ""
        return f"option inconnue : {name}.{hint}"
    return f"l'option {name} est mal employée (valeur absente, ou en trop pour un indicateur)."


def _french_help(option: TyperOption | None) -> TyperOption | None:
    """The built-in ``--help`` option with a French text (and no value type: it is a flag)."""
    if option is not None:
        option.help = HELP_TEXT
        option.metavar = ""
    return option


def _french_usage(command: Any, ctx: Any, formatter: Any) -> None:
    pieces = " ".join(command.collect_usage_pieces(ctx))
    formatter.write_usage(ctx.command_path, pieces, prefix=USAGE_PREFIX)


def _parse_in_french(
    parse: Callable[[Any, list[str]], list[str]], ctx: Any, args: list[str]
) -> list[str]:
    """``parse(ctx, args)``, a bad value or a misused option refused with a French message."""
    typed = list(args)  # the parser consumes ``args``
    try:
        return parse(ctx, args)
    except typer.BadParameter as exc:
        raise _fail(_bad_value_message(exc, typed)) from None
    except typer.TyperException as exc:
        message = _option_usage_message(exc)
        if message is None:  # e.g. no arguments at all: the library shows the help
            raise
        raise _fail(message) from None


class _FrenchCommand(TyperCommand):
    """A command whose ``--help`` text, usage line and usage errors are French."""

    def get_help_option(self, ctx: Any) -> TyperOption | None:
        return _french_help(super().get_help_option(ctx))

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        _french_usage(self, ctx, formatter)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return _parse_in_french(super().parse_args, ctx, args)


class _FrenchGroup(TyperGroup):
    """The command group, with the same French ``--help``, usage line and errors."""

    def get_help_option(self, ctx: Any) -> TyperOption | None:
        return _french_help(super().get_help_option(ctx))

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        _french_usage(self, ctx, formatter)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return _parse_in_french(super().parse_args, ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except typer.TyperException:
            if not args:
                raise
            known = ", ".join(sorted(self.commands))
            raise _fail(f"commande inconnue : « {args[0]} » (commandes : {known}).") from None


app = typer.Typer(
    cls=_FrenchGroup,
    add_completion=False,
    no_args_is_help=True,
    subcommand_metavar="COMMANDE [ARGUMENTS]...",
    help="Bac à sable local du portail Chorus Pro (factures émises, rejets, saisie).",
)


def _options(raw: dict[str, Any]) -> SandboxOptions:
    """Options from the environment and the command line; French message on a bad value."""
    overrides: dict[str, Any] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if isinstance(value, str):
            try:
                overrides[name] = parse_value(name, value)
            except OptionError:
                raise OptionError(
                    f"Valeur invalide pour --{name.replace('_', '-')} : « {value} »."
                ) from None
        else:
            overrides[name] = value
    return SandboxOptions.from_env(**overrides)


class _AnnouncingServer(uvicorn.Server):
    """Prints the URL and the demo credentials once the socket is listening."""

    def __init__(self, config: uvicorn.Config, options: SandboxOptions, url: str) -> None:
        super().__init__(config)
        self._options = options
        self._url = url  # the single origin's, or the shell's

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            typer.echo(
                f"Bac à sable Chorus Pro prêt : {self._url} — identifiant : "
                f"{self._options.user} mot de passe : {self._options.password}"
            )
            if self._options.origins == 3:
                urls = origin_urls(self._options)
                typer.echo(f"Fournisseur d'identité : {urls['idp']}")
                typer.echo(f"Application de facturation : {urls['cpp']}/cpp/")
            accounts = self._options.accounts
            if accounts > 1:
                last = account_email(self._options.user, accounts)
                typer.echo(
                    f"{accounts} comptes fournisseurs, de {self._options.user} à {last} "
                    "(même mot de passe)."
                )
            if self._options.totp_secret:
                typer.echo(
                    f"Application d'authentification (TOTP) enregistrée pour {self._options.user}."
                )
            if self._options.admin_token:
                typer.echo("Interface d'administration activée sous /_admin/.")
            sys.stdout.flush()


def _text(help_text: str) -> Any:
    return typer.Option(help=help_text, metavar="TEXTE")


def _int(help_text: str, low: int | None = 0, high: int | None = None) -> Any:
    return typer.Option(help=help_text, min=low, max=high, metavar=INTEGER)


def _number(help_text: str, low: float = 0.0, high: float | None = None) -> Any:
    return typer.Option(help=help_text, min=low, max=high, metavar=NUMBER)


def _flag(name: str, help_text: str) -> Any:
    return typer.Option(name, help=help_text, metavar="")


DataDir = Annotated[
    str | None,
    typer.Option(
        "--data", help="Dossier des données (base SQLite et courriels).", metavar="DOSSIER"
    ),
]
Seed = Annotated[int | None, _int("Nombre de factures rejetées du jeu de données.")]
SeedSuspended = Annotated[
    int | None,
    _int("Nombre de factures suspendues, non acquittées, ajoutées au jeu de données."),
]
SeedRecycle = Annotated[
    int | None, _int("Nombre de factures « À recycler » ajoutées au jeu de données.")
]
Accounts = Annotated[
    int | None,
    _int(
        "Nombre de comptes fournisseurs, chacun sa structure et ses factures "
        "(le compte k : l'identifiant avec « +k » avant « @ »).",
        low=1,
        high=ACCOUNTS_MAX,
    ),
]
RandomSeed = Annotated[
    int | None, _int("Graine du jeu de données (même graine, mêmes données).", low=None)
]
User = Annotated[str | None, _text("Identifiant (courriel) du compte de démonstration.")]
Password = Annotated[str | None, _text("Mot de passe du compte de démonstration.")]
Otp = Annotated[
    bool | None, _flag("--otp", "Demander un code de vérification par courriel à la connexion.")
]
TotpSecret = Annotated[
    str | None,
    typer.Option(
        help="Secret (base32) de l'application d'authentification du compte --user : son "
        "code (TOTP) remplace le code envoyé par courriel.",
        metavar="BASE32",
    ),
]


@app.command(cls=_FrenchCommand, rich_help_panel=COMMANDS_PANEL)
def serve(
    port: Annotated[int | None, _int("Port d'écoute (0 : un port libre).", high=65535)] = None,
    origins: Annotated[
        int | None,
        typer.Option(
            "--origines",
            help="1 : une seule origine ; 3 : le portail, le fournisseur d'identité et "
            "l'application de facturation (/cpp/) sur trois ports.",
            min=1,
            max=3,
            metavar=INTEGER,
        ),
    ] = None,
    idp_port: Annotated[
        int | None,
        _int("Port du fournisseur d'identité avec --origines 3 (0 : un port libre).", high=65535),
    ] = None,
    cpp_port: Annotated[
        int | None,
        _int(
            "Port de l'application de facturation avec --origines 3 (0 : un port libre).",
            high=65535,
        ),
    ] = None,
    host: Annotated[str | None, _text("Adresse d'écoute (127.0.0.1 par défaut).")] = None,
    data: DataDir = None,
    seed: Seed = None,
    seed_suspended: SeedSuspended = None,
    seed_recycle: SeedRecycle = None,
    accounts: Accounts = None,
    random_seed: RandomSeed = None,
    user: User = None,
    password: Password = None,
    otp: Otp = None,
    totp_secret: TotpSecret = None,
    admin_token: Annotated[
        str | None, _text("Jeton de l'interface /_admin/ (8 caractères au moins).")
    ] = None,
    fault_seed: Annotated[
        int | None,
        _int(
            "Graine des pannes simulées, pour rejouer une exécution "
            "(tirée au hasard si absente, affichée au démarrage).",
            high=FAULT_SEED_MAX,
        ),
    ] = None,
    latency_ms: Annotated[int | None, _int("Latence ajoutée à chaque page (ms).")] = None,
    jitter_ms: Annotated[int | None, _int("Variation aléatoire de la latence (ms).")] = None,
    error_rate: Annotated[
        float | None, _number("Part des pages en erreur 503 (de 0 à 1).", high=1.0)
    ] = None,
    session_idle_s: Annotated[
        float | None, _number("Expiration de la session après inactivité (s ; 0 : jamais).")
    ] = None,
    max_sessions_per_account: Annotated[
        int | None,
        _int("Nombre maximal de sessions simultanées par compte (0 : pas de limite)."),
    ] = None,
    maintenance: Annotated[
        bool | None, _flag("--maintenance", "Afficher la page de maintenance partout.")
    ] = None,
    popup_rate: Annotated[
        float | None,
        _number("Part des pages couvertes par une fenêtre d'information (de 0 à 1).", high=1.0),
    ] = None,
    slow_list_ms: Annotated[int | None, _int("Délai ajouté aux listes de factures (ms).")] = None,
    layout_drift: Annotated[
        bool | None,
        _flag("--layout-drift", "Changer les identifiants et classes CSS des pages."),
    ] = None,
    reset: Annotated[
        bool, _flag("--reset", "Vider la base et la réinitialiser avant de démarrer.")
    ] = False,
) -> None:
    """Démarrer le bac à sable (par défaut sur http://127.0.0.1 et un port libre)."""
    raw = dict(locals())
    raw.pop("reset")
    raw["data_dir"] = raw.pop("data")
    if raw["origins"] is None:
        raw["origins"] = user_origins()  # the real portal's three, unless the env says
    try:
        options = _options(raw)
    except OptionError as exc:
        raise _fail(str(exc)) from None
    # Plain French lines on stderr (the seed of the fault decisions, errors).
    logger.remove()
    logger.add(sys.stderr, level="INFO", format="{message}")
    from sandbox.origins import build_app
    from sandbox.server import HEALTH_TOKEN_ENV, bind_origins

    try:
        options.data_dir.mkdir(parents=True, exist_ok=True)
        options, socks = bind_origins(options)
    except OSError as exc:
        raise _fail(f"impossible d'écouter sur {options.host}:{options.port} ({exc}).") from None
    application = build_app(
        options, health_token=os.environ.get(HEALTH_TOKEN_ENV) or None, reset=reset
    )
    config = uvicorn.Config(application, log_level="warning", access_log=False, lifespan="on")
    server = _AnnouncingServer(config, options, f"http://{options.host}:{options.port}")
    server.run(sockets=socks)


@app.command("seed", cls=_FrenchCommand, rich_help_panel=COMMANDS_PANEL)
def seed_command(
    data: DataDir = None,
    seed: Seed = None,
    seed_suspended: SeedSuspended = None,
    seed_recycle: SeedRecycle = None,
    accounts: Accounts = None,
    random_seed: RandomSeed = None,
    user: User = None,
    password: Password = None,
    otp: Otp = None,
) -> None:
    """Vider la base et la réinitialiser avec un jeu de données, sans démarrer le serveur."""
    raw = dict(locals())
    raw["data_dir"] = raw.pop("data")
    try:
        options = _options(raw)
    except OptionError as exc:
        raise _fail(str(exc)) from None
    from sandbox.app import reseed_data_dir

    summary = reseed_data_dir(options)
    typer.echo(f"Données réinitialisées dans {options.data_dir} : {summary}")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="chorus-sandbox")
