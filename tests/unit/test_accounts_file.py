"""The accounts file (CHORUS_ACCOUNTS): loaded whole, every problem listed, no password shown."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from robot import accounts as accounts_module
from robot.accounts import Account, Accounts, load_accounts
from robot.config import Config, ConfigError
from robot.secrets import Secret, redact

PASSWORD_A = "Mot-de-passe-client-A-7391"
PASSWORD_B = "Mot-de-passe-client-B-2846"
COMMAND_PASSWORD = "Sorti-de-la-commande-5521"
LOGIN = "comptable@exemple-fournisseur.fr"
LOGIN_PASSWORD = "Mot-de-passe-du-login-0042"


def write_accounts(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "comptes.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def python_command(code: str) -> str:
    """A mot_de_passe_commande running ``code`` with this Python (no shell involved)."""
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string


def command_account(tmp_path: Path, command: str) -> Path:
    """A file of one account whose password ``command`` writes."""
    return write_accounts(
        tmp_path,
        "[[compte]]\nidentifiant = 'a@client-a.fr'\n"
        f"mot_de_passe_commande = {toml_string(command)}\n",
    )


def config_for(path: Path | None, **fields: object) -> Config:
    return Config(accounts_file=path, **fields)  # type: ignore[arg-type]


def problems_of(path: Path, **fields: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_accounts(config_for(path, **fields))
    return caught.value.problems


def assert_no_password_in(problems: list[str]) -> None:
    text = "\n".join(problems)
    for password in (PASSWORD_A, PASSWORD_B, COMMAND_PASSWORD, LOGIN_PASSWORD):
        assert password not in text


TWO_ACCOUNTS = f"""
[[compte]]
identifiant = "comptable@client-a.fr"
mot_de_passe = "{PASSWORD_A}"
otp_source = "prompt"
max_sessions = 3

