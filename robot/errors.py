"""The robot's own errors and the exit code each one maps to — the one place that maps them.

Every command ends with one of these codes (the contract schedulers and scripts rely on)::

    0  EXIT_OK        every transaction done
    1  EXIT_BUSINESS  some transactions need a person (the data is wrong: no retry)
    2  EXIT_REFUSED   refused before starting (usage, configuration, plan): nothing touched
    3  EXIT_SYSTEM    a system failure retries could not overcome, or any unexpected error
    4  EXIT_LOCKED    another run holds the journal's lock

The tree of the robot's errors (the scenarios' own two families, ``BusinessError`` and
``PortalError``, become transaction states, not exit codes: see :mod:`robot.run.outcomes`)::

    RobotError                exit 3 unless a subclass says otherwise
    ├── Refused               exit 2: the user's input is wrong, nothing was touched
    │   ├── ConfigError       robot.config: the configuration (every problem listed)
    │   └── PlanError         robot.plan: the plan (every problem listed)
    ├── LockHeld              exit 4: robot.run.lock
    ├── AlreadyQueued         exit 4: robot.run.journal, invoices an open run already holds
    ├── BrowserNotFound       exit 3: robot.browser.find, no Chromium to launch
    ├── OtpError              exit 3: robot.otp, no one-time code could be obtained
    ├── JournalError          exit 3: robot.run.journal_db, the journal cannot be used
    └── LeaseLost             exit 3: robot.run.journal, a claim taken over after its lease

Anything else that escapes a run (a bug, a library's error) is a system failure too: exit 3,
with a French line on the terminal and the traceback in ``run.log``.
"""

from __future__ import annotations

from pages.errors import first_line

__all__ = [
    "EXIT_BUSINESS",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_SYSTEM",
    "BrowserNotFound",
    "OtpError",
    "Refused",
    "RobotError",
    "exit_code_for",
    "first_line",
]

EXIT_OK, EXIT_BUSINESS, EXIT_REFUSED, EXIT_SYSTEM, EXIT_LOCKED = 0, 1, 2, 3, 4


class RobotError(Exception):
    """Base of the robot's own errors; ``exit_code`` is what the command ends with."""

    exit_code = EXIT_SYSTEM


class Refused(RobotError):
    """The user's input is refused before anything is touched; ``problems`` lists why."""

    exit_code = EXIT_REFUSED

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class BrowserNotFound(RobotError):
    """No Chromium could be found or installed."""


class OtpError(RobotError):
    """No one-time code could be obtained (source unreachable, timed out, command failed)."""


def exit_code_for(exc: BaseException) -> int:
    """The exit code an error ends a command with (3 for anything not the robot's own)."""
    return exc.exit_code if isinstance(exc, RobotError) else EXIT_SYSTEM
