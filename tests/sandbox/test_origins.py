"""Three origins (``origins=3``): the shell, the identity provider and the invoicing
application on three ports, driven with httpx through their addresses, as a browser would."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from portal_support import three_origins

from sandbox.oidc import REFUSED_TITLE
from sandbox.server import PortalClient, RunningSandbox, csrf_token, form_action, start_sandbox
from sandbox.settings import SandboxOptions
from sandbox.web_auth import LOCKED, TOO_MANY_SESSIONS, WRONG_CREDENTIALS
from sandbox.web_cpp import ACCESS_DENIED

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SECURITY_TEXT = "Des contraintes de sécurité empêchent d'accéder à la page demandée."
HOME = "/aife_csm?id=aife_accueil"
REALM = "/auth/realms/chorus-pro"
AUTH = REALM + "/protocol/openid-connect/auth"


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    yield from three_origins(tmp_path_factory, "three-origins")


@pytest.fixture
def sb(three: RunningSandbox) -> RunningSandbox:
    three.set_faults()
    three.reset()
    return three


def shell(sb: RunningSandbox) -> str:
    return sb.origins["portail"]


def cpp(sb: RunningSandbox) -> str:
    return sb.origins["cpp"]


def text(page: httpx.Response) -> str:
    return html.unescape(page.text)


def wrong_code() -> str:
    """A code that is none of those the sandbox accepts now."""
    accepted = {pyotp.TOTP(SECRET).at(time.time() + 30 * k) for k in (-2, -1, 0, 1, 2)}
    return next(c for c in (f"{n:06d}" for n in range(100_000, 200_000)) if c not in accepted)


def from_shell(sb: RunningSandbox) -> dict[str, str]:
    """The ``Referer`` Chromium sends on a navigation from the shell to another origin."""
    return {"Referer": shell(sb) + "/"}


def open_login_form(client: httpx.Client, sb: RunningSandbox) -> httpx.Response:
    """« Se connecter » on the shell's public page: the provider's login form."""
    public = client.get(shell(sb) + "/")
    assert public.status_code == 200 and "<h1>Chorus Pro</h1>" in public.text
    link = re.search(r'href="([^"]+)">Se connecter<', public.text)
    assert link is not None
    form = client.get(str(public.url.join(link.group(1))))
    assert str(form.url).startswith(sb.origins["idp"] + AUTH), form.url
    return form


def type_password(
    client: httpx.Client, form: httpx.Response, user: str, password: str
) -> httpx.Response:
    return client.post(
        form_action(form),
        data={"csrf": csrf_token(form.text), "identifiant": user, "mot_de_passe": password},
    )


def type_code(client: httpx.Client, page: httpx.Response, code: str) -> httpx.Response:
    return client.post(form_action(page), data={"csrf": csrf_token(page.text), "code": code})


def log_in_to_shell(client: httpx.Client, sb: RunningSandbox) -> httpx.Response:
    form = open_login_form(client, sb)
    home = type_password(client, form, sb.options.user, sb.options.password)
    assert str(home.url) == shell(sb) + HOME, home.url
    return home


def enter(
    client: httpx.Client, sb: RunningSandbox, path: str = "/cpp/facturation"
) -> httpx.Response:
    """A click from the shell to a page of the invoicing application."""
    return client.get(cpp(sb) + path, headers=from_shell(sb))


def cookie_header(page: httpx.Response, name: str) -> str:
    """The ``Set-Cookie`` of ``name`` among the answers that led to ``page``."""
    for answer in [*page.history, page]:
        for value in answer.headers.get_list("set-cookie"):
            if value.startswith(name + "=") and "Max-Age=0" not in value:
                return value
    raise AssertionError(f"no cookie {name}")


# -- the login through the three origins --------------------------------------------------


def test_the_login_goes_through_the_provider_with_the_emailed_code(sb: RunningSandbox) -> None:
    sb.reset(otp=True)
    with PortalClient(follow_redirects=True, timeout=30) as client:
        form = open_login_form(client, sb)
        query = parse_qs(urlsplit(str(form.url)).query)
        assert query["client_id"] == ["chorus-portail"]
        assert query["response_type"] == ["code"] and query["scope"] == ["openid"]
        assert query["redirect_uri"] == [shell(sb) + "/navpage.do"]
        assert query["state"][0]
        page = text(form)
        for label in ("Identifiant", "Mot de passe", "Connexion"):
            assert f">{label}<" in page
        assert "AUTH_SESSION_ID" in cookie_header(form, "AUTH_SESSION_ID")
        code_page = type_password(client, form, sb.options.user, sb.options.password)
        assert str(code_page.url).startswith(sb.origins["idp"] + REALM)
        assert "Un code de vérification a été envoyé à votre adresse électronique." in text(
            code_page
        )
        assert ">Code de vérification<" in text(code_page) and ">Valider<" in code_page.text
        mail = sb.admin("GET", "mail/last").json()
        code = re.search(r"est : (\d{6})", mail["body"])
        assert code is not None
        home = type_code(client, code_page, code.group(1))
        assert str(home.url) == shell(sb) + HOME
        # The way back: the provider's code to /navpage.do, then 303 to the home page.
        back = [str(answer.url) for answer in home.history]
        assert any(url.startswith(shell(sb) + "/navpage.do?code=") for url in back)
        keycloak = cookie_header(home, "KEYCLOAK_SESSION")
        assert "Path=/auth/realms/chorus-pro/" in keycloak and "HttpOnly" in keycloak
        glide = cookie_header(home, "glide_session_store")
        assert "Path=/;" in glide and "HttpOnly" in glide and "SameSite=Lax" in glide
        # « Accueil » as on one origin, its links into invoicing on the cpp origin.
        page = text(home)
        assert '<h1 class="page-title">Accueil</h1>' in page
        assert 'role="dialog"' in page and "Factures rejetées ou suspendues" in page
        assert f'href="{cpp(sb)}/cpp/facturation">Accéder au domaine<' in page
        assert re.search(rf'href="{cpp(sb)}/cpp/factures-emises/factures/\d+">', page)
        assert 'action="/aife_csm/fenetre"' in page
        # Into invoicing from the shell: single sign-on, no form.
        facturation = enter(client, sb)
        assert str(facturation.url) == cpp(sb) + "/cpp/facturation"
        assert "<h1" in facturation.text and "Facturation" in facturation.text
        assert [a.status_code for a in facturation.history] == [302, 302, 303]
        jsession = cookie_header(facturation, "JSESSIONID")
        assert "Path=/cpp;" in jsession and "HttpOnly" in jsession and "SameSite=Lax" in jsession
    assert sb.stats()["sessions_par_origine"] == {"portail": 1, "idp": 1, "cpp": 1}


def test_an_account_enrolled_for_totp_types_its_authenticator_code(sb: RunningSandbox) -> None:
    sb.admin("POST", "totp", json={"compte": sb.options.user, "secret": SECRET})
    with PortalClient(follow_redirects=True, timeout=30) as client:
        form = open_login_form(client, sb)
        code_page = type_password(client, form, sb.options.user, sb.options.password)
        assert "Saisissez le code affiché par votre application d'authentification." in text(
            code_page
        )
        assert not list((sb.maildir / "new").glob("*.eml"))  # no e-mail with TOTP
        wrong = type_code(
            client, code_page, "000000" if pyotp.TOTP(SECRET).now() != "000000" else "111111"
        )
        assert "Code de vérification incorrect." in text(wrong)
        home = type_code(client, wrong, pyotp.TOTP(SECRET).now())
        assert str(home.url) == shell(sb) + HOME
        assert sb.admin("GET", "totp").json()["comptes"][sb.options.user]["pas_utilises"]


def test_the_http_client_comes_back_logged_in_to_the_invoicing_application(
    sb: RunningSandbox,
) -> None:
    with sb.http_client() as client:
        synthese = client.get("/factures-emises/synthese")
        assert str(synthese.url) == cpp(sb) + "/cpp/factures-emises/synthese"
        assert "Traiter le rejet" in synthese.text
        absolute = client.get(cpp(sb) + "/cpp/factures-emises/rechercher")
        assert absolute.status_code == 200 and 'role="search"' in absolute.text
    assert sb.stats()["comptes"][sb.options.user]["sessions"] == 1


def test_the_login_form_keeps_the_single_origins_rules(sb: RunningSandbox) -> None:
    with PortalClient(follow_redirects=True, timeout=30) as client:
        form = open_login_form(client, sb)
        for _ in range(4):
            form = type_password(client, form, sb.options.user, "faux")
            assert WRONG_CREDENTIALS in text(form) and 'role="alert"' in form.text
        locked = type_password(client, form, sb.options.user, "faux")
        assert LOCKED in text(locked)
        again = type_password(client, locked, sb.options.user, sb.options.password)
        assert LOCKED in text(again)
        assert str(client.get(shell(sb) + HOME).url) == shell(sb) + "/"  # not logged in


def test_a_voided_code_sends_back_to_the_providers_form_for_the_same_request(
    sb: RunningSandbox,
) -> None:
    sb.reset(otp=True)
    with PortalClient(follow_redirects=True, timeout=30) as client:
        form = open_login_form(client, sb)
        page = type_password(client, form, sb.options.user, sb.options.password)
        for _ in range(5):
            page = type_code(client, page, "abcdef")
            assert "Code de vérification incorrect." in text(page)
        page = type_code(client, page, "abcdef")  # the code is void now
        assert str(page.url) == sb.origins["idp"] + REALM + "/login-actions/authenticate"
        assert "Code de vérification expiré. Reconnectez-vous." in text(page)
        page = type_password(client, page, sb.options.user, sb.options.password)
        mail = sb.admin("GET", "mail/last").json()["body"]
        code = re.search(r"est : (\d{6})", mail)
        assert code is not None
        home = type_code(client, page, code.group(1))
        assert str(home.url) == shell(sb) + HOME  # the request of « Se connecter », kept


def test_a_form_posted_without_its_request_is_refused(sb: RunningSandbox) -> None:
    with PortalClient(follow_redirects=True, timeout=30) as client:
        form = open_login_form(client, sb)
        sb.reset()  # forgets the provider's logins under way
        gone = client.get(sb.origins["idp"] + REALM + "/login-actions/authenticate")
        assert gone.status_code == 400 and 'name="identifiant"' not in gone.text
        posted = type_password(client, form, sb.options.user, sb.options.password)
        assert posted.status_code == 403  # its CSRF token went with the pre-session


# -- what the provider and the returns refuse ---------------------------------------------


def _auth(sb: RunningSandbox, **changes: str) -> httpx.Response:
    params = {
        "client_id": "chorus-portail",
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": shell(sb) + "/navpage.do",
        "state": "abc",
        **changes,
    }
    params = {k: v for k, v in params.items() if v != "-"}
    return httpx.get(sb.origins["idp"] + AUTH, params=params, timeout=30)


@pytest.mark.parametrize(
    "changes",
    [
        {"redirect_uri": "http://127.0.0.1:1/navpage.do"},
        {"client_id": "chorus-inconnu"},
        {"client_id": "chorus-cpp"},  # the shell's address is not the cpp client's
        {"state": "-"},
        {"response_type": "token"},
    ],
)
def test_the_provider_refuses_a_bad_authorization_request_without_redirecting(
    sb: RunningSandbox, changes: dict[str, str]
) -> None:
    answer = _auth(sb, **changes)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert 'role="alert"' in answer.text and 'name="identifiant"' not in answer.text
    assert _auth(sb).status_code == 200  # the same request, right, gets the form


def test_a_state_mismatch_is_refused_at_the_shells_return(sb: RunningSandbox) -> None:
    with PortalClient(follow_redirects=False, timeout=30) as client:
        to_idp = client.get(shell(sb) + "/login")
        assert to_idp.status_code == 302
        state = parse_qs(urlsplit(to_idp.headers["location"]).query)["state"][0]
        form = client.get(to_idp.headers["location"])
        back = type_password(client, form, sb.options.user, sb.options.password)
        assert back.status_code == 302
        returned = parse_qs(urlsplit(back.headers["location"]).query)
        assert returned["state"] == [state]
        wrong = client.get(
            shell(sb) + "/navpage.do", params={"code": returned["code"][0], "state": state + "x"}
        )
        assert wrong.status_code == 400 and REFUSED_TITLE in wrong.text
        assert client.get(shell(sb) + HOME).headers["location"] == "/"  # nobody logged in
        missing = client.get(shell(sb) + "/navpage.do", params={"code": returned["code"][0]})
        assert missing.status_code == 400
    assert sb.stats()["sessions_par_origine"]["portail"] == 0


def test_a_code_serves_once_and_only_its_client(sb: RunningSandbox) -> None:
    with PortalClient(follow_redirects=False, timeout=30) as client:
        to_idp = client.get(shell(sb) + "/login")
        form = client.get(to_idp.headers["location"])
        back = type_password(client, form, sb.options.user, sb.options.password)
        location = back.headers["location"]
        # The shell's code on the invoicing application's return: refused.
        entry = client.get(cpp(sb) + "/cpp/facturation", headers=from_shell(sb))
        cpp_state = parse_qs(urlsplit(entry.headers["location"]).query)["state"][0]
        code = parse_qs(urlsplit(location).query)["code"][0]
        stolen = client.get(cpp(sb) + "/cpp/oidc/retour", params={"code": code, "state": cpp_state})
        assert stolen.status_code == 400
        # Spent there, the code no longer serves on its own return either.
        assert client.get(location).status_code == 400


def test_a_state_mismatch_is_refused_at_the_invoicing_return(sb: RunningSandbox) -> None:
    with PortalClient(follow_redirects=False, timeout=30) as client:
        log_in_to_shell_without_following(client, sb)
        entry = client.get(cpp(sb) + "/cpp/factures-emises/synthese", headers=from_shell(sb))
        assert entry.status_code == 302
        authorize = entry.headers["location"]
        query = parse_qs(urlsplit(authorize).query)
        assert query["client_id"] == ["chorus-cpp"]
        assert query["redirect_uri"] == [cpp(sb) + "/cpp/oidc/retour"]
        sso = client.get(authorize)  # single sign-on: straight back with a code
        assert sso.status_code == 302
        back = parse_qs(urlsplit(sso.headers["location"]).query)
        wrong = client.get(
            cpp(sb) + "/cpp/oidc/retour", params={"code": back["code"][0], "state": "autre"}
        )
        assert wrong.status_code == 400 and REFUSED_TITLE in wrong.text
        assert client.get(cpp(sb) + "/cpp/factures-emises/synthese").status_code == 403
    assert sb.stats()["comptes"][sb.options.user]["sessions"] == 0


def log_in_to_shell_without_following(client: httpx.Client, sb: RunningSandbox) -> None:
    """The login, one answer at a time (``client`` does not follow redirects)."""
    to_idp = client.get(shell(sb) + "/login")
    form = client.get(to_idp.headers["location"])
    back = type_password(client, form, sb.options.user, sb.options.password)
    home = client.get(back.headers["location"])
    assert home.status_code == 303 and home.headers["location"] == HOME


# -- direct visits, single sign-on, expiry ---------------------------------------------------


def test_a_direct_visit_to_the_invoicing_application_is_refused(sb: RunningSandbox) -> None:
    with PortalClient(follow_redirects=True, timeout=30) as client:
        page = client.get(cpp(sb) + "/cpp/factures-emises/synthese")
        assert page.status_code == 403 and not page.history
        assert "<h1" in page.text and "Accès refusé" in page.text
        assert SECURITY_TEXT == ACCESS_DENIED
        assert re.search(r'role="alert"[^>]*><p>' + re.escape(SECURITY_TEXT), text(page))
        assert f'<a href="{shell(sb)}/">Retour au portail</a>' in page.text
        # Even logged in to the shell: a typed address is not a click from the portal.
        log_in_to_shell(client, sb)
        assert client.get(cpp(sb) + "/cpp/facturation").status_code == 403
        other = client.get(cpp(sb) + "/cpp/facturation", headers={"Referer": "http://exemple.fr/"})
        assert other.status_code == 403


def test_the_same_address_from_the_shell_goes_through_the_provider_into_the_page(
    sb: RunningSandbox,
) -> None:
    with PortalClient(follow_redirects=True, timeout=30) as client:
        home = log_in_to_shell(client, sb)
        link = re.search(rf'href="({cpp(sb)}/cpp/factures-emises/factures/\d+)"', home.text)
        assert link is not None
        page = client.get(link.group(1), headers=from_shell(sb))
        assert str(page.url) == link.group(1) and page.status_code == 200
        assert "Informations de la facture" in page.text
        hops = [str(a.url) for a in page.history]
        assert hops[1].startswith(sb.origins["idp"] + AUTH)  # single sign-on: no form
        assert hops[2].startswith(cpp(sb) + "/cpp/oidc/retour?")
        assert 'name="mot_de_passe"' not in page.text
        # Once in, the application's own links need no Referer.
        again = client.get(cpp(sb) + "/cpp/factures-emises/synthese")
        assert again.status_code == 200 and not again.history


def test_an_expired_provider_session_asks_for_the_form_again(sb: RunningSandbox) -> None:
    with PortalClient(follow_redirects=True, timeout=30) as client:
        log_in_to_shell(client, sb)
        assert sb.admin("POST", "idp/expire").json() == {"expired": 1}
        form = enter(client, sb)
        assert str(form.url).startswith(sb.origins["idp"] + AUTH)
        assert 'name="mot_de_passe"' in form.text
        page = type_password(client, form, sb.options.user, sb.options.password)
        assert str(page.url) == cpp(sb) + "/cpp/facturation"
        # The shell's session lived on.
        assert str(client.get(shell(sb) + "/").url) == shell(sb) + HOME


def test_a_live_invoicing_session_outlives_the_providers(sb: RunningSandbox) -> None:
    with sb.http_client() as client:
        sb.admin("POST", "idp/expirer")
        page = client.get("/factures-emises/synthese")
        assert page.status_code == 200 and not page.history


def test_an_expired_invoicing_session_is_refused_on_a_direct_visit_and_to_xhr(
    sb: RunningSandbox,
) -> None:
    with sb.http_client() as client:
        synthese = client.get("/factures-emises/synthese")
        assert synthese.status_code == 200
        expired = sb.admin("POST", "sessions/expire").json()["expired"]
        assert expired >= 2  # the invoicing application's and the shell's
        direct = client.get("/factures-emises/synthese")
        assert direct.status_code == 403 and SECURITY_TEXT in text(direct)
        xhr = client.get("/factures-emises/synthese?fragment=1", headers={"X-Fragment": "1"})
        assert xhr.status_code == 401 and xhr.headers["x-login"] == shell(sb) + "/"
        api = client.get("/api/structures/11000201100044", headers={"X-Fragment": "1"})
        assert api.status_code == 401 and api.headers["x-login"] == shell(sb) + "/"
        # From the shell, the provider's session (still live) lets it back in at once.
        back = enter(client, sb, "/cpp/factures-emises/synthese")
        assert str(back.url) == cpp(sb) + "/cpp/factures-emises/synthese"


def test_an_idle_invoicing_session_expires_as_the_knob_says(sb: RunningSandbox) -> None:
    with sb.http_client() as client:
        sb.set_faults(session_max_requests=3)  # the landing page was the first
        assert client.get("/facturation").status_code == 200
        assert client.get("/facturation").status_code == 200
        assert client.get("/facturation").status_code == 403


# -- logout ---------------------------------------------------------------------------------


def _all_ended(client: httpx.Client, sb: RunningSandbox) -> None:
    assert client.get(cpp(sb) + "/cpp/facturation").status_code == 403
    home = client.get(shell(sb) + HOME)
    assert str(home.url) == shell(sb) + "/" and "Se connecter" in home.text
    form = enter(client, sb)
    assert 'name="mot_de_passe"' in form.text  # the provider's session ended too
    assert sb.stats()["sessions_par_origine"] == {"portail": 0, "idp": 0, "cpp": 0}


def test_logging_out_from_the_shell_ends_every_session(sb: RunningSandbox) -> None:
    client = sb.http_client()
    with client:
        home = client.get(shell(sb) + HOME)
        assert 'action="/logout"' in home.text and ">Se déconnecter<" in home.text
        out = client.post(shell(sb) + "/logout", data={"csrf": csrf_token(home.text)})
        assert str(out.url) == shell(sb) + "/"
        assert any(REALM + "/protocol/openid-connect/logout" in str(a.url) for a in out.history)
        _all_ended(client, sb)


def test_logging_out_from_the_invoicing_application_ends_every_session(
    sb: RunningSandbox,
) -> None:
    client = sb.http_client()
    with client:
        page = client.get("/factures-emises/synthese")
        assert 'action="/cpp/deconnexion"' in page.text
        assert f'href="{shell(sb)}{HOME}"' in page.text.replace("&amp;", "&")  # « Accueil »
        out = client.post("/deconnexion", data={"csrf": csrf_token(page.text)})
        hops = [str(a.url) for a in out.history]
        assert hops[1] == shell(sb) + "/logout.do"
        assert str(out.url) == shell(sb) + "/"
        _all_ended(client, sb)


def test_the_providers_logout_follows_only_registered_addresses(sb: RunningSandbox) -> None:
    logout = sb.origins["idp"] + REALM + "/protocol/openid-connect/logout"
    elsewhere = httpx.get(logout, params={"post_logout_redirect_uri": "http://exemple.fr/"})
    assert elsewhere.status_code == 200 and "location" not in elsewhere.headers
    home = httpx.get(logout, params={"post_logout_redirect_uri": shell(sb) + "/"})
    assert home.status_code == 302 and home.headers["location"] == shell(sb) + "/"


# -- the session cap counts the invoicing sessions -------------------------------------------


def test_the_session_cap_counts_the_invoicing_sessions(sb: RunningSandbox) -> None:
    sb.set_faults(max_sessions_per_account=1)
    late = PortalClient(follow_redirects=True, timeout=30)
    with late:
        log_in_to_shell(late, sb)  # a shell session is not a work session
        with sb.http_client() as first:
            assert first.get("/facturation").status_code == 200
            # At the provider, the pre-check after the password.
            with PortalClient(follow_redirects=True, timeout=30) as third:
                form = open_login_form(third, sb)
                refused = type_password(third, form, sb.options.user, sb.options.password)
                assert TOO_MANY_SESSIONS in text(refused) and 'role="alert"' in refused.text
                assert 'name="identifiant"' in refused.text
            # Past the provider already: refused when the application admits the session.
            page = enter(late, sb)
            assert page.status_code == 403
            assert re.search(r'role="alert"[^>]*><p>' + re.escape(TOO_MANY_SESSIONS), text(page))
            assert sb.stats()["comptes"][sb.options.user] == {"sessions": 1, "pic_sessions": 1}
            out_page = first.get("/facturation")
            first.post("/deconnexion", data={"csrf": csrf_token(out_page.text)})
        # The slot is free: the same click now gets in (the late browser's provider session
        # is not the one that logged out).
        page = enter(late, sb)
        assert str(page.url) == cpp(sb) + "/cpp/facturation" and page.status_code == 200


# -- the rest of the portal across the origins -----------------------------------------------


def test_the_window_of_the_shells_home_acknowledges(sb: RunningSandbox) -> None:
    with PortalClient(follow_redirects=True, timeout=30) as client:
        home = log_in_to_shell(client, sb)
        done = client.post(
            shell(sb) + "/aife_csm/fenetre",
            data={"csrf": csrf_token(home.text), "action": "tout"},
        )
        assert str(done.url) == shell(sb) + HOME
        assert "facture(s) acquittée(s)." in text(done) and 'role="dialog"' not in done.text
    assert all(i["acquittee"] for i in sb.invoices(status="REJETEE") if i["motif"])


def test_the_shell_answers_unknown_pages_and_anonymous_visits(sb: RunningSandbox) -> None:
    with PortalClient(follow_redirects=False, timeout=30) as client:
        assert client.get(shell(sb) + HOME).headers["location"] == "/"
        assert client.get(shell(sb) + "/aife_csm?id=inconnu").status_code == 404
        public = client.get(shell(sb) + "/")
        assert public.status_code == 200 and 'href="/login"' in public.text
        assert 'role="banner"' in public.text or "<header" in public.text


def test_the_invoicing_pages_link_within_cpp(sb: RunningSandbox) -> None:
    with sb.http_client() as client:
        synthese = client.get("/factures-emises/synthese")
        hrefs = re.findall(r'(?:href|action)="([^"#]+)"', synthese.text)
        local = [h for h in hrefs if h.startswith("/") and not h.startswith("/static/")]
        assert local and all(h.startswith("/cpp/") for h in local), local
        assert 'data-app-root="/cpp"' in synthese.text
        numero = re.search(r'href="/cpp/factures-emises/factures/(\d+)"', synthese.text)
        assert numero is not None
        invoice = client.get(f"/factures-emises/factures/{numero.group(1)}")
        assert invoice.status_code == 200 and "Historique des actions utilisateurs" in invoice.text
        services = client.get("/api/structures/11000201100044", headers={"X-Fragment": "1"})
        assert services.status_code in (200, 404) and services.headers["content-type"].startswith(
            "application/json"
        )


def test_the_fault_knobs_apply_to_the_three_origins(sb: RunningSandbox) -> None:
    sb.set_faults(maintenance=True)
    for url in (
        shell(sb) + "/",
        sb.origins["idp"] + AUTH,
        cpp(sb) + "/cpp/facturation",
    ):
        answer = httpx.get(url, timeout=30)
        assert answer.status_code == 503 and "Maintenance en cours" in answer.text, url
    assert httpx.get(shell(sb) + "/health", timeout=30).status_code == 200


def test_the_request_counter_counts_the_three_origins(sb: RunningSandbox) -> None:
    with sb.http_client() as client:
        before = sb.stats()["requetes"]
        client.get("/api/structures/11000201100044", headers={"X-Fragment": "1"})
        client.get(shell(sb) + HOME)
        client.get(sb.origins["idp"] + AUTH)  # an error page: counted too
        after = sb.stats()["requetes"]
    assert after["xhr"] == before["xhr"] + 1
    assert after["documents"] == before["documents"] + 2
    # The login: /login, the form, the password, /navpage.do, home; then the entry: the
    # page, the provider, the return, the page again.
    assert before["documents"] == 9


def test_a_reset_forgets_the_sessions_of_the_three_origins(sb: RunningSandbox) -> None:
    with sb.http_client() as client:
        sb.reset()
        assert client.get("/facturation").status_code == 403
        assert str(client.get(shell(sb) + HOME).url) == shell(sb) + "/"
        assert 'name="mot_de_passe"' in enter(client, sb).text


def test_the_origins_are_three_distinct_addresses(three: RunningSandbox, tmp_path: Path) -> None:
    ports = {urlsplit(url).port for url in three.origins.values()}
    assert len(ports) == 3 and three.url == three.origins["portail"]
    assert httpx.get(three.origins["cpp"] + "/health", timeout=30).status_code == 404
    single = SandboxOptions(data_dir=tmp_path, seed=1)
    with start_sandbox(single, mode="thread") as one:
        assert one.origins == {"portail": one.url, "idp": one.url, "cpp": one.url}
