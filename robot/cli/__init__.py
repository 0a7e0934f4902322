"""``chorus-robot``, the command line (French for users): ``app`` holds the commands and
the error contract's last line (``main``), ``common`` what they share (running a plan with a
progress bar), ``demo``, ``listing``, ``check`` and ``audit`` the commands that need more
than a few lines, ``french`` Typer's and Click's own words in French."""

from robot.cli.app import app, main

__all__ = ["app", "main"]
