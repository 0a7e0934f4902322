"""The journal records intent before result, claims atomically and survives reopening."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from robot.run.journal import Journal


def _journal_with_run(tmp_path: Path, numbers: list[str]) -> Journal:
    journal = Journal(tmp_path / "journal.sqlite")
    plan = tmp_path / "plan.csv"
    plan.write_text("numero_rejete;nouveau_numero\n", encoding="utf-8")
    journal.start_run("run-1", plan_path=plan, plan_sha256="0" * 64, portal_url="x", dry_run=False)
    for numero in numbers:
        journal.add_transaction("run-1", numero, numero + "-R", {"commentaire": "c"})
    return journal


def test_step_intent_is_recorded_before_its_result(tmp_path: Path) -> None:
    journal = _journal_with_run(tmp_path, ["F1"])
    row = journal.claim_next("run-1", "w1")
    assert row is not None
    step_id = journal.step_intent(row.id, "acknowledge", {"acquittee": False})
    pending = journal.steps(row.id)
    assert pending[0].result_at is None and pending[0].outcome is None
    journal.step_result(step_id, "done", "ok", {"acquittee": True})
    finished = journal.steps(row.id)[0]
    assert finished.outcome == "done"
    assert finished.before == {"acquittee": False} and finished.after == {"acquittee": True}


def test_attempts_are_numbered_per_step(tmp_path: Path) -> None:
    journal = _journal_with_run(tmp_path, ["F1"])
    row = journal.claim_next("run-1", "w1")
    assert row is not None
    journal.step_intent(row.id, "reissue", {})
    journal.step_intent(row.id, "reissue", {})
    assert [s.attempt for s in journal.steps(row.id)] == [1, 2]


def test_each_transaction_is_claimed_by_exactly_one_worker(tmp_path: Path) -> None:
    numbers = [f"F{i}" for i in range(40)]
    journal = _journal_with_run(tmp_path, numbers)
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (row := journal.claim_next("run-1", name)) is not None:
            with lock:
                claimed.append(row.numero_rejete)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(numbers)


def test_release_puts_claimed_transactions_back_and_state_survives_reopening(
    tmp_path: Path,
) -> None:
    journal = _journal_with_run(tmp_path, ["F1", "F2"])
    first = journal.claim_next("run-1", "w1")
    assert first is not None
    journal.finish_transaction(first.id, "done", "ok", "En cours d'acheminement")
    journal.claim_next("run-1", "w1")
    journal.close()
    reopened = Journal(tmp_path / "journal.sqlite")
    assert reopened.release_unfinished("run-1") == 1
    states = {t.numero_rejete: t.state for t in reopened.transactions("run-1")}
    assert states == {"F1": "done", "F2": "pending"}


def test_unknown_final_state_is_refused(tmp_path: Path) -> None:
    journal = _journal_with_run(tmp_path, ["F1"])
    row = journal.claim_next("run-1", "w1")
    assert row is not None
    with pytest.raises(ValueError):
        journal.finish_transaction(row.id, "maybe")
