"""One run per journal: a second one is refused, a dead holder's lock is taken over."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from robot.run.lock import LockHeld, RunLock


def test_second_lock_on_the_same_journal_is_refused_and_names_the_holder(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from robot.run.lock import RunLock\n"
            f"lock = RunLock(Path({str(journal)!r}), 'run-A'); lock.acquire()\n"
            "print('locked', flush=True); sys.stdin.readline()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockHeld) as refused:
            RunLock(journal, "run-B").acquire()
        assert refused.value.holder["run_id"] == "run-A"
        assert "run-A" in str(refused.value)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


def test_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; from pathlib import Path; from robot.run.lock import RunLock\n"
            f"RunLock(Path({str(journal)!r}), 'run-dead').acquire(); os._exit(9)",
        ],
        check=False,
    )
    lock_file = journal.with_name("journal.sqlite.lock")
    assert json.loads(lock_file.read_text())["run_id"] == "run-dead"
    with RunLock(journal, "run-new"):
        assert json.loads(lock_file.read_text())["run_id"] == "run-new"


def test_released_lock_can_be_taken_again_in_the_same_process(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    with RunLock(journal, "one"):
        pass
    with RunLock(journal, "two"):
        pass
