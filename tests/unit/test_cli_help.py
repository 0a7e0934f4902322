"""``chorus-robot``'s help is French throughout, the words of Typer and Click included."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from robot.cli import app


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["run", "--help"],
        ["audit", "--help"],
        ["audit", "verify", "--help"],
        ["rejections", "--help"],  # the work list command's former name still answers
    ],
)
def test_help_has_no_english_left(args: list[str]) -> None:
    result = CliRunner().invoke(app, args, terminal_width=100)

    assert result.exit_code == 0, result.output
    assert "Afficher cette aide et quitter." in result.output
    for english in ("Show this message", "Commands", "[default:", "[required]"):
        assert english not in result.output
