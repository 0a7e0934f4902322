"""Fixtures of the journal's tests: every test runs on SQLite and on a real PostgreSQL.

- ``pg_server`` (session): a throw-away PostgreSQL cluster (:mod:`pg_support`), started at
  the first test that needs it, stopped at the end of the session;
- ``pg_url`` (function): a fresh database on it, its address with a password in it;
- ``journal_target`` (function, parametrized ``sqlite`` / ``postgresql``): where a test's
  journal lives: a file in ``tmp_path``, or a fresh database;
- ``clock``: the time the tests' journals measure leases with (:class:`FakeClock`);
- ``make_journal``: opens a :class:`Journal` on ``journal_target`` with that clock and a
  lease of :data:`LEASE_S` (each call its own connection, as another process or machine
  would have); every journal it opened is closed at the end of the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from journal_support import LEASE_S, PG_PASSWORD, FakeClock
from pg_support import PostgresServer, start_postgres

from robot.config import DatabaseUrl
from robot.run.journal import Journal, JournalTarget

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    return pg_server.create_database(password=PG_PASSWORD)


@pytest.fixture(params=BACKENDS)
def journal_target(request: pytest.FixtureRequest, tmp_path: Path) -> JournalTarget:
    if request.param == "sqlite":
        return tmp_path / "journal.sqlite"
    url: str = request.getfixturevalue("pg_url")
    return DatabaseUrl.parse(url)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_journal(
    journal_target: JournalTarget, clock: FakeClock
) -> Iterator[Callable[..., Journal]]:
    opened: list[Journal] = []

    def make(**options: Any) -> Journal:
        journal = Journal(journal_target, **{"lease_s": LEASE_S, "clock": clock, **options})
        opened.append(journal)
        return journal

    yield make
    for journal in opened:
        journal.close()
