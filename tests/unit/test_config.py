"""Configuration: .env merged under the real environment, every problem listed at once."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from robot.config import VARIABLES, Config, ConfigError, load_config
from robot.secrets import Secret

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_KNOBS = [
    *("PORT", "DATA", "SEED", "RANDOM_SEED", "USER", "PASSWORD", "OTP", "ADMIN_TOKEN"),
    *("LATENCY_MS", "JITTER_MS", "ERROR_RATE", "SESSION_IDLE_S", "MAINTENANCE"),
    *("POPUP_RATE", "SLOW_LIST_MS", "LAYOUT_DRIFT"),
]
PORTAL = {
    "CHORUS_PORTAL_URL": "https://portail.chorus-pro.gouv.fr",
    "CHORUS_LOGIN": "comptable@exemple-fournisseur.fr",
    "CHORUS_PASSWORD": "Mot-de-passe-tres-secret-42",
    "CHORUS_OTP_SOURCE": "prompt",
}


def write_dotenv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(environ: dict[str, str], dotenv: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(environ, dotenv=dotenv)
    return caught.value.problems


def test_defaults_start_the_embedded_sandbox(tmp_path: Path) -> None:
    config = load_config({}, dotenv=tmp_path / "absent.env")

    assert config.portal_url is None and config.embedded_sandbox
    assert config.otp_source == "maildir:auto"
    assert config.headless is True
    assert config.output_dir == Path("runs")
    assert (config.timeout_ms, config.workers, config.max_retries) == (15000, 1, 3)
    assert (config.video, config.trace, config.retry_budget_s, config.slow_mo_ms) == (
        "off",
        "on",
        300,
        0,
    )
    assert config.password is None and config.audit_key is None and config.keep_runs is None


def test_dotenv_values_are_used_and_the_real_environment_wins(tmp_path: Path) -> None:
    dotenv = write_dotenv(
        tmp_path,
        "CHORUS_TIMEOUT_MS=20000\nCHORUS_WORKERS=4\nCHORUS_HEADLESS=non\n"
        "CHORUS_PASSWORD='depuis le fichier'\n",
    )

    config = load_config({"CHORUS_WORKERS": "2", "CHORUS_PASSWORD": "depuis-env"}, dotenv=dotenv)

    assert config.timeout_ms == 20000  # only in .env
    assert config.headless is False  # only in .env
    assert config.workers == 2  # the environment wins
    assert config.password is not None and config.password.reveal() == "depuis-env"


def test_loading_a_dotenv_never_changes_os_environ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in [v for v in os.environ if v.startswith("CHORUS_")]:
        monkeypatch.delenv(variable)
    dotenv = write_dotenv(tmp_path, "CHORUS_SLOW_MO_MS=250\n")
    before = dict(os.environ)

    config = load_config(None, dotenv=dotenv)

    assert config.slow_mo_ms == 250
    assert dict(os.environ) == before


def test_an_empty_value_means_the_default(tmp_path: Path) -> None:
    config = load_config({"CHORUS_TIMEOUT_MS": "", "CHORUS_PASSWORD": "  "}, dotenv=None)

    assert config.timeout_ms == 15000
    assert config.password is None


def test_every_problem_is_listed_at_once_naming_its_variable() -> None:
    problems = problems_of(
        {
            "CHORUS_TIMEOUT_MS": "abc",
            "CHORUS_WORKERS": "0",
            "CHORUS_HEADLESS": "peut-être",
            "CHORUS_VIDEO": "toujours",
            "CHORUS_TRACE": "ON",
            "CHORUS_KEEP_RUNS": "deux semaines",
            "CHORUS_MAX_RETRIES": "-1",
            "CHORUS_OTP_SOURCE": "pigeon",
            "CHORUS_TIMOUT_MS": "5000",
            "CHORUS_PORTAL_URL": "http://chorus.exemple.fr",
        }
    )

    expected = [
        "CHORUS_TIMOUT_MS : variable inconnue (vouliez-vous dire CHORUS_TIMEOUT_MS ?)",
        "CHORUS_TIMEOUT_MS : « abc » n'est pas un nombre entier",
        "CHORUS_HEADLESS : « peut-être » n'est pas un booléen",
        "CHORUS_WORKERS : 0 est hors limites (entre 1 et 16 attendu)",
        "CHORUS_MAX_RETRIES : -1 est hors limites (entre 0 et 20 attendu)",
        "CHORUS_VIDEO : « toujours » inconnu (on, off, retain-on-failure attendu)",
        "CHORUS_OTP_SOURCE : source « pigeon » inconnue",
        "CHORUS_KEEP_RUNS : « deux semaines » invalide",
        "CHORUS_PORTAL_URL : « http://chorus.exemple.fr » n'est pas chiffrée",
        "CHORUS_LOGIN : obligatoire avec CHORUS_PORTAL_URL",
        "CHORUS_PASSWORD : obligatoire avec CHORUS_PORTAL_URL",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == len(expected)  # CHORUS_TRACE=ON is fine (case-insensitive)


def test_config_error_message_lists_one_problem_per_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"CHORUS_WORKERS": "17", "CHORUS_SLOW_MO_MS": "lent"}, dotenv=None)

    assert str(caught.value).splitlines() == caught.value.problems
    assert len(caught.value.problems) == 2


def test_sandbox_variables_are_left_to_the_sandbox() -> None:
    config = load_config({"CHORUS_SANDBOX_LATENCY_MS": "200", "CHORUS_SANDBOX_X": "1"}, dotenv=None)

    assert config.portal_url is None


def test_unknown_variable_from_the_dotenv_file_is_reported(tmp_path: Path) -> None:
    dotenv = write_dotenv(tmp_path, "CHORUS_PASSWROD=oups\nAUTRE_OUTIL=1\n")

    assert problems_of({}, dotenv) == [
        "CHORUS_PASSWROD : variable inconnue (vouliez-vous dire CHORUS_PASSWORD ?)"
    ]


def test_a_real_portal_over_https_with_credentials_is_accepted() -> None:
    config = load_config(PORTAL, dotenv=None)

    assert config.portal_url == "https://portail.chorus-pro.gouv.fr"
    assert config.login == "comptable@exemple-fournisseur.fr"
    assert config.password == Secret("Mot-de-passe-tres-secret-42")
    assert not config.embedded_sandbox


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8123", "http://localhost:8000/", "http://[::1]:9000"]
)
def test_plain_http_is_allowed_on_loopback_only(url: str) -> None:
    assert load_config({**PORTAL, "CHORUS_PORTAL_URL": url}, dotenv=None).portal_url == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://chorus.exemple.fr", "doit commencer par https://"),
        ("https://", "doit commencer par https://"),
        ("chorus-pro.gouv.fr", "doit commencer par https://"),
        ("http://10.0.0.5:8000", "n'est pas chiffrée"),
        ("https://chorus.exemple.fr:99999", "n'est pas valide"),
    ],
)
def test_unusable_portal_urls_are_refused(url: str, reason: str) -> None:
    problems = problems_of({**PORTAL, "CHORUS_PORTAL_URL": url})

    assert len(problems) == 1 and problems[0].startswith("CHORUS_PORTAL_URL : ")
    assert reason in problems[0]


def test_credentials_inside_the_portal_url_are_refused_without_being_quoted() -> None:
    problems = problems_of(
        {**PORTAL, "CHORUS_PORTAL_URL": "https://moi:Secret-123@portail.exemple.fr"}
    )

    assert problems == [
        "CHORUS_PORTAL_URL : l'adresse ne doit pas contenir d'identifiant ni de mot de passe"
    ]


def test_a_real_portal_without_a_code_source_has_none() -> None:
    environ = {k: v for k, v in PORTAL.items() if k != "CHORUS_OTP_SOURCE"}

    assert load_config(environ, dotenv=None).otp_source == "none"


def test_the_sandbox_maildir_cannot_serve_a_real_portal() -> None:
    problems = problems_of({**PORTAL, "CHORUS_OTP_SOURCE": "maildir:auto"})

    assert len(problems) == 1 and problems[0].startswith("CHORUS_OTP_SOURCE : « maildir:auto »")


def test_retry_base_and_seed_are_read() -> None:
    config = load_config({"CHORUS_RETRY_BASE_MS": "20", "CHORUS_RETRY_SEED": "42"}, dotenv=None)

    assert (config.retry_base_ms, config.retry_seed) == (20, 42)
    assert load_config({}, dotenv=None).retry_seed is None


def test_login_must_be_an_email_address() -> None:
    problems = problems_of({**PORTAL, "CHORUS_LOGIN": "comptable"})

    assert problems == ["CHORUS_LOGIN : « comptable » n'est pas une adresse électronique"]


def test_paths_that_cannot_be_used_are_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "fichier"
    a_file.write_text("x")

    problems = problems_of(
        {
            "CHORUS_OUTPUT_DIR": str(a_file),
            "CHORUS_JOURNAL": str(tmp_path),
            "CHORUS_BROWSER": str(tmp_path / "chromium-absent"),
        }
    )

    assert [p.split(" : ")[0] for p in problems] == [
        "CHORUS_BROWSER",
        "CHORUS_OUTPUT_DIR",
        "CHORUS_JOURNAL",
    ]


def test_secrets_stay_out_of_repr_describe_and_errors() -> None:
    password, key = "Mot-de-passe-tres-secret-42", "cle-audit-0123456789"
    config = load_config({**PORTAL, "CHORUS_AUDIT_KEY": key}, dotenv=None)
    with pytest.raises(ConfigError) as caught:
        load_config({**PORTAL, "CHORUS_AUDIT_KEY": key, "CHORUS_WORKERS": "zéro"}, dotenv=None)

    shown = repr(config) + str(config.describe())
    assert password not in shown and key not in shown
    assert config.describe()["CHORUS_PASSWORD"] == "********"
    assert config.describe()["CHORUS_AUDIT_KEY"] == "********"
    assert "(non défini)" not in config.describe()["CHORUS_PORTAL_URL"]
    assert str(caught.value) == "CHORUS_WORKERS : « zéro » n'est pas un nombre entier"


def test_describe_names_every_variable_with_readable_values(tmp_path: Path) -> None:
    described = load_config({}, dotenv=None).describe()

    assert set(described) == set(VARIABLES.values())
    assert described["CHORUS_PORTAL_URL"] == "(bac à sable intégré)"
    assert described["CHORUS_HEADLESS"] == "oui"
    assert described["CHORUS_PASSWORD"] == "(non défini)"


@pytest.mark.parametrize("value", ["30", "14j", "14D"])
def test_keep_runs_counts_runs_or_days(value: str) -> None:
    assert load_config({"CHORUS_KEEP_RUNS": value}, dotenv=None).keep_runs == value


@pytest.mark.parametrize("value", ["0", "trente", "14 semaines"])
def test_a_keep_runs_policy_that_means_nothing_is_refused(value: str) -> None:
    problems = problems_of({"CHORUS_KEEP_RUNS": value})

    assert [p for p in problems if p.startswith("CHORUS_KEEP_RUNS : ")], problems


def test_a_config_built_in_code_is_validated_too() -> None:
    with pytest.raises(ConfigError, match="CHORUS_WORKERS : 40 est hors limites"):
        Config(workers=40)
    with pytest.raises(ConfigError, match="CHORUS_PASSWORD : obligatoire"):
        Config(portal_url="https://portail.exemple.fr", login="a@b.fr")


def test_env_example_documents_every_variable_and_loads_cleanly() -> None:
    example = ROOT / ".env.example"
    text = example.read_text(encoding="utf-8")

    for variable in VARIABLES.values():
        assert re.search(rf"^# .+\n{variable}=", text, re.MULTILINE), variable
    for knob in SANDBOX_KNOBS:
        assert re.search(rf"^# CHORUS_SANDBOX_{knob}=", text, re.MULTILINE), knob
    assert re.search(r"^CHORUS_PASSWORD=$", text, re.MULTILINE)
    assert re.search(r"^CHORUS_AUDIT_KEY=$", text, re.MULTILINE)
    assert load_config({}, dotenv=example).describe()["CHORUS_KEEP_RUNS"] == "30"