[[compte]]
identifiant = "Comptable@Client-B.fr"
mot_de_passe = "{PASSWORD_B}"
"""


# -- a good file ---------------------------------------------------------------------------


def test_a_private_file_with_two_accounts_loads_them_in_order(tmp_path: Path) -> None:
    path = write_accounts(tmp_path, TWO_ACCOUNTS, mode=0o600)

    accounts = load_accounts(config_for(path, max_sessions=4))

    a, b = accounts
    assert a == Account("comptable@client-a.fr", Secret(PASSWORD_A), "prompt", 3)
    assert b == Account("Comptable@Client-B.fr", Secret(PASSWORD_B), None, 4)
    assert accounts.names() == ["comptable@client-a.fr", "Comptable@Client-B.fr"]
    assert len(accounts) == 2 and accounts.default is None


def test_accounts_are_found_whatever_the_case_of_their_identifiant(tmp_path: Path) -> None:
    accounts = load_accounts(config_for(write_accounts(tmp_path, TWO_ACCOUNTS)))

    b = accounts.get("comptable@client-b.FR")
    assert b is not None and b.identifiant == "Comptable@Client-B.fr"
    assert b.key == "comptable@client-b.fr"
    assert "COMPTABLE@CLIENT-A.FR" in accounts
    assert accounts.get("inconnu@client-c.fr") is None
    assert accounts.get("") is None  # no default account


def test_passwords_read_from_the_file_are_redacted_and_never_shown(tmp_path: Path) -> None:
    accounts = load_accounts(config_for(write_accounts(tmp_path, TWO_ACCOUNTS)))

    assert redact(f"saisi : {PASSWORD_A} puis {PASSWORD_B}") == "saisi : ******** puis ********"
    assert PASSWORD_A not in repr(accounts) and PASSWORD_B not in repr(list(accounts))


def test_a_password_command_is_run_and_its_first_line_is_the_password(tmp_path: Path) -> None:
    command = python_command(f"print('  {COMMAND_PASSWORD}  '); print('login: autre ligne')")
    path = write_accounts(
        tmp_path,
        f"[[compte]]\nidentifiant = 'comptable@client-a.fr'\n"
        f"mot_de_passe_commande = {toml_string(command)}\n",
        mode=0o644,  # no password in the file: readable by others is fine
    )

    (account,) = load_accounts(config_for(path))

    assert account.password == Secret(COMMAND_PASSWORD)
    assert redact(COMMAND_PASSWORD) == "********"


def test_an_account_without_otp_source_uses_the_configurations(tmp_path: Path) -> None:
    accounts = load_accounts(
        config_for(write_accounts(tmp_path, TWO_ACCOUNTS), otp_source="maildir:/tmp/codes")
    )

    a, b = accounts
    assert a.otp_spec(config_for(None)) == "prompt"
    assert b.otp_spec(config_for(None, otp_source="maildir:/tmp/codes")) == "maildir:/tmp/codes"


# -- the default account -------------------------------------------------------------------


def test_without_a_file_the_default_account_is_chorus_login(tmp_path: Path) -> None:
    config = Config(login=LOGIN, password=Secret(LOGIN_PASSWORD), max_sessions=5)

    accounts = load_accounts(config)

    assert accounts.default == Account(LOGIN, Secret(LOGIN_PASSWORD), None, 5)
    assert accounts.get("") is accounts.default
    assert accounts.names() == [LOGIN]


def test_the_default_account_comes_first_and_the_files_entry_wins_for_chorus_login(
    tmp_path: Path,
) -> None:
    path = write_accounts(tmp_path, TWO_ACCOUNTS)
    apart = load_accounts(config_for(path, login=LOGIN, password=Secret(LOGIN_PASSWORD)))
    listed = load_accounts(
        config_for(path, login="COMPTABLE@client-a.fr", password=Secret(LOGIN_PASSWORD))
    )

    assert apart.names() == [LOGIN, "comptable@client-a.fr", "Comptable@Client-B.fr"]
    assert listed.names() == ["comptable@client-a.fr", "Comptable@Client-B.fr"]
    assert listed.default is not None and listed.default.password == Secret(PASSWORD_A)
    assert listed.get("") is listed.get("comptable@client-a.fr")


def test_the_caller_may_give_the_embedded_sandboxs_default_account(tmp_path: Path) -> None:
    sandbox = Account("demo@bac-a-sable.fr", Secret("Mot-de-passe-du-bac-0001"), None, 2)

    accounts = load_accounts(config_for(write_accounts(tmp_path, TWO_ACCOUNTS)), default=sandbox)

    assert accounts.default is sandbox and accounts.get("") is sandbox
    assert accounts.names()[0] == "demo@bac-a-sable.fr" and len(accounts) == 3


def test_no_chorus_login_and_no_default_given_means_no_default_account() -> None:
    accounts = load_accounts(Config())

    assert accounts.default is None and len(accounts) == 0 and accounts.get("") is None


def test_accounts_refuse_two_accounts_with_one_identifiant() -> None:
    a = Account("a@client.fr", Secret("Premier-mot-de-passe"), None, 1)
    b = Account("A@Client.fr", Secret("Second-mot-de-passe"), None, 1)

    with pytest.raises(ValueError, match="en double"):
        Accounts((a, b))


# -- every problem of the file -------------------------------------------------------------


def test_a_file_holding_a_password_that_others_can_read_is_refused_naming_chmod(
    tmp_path: Path,
) -> None:
    path = write_accounts(tmp_path, TWO_ACCOUNTS, mode=0o644)

    problems = problems_of(path)

    assert len(problems) == 1
    assert problems[0].startswith(f"CHORUS_ACCOUNTS : {path} : ")
    assert f"chmod 600 {path}" in problems[0] and "644" in problems[0]
    assert_no_password_in(problems)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_any_access_for_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    problems = problems_of(write_accounts(tmp_path, TWO_ACCOUNTS, mode=mode))

    assert len(problems) == 1 and "chmod 600" in problems[0]


def test_a_failing_command_is_reported_without_its_output(tmp_path: Path) -> None:
    command = python_command(
        f"import sys; print('{COMMAND_PASSWORD}'); print('sortie-erreur-9917', file=sys.stderr);"
        " sys.exit(3)"
    )
    path = command_account(tmp_path, command)

    problems = problems_of(path)

    assert problems == [
        f"CHORUS_ACCOUNTS : {path}, compte 1 (a@client-a.fr), mot_de_passe_commande : "
        "la commande a échoué (code de sortie 3)"
    ]
    assert_no_password_in(problems)
    assert "sortie-erreur-9917" not in problems[0]


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (python_command("pass"), "la commande n'a écrit aucun mot de passe"),
        (python_command("print(); print('seconde-ligne')"), "n'a écrit aucun mot de passe"),
        ("commande-qui-n-existe-pas-7e3 show", "commande « commande-qui-n-existe-pas-7e3 » "),
        ("pass show 'non fermé", "la commande est mal formée"),
    ],
)
def test_a_command_giving_no_password_is_a_problem(
    tmp_path: Path, command: str, reason: str
) -> None:
    path = command_account(tmp_path, command)

    (problem,) = problems_of(path)

    assert reason in problem and "seconde-ligne" not in problem


def test_a_command_that_hangs_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts_module, "COMMAND_TIMEOUT_S", 0.3)
    command = python_command("import time; time.sleep(30)")
    path = command_account(tmp_path, command)

    (problem,) = problems_of(path)

    assert "la commande n'a pas répondu en 0.3 s" in problem


def test_an_unknown_key_gets_a_suggestion(tmp_path: Path) -> None:
    path = write_accounts(
        tmp_path,
        f"[[compte]]\nidentifiant = 'a@client-a.fr'\nmot_de_passe = '{PASSWORD_A}'\n"
        "max_session = 2\n",
    )

    assert problems_of(path) == [
        f"CHORUS_ACCOUNTS : {path}, compte 1 (a@client-a.fr), max_session : clé inconnue "
        "(vouliez-vous dire « max_sessions » ?)"
    ]


def test_a_misspelt_block_name_is_explained(tmp_path: Path) -> None:
    path = write_accounts(
        tmp_path, f"[[comptes]]\nidentifiant = 'a@client-a.fr'\nmot_de_passe = '{PASSWORD_A}'\n"
    )

    assert problems_of(path) == [
        f"CHORUS_ACCOUNTS : {path}, comptes : clé inconnue (vouliez-vous dire « compte » ?)",
        f"CHORUS_ACCOUNTS : {path} : aucun compte (un bloc [[compte]] par compte attendu)",
    ]


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ("", "mot_de_passe : obligatoire (mot_de_passe, ou mot_de_passe_commande qui l'écrit)"),
        (
            f"mot_de_passe = '{PASSWORD_A}'\nmot_de_passe_commande = 'pass show x'",
            "mot_de_passe : mot_de_passe ou mot_de_passe_commande, pas les deux",
        ),
        ("mot_de_passe = ''", "mot_de_passe : du texte non vide est attendu"),
    ],
)
def test_an_account_needs_exactly_one_way_to_its_password(
    tmp_path: Path, lines: str, reason: str
) -> None:
    path = write_accounts(tmp_path, f"[[compte]]\nidentifiant = 'a@client-a.fr'\n{lines}\n")

    problems = problems_of(path)

    assert problems == [f"CHORUS_ACCOUNTS : {path}, compte 1 (a@client-a.fr), {reason}"]
    assert_no_password_in(problems)


def test_identifiants_must_be_addresses_and_unique_whatever_their_case(tmp_path: Path) -> None:
    path = write_accounts(
        tmp_path,
        f"""
