"""``CHORUS_JOURNAL`` names a SQLite file or a PostgreSQL server; ``CHORUS_LEASE_S`` the
lease. The server's password never shows: not in ``repr``, ``describe()``, a refusal, nor
the error of a journal that cannot be reached."""

from __future__ import annotations

import pickle
import socket
import traceback
from pathlib import Path
from urllib.parse import quote

import pytest
from journal_support import PG_PASSWORD
from pg_support import PostgresServer

from robot.config import Config, ConfigError, DatabaseUrl, load_config
from robot.run.journal import Journal, JournalError, journal_target, open_journal
from robot.secrets import redact
from robot.setup import postgresql as setup_postgresql

PASSWORD = "Mdp-du-journal-tres-secret-31"
URL = f"postgresql://chorus:{PASSWORD}@pg.exemple.fr:5433/journal?sslmode=require"
MASKED = "postgresql://chorus:********@pg.exemple.fr:5433/journal?sslmode=require"


def _shown(config: Config) -> str:
    return repr(config) + str(config) + str(config.describe()) + repr(config.journal_url)


def test_a_postgresql_address_is_the_journal_and_its_password_is_masked() -> None:
    config = load_config({"CHORUS_JOURNAL": URL}, dotenv=None)

    url = config.journal_url
    assert url is not None and config.journal is None
    assert (url.host, url.port, url.database, url.user) == (
        "pg.exemple.fr",
        5433,
        "journal",
        "chorus",
    )
    assert url.password is not None and url.password.reveal() == PASSWORD
    assert url.reveal() == URL
    assert config.describe()["CHORUS_JOURNAL"] == MASKED == str(url)
    assert PASSWORD not in _shown(config)
    assert redact(f"connexion à {URL}") == f"connexion à {MASKED}"


def test_postgres_scheme_and_encoded_passwords_are_understood() -> None:
    password = "a:b@c/d%e f"
    url = DatabaseUrl.parse(f"postgres://robot:{quote(password, safe='')}@10.0.0.5/chorus")
    assert url.password is not None and url.password.reveal() == password
    assert url.masked() == "postgresql://robot:********@10.0.0.5/chorus"
    assert DatabaseUrl.parse(url.reveal()) == url
    assert password not in repr(url) and quote(password, safe="") not in repr(url)


def test_the_config_travels_to_worker_processes_with_its_journal() -> None:
    config = load_config({"CHORUS_JOURNAL": URL, "CHORUS_LEASE_S": "90"}, dotenv=None)
    copy = pickle.loads(pickle.dumps(config))
    assert copy == config and copy.journal_url == config.journal_url and copy.lease_s == 90


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        (f"postgresql://chorus:{PASSWORD}@/journal", "n'indique pas de serveur"),
        (f"postgresql://chorus:{PASSWORD}@pg.exemple.fr:5432/", "doit nommer une base"),
        (f"postgresql://chorus:{PASSWORD}@pg.exemple.fr:5432/a/b", "doit nommer une base"),
        (f"postgresql://chorus:{PASSWORD}@pg.exemple.fr:99999/journal", "port"),
        (f"mysql://chorus:{PASSWORD}@pg.exemple.fr/journal", "« mysql:// » n'est pas"),
        (f"postgresql://pg.exemple.fr/journal?password={PASSWORD}", "pas en paramètre"),
    ],
)
def test_a_wrong_address_is_refused_without_quoting_its_password(address: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"CHORUS_JOURNAL": address}, dotenv=None)

    (problem,) = caught.value.problems
    assert problem.startswith("CHORUS_JOURNAL : ") and reason in problem
    assert PASSWORD not in str(caught.value)


def test_a_journal_file_stays_a_file() -> None:
    config = load_config({"CHORUS_JOURNAL": "~/chorus/journal.sqlite"}, dotenv=None)
    assert config.journal == Path.home() / "chorus" / "journal.sqlite"
    assert config.journal_url is None
    assert config.describe()["CHORUS_JOURNAL"] == str(config.journal)
    assert journal_target(config) == config.journal


def test_a_config_cannot_name_a_file_and_a_server() -> None:
    with pytest.raises(ConfigError, match="pas les deux"):
        Config(journal=Path("j.sqlite"), journal_url=DatabaseUrl.parse(URL))


def test_the_lease_is_sixty_seconds_unless_said() -> None:
    assert load_config({}, dotenv=None).lease_s == 60
    assert load_config({"CHORUS_LEASE_S": "120"}, dotenv=None).lease_s == 120
    problems = []
    for value in ("2", "deux"):
        with pytest.raises(ConfigError) as caught:
            load_config({"CHORUS_LEASE_S": value}, dotenv=None)
        problems += caught.value.problems
    assert problems == [
        "CHORUS_LEASE_S : 2 est hors limites (entre 5 et 3600 attendu)",
        "CHORUS_LEASE_S : « deux » n'est pas un nombre entier",
    ]


def test_the_journal_the_config_names_is_opened_with_its_lease(pg_url: str, tmp_path: Path) -> None:
    on_server = open_journal(
        load_config({"CHORUS_JOURNAL": pg_url, "CHORUS_LEASE_S": "30"}, dotenv=None)
    )
    try:
        assert (on_server.backend, on_server.lease_s) == ("postgresql", 30.0)
        assert PG_PASSWORD not in repr(on_server)
    finally:
        on_server.close()
    in_file = open_journal(load_config({"CHORUS_OUTPUT_DIR": str(tmp_path)}, dotenv=None))
    try:
        assert (in_file.backend, in_file.path) == ("sqlite", tmp_path / "journal.sqlite")
    finally:
        in_file.close()


def _error_text(exc: BaseException) -> str:
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc))


def test_a_missing_database_is_reported_without_the_password(pg_server: PostgresServer) -> None:
    url = DatabaseUrl.parse(pg_server.url("absente", password=PASSWORD))
    with pytest.raises(JournalError) as caught:
        Journal(url)

    text = _error_text(caught.value)
    assert "injoignable" in text and "absente" in text
    assert url.masked() in str(caught.value)
    assert PASSWORD not in text


def test_an_unreachable_server_is_reported_without_the_password() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = DatabaseUrl.parse(f"postgresql://chorus:{PASSWORD}@127.0.0.1:{port}/journal")
    with pytest.raises(JournalError) as caught:
        Journal(url)

    text = _error_text(caught.value)
    assert str(caught.value).startswith(f"Journal PostgreSQL {url.masked()} injoignable : ")
    assert PASSWORD not in text


# -- make setup -------------------------------------------------------------------------------
def test_setup_reports_the_postgresql_it_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(setup_postgresql, "find_pg_bin", lambda: Path("/usr/lib/postgresql/15/bin"))
    assert setup_postgresql.ensure_postgresql() == (
        "PostgreSQL (tests du journal partagé) : /usr/lib/postgresql/15/bin"
    )


def test_setup_without_postgresql_and_without_root_says_what_to_install_and_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(setup_postgresql, "find_pg_bin", lambda: None)
    monkeypatch.setattr(setup_postgresql, "_is_root_debian", lambda: False)

    message = setup_postgresql.ensure_postgresql()
    assert "apt-get install postgresql" in message and "make setup" in message
    assert setup_postgresql.main() == 0


def test_setup_finds_the_server_programs_of_this_machine() -> None:
    found = setup_postgresql.find_pg_bin()
    assert found is not None
    assert all((found / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))
