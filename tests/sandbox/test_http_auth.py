"""Login, lockout, CSRF, one-time code by e-mail, session cookie and idle expiry, over HTTP."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import httpx
import pytest

from sandbox.security import LoginGuard, OtpChallenge, OtpCheck, Session, SessionStore
from sandbox.server import RunningSandbox, csrf_token
from sandbox.settings import SandboxOptions

WRONG = "Identifiant ou mot de passe incorrect."
LOCKED = "Votre compte est temporairement verrouillé"
EXPIRED = "Votre session a expiré. Veuillez vous reconnecter."


def _post_login(client: httpx.Client, user: str, password: str) -> httpx.Response:
    form = client.get("/connexion")
    return client.post(
        "/connexion",
        data={"csrf": csrf_token(form.text), "identifiant": user, "mot_de_passe": password},
    )


def _last_mail(sandbox: RunningSandbox) -> EmailMessage:
    files = sorted((sandbox.maildir / "new").glob("*.eml"), key=lambda p: p.name)
    assert files, "no e-mail in the Maildir"
    message = email.message_from_bytes(files[-1].read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_right_password_opens_the_home_page(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client(login=False) as client:
        page = _post_login(client, fresh_sandbox.options.user, fresh_sandbox.options.password)
    assert page.url.path == "/accueil"
    assert "Se déconnecter" in page.text
    assert fresh_sandbox.options.user in page.text


def test_wrong_password_shows_the_alert_and_keeps_the_identifiant(
    fresh_sandbox: RunningSandbox,
) -> None:
    with fresh_sandbox.http_client(login=False) as client:
        page = _post_login(client, fresh_sandbox.options.user, "mauvais")
    assert page.url.path == "/connexion"
    assert 'role="alert"' in page.text and WRONG in page.text
    assert f'value="{fresh_sandbox.options.user}"' in page.text


def test_fifth_failure_locks_the_account_even_for_the_right_password(
    fresh_sandbox: RunningSandbox,
) -> None:
    user = fresh_sandbox.options.user
    with fresh_sandbox.http_client(login=False) as client:
        answers = [_post_login(client, user, f"faux-{i}").text for i in range(5)]
        after = _post_login(client, user, fresh_sandbox.options.password)
    assert all(WRONG in text for text in answers[:4])
    assert LOCKED in answers[4] and "Réessayez dans une heure." in answers[4]
    assert after.url.path == "/connexion" and LOCKED in after.text


def test_lockout_lasts_one_hour_as_on_the_real_portal() -> None:
    now = [1000.0]
    guard = LoginGuard(clock=lambda: now[0])
    locked = [guard.failure("Comptable@Exemple.fr") for _ in range(5)]
    assert locked == [False, False, False, False, True]
    now[0] += 15 * 60  # the sandbox's former, wrong, duration
    assert guard.is_locked("comptable@exemple.fr")
    now[0] = 1000.0 + 3600 - 1
    assert guard.is_locked("comptable@exemple.fr")
    now[0] = 1000.0 + 3600
    assert not guard.is_locked("comptable@exemple.fr")
    assert not guard.failure("comptable@exemple.fr")  # the count starts again after the lock


def test_reset_lifts_the_lockout(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client(login=False) as client:
        for i in range(5):
            _post_login(client, fresh_sandbox.options.user, f"faux-{i}")
    fresh_sandbox.reset()
    with fresh_sandbox.http_client() as client:
        assert client.get("/accueil").url.path == "/accueil"


def test_post_without_the_csrf_token_is_refused(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client(login=False) as client:
        client.get("/connexion")
        page = client.post(
            "/connexion",
            data={"identifiant": fresh_sandbox.options.user, "mot_de_passe": "x", "csrf": "forged"},
        )
    assert page.status_code == 403
    assert "Requête refusée" in page.text


def test_logged_in_post_with_another_sessions_token_is_refused(
    fresh_sandbox: RunningSandbox,
) -> None:
    with fresh_sandbox.http_client() as first, fresh_sandbox.http_client() as second:
        token_of_first = csrf_token(first.get("/factures-emises/synthese").text)
        page = second.post(
            "/factures-emises/synthese/traiter", data={"csrf": token_of_first, "ids": "1"}
        )
    assert page.status_code == 403


def test_session_cookie_is_httponly_lax_and_renewed_at_login(
    fresh_sandbox: RunningSandbox,
) -> None:
    with fresh_sandbox.http_client(login=False) as client:
        form = client.get("/connexion")
        before = client.cookies["chorus_session"]
        cookie_header = form.headers["set-cookie"]
        client.post(
            "/connexion",
            data={
                "csrf": csrf_token(form.text),
                "identifiant": fresh_sandbox.options.user,
                "mot_de_passe": fresh_sandbox.options.password,
            },
        )
        after = client.cookies["chorus_session"]
    assert "HttpOnly" in cookie_header and "SameSite=Lax" in cookie_header
    assert before != after


def test_pages_behind_login_redirect_to_the_login_form(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client(login=False) as client:
        page = client.get("/factures-emises/synthese")
    assert page.url.path == "/connexion"
    assert "Identifiant" in page.text
    assert EXPIRED not in page.text  # never logged in: nothing expired


def test_logout_ends_the_session(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client() as client:
        home = client.get("/accueil")
        page = client.post("/deconnexion", data={"csrf": csrf_token(home.text)})
        again = client.get("/accueil")
    assert page.url.path == "/"
    assert again.url.path == "/connexion"


def test_one_time_code_sent_by_email_completes_the_login(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.reset(otp=True)
    user = fresh_sandbox.options.user
    with fresh_sandbox.http_client(login=False) as client:
        step = _post_login(client, user, fresh_sandbox.options.password)
        assert step.url.path == "/connexion/code"
        assert "Un code de vérification a été envoyé à votre adresse électronique." in step.text
        mail = _last_mail(fresh_sandbox)
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        code = body.get_content().split("Votre code de vérification est : ")[1][:6]
        wrong = client.post(
            "/connexion/code",
            data={
                "csrf": csrf_token(step.text),
                "code": "000000" if code != "000000" else "111111",
            },
        )
        assert "Code de vérification incorrect." in wrong.text
        done = client.post("/connexion/code", data={"csrf": csrf_token(wrong.text), "code": code})
    assert mail["From"].addresses[0].addr_spec == "ne-pas-repondre@chorus-pro.gouv.fr"
    assert mail["To"] == user
    assert mail["Subject"] == "Chorus Pro - Code de vérification"
    assert mail["Message-ID"] and mail["Date"]
    assert code.isdigit()
    assert done.url.path == "/accueil"
    assert list((fresh_sandbox.maildir / "tmp").iterdir()) == []


def test_harness_client_logs_in_with_the_code_from_the_maildir(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.reset(otp=True)
    with fresh_sandbox.http_client() as client:
        assert client.get("/factures-emises/synthese").status_code == 200


def test_one_time_code_expires_after_ten_minutes() -> None:
    challenge = OtpChallenge(email="a@b.fr", code="123456", expires_at=600.0)
    assert challenge.check("123456", now=599.0) is OtpCheck.OK
    assert challenge.check("123456", now=601.0) is OtpCheck.EXPIRED


def test_five_wrong_codes_void_the_code() -> None:
    challenge = OtpChallenge(email="a@b.fr", code="123456", expires_at=600.0)
    for _ in range(5):
        assert challenge.check("000000", now=1.0) is OtpCheck.WRONG
    assert challenge.check("123456", now=1.0) is OtpCheck.EXPIRED


def test_idle_session_expires_and_says_so(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client() as client:
        # The injected latency makes the next request arrive after the idle limit.
        fresh_sandbox.set_faults(session_idle_s=0.05, latency_ms=150)
        page = client.get("/factures-emises/synthese")
    assert page.url.path == "/connexion"
    assert 'role="alert"' in page.text and EXPIRED in page.text


def test_a_form_posted_after_the_session_expired_leads_to_the_login_saying_so(
    fresh_sandbox: RunningSandbox,
) -> None:
    with fresh_sandbox.http_client() as client:
        csrf = csrf_token(client.get("/accueil").text)
        fresh_sandbox.set_faults(session_idle_s=0.05, latency_ms=150)
        page = client.post("/accueil/fenetre", data={"csrf": csrf, "action": "fermer"})
    assert page.url.path == "/connexion"  # not « Requête refusée »: the token was right
    assert 'role="alert"' in page.text and EXPIRED in page.text


def test_session_survives_within_the_idle_limit(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.set_faults(session_idle_s=60)
    with fresh_sandbox.http_client() as client:
        page = client.get("/factures-emises/synthese")
    assert page.url.path == "/factures-emises/synthese"


def test_secrets_stay_out_of_reprs() -> None:
    options = SandboxOptions(password="Tres-Secret-1", admin_token="jeton-admin-secret")
    session = SessionStore().new()
    assert "Tres-Secret-1" not in repr(options)
    assert "jeton-admin-secret" not in repr(options)
    assert session.sid not in repr(session) and session.csrf not in repr(session)
    assert "123456" not in repr(OtpChallenge("a@b.fr", "123456", 1.0))
    assert isinstance(session, Session)


@pytest.mark.parametrize("path", ["/accueil", "/factures-emises/saisir", "/api/structures/1"])
def test_every_private_page_needs_a_login(fresh_sandbox: RunningSandbox, path: str) -> None:
    with fresh_sandbox.http_client(login=False) as client:
        page = client.get(path, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/connexion"
