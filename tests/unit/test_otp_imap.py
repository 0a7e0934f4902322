"""The IMAP one-time-code source (robot/otp/imap.py) without a mail server: its address, its
settings, the code found in a message (robot/otp/_mail.py, shared with the Maildir source), and
its refusal to send a password over a plain connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from robot.config import ConfigError, load_config
from robot.otp import OtpError, check_otp_spec, make_otp_source
from robot.otp._mail import MailCode, read_code
from robot.otp.imap import (
    ImapOtp,
    ImapTarget,
    _utf7,
    make_imap_otp,
    parse_imap_spec,
    search_since,
)
from robot.secrets import Secret
from robot.setup import dovecot as system_deps

DATA = Path(__file__).parent / "data" / "otp"
PARIS = ZoneInfo("Europe/Paris")
RECIPIENT = "comptable@exemple-fournisseur.fr"
SINCE = datetime(2026, 11, 27, 10, 0, 0, tzinfo=PARIS)
LEAKED = "Fuite-Du-Mot-De-Passe-31"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "imaps://codes@imap.exemple.fr/INBOX",
            ImapTarget("imap.exemple.fr", 993, "codes", "INBOX", "tls", "delete"),
        ),
        (
            "IMAP+STARTTLS://codes@imap.exemple.fr",
            ImapTarget("imap.exemple.fr", 143, "codes", "INBOX", "starttls", "delete"),
        ),
        (
            "imap://comptable@exemple.fr@imap.exemple.fr:993/INBOX",
            ImapTarget("imap.exemple.fr", 993, "comptable@exemple.fr", "INBOX", "tls", "delete"),
        ),
        (
            "imap://comptable%40exemple.fr@127.0.0.1:1143/Codes%20Chorus?consume=seen",
            ImapTarget(
                "127.0.0.1", 1143, "comptable@exemple.fr", "Codes Chorus", "starttls", "seen"
            ),
        ),
    ],
)
def test_an_imap_address_gives_server_port_user_folder_and_security(
    spec: str, expected: ImapTarget
) -> None:
    assert parse_imap_spec(spec) == expected
    assert check_otp_spec(spec) is None


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("imaps://imap.exemple.fr/INBOX", "identifiant IMAP manquant"),
        ("imaps://codes@/INBOX", "serveur IMAP manquant"),
        ("imaps://codes@imap.exemple.fr:port/INBOX", "port incorrect"),
        ("imaps://codes@imap.exemple.fr/INBOX?consume=jamais", "consume=delete et consume=seen"),
        ("imaps://codes@imap.exemple.fr/INBOX?effacer=oui", "paramètre de l'adresse IMAP inconnu"),
        (f"imaps://codes:{LEAKED}@imap.exemple.fr/INBOX", "CHORUS_OTP_IMAP_PASSWORD"),
    ],
)
def test_a_wrong_imap_address_is_refused_in_french_without_quoting_it(
    spec: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        parse_imap_spec(spec)

    problem = check_otp_spec(spec)
    assert problem is not None and reason in problem
    assert LEAKED not in str(caught.value) + problem


def test_an_unknown_source_holding_an_address_is_not_quoted() -> None:
    problem = check_otp_spec(f"imapss://codes:{LEAKED}@imap.exemple.fr")

    assert problem is not None and problem.startswith("source inconnue")
    assert LEAKED not in problem
    assert "imaps://identifiant@serveur/INBOX" in problem


def test_make_otp_source_builds_an_imap_source_with_the_password_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cafile = tmp_path / "ac.pem"
    cafile.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    monkeypatch.setenv("CHORUS_OTP_IMAP_PASSWORD", LEAKED)
    monkeypatch.setenv("CHORUS_OTP_IMAP_CAFILE", str(cafile))

    source = make_otp_source("imaps://codes@imap.exemple.fr/INBOX", default_maildir=None)

    assert isinstance(source, ImapOtp)
    assert source.target.host == "imap.exemple.fr" and source.cafile == cafile
    assert source.timeout_s == 60
    assert LEAKED not in repr(source)


def test_the_configuration_password_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CHORUS_OTP_IMAP_PASSWORD", raising=False)
    monkeypatch.delenv("CHORUS_OTP_IMAP_CAFILE", raising=False)

    source = make_otp_source(
        "imap+starttls://codes@imap.exemple.fr",
        default_maildir=None,
        timeout_s=5,
        imap_password=Secret("depuis-la-configuration"),
    )

    assert isinstance(source, ImapOtp) and source.timeout_s == 5 and source.cafile is None


def test_an_imap_source_without_password_or_with_a_missing_ca_file_is_refused(
    tmp_path: Path,
) -> None:
    spec = "imaps://codes@imap.exemple.fr/INBOX"

    with pytest.raises(ValueError, match="CHORUS_OTP_IMAP_PASSWORD : obligatoire"):
        make_imap_otp(spec, environ={})
    with pytest.raises(
        ValueError, match=r"CHORUS_OTP_IMAP_CAFILE : « .*absente\.pem » n'existe pas"
    ):
        make_imap_otp(
            spec,
            environ={
                "CHORUS_OTP_IMAP_PASSWORD": "x1y2z3",
                "CHORUS_OTP_IMAP_CAFILE": str(tmp_path / "absente.pem"),
            },
        )


def test_the_configuration_requires_the_imap_password_and_an_existing_ca_file(
    tmp_path: Path,
) -> None:
    environ = {
        "CHORUS_OTP_SOURCE": "imaps://codes@imap.exemple.fr/INBOX",
        "CHORUS_OTP_IMAP_CAFILE": str(tmp_path / "absente.pem"),
    }

    with pytest.raises(ConfigError) as caught:
        load_config(environ, dotenv=None)

    assert "CHORUS_OTP_IMAP_PASSWORD : obligatoire avec une source IMAP" in caught.value.problems
    assert any(p.startswith("CHORUS_OTP_IMAP_CAFILE : ") for p in caught.value.problems)


def test_the_configuration_keeps_the_imap_password_secret() -> None:
    config = load_config(
        {"CHORUS_OTP_SOURCE": "imaps://codes@imap.exemple.fr", "CHORUS_OTP_IMAP_PASSWORD": LEAKED},
        dotenv=None,
    )

    assert config.otp_imap_password is not None
    assert config.otp_imap_password.reveal() == LEAKED
    assert config.describe()["CHORUS_OTP_IMAP_PASSWORD"] == "********"
    assert LEAKED not in repr(config) + str(config.describe())


def test_read_code_takes_the_portal_code_sent_to_the_recipient_after_login() -> None:
    found = read_code((DATA / "code-recent.eml").read_bytes(), since=SINCE, recipient=RECIPIENT)

    assert found == MailCode(datetime(2026, 11, 27, 10, 0, 5, tzinfo=PARIS), "482913")
    assert "482913" not in repr(found)


@pytest.mark.parametrize(
    "sample", ["code-yesterday.eml", "code-other-recipient.eml", "rejection-notice.eml"]
)
def test_read_code_ignores_old_foreign_and_unrelated_mail(sample: str) -> None:
    raw = (DATA / sample).read_bytes()

    assert read_code(raw, since=SINCE, recipient=RECIPIENT) is None


@pytest.mark.parametrize(
    "date_header",
    [b"X-Old-Date:", b"Date: pas une date\nX-Old-Date:"],
    ids=["no-date", "unreadable-date"],
)
def test_read_code_uses_the_arrival_time_when_the_message_has_no_readable_date(
    date_header: bytes,
) -> None:
    raw = (DATA / "code-recent.eml").read_bytes().replace(b"Date:", date_header, 1)
    arrived = datetime(2026, 11, 27, 10, 0, 30, tzinfo=PARIS)

    found = read_code(raw, since=SINCE, recipient=RECIPIENT, received=arrived)

    assert found is not None and found.sent == arrived
    assert read_code(raw, since=SINCE, recipient=RECIPIENT) is None


def test_read_code_takes_a_date_without_time_zone_as_utc() -> None:
    raw = (DATA / "code-recent.eml").read_bytes()
    raw = raw.replace(b"10:00:05 +0100", b"09:00:05 -0000")  # 10:00:05 in Paris, in UTC

    found = read_code(raw, since=SINCE, recipient=RECIPIENT)

    assert found is not None and found.sent == datetime(2026, 11, 27, 9, 0, 5, tzinfo=UTC)
    assert read_code(raw, since=SINCE.replace(minute=1), recipient=RECIPIENT) is None


def test_the_search_starts_a_day_before_the_login_since_servers_compare_their_own_dates() -> None:
    assert search_since(SINCE) == "26-Nov-2026"
    assert search_since(datetime(2027, 1, 1, 0, 0, 2, tzinfo=PARIS)) == "30-Dec-2026"


def test_folder_names_are_sent_in_imap_modified_utf7() -> None:
    assert _utf7("INBOX") == "INBOX"
    assert _utf7("Boîte de réception") == "Bo&AO4-te de r&AOk-ception"
    assert _utf7("R&D") == "R&-D"


class PlainImapServer:
    """An IMAP server without TLS nor STARTTLS that records every byte it receives."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.received = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection, connection.makefile("rwb") as stream:
            stream.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Serveur sans TLS\r\n")
            stream.flush()
            for line in stream:
                self.received += line
                tag, _, command = line.decode().partition(" ")
                if command.upper().startswith("LOGOUT"):
                    stream.write(f"* BYE\r\n{tag} OK fin\r\n".encode())
                    stream.flush()
                    return
                if command.upper().startswith("CAPABILITY"):
                    stream.write(f"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK fait\r\n".encode())
                else:
                    stream.write(f"{tag} NO non\r\n".encode())
                stream.flush()


