"""The QA suite's safety rules: mutating tests stay off remote portals unless asked for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _target import ALLOW_MUTATING, QaPortal, marker_refusal, mutating_refusal

pytestmark = pytest.mark.readonly

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "url", ["https://portail.chorus-pro.gouv.fr", "https://10.1.2.3:8443/", "http://qualif.local"]
)
def test_mutating_tests_are_refused_on_a_remote_portal_without_the_flag(url: str) -> None:
    refusal = mutating_refusal(url, allowed=False)
    assert refusal is not None
    assert ALLOW_MUTATING in refusal and "-m readonly" in refusal
    assert (url.split("//")[1].split(":")[0].split("/")[0]) in refusal


@pytest.mark.parametrize(
    "url", [None, "http://127.0.0.1:8000", "http://localhost:5000", "http://[::1]:8080"]
)
def test_mutating_tests_run_on_this_machine_without_the_flag(url: str | None) -> None:
    assert mutating_refusal(url, allowed=False) is None


def test_the_flag_allows_mutating_tests_on_a_remote_portal() -> None:
    assert mutating_refusal("https://portail.chorus-pro.gouv.fr", allowed=True) is None


def test_every_qa_test_must_say_whether_it_changes_data() -> None:
    assert marker_refusal({"readonly", "e2e"}) is None
    assert marker_refusal({"mutating"}) is None
    assert marker_refusal({"e2e"}) is not None
    assert marker_refusal({"readonly", "mutating"}) is not None


def test_credentials_of_another_portal_come_from_the_environment_and_stay_hidden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHORUS_LOGIN", "qa@exemple.fr")
    monkeypatch.setenv("CHORUS_PASSWORD", "Mot-de-passe-QA-42")
    monkeypatch.setenv("CHORUS_OTP_SOURCE", "none")
    portal = QaPortal.from_environment("https://portail.exemple.fr/")
    assert portal.url == "https://portail.exemple.fr"
    assert portal.password.reveal() == "Mot-de-passe-QA-42"
    assert "Mot-de-passe-QA-42" not in repr(portal)
    monkeypatch.delenv("CHORUS_PASSWORD")
    with pytest.raises(ValueError, match="CHORUS_PASSWORD"):
        QaPortal.from_environment("https://portail.exemple.fr")


def test_mutating_test_against_a_remote_portal_fails_at_setup_and_is_not_skipped(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "CHORUS_LOGIN": "qa@exemple.fr",
        "CHORUS_PASSWORD": "Mot-de-passe-QA-42",
        "CHORUS_OTP_SOURCE": "none",
    }
    target = (
        "tests/portal_qa/test_mutating.py::test_rejected_invoice_leaves_synthese_after_processing"
    )
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", target, "--base-url", "https://portail.exemple.invalid",
         "-p", "no:cacheprovider", "-p", "no:xdist", "-rE", "--output", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "1 error" in output and "skipped" not in output
    assert "ERROR at setup" in output
    assert "Test « mutating » refusé sur portail.exemple.invalid" in output
    assert "Mot-de-passe-QA-42" not in output
