"""``chorus-robot``'s help is French throughout, the words of Typer and Click included, and so
are its refusals of a mistyped command line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from robot.cli import app

ENGLISH = (
    "Show this message",
    "Commands",
    "[default:",
    "[required]",
    "Usage:",
    "<int range>",
    "<bool>",
    "<path>",
    "<str>",
    "COMMAND [ARGS]",
)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["run", "--help"],
        ["demo", "--help"],
        ["worker", "--help"],
        ["status", "--help"],
        ["enqueue", "--help"],
        ["synthese", "--help"],
        ["suivi", "--help"],
        ["check-portal", "--help"],
        ["audit", "--help"],
        ["audit", "verify", "--help"],
        ["audit", "seal", "--help"],
        ["rejections", "--help"],  # the work list command's former name still answers
    ],
)
def test_help_has_no_english_left(args: list[str]) -> None:
    result = CliRunner().invoke(app, args, terminal_width=100)

    assert result.exit_code == 0, result.output
    assert "Afficher cette aide et quitter." in result.output
    for english in ENGLISH:
        assert english not in result.output, english


@pytest.mark.parametrize(
    ("args", "french"),
    [
        (
            ["run", "--workers", "99"],
            "Valeur invalide pour '--workers' : la valeur doit être au plus 16",
        ),
        (["run", "--nope"], "Option inconnue : --nope"),
        (["enqueue"], "Option manquante : '--plan'."),
        (["suivi", "a", "b"], "Argument(s) en trop : b"),
        (["nope"], "Commande inconnue : 'nope'."),
    ],
)
def test_a_mistyped_command_line_is_refused_in_french(args: list[str], french: str) -> None:
    result = CliRunner().invoke(app, args, terminal_width=200)

    assert result.exit_code == 2, result.output
    assert french in result.output
    assert "Utilisation : " in result.output
