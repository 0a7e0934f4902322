"""``chorus-sandbox``: run the local stand-in of the Chorus Pro portal.

Every option can also be given as ``CHORUS_SANDBOX_<NAME>`` (the command line wins). Data
persist in ``--data`` (SQLite ``sandbox.db`` and the Maildir ``maildir/``). The database is
seeded with ``--seed`` rejected invoices only when it is empty, or when ``--reset`` is given:
restarting a server on the same folder keeps its state (the robot's resume tests rely on it).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
import uvicorn

from sandbox.settings import OptionError, SandboxOptions, parse_value

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Bac à sable local du portail Chorus Pro (factures émises, rejets, saisie).",
)

Text = Annotated[str | None, typer.Option()]


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


def _fail(message: str) -> typer.Exit:
    typer.echo(f"Erreur : {message}", err=True)
    return typer.Exit(code=2)


class _AnnouncingServer(uvicorn.Server):
    """Prints the URL and the demo credentials once the socket is listening."""

    def __init__(self, config: uvicorn.Config, options: SandboxOptions, url: str) -> None:
        super().__init__(config)
        self._options = options
        self._url = url

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            typer.echo(
                f"Bac à sable Chorus Pro prêt : {self._url} — identifiant : "
                f"{self._options.user} mot de passe : {self._options.password}"
            )
            if self._options.admin_token:
                typer.echo("Interface d'administration activée sous /_admin/.")
            sys.stdout.flush()


def _opt(help_text: str) -> Any:
    return typer.Option(help=help_text)


@app.command()
def serve(
    port: Annotated[str | None, _opt("Port d'écoute (0 : un port libre).")] = None,
    host: Annotated[str | None, _opt("Adresse d'écoute (127.0.0.1).")] = None,
    data: Annotated[str | None, typer.Option("--data", help="Dossier des données.")] = None,
    seed: Annotated[str | None, _opt("Factures rejetées à créer (base vide).")] = None,
    random_seed: Annotated[str | None, _opt("Graine du jeu de données.")] = None,
    user: Annotated[str | None, _opt("Identifiant du compte de démonstration.")] = None,
    password: Annotated[str | None, _opt("Mot de passe du compte de démonstration.")] = None,
    otp: Annotated[bool | None, typer.Option("--otp", help="Code de vérification.")] = None,
    admin_token: Annotated[str | None, _opt("Jeton de l'interface /_admin/.")] = None,
    latency_ms: Annotated[str | None, _opt("Latence ajoutée (ms).")] = None,
    jitter_ms: Annotated[str | None, _opt("Variation de latence (ms).")] = None,
    error_rate: Annotated[str | None, _opt("Part de réponses 503 (0 à 1).")] = None,
    session_idle_s: Annotated[str | None, _opt("Expiration après inactivité (s).")] = None,
    maintenance: Annotated[bool | None, typer.Option("--maintenance")] = None,
    popup_rate: Annotated[str | None, _opt("Part de pages avec fenêtre (0 à 1).")] = None,
    slow_list_ms: Annotated[str | None, _opt("Délai des listes (ms).")] = None,
    layout_drift: Annotated[bool | None, typer.Option("--layout-drift")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Vider et réinitialiser.")] = False,
) -> None:
    """Démarrer le bac à sable (par défaut sur http://127.0.0.1 et un port libre)."""
    raw = dict(locals())
    raw.pop("reset")
    raw["data_dir"] = raw.pop("data")
    try:
        options = _options(raw)
    except OptionError as exc:
        raise _fail(str(exc)) from None
    from sandbox.app import create_app
    from sandbox.server import HEALTH_TOKEN_ENV, _bind

    try:
        options.data_dir.mkdir(parents=True, exist_ok=True)
        sock = _bind(options.host, options.port)
    except OSError as exc:
        raise _fail(f"impossible d'écouter sur {options.host}:{options.port} ({exc}).") from None
    bound = sock.getsockname()[1]
    options = options.replace(port=bound)
    application = create_app(
        options, health_token=os.environ.get(HEALTH_TOKEN_ENV) or None, reset=reset
    )
    config = uvicorn.Config(application, log_level="warning", access_log=False, lifespan="on")
    server = _AnnouncingServer(config, options, f"http://{options.host}:{bound}")
    server.run(sockets=[sock])


@app.command("seed")
def seed_command(
    data: Annotated[str | None, typer.Option("--data", help="Dossier des données.")] = None,
    seed: Text = None,
    random_seed: Text = None,
    user: Text = None,
    password: Text = None,
    otp: Annotated[bool | None, typer.Option("--otp")] = None,
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
