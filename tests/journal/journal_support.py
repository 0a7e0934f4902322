"""Helpers of the journal's tests: a clock the tests move, raw SQL on either backend, and a
wait for a state."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from robot.config import DatabaseUrl
from robot.run.journal import JournalTarget

#: Where the tests' clock starts (2027-01-15), seconds since the epoch.
EPOCH = 1_800_000_000.0
#: The lease the tests give their journals, in seconds.
LEASE_S = 60.0
#: The password of the tests' PostgreSQL addresses (the test server trusts any).
PG_PASSWORD = "Mdp:Journal@tres/secret%9"


class FakeClock:
    """Seconds since the epoch, moved by :meth:`advance` only; shared by threads."""

    def __init__(self, start: float = EPOCH) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def raw_sql(target: JournalTarget, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run ``sql`` (``?`` placeholders) on the journal's database, outside the journal."""
    if isinstance(target, DatabaseUrl):
        with psycopg.connect(target.reveal(), autocommit=True) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []
    assert isinstance(target, Path)
    db = sqlite3.connect(target, isolation_level=None)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def wait_until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Return once ``condition()`` holds; fail after ``timeout_s``. Polls every 10 ms."""
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition jamais atteinte en {timeout_s} s : {condition}")
        pause.wait(0.01)
