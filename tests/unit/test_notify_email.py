"""The end-of-run e-mail: sent over STARTTLS or TLS to a real (local) SMTP server, with the
French summary in its body and ``resultats.csv`` attached; a failure is said and never
raised; the password never shows.

Each test starts its own server (aiosmtpd, in a thread, on a free 127.0.0.1 port) with a
certificate made for it, and stops it; ``Controller.start`` returns once the server answers.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from loguru import logger

from robot.config import Config, ConfigError, SmtpServer, load_config
from robot.run.notify import notify
from robot.secrets import Secret

USER = "robot@exemple-fournisseur.fr"
PASSWORD = "Mot-de-passe-SMTP-7c1e"
CSV = "\ufeffFacture;Nature;Résultat\r\nF-1;Rejetée;Terminée\r\n".encode()


@dataclass
class Received:
    """What the server received: messages, whether each came over TLS, who logged in."""

    messages: list[EmailMessage] = field(default_factory=list)
    over_tls: list[bool] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


class _Handler:
    def __init__(self, received: Received) -> None:
        self.received = received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.messages.append(message)
        # STARTTLS or TLS from the start: the connection the message came over is encrypted.
        self.received.over_tls.append(server.transport.get_extra_info("ssl_object") is not None)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and localhost): (cert PEM, key PEM)."""
    folder = tmp_path_factory.mktemp("smtp-tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "serveur.pem", folder / "serveur.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@dataclass
class SmtpServerUnderTest:
    port: int
    received: Received


def _authenticator(received: Received) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == USER
            and data.password.decode() == PASSWORD
        )
        if ok:
            received.logins.append(data.login.decode())
        return AuthResult(success=ok)

    return check


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServerUnderTest]:
    """A submission server on 127.0.0.1 offering STARTTLS, requiring it and a login."""
    received = Received()
    port = _free_port()
    controller = Controller(
        _Handler(received),
        hostname="127.0.0.1",
        port=port,
        tls_context=_server_context(certificate),
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticator(received),
    )
    controller.start()
    try:
        yield SmtpServerUnderTest(port, received)
    finally:
        controller.stop()


