"""``python -m robot.cli``: the same as ``chorus-robot``."""

from robot.cli.app import main

main()
