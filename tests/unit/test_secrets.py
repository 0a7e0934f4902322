"""Secrets never show, and every registered value is hidden in text, bytes and logs."""

from __future__ import annotations

import pickle
import secrets as stdlib_secrets
from collections.abc import Iterator

import pytest
from loguru import logger

from robot.secrets import (
    MASK,
    Secret,
    install_log_redaction,
    redact,
    redact_bytes,
    register,
    registered,
)


def fresh(prefix: str = "Mdp") -> str:
    """A value no other test registered (the registry is process-wide)."""
    return f"{prefix}-{stdlib_secrets.token_hex(6)}"


def test_secret_never_shows_its_value() -> None:
    value = fresh()
    secret = Secret(value)

    assert repr(secret) == "Secret('********')"
    assert str(secret) == "Secret('********')"
    assert f"{secret}" == "Secret('********')"
    assert value not in repr([secret, {"password": secret}])
    assert secret.reveal() == value


def test_secret_is_not_equal_to_its_plain_string() -> None:
    value = fresh()

    assert Secret(value) != value
    assert value != Secret(value)
    assert Secret(value) == Secret(value)
    assert Secret(value) != Secret(fresh())


def test_secret_is_true_only_when_not_empty() -> None:
    assert Secret(fresh())
    assert not Secret("")


def test_secret_registers_itself() -> None:
    value = fresh()
    Secret(value)

    assert value in registered()


def test_pickled_secret_keeps_its_value_and_its_mask() -> None:
    value = fresh()

    copy = pickle.loads(pickle.dumps(Secret(value)))

    assert copy.reveal() == value
    assert repr(copy) == "Secret('********')"


def test_redact_hides_every_registered_value() -> None:
    password, code = fresh(), "583920"
    register(password)
    register(code)

    text = f"login avec {password} puis le code {code}."

    assert redact(text) == f"login avec {MASK} puis le code {MASK}."


def test_redact_leaves_a_code_that_is_only_part_of_a_longer_number() -> None:
    register("417263")

    assert redact("code 417263, horodatage 17962020054172630") == (
        f"code {MASK}, horodatage 17962020054172630"
    )
    assert redact_bytes(b'{"t":14172639,"code":"417263"}') == (
        b'{"t":14172639,"code":"' + MASK.encode() + b'"}'
    )


def test_redact_replaces_the_longest_value_first() -> None:
    short = fresh("abc")
    long = short + "-suite"
    register(short)
    register(long)

    assert redact(f"[{long}] [{short}]") == f"[{MASK}] [{MASK}]"


def test_redact_hides_a_value_encoded_in_a_form_body_or_json() -> None:
    value = "p@ss w0rd&" + stdlib_secrets.token_hex(3)
    register(value)

    form_body = "identifiant=a%40b.fr&mot_de_passe=" + value.replace("@", "%40").replace(
        " ", "+"
    ).replace("&", "%26")
    json_text = '{"password": "' + value + '"}'

    assert value.split("&")[1] not in redact(form_body)
    assert redact(json_text) == '{"password": "' + MASK + '"}'


def test_redact_bytes_hides_registered_values_in_artifacts() -> None:
    cookie = fresh("sess")
    register(cookie)

    data = b"\x00\x01Cookie: session=" + cookie.encode() + b"; Path=/\xff"

    assert redact_bytes(data) == b"\x00\x01Cookie: session=" + MASK.encode() + b"; Path=/\xff"


def test_values_too_short_to_hide_are_not_registered() -> None:
    register("abc")

    assert "abc" not in registered()
    assert redact("abc") == "abc"


@pytest.fixture
def captured_logs() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(
        lambda m: lines.append(str(m)),
        format="{message} {extra}\n{exception}",
        level="DEBUG",
        backtrace=True,
        diagnose=True,  # loguru's variable values in tracebacks: the leak to prevent
    )
    install_log_redaction()
    try:
        yield lines
    finally:
        logger.remove(sink)


def test_log_redaction_hides_secrets_in_messages_and_extra(captured_logs: list[str]) -> None:
    password = Secret(fresh())

    logger.bind(champ=password.reveal()).info("saisie de {}", password.reveal())

    assert password.reveal() not in "".join(captured_logs)
    assert MASK in captured_logs[0]


def test_log_redaction_hides_secrets_in_exceptions_and_their_locals(
    captured_logs: list[str],
) -> None:
    code = fresh("otp")
    register(code)

    def fail(typed: str) -> None:
        raise RuntimeError(f"code refusé : {typed}")

    try:
        fail(code)
    except RuntimeError:
        logger.exception("échec de la connexion")

    text = "".join(captured_logs)
    assert "échec de la connexion" in text
    assert "RuntimeError: code refusé : " + MASK in text
    assert code not in text
