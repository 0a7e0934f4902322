"""One-time codes from a real IMAP mailbox: a Dovecot started by the tests, real TLS, real mail.

The messages are the sandbox's own one-time-code e-mail (``sandbox.security.otp_message``),
delivered into the Maildir Dovecot serves.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from _dovecot import PASSWORD, Certificate, Dovecot, Mailbox, make_certificate, start_dovecot

from robot.otp import OtpError, OtpSource, make_otp_source
from robot.otp.imap import ImapOtp
from robot.secrets import registered
from sandbox.security import otp_message

#: The portal account's address: the one-time codes are sent to it.
USER = "comptable@exemple-fournisseur.fr"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


def running(root: Path, certificate: Certificate) -> Iterator[Dovecot]:
    server = start_dovecot(root, certificate)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def dovecot(
    tmp_path_factory: pytest.TempPathFactory, certificate: Certificate
) -> Iterator[Dovecot]:
    yield from running(tmp_path_factory.mktemp("dc"), certificate)


def robot_env(monkeypatch: pytest.MonkeyPatch, server: Dovecot) -> Mailbox:
    """A fresh mailbox, and the robot's environment for it: password and private CA."""
    monkeypatch.setenv("CHORUS_OTP_IMAP_PASSWORD", PASSWORD)
    monkeypatch.setenv("CHORUS_OTP_IMAP_CAFILE", str(server.cafile))
    return server.new_mailbox()


@pytest.fixture
def mailbox(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> Mailbox:
    return robot_env(monkeypatch, dovecot)


@pytest.fixture
def mailbox_alone(
    tmp_path_factory: pytest.TempPathFactory,
    certificate: Certificate,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Mailbox]:
    """A mailbox on a server of its own: after a failed login, Dovecot slows the next ones
    from the same address by seconds (« auth penalty »), which would slow the other tests."""
    # Not tmp_path: its long name would not leave room for Dovecot's socket paths.
    for server in running(tmp_path_factory.mktemp("dc"), certificate):
        yield robot_env(monkeypatch, server)


def code_mail(code: str, *, to: str = USER, sent: datetime | None = None) -> bytes:
    message: EmailMessage = otp_message(to, code)
    if sent is not None:
        message.replace_header("Date", format_datetime(sent))
    return bytes(message)


def source(spec: str, timeout_s: float = 0.5) -> OtpSource:
    made = make_otp_source(spec, default_maildir=None, timeout_s=timeout_s)
    assert isinstance(made, ImapOtp)
    return made


def test_imaps_source_takes_the_newest_code_sent_after_login(mailbox: Mailbox) -> None:
    login = datetime.now(UTC)
    mailbox.deliver(code_mail("111111", sent=login - timedelta(days=1)))  # an old login's
    mailbox.deliver(code_mail("222222", to="autre@exemple-fournisseur.fr", sent=login))
    mailbox.deliver(code_mail("482913", sent=login))
    mailbox.deliver(code_mail("654321", sent=login + timedelta(seconds=2)))

    code = source(mailbox.spec()).get_code(since=login, recipient=USER)

    assert code == "654321"
    assert "654321" in registered()
    assert len(mailbox.messages()) == 3  # only the message taken is gone


def test_a_code_sent_before_the_login_is_ignored_and_left_unread(mailbox: Mailbox) -> None:
    login = datetime.now(UTC)
    mailbox.deliver(code_mail("111111", sent=login - timedelta(minutes=10)))

    with pytest.raises(OtpError, match="Aucun code de vérification reçu") as caught:
        source(mailbox.spec()).get_code(since=login, recipient=USER)

    assert "111111" not in str(caught.value)
    [untouched] = mailbox.messages()
    assert not untouched.name.endswith("S")  # neither read nor deleted


def test_a_code_taken_from_imap_is_expunged_and_never_reused(mailbox: Mailbox) -> None:
    login = datetime.now(UTC)
    delivered = mailbox.deliver(code_mail("907614", sent=login))
    imap = source(mailbox.spec())

    assert imap.get_code(since=login, recipient=USER) == "907614"
    assert delivered.name not in {p.name.partition(":")[0] for p in mailbox.messages()}
    with pytest.raises(OtpError, match="Aucun code de vérification reçu pour " + USER):
        imap.get_code(since=login, recipient=USER)


def test_starttls_source_with_consume_seen_keeps_the_message_marked_read(
    mailbox: Mailbox,
) -> None:
    login = datetime.now(UTC)
    mailbox.deliver(code_mail("135792", sent=login))
    imap = source(mailbox.spec(starttls=True, query="consume=seen"))

    assert imap.get_code(since=login, recipient=USER) == "135792"
    [kept] = mailbox.messages()
    assert kept.parent.name == "cur" and kept.name.endswith(":2,S")
    with pytest.raises(OtpError, match="Aucun code de vérification reçu"):
        imap.get_code(since=login, recipient=USER)


def test_a_code_arriving_while_the_robot_waits_is_picked_up(mailbox: Mailbox) -> None:
    login = datetime.now(UTC)
    arrival = threading.Timer(0.5, mailbox.deliver, args=(code_mail("246801", sent=login),))
    arrival.start()
    try:
        code = source(mailbox.spec(), timeout_s=10).get_code(since=login, recipient=USER)
    finally:
        arrival.cancel()
        arrival.join()

    assert code == "246801"


def test_a_wrong_imap_password_is_an_error_that_never_shows_the_password(
    mailbox_alone: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox = mailbox_alone
    wrong = "Mauvais-mot-de-passe-IMAP-9"
    monkeypatch.setenv("CHORUS_OTP_IMAP_PASSWORD", wrong)
    mailbox.deliver(code_mail("975310"))

    with pytest.raises(OtpError, match="a refusé l'identifiant") as caught:
        source(mailbox.spec()).get_code(since=datetime.now(UTC), recipient=USER)

    shown = str(caught.value) + repr(caught.value)
    assert wrong not in shown and PASSWORD not in shown
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_server_certificate_from_an_unknown_authority_is_refused(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHORUS_OTP_IMAP_CAFILE")

    for spec in (mailbox.spec(), mailbox.spec(starttls=True)):
        with pytest.raises(OtpError, match=r"Certificat du serveur IMAP 127\.0\.0\.1:\d+ refusé"):
            source(spec).get_code(since=datetime.now(UTC), recipient=USER)


def test_a_missing_imap_folder_is_reported_in_french(mailbox: Mailbox) -> None:
    imap = source(mailbox.spec(folder="Codes%20Chorus"))

    with pytest.raises(OtpError, match="Dossier « Codes Chorus » introuvable"):
        imap.get_code(since=datetime.now(UTC), recipient=USER)