@pytest.fixture
def plain_server() -> Iterator[PlainImapServer]:
    server = PlainImapServer()
    yield server
    server.listener.close()
    server.thread.join(timeout=5)


def test_no_password_is_sent_to_a_server_that_offers_no_starttls(
    plain_server: PlainImapServer,
) -> None:
    target = parse_imap_spec(f"imap://codes@127.0.0.1:{plain_server.port}/INBOX")
    source = ImapOtp(target, Secret(LEAKED), timeout_s=2)

    with pytest.raises(OtpError, match="ne propose pas STARTTLS"):
        source.get_code(since=SINCE, recipient=RECIPIENT)

    plain_server.thread.join(timeout=5)
    assert LEAKED.encode() not in plain_server.received
    assert b"LOGIN" not in plain_server.received.upper()
    assert b"AUTHENTICATE" not in plain_server.received.upper()


def test_setup_reports_the_dovecot_it_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system_deps, "find_dovecot", lambda: "/usr/sbin/dovecot")

    assert system_deps.ensure_dovecot() == "Dovecot (tests IMAP) : /usr/sbin/dovecot"


def test_setup_without_dovecot_and_without_root_says_what_to_install_and_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(system_deps, "find_dovecot", lambda: None)
    monkeypatch.setattr(system_deps, "_is_root_debian", lambda: False)

    message = system_deps.ensure_dovecot()

    assert "apt-get install dovecot-imapd" in message and "make setup" in message
    assert system_deps.main() == 0