[[compte]]
identifiant = "a@client-a.fr"
mot_de_passe = "{PASSWORD_A}"
[[compte]]
identifiant = "A@CLIENT-A.FR"
mot_de_passe = "{PASSWORD_B}"
[[compte]]
identifiant = "client-c"
mot_de_passe = "{PASSWORD_B}"
[[compte]]
mot_de_passe = "{PASSWORD_B}"
""",
    )

    problems = problems_of(path)

    assert problems == [
        f"CHORUS_ACCOUNTS : {path}, compte 2 (A@CLIENT-A.FR), identifiant : « A@CLIENT-A.FR » "
        "en double (comptes 1 et 2)",
        f"CHORUS_ACCOUNTS : {path}, compte 3 (client-c), identifiant : « client-c » n'est pas "
        "une adresse électronique",
        f"CHORUS_ACCOUNTS : {path}, compte 4, identifiant : obligatoire (l'adresse électronique "
        "de connexion)",
    ]
    assert_no_password_in(problems)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0", "0 est hors limites (entre 1 et 16 attendu)"),
        ("17", "17 est hors limites (entre 1 et 16 attendu)"),
        ('"2"', "« 2 » n'est pas un nombre entier"),
        ("true", "« True » n'est pas un nombre entier"),
        ("1.5", "« 1.5 » n'est pas un nombre entier"),
    ],
)
def test_max_sessions_is_a_whole_number_from_1_to_16(
    tmp_path: Path, value: str, reason: str
) -> None:
    path = write_accounts(
        tmp_path,
        f"[[compte]]\nidentifiant = 'a@client-a.fr'\nmot_de_passe = '{PASSWORD_A}'\n"
        f"max_sessions = {value}\n",
    )

    assert problems_of(path) == [
        f"CHORUS_ACCOUNTS : {path}, compte 1 (a@client-a.fr), max_sessions : {reason}"
    ]


@pytest.mark.parametrize(
    ("source", "fields", "reason"),
    [
        ("pigeon", {}, "source « pigeon » inconnue"),
        ("imaps://codes@imap.client-a.fr/INBOX", {}, "CHORUS_OTP_IMAP_PASSWORD"),
        (
            "maildir:auto",
            {
                "portal_url": "https://portail.exemple.fr",
                "login": LOGIN,
                "password": Secret("x" * 8),
            },
            "ne vaut que pour le bac à sable intégré",
        ),
    ],
)
def test_a_bad_otp_source_is_a_problem(
    tmp_path: Path, source: str, fields: dict[str, object], reason: str
) -> None:
    path = write_accounts(
        tmp_path,
        f"[[compte]]\nidentifiant = 'a@client-a.fr'\nmot_de_passe = '{PASSWORD_A}'\n"
        f"otp_source = '{source}'\n",
    )

    (problem,) = problems_of(path, **fields)

    assert problem.startswith(f"CHORUS_ACCOUNTS : {path}, compte 1 (a@client-a.fr), otp_source : ")
    assert reason in problem


def test_a_malformed_file_names_its_line(tmp_path: Path) -> None:
    path = write_accounts(
        tmp_path, f"[[compte]]\nidentifiant = 'a@client-a.fr'\nmot_de_passe = {PASSWORD_A}\n"
    )

    problems = problems_of(path)

    assert len(problems) == 1
    assert problems[0].startswith(f"CHORUS_ACCOUNTS : {path}, ligne 3 : TOML invalide (")
    assert_no_password_in(problems)


def test_a_file_without_accounts_or_gone_is_refused(tmp_path: Path) -> None:
    empty = write_accounts(tmp_path, "# rien\n")
    config = config_for(empty)
    empty.unlink()

    assert problems_of(write_accounts(tmp_path, "# rien\n")) == [
        f"CHORUS_ACCOUNTS : {empty} : aucun compte (un bloc [[compte]] par compte attendu)"
    ]
    empty.unlink()
    with pytest.raises(ConfigError, match="fichier illisible"):
        load_accounts(config)


def test_every_problem_is_listed_at_once_and_no_password_appears(tmp_path: Path) -> None:
    failing = python_command(f"import sys; print('{COMMAND_PASSWORD}'); sys.exit(1)")
    path = write_accounts(
        tmp_path,
        f"""
