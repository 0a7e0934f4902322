"""Starting the sandbox: subprocess mode, persistence across restarts, and the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sandbox.server import start_sandbox
from sandbox.settings import OptionError, SandboxOptions

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_process_mode_keeps_its_data_across_a_restart(tmp_path: Path) -> None:
    options = SandboxOptions(data_dir=tmp_path, seed=2)
    with start_sandbox(options, mode="process") as first:
        assert first.process is not None
        target = first.invoices(status="MISE_A_DISPOSITION")[0]["numero"]
        first.admin("POST", f"invoices/{target}/reject", json={"motif": "DOUBLON"})
        first.process.kill()  # like a crash: no clean shutdown
        first.process.wait(timeout=10)
        with pytest.raises(httpx.TransportError):
            httpx.get(first.url + "/health", timeout=1)
    with start_sandbox(options.replace(seed=7), mode="process") as second:
        assert second.invoice(target)["statut"] == "REJETEE"
        pending = [i for i in second.invoices(status="REJETEE") if not i["acquittee"]]
        assert len(pending) == 3  # 2 seeded + the one rejected above: no reseed
    assert (tmp_path / "sandbox.db").is_file()
    assert (tmp_path / "maildir" / "new").is_dir()


def test_command_line_refuses_a_bad_value_in_french(tmp_path: Path) -> None:
    result = _cli("serve", "--port", "abc", "--data", str(tmp_path))
    assert result.returncode == 2
    assert (
        "Valeur invalide pour --port : « abc » (attendu : un nombre entier entre 0 et 65535)."
        in result.stderr
    )
    assert "Traceback" not in result.stderr + result.stdout


def test_command_line_refuses_a_bad_environment_value(tmp_path: Path) -> None:
    result = _cli("serve", "--data", str(tmp_path), env={"CHORUS_SANDBOX_ERROR_RATE": "2"})
    assert result.returncode == 2
    assert "--error-rate doit être comprise entre 0 et 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_seed_command_fills_the_data_folder(tmp_path: Path) -> None:
    result = _cli("seed", "--data", str(tmp_path), "--seed", "4")
    assert result.returncode == 0, result.stderr
    assert "dont 4 rejetées" in result.stdout
    assert (tmp_path / "sandbox.db").is_file()


def test_options_come_from_the_environment_and_the_command_line_wins() -> None:
    env = {
        "CHORUS_SANDBOX_LATENCY_MS": "150",
        "CHORUS_SANDBOX_OTP": "oui",
        "CHORUS_SANDBOX_SEED": "3",
    }
    options = SandboxOptions.from_env(env, seed=8)
    assert options.latency_ms == 150 and options.otp is True and options.seed == 8
    with pytest.raises(OptionError, match="Valeur invalide"):
        SandboxOptions.from_env({"CHORUS_SANDBOX_PORT": "quatre"})
