"""The command line's own words in French: Typer and Click write theirs in English (« Show
this message and exit. », « Commands », « [default: …] »). Every ``chorus-robot`` command is
built with :class:`FrenchGroup` / :class:`FrenchCommand`; importing this module sets Typer's
panel titles once."""

from __future__ import annotations

from typing import Any

from typer import rich_utils
from typer.core import TyperCommand, TyperGroup

HELP_TEXT = "Afficher cette aide et quitter."

rich_utils.COMMANDS_PANEL_TITLE = "Commandes"
rich_utils.ERRORS_PANEL_TITLE = "Erreur"
rich_utils.ABORTED_TEXT = "Abandon."
rich_utils.DEFAULT_STRING = "[défaut : {}]"
rich_utils.REQUIRED_LONG_STRING = "[obligatoire]"
rich_utils.ENVVAR_STRING = "[variable : {}]"
rich_utils.RICH_HELP = "Aide : [blue]« {command_path} {help_option} »[/]."


def _in_french(option: Any) -> Any:
    if option is not None:
        option.help = HELP_TEXT
    return option


class FrenchGroup(TyperGroup):
    """A group of commands whose help says « Afficher cette aide et quitter »."""

    def get_help_option(self, ctx: Any) -> Any:  # Typer's own (vendored) Click types
        return _in_french(super().get_help_option(ctx))


class FrenchCommand(TyperCommand):
    """A command whose help says « Afficher cette aide et quitter »."""

    def get_help_option(self, ctx: Any) -> Any:  # Typer's own (vendored) Click types
        return _in_french(super().get_help_option(ctx))
