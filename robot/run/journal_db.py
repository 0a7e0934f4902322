"""What the journal asks of a database: the small layer where SQLite and PostgreSQL differ.

The journal's SQL is written once (:mod:`robot.run.journal`, :mod:`robot.run.journal_schema`),
with ``?`` placeholders and only what both dialects agree on. A :class:`Backend` runs it: it
opens the connection, serializes the journal's own threads on it, opens write transactions,
and supplies the few pieces that differ:

- ``skip_locked`` / ``for_update`` / :meth:`Backend.skip_locked_of`: row locks on PostgreSQL
  (``FOR UPDATE [OF table] [SKIP LOCKED]``); nothing on SQLite, where a write transaction
  (``BEGIN IMMEDIATE``) already excludes every other writer;
- :meth:`Backend.single`: where one write statement runs on its own. On PostgreSQL outside
  an explicit transaction (a statement is atomic by itself: one round trip instead of
  ``BEGIN``, the statement and ``COMMIT``); on SQLite in a write transaction as any other;
- ``returning_joined``: whether an ``UPDATE … FROM`` may return the joined rows' columns
  (PostgreSQL; SQLite 3.40 returns only the updated table's);
- :meth:`Backend.lock`: a lock on a name for the rest of a transaction (an advisory lock on
  PostgreSQL, nothing on SQLite for the same reason);
- :meth:`Backend.ddl`: the column types of an identity key and a float;
- :meth:`Backend.now`: the time leases are measured with (the server's clock on PostgreSQL,
  shared by every machine).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from robot.errors import RobotError

Row = dict[str, Any]


class JournalError(RobotError):
    """The journal cannot be opened or used (server unreachable, schema from a newer robot).

    The message is in French and never holds the database's password.
    """


class Session(ABC):
    """One connection, inside a transaction or not; SQL with ``?`` placeholders."""

    @abstractmethod
    def one(self, sql: str, *params: Any) -> Row | None:
        """The first row of ``sql`` (None if it gives none)."""

    @abstractmethod
    def all(self, sql: str, *params: Any) -> list[Row]:
        """Every row of ``sql``."""

    @abstractmethod
    def run(self, sql: str, *params: Any) -> int:
        """Run ``sql``; the number of rows it changed."""

    @abstractmethod
    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run ``sql`` once per parameter row, in order (batched: few round trips)."""


class Backend(ABC):
    """A database the journal lives in. Safe to share between threads (they take turns)."""

    #: Dialect name: ``sqlite`` or ``postgresql``.
    name: str
    #: Appended to a ``SELECT`` of rows about to be changed: other writers wait.
    for_update: str = ""
    #: Appended to a ``SELECT`` that picks one row among many: rows others hold are skipped.
    skip_locked: str = ""
    #: An ``UPDATE … FROM … RETURNING`` may name the joined rows' columns.
    returning_joined: bool = False

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Session]:
        """A write transaction: committed at the end of the block, rolled back on an error."""

    @abstractmethod
    def read(self) -> AbstractContextManager[Session]:
        """Reads outside a write transaction (each statement sees what is committed)."""

    @abstractmethod
    def schema_transaction(self) -> AbstractContextManager[Session]:
        """The transaction the schema is created or migrated in: one at a time, across every
        connection and machine."""

    def single(self) -> AbstractContextManager[Session]:
        """Where one write statement runs, atomic on its own (see the module's text)."""
        return self.transaction()

    def skip_locked_of(self, table: str) -> str:
        """:attr:`skip_locked` for a ``SELECT`` that joins tables: only ``table``'s rows
        (its name or alias) are locked, or skipped when others hold them."""
        return self.skip_locked

    def lock(self, session: Session, name: str) -> None:  # noqa: B027 - no-op by default
        """Hold a lock on ``name`` until the end of ``session``'s transaction."""

    @abstractmethod
    def ddl(self, statement: str) -> str:
        """``statement`` with ``{id}`` (an identity primary key) and ``{real}`` (a float)
        replaced by this dialect's column types."""

    @abstractmethod
    def now(self) -> float:
        """Seconds since the epoch, by the clock leases are measured with."""

    @abstractmethod
    def close(self) -> None: ...


def statements(script: str) -> Iterator[str]:
    """The statements of a ``;``-separated script (none of ours holds a ``;`` in a string)."""
    for statement in script.split(";"):
        if statement.strip():
            yield statement.strip()
