"""The manifest seals a run folder: any missing, extra or altered file or line is named."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from robot.audit.events import EventLog
from robot.audit.manifest import read_manifest, verify_bundle, write_manifest

BUNDLE_FILES = [
    "events.jsonl",
    "manifest.json",
    "report.html",
    "run.log",
    "screenshots/F2026-001-acknowledge-avant.png",
    "traces/F2026-001.zip",
]


def _bundle(root: Path, *, key: bytes | None = None) -> Path:
    run_dir = root / "20261127-103000-a1b2"
    (run_dir / "screenshots").mkdir(parents=True)
    (run_dir / "traces").mkdir()
    log = EventLog(run_dir / "events.jsonl")
    for step in ("acknowledge", "process", "reissue"):
        log.append({"invoice": "F2026-001", "step": step, "outcome": "done"})
    (run_dir / "report.html").write_text("<h2>Facture F2026-001</h2>", encoding="utf-8")
    (run_dir / "run.log").write_text("INFO acquitter F2026-001\n", encoding="utf-8")
    (run_dir / "screenshots/F2026-001-acknowledge-avant.png").write_bytes(bytes(range(256)))
    with zipfile.ZipFile(run_dir / "traces/F2026-001.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("trace.trace", '{"type":"action"}\n')
    write_manifest(run_dir, key=key)
    return run_dir


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return _bundle(tmp_path)


def _flip_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_fresh_bundle_verifies(bundle: Path) -> None:
    assert verify_bundle(bundle) == []


def test_manifest_lists_every_file_but_itself_sorted_with_hash_and_size(bundle: Path) -> None:
    manifest = read_manifest(bundle)
    paths = [entry["path"] for entry in manifest["files"]]
    assert paths == sorted(f for f in BUNDLE_FILES if f != "manifest.json")
    assert manifest["algorithm"] == "sha256"
    assert manifest["created_at"].endswith("+00:00")
    report = next(e for e in manifest["files"] if e["path"] == "report.html")
    assert report["size"] == (bundle / "report.html").stat().st_size
    assert len(report["sha256"]) == 64


@pytest.mark.parametrize("relative", BUNDLE_FILES)
def test_altering_one_byte_of_any_file_is_detected_and_named(bundle: Path, relative: str) -> None:
    _flip_middle_byte(bundle / relative)
    problems = verify_bundle(bundle)
    assert problems, f"altering {relative} went unnoticed"
    assert any(relative in problem for problem in problems)


def test_deleting_a_line_of_the_event_log_is_detected(bundle: Path) -> None:
    events = bundle / "events.jsonl"
    lines = events.read_bytes().splitlines(keepends=True)
    events.write_bytes(lines[0] + lines[2])
    problems = verify_bundle(bundle)
    assert "fichier modifié : events.jsonl (empreinte SHA-256 différente)" in problems
    assert any(p.startswith("events.jsonl ligne 2 : empreinte") for p in problems)


def test_an_added_file_is_named_as_extra(bundle: Path) -> None:
    (bundle / "screenshots/ajout.png").write_bytes(b"\x89PNG")
    assert verify_bundle(bundle) == [
        "fichier en trop (absent du manifeste) : screenshots/ajout.png"
    ]


def test_a_removed_file_is_named_as_missing(bundle: Path) -> None:
    (bundle / "traces/F2026-001.zip").unlink()
    assert verify_bundle(bundle) == ["fichier manquant : traces/F2026-001.zip"]


def test_a_missing_manifest_is_reported(bundle: Path) -> None:
    (bundle / "manifest.json").unlink()
    assert verify_bundle(bundle) == ["manifest.json absent : le dossier n'a pas été scellé"]


def test_an_edited_manifest_entry_is_reported_as_a_manifest_change(bundle: Path) -> None:
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_bytes())
    manifest["files"][0]["sha256"] = "f" * 64
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    problems = verify_bundle(bundle)
    assert any(p.startswith("manifest.json modifié") for p in problems)


def test_a_manifest_entry_pointing_outside_the_folder_is_refused(bundle: Path) -> None:
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_bytes())
    manifest["files"].append({"path": "../secret.txt", "sha256": "0" * 64, "size": 1})
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert any("entrée n° 6 invalide" in p for p in verify_bundle(bundle))


def test_signed_bundle_verifies_with_the_right_key(tmp_path: Path) -> None:
    run_dir = _bundle(tmp_path, key=b"cle-audit-correcte")
    assert len(read_manifest(run_dir)["hmac_sha256"]) == 64
    assert verify_bundle(run_dir, key=b"cle-audit-correcte") == []


def test_signed_bundle_fails_with_a_wrong_key(tmp_path: Path) -> None:
    run_dir = _bundle(tmp_path, key=b"cle-audit-correcte")
    problems = verify_bundle(run_dir, key=b"autre-cle")
    assert problems == ["signature invalide (clé différente ou manifest.json modifié)"]


def test_unsigned_bundle_fails_when_a_key_is_expected(bundle: Path) -> None:
    assert verify_bundle(bundle, key=b"cle") == [
        "signature absente (manifest.json n'est pas signé)"
    ]


def test_key_never_appears_in_the_manifest(tmp_path: Path) -> None:
    run_dir = _bundle(tmp_path, key=b"cle-tres-secrete-123")
    assert b"cle-tres-secrete-123" not in (run_dir / "manifest.json").read_bytes()


def test_rewriting_the_manifest_after_a_change_seals_the_new_state(bundle: Path) -> None:
    (bundle / "summary.json").write_text("{}", encoding="utf-8")
    write_manifest(bundle)
    assert verify_bundle(bundle) == []
    assert not list(bundle.glob(".*tmp"))
