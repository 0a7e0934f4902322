"""Helpers of the journal's tests: a clock the tests move, raw SQL on either backend, a wait
for a state, and work started in several threads at once."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from robot.config import DatabaseUrl
from robot.run.journal import JournalTarget

T = TypeVar("T")

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


def in_threads(count: int, work: Callable[[int], T]) -> list[T]:
    """``work(i)`` in ``count`` threads at once (they start together); the results, by i.
    An exception in a thread fails the test."""
    start = threading.Barrier(count)
    results: dict[int, T] = {}
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [results[i] for i in range(count)]