[[compte]]
identifiant = "a@client-a.fr"
mot_de_passe = "{PASSWORD_A}"
max_sessions = 40

[[compte]]
identifiant = "a@client-a.fr"
mot_de_passe_commande = {toml_string(failing)}
otp_source = "pigeon"

[[compte]]
identifiant = "b@client-b.fr"
mot_passe = "{PASSWORD_B}"
""",
        mode=0o644,
    )

    problems = problems_of(path)

    where = f"CHORUS_ACCOUNTS : {path}"
    assert problems[0].startswith(f"{where} : ") and "chmod 600" in problems[0]
    assert problems[4].startswith(f"{where}, compte 2 (a@client-a.fr), otp_source : ")
    assert problems[1:4] + problems[5:] == [
        f"{where}, compte 1 (a@client-a.fr), max_sessions : 40 est hors limites "
        "(entre 1 et 16 attendu)",
        f"{where}, compte 2 (a@client-a.fr), identifiant : « a@client-a.fr » en double "
        "(comptes 1 et 2)",
        f"{where}, compte 2 (a@client-a.fr), mot_de_passe_commande : la commande a échoué "
        "(code de sortie 1)",
        f"{where}, compte 3 (b@client-b.fr), mot_passe : clé inconnue "
        "(vouliez-vous dire « mot_de_passe » ?)",
        f"{where}, compte 3 (b@client-b.fr), mot_de_passe : obligatoire (mot_de_passe, ou "
        "mot_de_passe_commande qui l'écrit)",
    ]
    assert "source « pigeon » inconnue" in problems[4]
    assert_no_password_in(problems)
    assert_no_password_in([str(ConfigError(problems))])
