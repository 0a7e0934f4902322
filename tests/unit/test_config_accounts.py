"""Configuration of many accounts and of the signed audit: CHORUS_ACCOUNTS,
CHORUS_SESSION_WAIT_S, CHORUS_AUDIT_SIGNING_KEY, CHORUS_TSA_URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot.config import ConfigError, load_config


def problems_of(environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(environ, dotenv=None)
    return caught.value.problems


def test_defaults_are_one_account_half_an_hour_of_waiting_and_no_signature() -> None:
    config = load_config({}, dotenv=None)

    assert config.accounts_file is None and config.session_wait_s == 1800
    assert config.audit_signing_key is None and config.tsa_url is None


def test_the_four_variables_are_read(tmp_path: Path) -> None:
    accounts, key = tmp_path / "comptes.toml", tmp_path / "signature.pem"
    accounts.write_text("")
    key.write_text("")

    config = load_config(
        {
            "CHORUS_ACCOUNTS": str(accounts),
            "CHORUS_SESSION_WAIT_S": "0",
            "CHORUS_AUDIT_SIGNING_KEY": str(key),
            "CHORUS_TSA_URL": "https://horodatage.exemple.fr/tsa",
        },
        dotenv=None,
    )

    assert (config.accounts_file, config.audit_signing_key) == (accounts, key)
    assert config.session_wait_s == 0
    assert config.tsa_url == "https://horodatage.exemple.fr/tsa"
    described = config.describe()
    assert described["CHORUS_ACCOUNTS"] == str(accounts)
    assert described["CHORUS_AUDIT_SIGNING_KEY"] == str(key)
    assert described["CHORUS_SESSION_WAIT_S"] == "0"


def test_a_plain_http_time_stamp_authority_is_accepted() -> None:
    # RFC 3161 answers are signed: many authorities serve them over plain http.
    url = "http://timestamp.exemple.fr"

    assert load_config({"CHORUS_TSA_URL": url}, dotenv=None).tsa_url == url


def test_every_problem_of_the_four_variables_is_listed(tmp_path: Path) -> None:
    problems = problems_of(
        {
            "CHORUS_ACCOUNTS": str(tmp_path / "absent.toml"),
            "CHORUS_SESSION_WAIT_S": "86401",
            "CHORUS_AUDIT_SIGNING_KEY": str(tmp_path),
            "CHORUS_TSA_URL": "ftp://horodatage.exemple.fr",
        }
    )

    assert problems == [
        "CHORUS_SESSION_WAIT_S : 86401 est hors limites (entre 0 et 86400 attendu)",
        "CHORUS_TSA_URL : « ftp://horodatage.exemple.fr » n'est pas une adresse http(s) "
        "(http://horodatage.exemple.fr/tsa attendu)",
        f"CHORUS_ACCOUNTS : « {tmp_path / 'absent.toml'} » n'existe pas",
        f"CHORUS_AUDIT_SIGNING_KEY : « {tmp_path} » est un dossier",
    ]


@pytest.mark.parametrize("value", ["-1", "une heure"])
def test_session_wait_is_a_whole_number_of_seconds(value: str) -> None:
    (problem,) = problems_of({"CHORUS_SESSION_WAIT_S": value})

    assert problem.startswith("CHORUS_SESSION_WAIT_S : ")


@pytest.mark.parametrize(
    "url", ["horodatage.exemple.fr", "https://", "https://tsa.exemple.fr:99999", "https://a b.fr"]
)
def test_a_time_stamp_authority_must_be_an_http_address(url: str) -> None:
    (problem,) = problems_of({"CHORUS_TSA_URL": url})

    assert problem.startswith("CHORUS_TSA_URL : ") and "http(s)" in problem


def test_a_path_starting_with_a_tilde_is_the_users_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "comptes.toml").write_text("")

    config = load_config({"CHORUS_ACCOUNTS": "~/comptes.toml"}, dotenv=None)

    assert config.accounts_file == tmp_path / "comptes.toml"
