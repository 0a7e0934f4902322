"""``chorus-sandbox``'s command line: typed numeric options, French help and French errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from sandbox import cli
from sandbox.model import Status
from sandbox.settings import FAULT_SEED_MAX
from sandbox.store import Store

runner = CliRunner()
ENGLISH = (
    "Show this message",
    "Usage:",
    "Commands",
    "Error",
    "Invalid value",
    "Try '",
    "[default:",
    "[required]",
)
NUMERIC = {
    "--port": r"ENTIER \[0<=x<=65535\]",
    "--seed": r"ENTIER \[x>=0\]",
    "--seed-suspended": r"ENTIER \[x>=0\]",
    "--seed-recycle": r"ENTIER \[x>=0\]",
    "--accounts": r"ENTIER \[1<=x<=500\]",
    "--max-sessions-per-account": r"ENTIER \[x>=0\]",
    "--random-seed": r"ENTIER",
    "--fault-seed": rf"ENTIER \[0<=x<={FAULT_SEED_MAX}\]",
    "--latency-ms": r"ENTIER \[x>=0\]",
    "--jitter-ms": r"ENTIER \[x>=0\]",
    "--error-rate": r"NOMBRE \[0\.0<=x<=1\.0\]",
    "--session-idle-s": r"NOMBRE \[x>=0\.0\]",
    "--popup-rate": r"NOMBRE \[0\.0<=x<=1\.0\]",
    "--slow-list-ms": r"ENTIER \[x>=0\]",
}


def _invoke(*args: str) -> Any:
    return runner.invoke(cli.app, list(args), prog_name="chorus-sandbox", env={"COLUMNS": "200"})


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"], ["seed", "--help"]])
def test_help_is_french_throughout(args: list[str]) -> None:
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    assert "Afficher cette aide et quitter." in result.output
    assert "Utilisation : chorus-sandbox" in result.output
    assert "<str>" not in result.output and "<bool>" not in result.output
    for english in ENGLISH:
        assert english not in result.output, english


def test_group_help_lists_the_commands_under_a_french_title() -> None:
    output = _invoke("--help").output
    assert "Commandes" in output
    assert re.search(r"serve\s+Démarrer le bac à sable", output)
    assert re.search(r"seed\s+Vider la base", output)


def test_serve_help_shows_every_numeric_option_with_its_type_and_range() -> None:
    output = _invoke("serve", "--help").output
    for flag, shown in NUMERIC.items():
        assert re.search(rf"{flag}\s+{shown}\s", output), flag
    lines = [line for line in output.splitlines() if re.search(r"│ --[a-z]", line)]
    assert len(lines) >= 20
    # Every option, the built-in --help included, has a help text.
    assert all(re.search(r"--[a-z-]+\s.*[A-Za-zé]{3,}.*[.)]", line) for line in lines), lines


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``serve`` received once its options were parsed (it then stops: no server)."""
    seen: dict[str, Any] = {}

    def stop_after_parsing(raw: dict[str, Any]) -> Any:
        seen.update(raw)
        raise typer.Exit(code=0)

    monkeypatch.setattr(cli, "_options", stop_after_parsing)
    return seen


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--port", "abc", "un nombre entier entre 0 et 65535"),
        ("--port", "70000", "un nombre entier entre 0 et 65535"),
        ("--latency-ms", "1.5", "un nombre entier supérieur ou égal à 0"),
        ("--error-rate", "0,5", "un nombre entre 0 et 1, écrit avec un point : 0.5"),
        ("--popup-rate", "beaucoup", "un nombre entre 0 et 1"),
        ("--fault-seed", "graine", f"un nombre entier entre 0 et {FAULT_SEED_MAX}"),
        ("--fault-seed", "-1", f"un nombre entier entre 0 et {FAULT_SEED_MAX}"),
    ],
)
def test_serve_refuses_a_value_that_is_not_a_number_in_range_in_french(
    parsed: dict[str, Any], flag: str, value: str, expected: str
) -> None:
    result = _invoke("serve", flag, value)
    assert result.exit_code == 2, result.output
    assert parsed == {}  # refused while parsing: the server never starts
    assert f"Erreur : Valeur invalide pour {flag} : « {value} » (attendu : {expected}" in (
        result.stderr
    )
    for english in ENGLISH:
        assert english not in result.output, english


def test_seed_command_refuses_a_non_numeric_seed(parsed: dict[str, Any]) -> None:
    result = _invoke("seed", "--seed=trois")
    assert result.exit_code == 2
    assert "Valeur invalide pour --seed : « trois »" in result.stderr


