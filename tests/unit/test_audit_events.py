"""The event log chains every line to the previous one, across threads and processes."""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import re
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from robot.audit.events import GENESIS, EventLog, read_events, verify_chain
from robot.secrets import Secret

PER_WRITER = 40


def _append_many(path: str, worker: str, count: int) -> None:
    log = EventLog(Path(path))
    for index in range(count):
        log.append({"worker": worker, "invoice": f"F{index}", "step": "acknowledge"})


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _log_with(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    for index in range(count):
        log.append({"invoice": f"F{index}", "step": "process", "outcome": "done"})
    return path


def test_first_event_has_seq_one_and_the_zero_hash(tmp_path: Path) -> None:
    record = EventLog(tmp_path / "events.jsonl").append({"step": "acknowledge"})
    assert record["seq"] == 1
    assert record["prev_sha256"] == GENESIS == "0" * 64


def test_each_line_carries_the_sha256_of_the_previous_line(tmp_path: Path) -> None:
    lines = _lines(_log_with(tmp_path, 3))
    for previous, line in itertools.pairwise(lines):
        assert json.loads(line)["prev_sha256"] == hashlib.sha256(previous).hexdigest()


def test_lines_are_compact_json_with_sorted_keys(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    EventLog(path).append({"zeta": "é", "alpha": 1})
    line = _lines(path)[0].decode("utf-8")
    assert line.startswith('{"alpha":1,')
    assert '"zeta":"é"' in line


def test_time_is_utc_iso_with_milliseconds(tmp_path: Path) -> None:
    record = EventLog(tmp_path / "events.jsonl").append({"step": "reissue"})
    # ISO 8601 with its offset, as every time of the bundle.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", record["time"])
    written = datetime.fromisoformat(record["time"])
    assert abs((datetime.now(UTC) - written).total_seconds()) < 60


def test_values_the_caller_passes_for_chain_fields_are_replaced(tmp_path: Path) -> None:
    record = EventLog(tmp_path / "events.jsonl").append({"seq": 99, "prev_sha256": "x"})
    assert record["seq"] == 1 and record["prev_sha256"] == GENESIS


def test_decimal_datetime_and_path_values_are_written_as_text(tmp_path: Path) -> None:
    moment = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
    record = EventLog(tmp_path / "events.jsonl").append(
        {"after": {"montant_ttc": Decimal("1200.50"), "date": moment, "file": Path("a/b.png")}}
    )
    assert record["after"] == {
        "montant_ttc": "1200.50",
        "date": "2026-11-27T10:30:00+00:00",
        "file": "a/b.png",
    }


def test_a_new_log_object_continues_the_chain_of_an_existing_file(tmp_path: Path) -> None:
    path = _log_with(tmp_path, 2)
    record = EventLog(path).append({"step": "reissue"})
    assert record["seq"] == 3
    assert verify_chain(path) == []


def test_registered_secret_never_reaches_the_event_log(tmp_path: Path) -> None:
    secret = Secret("Pw-events-7c1e9f")
    path = tmp_path / "events.jsonl"
    record = EventLog(path).append(
        {"message": f"login with {secret.reveal()}", "before": {"cookie": secret.reveal()}}
    )
    assert secret.reveal() not in path.read_text(encoding="utf-8")
    assert record["before"]["cookie"] == "********"


def test_events_from_two_processes_form_one_unbroken_chain(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=_append_many, args=(str(path), f"w{n}", PER_WRITER)) for n in (1, 2)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)
        assert writer.exitcode == 0
    events = read_events(path)
    assert [event["seq"] for event in events] == list(range(1, 2 * PER_WRITER + 1))
    assert {event["worker"] for event in events} == {"w1", "w2"}
    assert verify_chain(path) == []


def test_events_from_several_threads_form_one_unbroken_chain(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    shared = EventLog(path)
    threads = [
        threading.Thread(target=lambda: [shared.append({"n": i}) for i in range(25)])
        for _ in range(4)
    ]
    threads.append(threading.Thread(target=_append_many, args=(str(path), "own", 25)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(_lines(path)) == 125
    assert verify_chain(path) == []


def test_intact_log_verifies(tmp_path: Path) -> None:
    assert verify_chain(_log_with(tmp_path, 5)) == []


def test_deleting_a_line_is_reported_at_the_following_line(tmp_path: Path) -> None:
    path = _log_with(tmp_path, 5)
    lines = _lines(path)
    path.write_bytes(b"\n".join(lines[:2] + lines[3:]) + b"\n")
    problems = verify_chain(path)
    assert (
        "events.jsonl ligne 3 : empreinte de la ligne précédente incorrecte "
        "(ligne supprimée ou modifiée ?)" in problems
    )
    assert any("ligne 3 : numéro de séquence 4 au lieu de 3" in p for p in problems)


def test_editing_a_value_breaks_the_chain_at_the_next_line(tmp_path: Path) -> None:
    path = _log_with(tmp_path, 4)
    path.write_bytes(path.read_bytes().replace(b'"invoice":"F1"', b'"invoice":"F9"'))
    problems = verify_chain(path)
    assert problems == [
        "events.jsonl ligne 3 : empreinte de la ligne précédente incorrecte "
        "(ligne supprimée ou modifiée ?)"
    ]


def test_invalid_json_line_is_reported_with_its_number(tmp_path: Path) -> None:
    path = _log_with(tmp_path, 3)
    lines = _lines(path)
    lines[1] = lines[1][:-5]
    path.write_bytes(b"\n".join(lines) + b"\n")
    problems = verify_chain(path)
    assert any(p.startswith("events.jsonl ligne 2 : JSON invalide") for p in problems)
    assert any(p.startswith("events.jsonl ligne 3 : empreinte") for p in problems)


def test_a_torn_last_line_is_reported_and_later_appends_stay_separate(tmp_path: Path) -> None:
    path = _log_with(tmp_path, 2)
    with path.open("ab") as stream:
        stream.write(b'{"seq":3,"ste')
    assert any("ligne 3 : ligne incomplète" in p for p in verify_chain(path))
    EventLog(path).append({"step": "after crash"})
    assert len(_lines(path)) == 4
    assert json.loads(_lines(path)[3])["step"] == "after crash"


def test_missing_log_is_reported(tmp_path: Path) -> None:
    assert verify_chain(tmp_path / "events.jsonl") == ["events.jsonl absent"]
