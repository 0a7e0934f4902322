"""Authenticator codes (TOTP) on the sandbox: enrolment by the serve option and by the admin
interface, the right code accepted (± one period), a wrong one and a replay refused, both
counted towards the lockout; accounts without it keep the e-mailed code."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
import uvicorn
from typer.testing import CliRunner

from sandbox import cli
from sandbox.security import totp_step
from sandbox.server import RunningSandbox, csrf_token
from sandbox.settings import OptionError, SandboxOptions
from sandbox.web_auth import LOCKED, REUSED_CODE, WRONG_CODE

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
AUTHENTICATOR_TEXT = "Saisissez le code affiché par votre application d'authentification."
EMAIL_TEXT = "Un code de vérification a été envoyé à votre adresse électronique."


def settled() -> None:
    """Wait, when the current period ends within 2 s, for the next one: a code computed now
    is then still the current one when the sandbox checks it (a test's own margin)."""
    left = 30 - time.time() % 30
    if left < 2:
        threading.Event().wait(left + 0.05)


def code_now(secret: str = SECRET, *, periods_ago: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() - 30 * periods_ago)


def wrong_code(secret: str = SECRET) -> str:
    """A code that is none of those the sandbox accepts now."""
    accepted = {pyotp.TOTP(secret).at(time.time() + 30 * k) for k in (-2, -1, 0, 1, 2)}
    return next(c for c in (f"{n:06d}" for n in range(100_000, 200_000)) if c not in accepted)


def password_step(client: httpx.Client, user: str, password: str) -> httpx.Response:
    form = client.get("/connexion")
    return client.post(
        "/connexion",
        data={"csrf": csrf_token(form.text), "identifiant": user, "mot_de_passe": password},
    )


def code_step(client: httpx.Client, page: httpx.Response, code: str) -> httpx.Response:
    return client.post("/connexion/code", data={"csrf": csrf_token(page.text), "code": code})


def enrol(sandbox: RunningSandbox, compte: str, secret: str | None = SECRET) -> httpx.Response:
    body: dict[str, Any] = {"compte": compte}
    if secret is not None:
        body["secret"] = secret
    return sandbox.admin("POST", "totp", json=body)


def log_in_with(sandbox: RunningSandbox, code: str) -> httpx.Response:
    with sandbox.http_client(login=False) as client:
        page = password_step(client, sandbox.options.user, sandbox.options.password)
        assert page.url.path == "/connexion/code", page.text
        return code_step(client, page, code)


def mails(sandbox: RunningSandbox) -> list[Path]:
    return list((sandbox.maildir / "new").glob("*.eml"))


# -- enrolment by the admin interface ---------------------------------------------------------


def test_enrolled_account_is_asked_for_its_authenticator_code_and_no_mail_is_sent(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.reset(otp=True)  # e-mailed codes too: the authenticator replaces them
    answer = enrol(fresh_sandbox, fresh_sandbox.options.user.upper())
    assert answer.status_code == 200, answer.text
    assert answer.json()["compte"] == fresh_sandbox.options.user
    assert answer.json()["uri"].startswith("otpauth://totp/")

    with fresh_sandbox.http_client(login=False) as client:
        page = password_step(client, fresh_sandbox.options.user, fresh_sandbox.options.password)
        assert page.url.path == "/connexion/code"
        assert AUTHENTICATOR_TEXT in page.text and EMAIL_TEXT not in page.text
        assert ">Code de vérification</label>" in page.text  # the label the robot reads
        assert mails(fresh_sandbox) == []
        settled()
        home = code_step(client, page, code_now())

    assert home.url.path == "/accueil"


def test_account_without_enrolment_keeps_the_emailed_code(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.reset(otp=True)

    with fresh_sandbox.http_client(login=False) as client:
        page = password_step(client, fresh_sandbox.options.user, fresh_sandbox.options.password)

    assert EMAIL_TEXT in page.text and AUTHENTICATOR_TEXT not in page.text
    assert len(mails(fresh_sandbox)) == 1


def test_admin_draws_a_secret_when_none_is_given(fresh_sandbox: RunningSandbox) -> None:
    answer = enrol(fresh_sandbox, fresh_sandbox.options.user, secret=None)
    secret = answer.json()["secret"]
    settled()

    assert log_in_with(fresh_sandbox, code_now(secret)).url.path == "/accueil"


def test_unenrolled_account_logs_in_without_a_code_again(fresh_sandbox: RunningSandbox) -> None:
    enrol(fresh_sandbox, fresh_sandbox.options.user)

    answer = fresh_sandbox.admin("DELETE", f"totp?compte={fresh_sandbox.options.user}")

    assert answer.status_code == 200 and answer.json()["totp"] is False
    with fresh_sandbox.http_client(login=False) as client:
        page = password_step(client, fresh_sandbox.options.user, fresh_sandbox.options.password)
    assert page.url.path == "/accueil"


def test_admin_refuses_an_unknown_account_and_a_malformed_secret(
    fresh_sandbox: RunningSandbox,
) -> None:
    unknown = enrol(fresh_sandbox, "personne@exemple.fr")
    malformed = enrol(fresh_sandbox, fresh_sandbox.options.user, "pas du base32 !")
    short = enrol(fresh_sandbox, fresh_sandbox.options.user, "JBSWY3DP")
    extra = fresh_sandbox.admin("POST", "totp", json={"compte": "a@b.fr", "code": "1"})
    forged = httpx.post(f"{fresh_sandbox.url}/_admin/totp", json={"compte": "a@b.fr"})

    assert unknown.status_code == 404 and "Compte inconnu" in unknown.json()["erreur"]
    assert malformed.status_code == 422 and "base32" in malformed.json()["erreur"]
    assert short.status_code == 422 and "16 caractères" in short.json()["erreur"]
    assert extra.status_code == 422
    assert forged.status_code == 401


def test_admin_lists_the_enrolled_accounts_and_the_periods_used(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.reset(accounts=2)
    user, other = fresh_sandbox.account(1), fresh_sandbox.account(2)
    enrol(fresh_sandbox, user)
    settled()
    typed = code_now()
    assert log_in_with(fresh_sandbox, typed).url.path == "/accueil"

    comptes = fresh_sandbox.admin("GET", "totp").json()["comptes"]

    assert comptes[other] == {"totp": False, "pas_utilises": []}
    assert comptes[user]["totp"] is True
    [step] = comptes[user]["pas_utilises"]
    assert pyotp.TOTP(SECRET).at(step * 30) == typed
    assert SECRET not in str(comptes)


def test_reset_forgets_the_admin_enrolments(fresh_sandbox: RunningSandbox) -> None:
    enrol(fresh_sandbox, fresh_sandbox.options.user)

    fresh_sandbox.reset()

    with fresh_sandbox.http_client(login=False) as client:
        page = password_step(client, fresh_sandbox.options.user, fresh_sandbox.options.password)
    assert page.url.path == "/accueil"


# -- the codes ---------------------------------------------------------------------------------


def test_wrong_code_is_refused_and_the_form_stays(fresh_sandbox: RunningSandbox) -> None:
    enrol(fresh_sandbox, fresh_sandbox.options.user)

    page = log_in_with(fresh_sandbox, wrong_code())

    assert page.url.path == "/connexion/code"
    assert 'role="alert"' in page.text and WRONG_CODE in page.text
    assert AUTHENTICATOR_TEXT in page.text


def test_code_of_the_previous_period_is_accepted_but_not_two_periods_ago(
    fresh_sandbox: RunningSandbox,
) -> None:
    enrol(fresh_sandbox, fresh_sandbox.options.user)
    settled()

    too_old = log_in_with(fresh_sandbox, code_now(periods_ago=2))
    previous = log_in_with(fresh_sandbox, code_now(periods_ago=1))

    assert too_old.url.path == "/connexion/code" and WRONG_CODE in too_old.text
    assert previous.url.path == "/accueil"


def test_a_code_already_used_is_refused_as_a_replay(fresh_sandbox: RunningSandbox) -> None:
    enrol(fresh_sandbox, fresh_sandbox.options.user)
    settled()
    code = code_now()
    assert log_in_with(fresh_sandbox, code).url.path == "/accueil"

    replay = log_in_with(fresh_sandbox, code)

    assert replay.url.path == "/connexion/code"
    assert REUSED_CODE in replay.text


def test_an_older_code_after_a_newer_one_is_a_replay_too(fresh_sandbox: RunningSandbox) -> None:
    enrol(fresh_sandbox, fresh_sandbox.options.user)
    settled()
    assert log_in_with(fresh_sandbox, code_now()).url.path == "/accueil"

    older = log_in_with(fresh_sandbox, code_now(periods_ago=1))

    assert REUSED_CODE in older.text


def test_five_wrong_codes_lock_the_account_even_for_the_right_password(
    fresh_sandbox: RunningSandbox,
) -> None:
    enrol(fresh_sandbox, fresh_sandbox.options.user)
    user, password = fresh_sandbox.options.user, fresh_sandbox.options.password

    with fresh_sandbox.http_client(login=False) as client:
        page = password_step(client, user, password)
        answers = []
        for _ in range(5):
            page = code_step(client, page, wrong_code())
            answers.append(page)
        after = password_step(client, user, password)

    assert all(WRONG_CODE in a.text for a in answers[:4])
    assert answers[4].url.path == "/connexion" and LOCKED in answers[4].text
    assert after.url.path == "/connexion" and LOCKED in after.text


def test_wrong_passwords_and_wrong_codes_add_up_to_the_lockout(
    fresh_sandbox: RunningSandbox,
) -> None:
    enrol(fresh_sandbox, fresh_sandbox.options.user)
    user, password = fresh_sandbox.options.user, fresh_sandbox.options.password
    settled()
    code = code_now()
    assert log_in_with(fresh_sandbox, code).url.path == "/accueil"

    with fresh_sandbox.http_client(login=False) as client:
        for i in range(2):
            password_step(client, user, f"faux-{i}")
        page = password_step(client, user, password)  # right: does not clear the failures
        page = code_step(client, page, code)  # a replay: the third failure
        page = code_step(client, page, wrong_code())
        last = code_step(client, page, wrong_code())

    assert REUSED_CODE not in last.text
    assert last.url.path == "/connexion" and LOCKED in last.text


def test_codes_are_checked_within_one_period_either_side() -> None:
    now = 1_796_202_015.0  # 15 s into a period
    totp = pyotp.TOTP(SECRET)
    current = int(now // 30)

    found = {k: totp_step(SECRET, totp.at(now + 30 * k), now) for k in (-2, -1, 0, 1, 2)}

    assert found == {-2: None, -1: current - 1, 0: current, 1: current + 1, 2: None}
    assert totp_step(SECRET.lower(), f" {totp.at(now)} ", now) == current


# -- enrolment by the serve option -------------------------------------------------------------


def test_the_option_comes_from_the_environment_and_a_malformed_secret_is_refused() -> None:
    options = SandboxOptions.from_env({"CHORUS_SANDBOX_TOTP_SECRET": SECRET})
    assert options.totp_secret == SECRET and SECRET not in repr(options)

    with pytest.raises(OptionError) as refused:
        SandboxOptions(totp_secret="Pas-du-base32-1890!")
    assert "--totp-secret" in str(refused.value) and "Pas-du-base32" not in str(refused.value)


class _NoLogs:
    """``serve`` sets loguru up for a terminal: not in the test process."""

    @staticmethod
    def remove(*_args: Any) -> None: ...

    @staticmethod
    def add(*_args: Any, **_kwargs: Any) -> None: ...


def test_serve_option_enrols_the_user_account_until_the_admin_unenrols_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: dict[str, Any] = {}

    class InThread:
        """Serves the application ``serve`` built from a thread, so that the test goes on."""

        def __init__(self, config: uvicorn.Config, options: SandboxOptions, url: str) -> None:
            served["server"], served["options"], served["url"] = (
                uvicorn.Server(config),
                options,
                url,
            )

        def run(self, sockets: list[socket.socket]) -> None:
            server = served["server"]
            thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, daemon=True)
            thread.start()
            served["thread"] = thread

    monkeypatch.setattr(cli, "_AnnouncingServer", InThread)
    monkeypatch.setattr(cli, "logger", _NoLogs)
    token = "jeton-admin-totp-0123"
    args = ["serve", "--data", str(tmp_path), "--seed", "1", "--totp-secret", SECRET]
    args += [
        "--origines",
        "1",
    ]  # the single origin's /connexion (three: tests/sandbox/test_origins)
    result = CliRunner().invoke(cli.app, [*args, "--admin-token", token])
    assert result.exit_code == 0, result.output
    options: SandboxOptions = served["options"]
    admin = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=served["url"], follow_redirects=True) as client:
            wait_until_up(client)
            page = password_step(client, options.user, options.password)
            assert page.url.path == "/connexion/code" and AUTHENTICATOR_TEXT in page.text
            settled()
            assert code_step(client, page, code_now()).url.path == "/accueil"
            client.post("/_admin/reset", json={}, headers=admin)
            enrolled = client.get("/_admin/totp", headers=admin).json()["comptes"]
            # The option's enrolment outlives a reset; the periods used do not.
            assert enrolled[options.user] == {"totp": True, "pas_utilises": []}
            client.delete(f"/_admin/totp?compte={options.user}", headers=admin)
            client.cookies.clear()
            page = password_step(client, options.user, options.password)
    finally:
        served["server"].should_exit = True
        served["thread"].join(timeout=10)

    assert page.url.path == "/accueil"


def wait_until_up(client: httpx.Client) -> None:
    for _ in range(200):
        try:
            client.get("/health")
            return
        except httpx.TransportError:
            threading.Event().wait(0.05)
    raise AssertionError("the sandbox did not start")