def test_numeric_options_reach_the_server_as_numbers(parsed: dict[str, Any]) -> None:
    args = ["serve", "--port", "8080", "--error-rate", "0.25", "--fault-seed", "1234"]
    result = _invoke(*args, "--session-idle-s", "30", "--otp")
    assert result.exit_code == 0, result.output
    assert parsed["port"] == 8080 and type(parsed["port"]) is int
    assert parsed["error_rate"] == 0.25 and type(parsed["error_rate"]) is float
    assert parsed["fault_seed"] == 1234 and type(parsed["fault_seed"]) is int
    assert parsed["session_idle_s"] == 30.0 and parsed["otp"] is True
    assert parsed["latency_ms"] is None  # not given: the environment or the default decides


@pytest.mark.parametrize("command", ["serve", "seed"])
def test_suspended_and_recycle_counts_reach_the_options_as_numbers(
    parsed: dict[str, Any], command: str
) -> None:
    result = _invoke(command, "--seed", "2", "--seed-suspended", "3", "--seed-recycle=4")
    assert result.exit_code == 0, result.output
    assert (parsed["seed"], parsed["seed_suspended"], parsed["seed_recycle"]) == (2, 3, 4)
    assert type(parsed["seed_suspended"]) is int and type(parsed["seed_recycle"]) is int
    refused = _invoke(command, "--seed-recycle", "-1")
    assert refused.exit_code == 2
    assert "Valeur invalide pour --seed-recycle : « -1 »" in refused.stderr


@pytest.mark.parametrize("command", ["serve", "seed"])
def test_the_number_of_accounts_reaches_the_options_as_a_number(
    parsed: dict[str, Any], command: str
) -> None:
    result = _invoke(command, "--accounts", "3")
    assert result.exit_code == 0, result.output
    assert parsed["accounts"] == 3 and type(parsed["accounts"]) is int
    refused = _invoke(command, "--accounts", "0")
    assert refused.exit_code == 2
    assert (
        "Valeur invalide pour --accounts : « 0 » (attendu : un nombre entier entre 1 et 500)"
        in refused.stderr
    )


def test_the_session_cap_reaches_the_options_as_a_number(parsed: dict[str, Any]) -> None:
    result = _invoke("serve", "--max-sessions-per-account", "2")
    assert result.exit_code == 0, result.output
    assert parsed["max_sessions_per_account"] == 2
    assert type(parsed["max_sessions_per_account"]) is int
    refused = _invoke("serve", "--max-sessions-per-account", "-1")
    assert refused.exit_code == 2
    assert "Valeur invalide pour --max-sessions-per-account : « -1 »" in refused.stderr


def test_seed_command_seeds_every_account(tmp_path: Path) -> None:
    result = _invoke(
        "seed", "--data", str(tmp_path), "--seed", "2", "--accounts", "3", "--user", "f@ex.fr"
    )
    assert result.exit_code == 0, result.output
    assert "dont 6 rejetées, sur 3 comptes (de f@ex.fr à f+3@ex.fr)." in result.output
    store = Store(tmp_path / "sandbox.db")
    try:
        users = [(u.email, u.supplier_id) for u in store.list_users()]
        per_supplier = {s: store.count_invoices(s) for _, s in users}
    finally:
        store.close()
    assert [email for email, _ in users] == ["f@ex.fr", "f+2@ex.fr", "f+3@ex.fr"]
    assert len(set(per_supplier.values())) == 1 and sum(per_supplier.values()) == 3 * 18


def test_seed_command_seeds_the_suspensions_and_recyclings_asked_for(tmp_path: Path) -> None:
    result = _invoke(
        "seed",
        "--data",
        str(tmp_path),
        "--seed",
        "1",
        "--seed-suspended",
        "2",
        "--seed-recycle",
        "3",
    )
    assert result.exit_code == 0, result.output
    assert "1 rejetées, 2 suspendues à acquitter et 3 à recycler." in result.output
    store = Store(tmp_path / "sandbox.db")
    try:
        statuses = [(i.statut, i.acquittee) for i in store.list_all()]
    finally:
        store.close()
    assert statuses.count((Status.SUSPENDUE, False)) == 2
    assert sum(1 for statut, _ in statuses if statut is Status.A_RECYCLER) == 3 + 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--prot", "3"], "option inconnue : --prot. Vouliez-vous dire"),
        (["serve", "--port"], "l'option --port est mal employée"),
        (["serve", "en-trop"], "argument inattendu : en-trop."),
        (["demarrer"], "commande inconnue : « demarrer » (commandes : seed, serve)."),
    ],
)
def test_other_usage_errors_are_french_too(
    parsed: dict[str, Any], args: list[str], message: str
) -> None:
    result = _invoke(*args)
    assert result.exit_code == 2
    assert f"Erreur : {message}" in result.stderr
    for english in ENGLISH:
        assert english not in result.output, english
