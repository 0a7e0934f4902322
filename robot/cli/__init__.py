"""``chorus-robot``, the command line (French for users): ``app`` holds the commands,
``common`` what they share (running a plan with a progress bar, the error contract's last
line), ``demo``, ``listing`` and ``check`` the commands that need more than a few lines."""

from robot.cli.app import app, main

__all__ = ["app", "main"]
