"""The command line's own words in French: Typer and Click write theirs in English (« Show
this message and exit. », « Usage: », « Commands », « [default: …] », « <int range> »,
« Missing option », « No such option »…). Every ``chorus-robot`` command is built with
:class:`FrenchGroup` / :class:`FrenchCommand`; importing this module sets Typer's panel
titles and words once, for the rich help and the plain one (``TYPER_USE_RICH=0``) alike.

What the user types wrong is still refused the same way (exit 2); only the words change.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import typer.core
from typer import rich_utils
from typer._click.exceptions import UsageError  # Typer's own (vendored) Click
from typer.core import TyperCommand, TyperGroup

HELP_TEXT = "Afficher cette aide et quitter."
USAGE_PREFIX = "Utilisation : "
SUBCOMMAND_METAVAR = "COMMANDE [ARGUMENTS]..."

rich_utils.COMMANDS_PANEL_TITLE = "Commandes"
rich_utils.ERRORS_PANEL_TITLE = "Erreur"
rich_utils.ABORTED_TEXT = "Abandon."
rich_utils.DEFAULT_STRING = "[défaut : {}]"
rich_utils.REQUIRED_LONG_STRING = "[obligatoire]"
rich_utils.ENVVAR_STRING = "[variable : {}]"
rich_utils.DEPRECATED_STRING = "(obsolète) "
rich_utils.RICH_HELP = "Aide : [blue]« {command_path} {help_option} »[/]."

#: The words Typer looks up through gettext when it writes the plain help and some errors.
_WORDS = {
    "default: {default}": "défaut : {default}",
    "required": "obligatoire",
    "env var: {var}": "variable : {var}",
    "(dynamic)": "(dynamique)",
    "Aborted!": "Abandon.",
    "Arguments": "Arguments",
    "Options": "Options",
    "Commands": "Commandes",
    "Missing command.": "Commande manquante.",
    "No such command {name!r}.": "Commande inconnue : {name!r}.",
}


def _gettext(message: str) -> str:
    return _WORDS.get(message, message)


typer.core._ = _gettext  # type: ignore[attr-defined]  # Typer's `from gettext import gettext as _`

#: The type of a value as the help shows it (``<int range>``) → in French ("" for a flag).
_TYPES = {
    "<int>": "<entier>",
    "<int range>": "<entier>",
    "<float>": "<nombre>",
    "<float range>": "<nombre>",
    "<str>": "<texte>",
    "<path>": "<chemin>",
    "<file>": "<fichier>",
    "<directory>": "<dossier>",
    "<datetime>": "<date>",
    "<bool>": "",
}
_display_type = typer.core._TyperParameter.display_type


def _french_type(self: Any, ctx: Any) -> str:
    shown: str = _display_type(self, ctx)
    return _TYPES.get(shown, shown)


typer.core._TyperParameter.display_type = _french_type  # type: ignore[method-assign]

#: Click's and Pydantic's refusals, in the order they are tried (each applies at most once).
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), french)
    for pattern, french in (
        (r"^Invalid value for (.+?): ", r"Valeur invalide pour \1 : "),
        (r"^Invalid value: ", "Valeur invalide : "),
        (r"^Missing option (.+?)\.", r"Option manquante : \1."),
        (r"^Missing argument (.+?)\.", r"Argument manquant : \1."),
        (r"^Missing parameter: (.+)", r"Paramètre manquant : \1"),
        (r"^No such option: (\S+)", r"Option inconnue : \1"),
        (r"^No such command (.+?)\.", r"Commande inconnue : \1."),
        (r"Did you mean (.+?)\?", r"Vouliez-vous dire \1 ?"),
        (r"\(Possible options: (.+?)\)", r"(options possibles : \1)"),
        (r"^Option (.+?) requires an argument\.", r"L'option \1 attend une valeur."),
        (r"^Option (.+?) requires (\d+) arguments\.", r"L'option \1 attend \2 valeurs."),
        (r"^Option (.+?) does not take a value\.", r"L'option \1 ne prend pas de valeur."),
        (r"^Got unexpected extra argument(?:s|\(s\))? \((.+)\)", r"Argument(s) en trop : \1"),
        (r"Input should be less than or equal to (\S+)", r"la valeur doit être au plus \1"),
        (r"Input should be greater than or equal to (\S+)", r"la valeur doit être au moins \1"),
        (r"Input should be less than (\S+)", r"la valeur doit être inférieure à \1"),
        (r"Input should be greater than (\S+)", r"la valeur doit être supérieure à \1"),
        (r"Input should be a valid integer.*", "un nombre entier est attendu"),
        (r"Input should be a valid number.*", "un nombre est attendu"),
        (r"Input should be a valid boolean.*", "oui ou non est attendu"),
        (r"(?:File|Path) (.+?) does not exist\.", r"fichier \1 introuvable."),
        (r"Directory (.+?) does not exist\.", r"dossier \1 introuvable."),
        (r"(?:File|Path|Directory) (.+?) is a directory\.", r"\1 est un dossier."),
        (r"(?:File|Path|Directory) (.+?) is a file\.", r"\1 est un fichier."),
    )
)


def in_french(message: str) -> str:
    """A refusal of the command line (Click's or Pydantic's words) in French."""
    for pattern, french in _MESSAGES:
        message = pattern.sub(french, message, count=1)
    return message


class FrenchUsageError(UsageError):
    """A refusal of the command line in French, shown in French without rich too."""

    def show(self, file: Any = None) -> None:
        if file is None:
            file = sys.stderr
        if self.ctx is not None:
            hint = f"Aide : « {self.ctx.command_path} {self.ctx.help_option_names[0]} »."
            print(f"{self.ctx.get_usage()}\n{hint}", file=file)
        print(f"Erreur : {self.format_message()}", file=file)


def _french_error(exc: Any) -> Any:
    """The same refusal (same exit code), in French."""
    french = FrenchUsageError(in_french(exc.format_message()), ctx=exc.ctx)
    french.exit_code = exc.exit_code
    return french


def _in_french(option: Any) -> Any:
    if option is not None:
        option.help = HELP_TEXT
    return option


def _usage(command: Any, ctx: Any, formatter: Any) -> None:
    pieces = command.collect_usage_pieces(ctx)
    formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=USAGE_PREFIX)


class FrenchGroup(TyperGroup):
    """A group of commands whose help and refusals are in French."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["subcommand_metavar"] = kwargs.get("subcommand_metavar") or SUBCOMMAND_METAVAR
        super().__init__(*args, **kwargs)

    def get_help_option(self, ctx: Any) -> Any:  # Typer's own (vendored) Click types
        return _in_french(super().get_help_option(ctx))

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        _usage(self, ctx, formatter)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except UsageError as exc:
            raise _french_error(exc) from None

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            raise _french_error(exc) from None


class FrenchCommand(TyperCommand):
    """A command whose help and refusals are in French."""

    def get_help_option(self, ctx: Any) -> Any:  # Typer's own (vendored) Click types
        return _in_french(super().get_help_option(ctx))

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        _usage(self, ctx, formatter)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except UsageError as exc:
            raise _french_error(exc) from None