@pytest.fixture
def plain_server() -> Iterator[SmtpServerUnderTest]:
    """A server that offers no STARTTLS: the robot must send it nothing."""
    received = Received()
    port = _free_port()
    controller = Controller(_Handler(received), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServerUnderTest(port, received)
    finally:
        controller.stop()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    summary = {
        "run_id": "20261130-170312-a1b2",
        "portal_url": "https://chorus-pro.gouv.fr",
        "dry_run": False,
        "started_at": "2026-11-30T17:03:12.345+01:00",
        "ended_at": "2026-11-30T17:09:40.001+01:00",
        "exit_code": 1,
        "totals": {"done": 1, "business_failure": 1},
        "transactions": [
            {"numero_rejete": "F-1", "state": "done", "message": "Facture F-1-R émise."},
            {"numero_rejete": "F-2", "state": "business_failure", "message": "SIRET inconnu."},
        ],
    }
    (tmp_path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (tmp_path / "resultats.csv").write_bytes(CSV)
    return tmp_path


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    seen: list[str] = []
    sink = logger.add(lambda message: seen.append(str(message)), level="WARNING")
    yield seen
    logger.remove(sink)


def _config(url: str, cafile: Path, **extra: Any) -> Config:
    return Config(
        notify_email="compta@exemple-fournisseur.fr, audit@exemple-fournisseur.fr",
        smtp_url=SmtpServer.parse(url),
        smtp_cafile=cafile,
        **extra,
    )


def test_results_are_emailed_over_starttls_with_the_csv_attached(
    starttls_server: SmtpServerUnderTest, certificate: tuple[Path, Path], run_dir: Path
) -> None:
    config = _config(
        f"smtp://robot%40exemple-fournisseur.fr@127.0.0.1:{starttls_server.port}",
        certificate[0],
        smtp_password=Secret(PASSWORD),
    )

    assert notify(config, run_dir) is True

    received = starttls_server.received
    assert received.over_tls == [True]
    assert received.logins == [USER]
    [message] = received.messages
    assert message["From"] == USER
    assert message["To"] == "compta@exemple-fournisseur.fr, audit@exemple-fournisseur.fr"
    assert "20261130-170312-a1b2" in str(message["Subject"])
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    for expected in (
        "Le run 20261130-170312-a1b2 de chorus-robot est terminé.",
        "Début : 30/11/2026 17:03:12 (UTC+01:00)",
        "À examiner par une personne : 1",
        "F-2 : SIRET inconnu.",
        "resultats.csv",
    ):
        assert expected in text, expected
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "resultats.csv"
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_payload(decode=True) == CSV


def test_results_are_emailed_over_implicit_tls(
    certificate: tuple[Path, Path], run_dir: Path
) -> None:
    received = Received()
    port = _free_port()
    controller = Controller(
        _Handler(received),
        hostname="127.0.0.1",
        port=port,
        ssl_context=_server_context(certificate),
    )
    controller.start()
    try:
        config = _config(
            f"smtps://127.0.0.1:{port}", certificate[0], smtp_from="robot@exemple-fournisseur.fr"
        )
        assert notify(config, run_dir) is True
    finally:
        controller.stop()
    assert received.over_tls == [True]
    assert [m["From"] for m in received.messages] == ["robot@exemple-fournisseur.fr"]


def test_a_server_without_starttls_gets_nothing_and_the_failure_is_only_logged(
    plain_server: SmtpServerUnderTest,
    certificate: tuple[Path, Path],
    run_dir: Path,
    warnings: list[str],
) -> None:
    config = _config(
        f"smtp://robot%40exemple-fournisseur.fr@127.0.0.1:{plain_server.port}",
        certificate[0],
        smtp_password=Secret(PASSWORD),
    )

    assert notify(config, run_dir) is False  # no exception: the run's exit code stands

    assert plain_server.received.messages == []
    assert any("Courriel de fin de run impossible" in line for line in warnings)
    assert not any(PASSWORD in line for line in warnings)


def test_a_server_with_an_unknown_certificate_is_refused(
    starttls_server: SmtpServerUnderTest, run_dir: Path, warnings: list[str]
) -> None:
    # No CHORUS_SMTP_CAFILE: the self-signed certificate is not trusted, nothing is sent.
    config = Config(
        notify_email="compta@exemple-fournisseur.fr",
        smtp_url=SmtpServer.parse(
            f"smtp://robot%40exemple-fournisseur.fr@127.0.0.1:{starttls_server.port}"
        ),
        smtp_password=Secret(PASSWORD),
    )

    assert notify(config, run_dir) is False
    assert starttls_server.received.messages == []
    assert any("SSLCertVerificationError" in line for line in warnings)


def test_email_settings_are_checked_and_the_password_never_shown() -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(
            {
                "CHORUS_NOTIFY_EMAIL": "compta@exemple.fr, pas-une-adresse",
                "CHORUS_SMTP_URL": f"smtp://robot:{PASSWORD}@smtp.exemple.fr",
            },
            dotenv=None,
        )
    problems = " | ".join(refused.value.problems)
    assert "« pas-une-adresse »" in problems
    assert "CHORUS_SMTP_PASSWORD" in problems
    assert PASSWORD not in problems

    config = load_config(
        {
            "CHORUS_NOTIFY_EMAIL": "compta@exemple.fr",
            "CHORUS_SMTP_URL": "smtp://robot%40exemple.fr@smtp.exemple.fr",
            "CHORUS_SMTP_PASSWORD": PASSWORD,
        },
        dotenv=None,
    )
    assert config.smtp_url == SmtpServer("smtp.exemple.fr", 587, False, "robot@exemple.fr")
    assert PASSWORD not in repr(config) + str(config.describe())
    assert config.describe()["CHORUS_SMTP_PASSWORD"] == "********"


def test_email_needs_a_server() -> None:
    with pytest.raises(ConfigError) as refused:
        load_config({"CHORUS_NOTIFY_EMAIL": "compta@exemple.fr"}, dotenv=None)
    assert any("CHORUS_SMTP_URL : obligatoire" in p for p in refused.value.problems)
