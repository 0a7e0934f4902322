"""The journal in a SQLite file (WAL): the default, no server.

One connection per :class:`~robot.run.journal.Journal`; the journal's threads take turns on
it, and processes share the file through WAL. A write transaction is ``BEGIN IMMEDIATE``: it
takes the file's write lock at once, so two writers never interleave and nothing more is
needed to claim a row, or a session slot, atomically.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random

from robot.run.journal_db import Backend, Row, Session

#: How long a writer waits for another one before giving up, in seconds.
BUSY_TIMEOUT_S = 10.0


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


class _SqliteSession(Session):
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def one(self, sql: str, *params: Any) -> Row | None:
        row: Row | None = self._db.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, *params: Any) -> list[Row]:
        return list(self._db.execute(sql, params).fetchall())

    def run(self, sql: str, *params: Any) -> int:
        return self._db.execute(sql, params).rowcount

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
        )
        self._db.row_factory = _dict_row
        self._db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        self._wal()
        self._db.execute("PRAGMA synchronous=FULL")
        self._session = _SqliteSession(self._db)

    def _wal(self) -> None:
        """Switch the file to WAL. Switching needs the file to itself, and SQLite refuses at
        once, without waiting, when connections opening the same new file at the same time
        (worker processes) would otherwise wait for each other: try again, a while."""
        for attempt in Retrying(
            retry=retry_if_exception(
                lambda exc: isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
            ),
            wait=wait_random(0.005, 0.02),
            stop=stop_after_delay(BUSY_TIMEOUT_S),
            reraise=True,
        ):
            with attempt:
                self._db.execute("PRAGMA journal_mode=WAL")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._session
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    schema_transaction = transaction  # BEGIN IMMEDIATE: one writer at a time already

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._lock:
            yield self._session

    def ddl(self, statement: str) -> str:
        return statement.format(id="INTEGER PRIMARY KEY", real="REAL")

    def now(self) -> float:
        return time.time()

    def close(self) -> None:
        with self._lock:
            self._db.close()
