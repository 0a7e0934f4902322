"""Retention prunes old run folders, never the current one, never anything else."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from robot.audit.retention import KeepPolicy, parse_keep, prune_runs

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=PARIS)
RUNS = [
    "20261101-080000-aaaa",
    "20261110-080000-bbbb",
    "20261120-080000-cccc",
    "20261126-080000-dddd",
    "20261127-110000-eeee",
]


def _output(tmp_path: Path) -> Path:
    for name in RUNS:
        (tmp_path / name).mkdir()
        (tmp_path / name / "events.jsonl").write_text("{}\n", encoding="utf-8")
    return tmp_path


def _left(output: Path) -> list[str]:
    return sorted(child.name for child in output.iterdir())


@pytest.mark.parametrize(
    ("keep", "policy"),
    [
        ("30", KeepPolicy(30, days=False)),
        ("14j", KeepPolicy(14, days=True)),
        ("14d", KeepPolicy(14, days=True)),
        (" 7 J ", KeepPolicy(7, days=True)),
    ],
)
def test_keep_is_a_count_of_runs_or_of_days(keep: str, policy: KeepPolicy) -> None:
    assert parse_keep(keep) == policy


@pytest.mark.parametrize("keep", ["", "0", "0j", "-3", "dix", "14 semaines", "3.5"])
def test_a_bad_keep_is_refused_in_french(keep: str) -> None:
    with pytest.raises(ValueError, match=r"CHORUS_KEEP_RUNS : .* invalide"):
        parse_keep(keep)


def test_count_keeps_the_most_recent_runs(tmp_path: Path) -> None:
    output = _output(tmp_path)
    removed = prune_runs(output, "2", current=output / RUNS[-1], now=NOW)
    assert sorted(p.name for p in removed) == RUNS[:3]
    assert _left(output) == RUNS[3:]


def test_days_keep_the_runs_started_within_the_period(tmp_path: Path) -> None:
    output = _output(tmp_path)
    removed = prune_runs(output, "14j", current=output / RUNS[-1], now=NOW)
    assert [p.name for p in removed] == RUNS[:2]  # 1 and 10 November: before the 13th
    assert _left(output) == RUNS[2:]


def test_the_current_run_is_never_removed(tmp_path: Path) -> None:
    output = _output(tmp_path)
    # The current run is the oldest folder (a resumed run): it stays anyway.
    removed = prune_runs(output, "1", current=output / RUNS[0], now=NOW)
    assert RUNS[0] in _left(output)
    assert RUNS[0] not in [p.name for p in removed]
    assert _left(output) == [RUNS[0], RUNS[-1]]


def test_folders_files_and_links_not_named_like_a_run_are_never_touched(tmp_path: Path) -> None:
    output = _output(tmp_path)
    (output / "journal.sqlite").write_bytes(b"SQLite")
    (output / "archives").mkdir()
    (output / "20261101-080000-ABCD").mkdir()  # upper-case hex: not a run id
    (output / "20261101-080000-ffff").write_text("a file, not a folder", encoding="utf-8")
    target = tmp_path.parent / f"{tmp_path.name}-outside"
    target.mkdir()
    os.symlink(target, output / "20261101-080000-1111")
    prune_runs(output, "1", current=output / RUNS[-1], now=NOW)
    assert _left(output) == sorted(
        [
            "20261101-080000-1111",
            "20261101-080000-ABCD",
            "20261101-080000-ffff",
            RUNS[-1],
            "archives",
            "journal.sqlite",
        ]
    )
    assert target.is_dir()


def test_a_missing_output_folder_removes_nothing(tmp_path: Path) -> None:
    assert prune_runs(tmp_path / "absent", "3", current=tmp_path / "x") == []
