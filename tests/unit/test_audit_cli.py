"""``chorus-robot audit verify`` and ``show``: exit codes and French messages."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from audit_support import make_bundle
from typer.testing import CliRunner

from robot.audit.events import EventLog
from robot.audit.manifest import write_manifest
from robot.audit.rundir import RunDir
from robot.browser.recording import BATCH_EVENT
from robot.cli import app
from robot.cli.audit import audit_app

runner = CliRunner()


def _bundle(root: Path, numbers: tuple[str, ...] = ("F2026-001",)) -> Path:
    """A complete run folder, sealed unsigned (the tests seal it again as they need)."""
    return make_bundle(root, numbers)


@pytest.fixture(autouse=True)
def _no_key_no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHORUS_AUDIT_KEY", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)


def test_verify_says_intact_and_unsigned_and_exits_zero(tmp_path: Path) -> None:
    run_dir = _bundle(tmp_path)
    result = runner.invoke(audit_app, ["verify", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert f"Dossier d'audit intact : {run_dir}" in result.output
    assert "Complet : les événements vont du début à la fin du run" in result.output
    assert "NON SIGNÉ" in result.output
    assert "Non horodaté" in result.output


def test_verify_names_every_problem_and_exits_one(tmp_path: Path) -> None:
    run_dir = _bundle(tmp_path)
    (run_dir / "ajout.txt").write_text("x", encoding="utf-8")
    (run_dir / "traces" / "F2026-001.zip").unlink()
    result = runner.invoke(audit_app, ["verify", str(run_dir)])
    assert result.exit_code == 1
    # The missing trace is named by the manifest, by the events and by the report.
    assert "Dossier d'audit altéré : 4 problème(s)" in result.output
    assert "fichier en trop (absent du manifeste) : ajout.txt" in result.output
    assert "fichier manquant : traces/F2026-001.zip" in result.output
    assert "facture F2026-001 : trace traces/F2026-001.zip introuvable" in result.output
    assert "fichier cité par report.html introuvable : traces/F2026-001.zip" in result.output
    assert "intact" not in result.output


def test_verify_of_a_missing_folder_exits_two(tmp_path: Path) -> None:
    result = runner.invoke(audit_app, ["verify", str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert "Dossier de run introuvable" in result.output


def test_verify_checks_the_signature_with_the_key_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = _bundle(tmp_path)
    write_manifest(run_dir, key=b"cle-du-run")
    monkeypatch.setenv("CHORUS_AUDIT_KEY", "cle-du-run")
    assert runner.invoke(audit_app, ["verify", str(run_dir)]).exit_code == 0
    monkeypatch.setenv("CHORUS_AUDIT_KEY", "mauvaise-cle")
    result = runner.invoke(audit_app, ["verify", str(run_dir)])
    assert result.exit_code == 1
    assert "signature invalide" in result.output
    assert "mauvaise-cle" not in result.output


@pytest.mark.parametrize("command", ["verify", "keygen", "show"])
def test_audit_help_is_french(command: str) -> None:
    result = runner.invoke(app, ["audit", command, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "Afficher cette aide et quitter." in result.output
    for english in ("Show this message", "[default:", "[required]", "Commands", "RUN_DIR"):
        assert english not in result.output


def test_show_without_display_prints_the_command(tmp_path: Path) -> None:
    run_dir = _bundle(tmp_path)
    result = runner.invoke(audit_app, ["show", str(run_dir)])
    assert result.exit_code == 0
    assert f"playwright show-trace {run_dir / 'traces' / 'F2026-001.zip'}" in result.output


def test_show_for_one_invoice_among_several(tmp_path: Path) -> None:
    run_dir = _bundle(tmp_path, ("F1", "F2"))
    result = runner.invoke(audit_app, ["show", str(run_dir), "--invoice", "F2"])
    assert result.exit_code == 0
    assert "F2.zip" in result.output and "F1.zip" not in result.output


def test_show_an_unknown_invoice_exits_two_listing_the_available_ones(tmp_path: Path) -> None:
    run_dir = _bundle(tmp_path, ("F1", "F2"))
    result = runner.invoke(audit_app, ["show", str(run_dir), "--invoice", "F9"])
    assert result.exit_code == 2
    assert "Pas de trace pour la facture « F9 »" in result.output
    assert "• F1" in result.output and "• F2" in result.output


def test_show_with_a_display_opens_the_trace_viewer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = _bundle(tmp_path)
    calls: list[list[str]] = []

    def fake_run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(subprocess, "run", fake_run)
    result = runner.invoke(audit_app, ["show", str(run_dir)])
    assert result.exit_code == 0
    assert calls and calls[0][1:] == [
        "-m",
        "playwright",
        "show-trace",
        str(run_dir / "traces" / "F2026-001.zip"),
    ]


def test_show_without_traces_exits_two(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    result = runner.invoke(audit_app, ["show", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "Aucune trace" in result.output


def test_show_for_an_invoice_of_a_batch_lists_the_batch_trace_then_its_own(
    tmp_path: Path,
) -> None:
    run_dir = _bundle(tmp_path, ("F1", "F2"))
    traces = run_dir / "traces"
    for name in ("lot-F1.zip", "F2-part1.zip"):
        (traces / name).write_bytes((traces / "F2.zip").read_bytes())
    EventLog(RunDir(run_dir).events).append(
        {"type": BATCH_EVENT, "invoices": ["F1", "F2"], "traces": ["lot-F1.zip"]}
    )
    result = runner.invoke(audit_app, ["show", str(run_dir), "--invoice", "F2"])
    assert result.exit_code == 0
    assert "3 traces pour la facture F2" in result.output
    commands = [line for line in result.output.splitlines() if "show-trace" in line]
    assert [Path(line.split()[-1]).name for line in commands] == [
        "lot-F1.zip",
        "F2-part1.zip",
        "F2.zip",
    ]
