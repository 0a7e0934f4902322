"""The journal on a PostgreSQL server (``CHORUS_JOURNAL=postgresql://…``): many machines.

One connection per :class:`~robot.run.journal.Journal` (psycopg 3, autocommit outside the
journal's own transactions, READ COMMITTED inside them); the journal's threads take turns on
it. What SQLite gets from its single writer, PostgreSQL gets from locks:

- a claim picks its row with ``FOR UPDATE SKIP LOCKED``: two machines never take the same
  transaction, and neither waits for the other; the pick and the take are one statement,
  run outside an explicit transaction (:meth:`PostgresBackend.single`), as are the other
  single-statement writes (heartbeat, finish): one round trip each;
- a write that depends on who holds a transaction reads it ``FOR UPDATE`` first;
- a session slot is taken by an upsert on its key (``ON CONFLICT … DO UPDATE … WHERE`` its
  lease expired): the row lock decides between two machines, no lock is held longer;
- enqueues, and the end of each run, take turns under an advisory lock on a name;
- the schema is created or migrated under an advisory lock: two machines starting at once
  take turns, the second finds the work done.

Leases are measured with the server's clock: the offset between this machine's clock and the
server's is measured at connection (on the shortest of a few round trips), so every machine
agrees on when a lease ends.

The password is never shown: connection failures are reported with the masked address and
the driver's message redacted (:mod:`robot.secrets`).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from robot.config import DatabaseUrl
from robot.errors import first_line
from robot.run.journal_db import Backend, JournalError, Row, Session
from robot.secrets import redact

#: Advisory lock held while the schema is created or migrated (one 64-bit key).
SCHEMA_LOCK_KEY = 0x43484F5255530001  # "CHORUS" 0001
#: First key of the advisory locks on a name (two 32-bit keys: this one and the name's hash;
#: PostgreSQL keeps the one-key and the two-key forms apart).
NAME_LOCK_SPACE = 0x43485253  # "CHRS"
CONNECT_TIMEOUT_S = 10
#: Round trips the server's clock is read in at connection (the shortest one is kept).
CLOCK_SAMPLES = 3


@functools.lru_cache(maxsize=256)
def _to_pyformat(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (and a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _PgSession(Session):
    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self._conn = conn

    def one(self, sql: str, *params: Any) -> Row | None:
        return self._conn.execute(_to_pyformat(sql), params).fetchone()

    def all(self, sql: str, *params: Any) -> list[Row]:
        return self._conn.execute(_to_pyformat(sql), params).fetchall()

    def run(self, sql: str, *params: Any) -> int:
        return self._conn.execute(_to_pyformat(sql), params).rowcount

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._conn.cursor() as cursor:  # psycopg pipelines them: few round trips
            cursor.executemany(_to_pyformat(sql), rows)


class PostgresBackend(Backend):
    name = "postgresql"
    for_update = " FOR UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    returning_joined = True

    def __init__(self, url: DatabaseUrl) -> None:
        self.url = url
        self._lock = threading.RLock()
        self._offset = 0.0
        self._conn = self._connect()
        self._session = _PgSession(self._conn)

    def __repr__(self) -> str:
        return f"PostgresBackend({self.url.masked()!r})"

    def _connect(self) -> psycopg.Connection[Row]:
        try:
            conn = psycopg.connect(
                self.url.reveal(),
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=CONNECT_TIMEOUT_S,
                application_name="chorus-robot",
            )
            offset = self._clock_offset(conn)
        except psycopg.Error as exc:
            raise JournalError(
                f"Journal PostgreSQL {self.url.masked()} injoignable : "
                f"{redact(first_line(exc)) or type(exc).__name__}"
            ) from None  # the driver's own error stays out of tracebacks: it is not redacted
        self._offset = offset
        return conn

    @staticmethod
    def _clock_offset(conn: psycopg.Connection[Row]) -> float:
        """The server's clock less this machine's: the server's read halfway through the
        shortest of :data:`CLOCK_SAMPLES` round trips (the estimate is off by at most half
        that round trip; on a busy machine one round trip may take 100 ms, the shortest of a
        few seldom does). Zero when the clocks agree within that margin (the server on this
        machine, or both synchronised): every such machine then reads the same time, where
        estimates would differ by their errors."""
        best: tuple[float, float] | None = None
        for _ in range(CLOCK_SAMPLES):
            before = time.time()
            row = conn.execute("SELECT EXTRACT(EPOCH FROM clock_timestamp()) AS now").fetchone()
            after = time.time()
            assert row is not None
            if best is None or after - before < best[0]:
                best = (after - before, float(row["now"]) - (before + after) / 2)
        assert best is not None
        round_trip, offset = best
        return 0.0 if abs(offset) <= round_trip / 2 else offset

    def _session_now(self) -> _PgSession:
        """The session, on a fresh connection if the last one broke (server restarted)."""
        if self._conn.closed or self._conn.broken:
            self._conn = self._connect()
            self._session = _PgSession(self._conn)
        return self._session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._lock:
            session = self._session_now()
            with self._conn.transaction():
                yield session

    @contextmanager
    def schema_transaction(self) -> Iterator[Session]:
        with self.transaction() as session:
            session.one(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._lock:
            yield self._session_now()

    @contextmanager
    def single(self) -> Iterator[Session]:
        # Autocommit: the statement is its own transaction, one round trip.
        with self._lock:
            yield self._session_now()

    def skip_locked_of(self, table: str) -> str:
        return f" FOR UPDATE OF {table} SKIP LOCKED"

    def lock(self, session: Session, name: str) -> None:
        session.one(f"SELECT pg_advisory_xact_lock({NAME_LOCK_SPACE}, hashtext(?))", name)

    def ddl(self, statement: str) -> str:
        return statement.format(
            id="BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", real="DOUBLE PRECISION"
        )

    def now(self) -> float:
        return time.time() + self._offset

    def close(self) -> None:
        with self._lock:
            self._conn.close()
