"""The run lock: one run at a time per journal (exit 4 for the second one).

An ``flock`` on ``<journal>.lock``: the kernel releases it when its holder dies, however it
dies, so a lock left by a dead process is taken over without a guess. The file also says who
holds it, for the refusal message.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from loguru import logger

from robot.errors import EXIT_LOCKED, RobotError


class LockHeld(RobotError):
    """Another live run holds the lock; ``holder`` says who."""

    exit_code = EXIT_LOCKED

    def __init__(self, holder: dict[str, Any]) -> None:
        self.holder = holder
        who = (
            f"run {holder.get('run_id', '?')}, processus {holder.get('pid', '?')} sur "
            f"{holder.get('host', '?')}, depuis {holder.get('since', '?')}"
        )
        super().__init__(f"Un autre run utilise déjà ce journal ({who}).")


class RunLock:
    """``with RunLock(journal_path, run_id):`` — raises :class:`LockHeld` if taken."""

    def __init__(self, journal_path: Path, run_id: str) -> None:
        self.path = journal_path.with_name(journal_path.name + ".lock")
        self.run_id = run_id
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _parse(handle.read())
            handle.close()
            raise LockHeld(holder) from None
        handle.seek(0)
        previous = _parse(handle.read())
        if previous.get("pid"):
            logger.warning(
                "Verrou laissé par le run {} (processus {} arrêté) : repris",
                previous.get("run_id"),
                previous.get("pid"),
            )
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "run_id": self.run_id,
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
        )
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is None:
            return
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.flush()
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _parse(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
