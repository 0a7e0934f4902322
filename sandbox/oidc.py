"""What the three origins (:mod:`sandbox.origins`) share: their addresses, the identity
provider's clients and endpoints (OpenID Connect, authorization code flow), and the
« Requête refusée » page of a return that does not check out.

The real portal: a ServiceNow shell (``portail.chorus-pro.gouv.fr``), a Keycloak identity
provider (``idp.chorus-pro.gouv.fr``, realm ``chorus-pro``) and the older invoicing
application under ``/cpp/`` (``cpro.chorus-pro.gouv.fr``). Each client is registered with
one return address, and the provider sends its codes nowhere else.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from sandbox.settings import SandboxOptions, origin_urls
from sandbox.web_common import render

REALM = "/auth/realms/chorus-pro"
OIDC = REALM + "/protocol/openid-connect"
AUTH_PATH = OIDC + "/auth"
LOGOUT_PATH = OIDC + "/logout"

CLIENT_SHELL = "chorus-portail"
CLIENT_CPP = "chorus-cpp"

APP_ROOT = "/cpp"
SHELL_HOME = "/aife_csm?id=aife_accueil"
SHELL_RETURN = "/navpage.do"
SHELL_LOGOUT = "/logout.do"
CPP_RETURN = APP_ROOT + "/oidc/retour"

REFUSED_TITLE = "Requête refusée"
#: [assumed] the wording of a refused OpenID Connect return.
REFUSED_MESSAGE = "La demande de connexion n'a pas pu être vérifiée. Recommencez depuis le portail."
BACK_TO_PORTAL = "Retour au portail"


@dataclass(frozen=True)
class Origins:
    """The three origins' addresses (``http://host:port``, no trailing slash)."""

    shell: str
    idp: str
    cpp: str

    @classmethod
    def of(cls, options: SandboxOptions) -> Origins:
        """From the options, once their ports are bound (never 0)."""
        urls = origin_urls(options)
        return cls(urls["portail"], urls["idp"], urls["cpp"])

    def as_dict(self) -> dict[str, str]:
        """``{"portail": …, "idp": …, "cpp": …}`` (``RunningSandbox.origins``)."""
        return {"portail": self.shell, "idp": self.idp, "cpp": self.cpp}

    @property
    def shell_home(self) -> str:
        return self.shell + SHELL_HOME

    @property
    def shell_return(self) -> str:
        return self.shell + SHELL_RETURN

    @property
    def cpp_return(self) -> str:
        return self.cpp + CPP_RETURN

    @property
    def clients(self) -> dict[str, str]:
        """Each client of the identity provider and its one registered return address."""
        return {CLIENT_SHELL: self.shell_return, CLIENT_CPP: self.cpp_return}

    @property
    def logout_returns(self) -> frozenset[str]:
        """Where the provider's logout may send the browser back to."""
        return frozenset({self.shell + "/"})

    def authorize_url(self, client_id: str, state: str) -> str:
        """The provider's authorization address for ``client_id`` (its registered return)."""
        query = urlencode(
            {
                "client_id": client_id,
                "response_type": "code",
                "scope": "openid",
                "redirect_uri": self.clients[client_id],
                "state": state,
            }
        )
        return f"{self.idp}{AUTH_PATH}?{query}"

    def logout_url(self) -> str:
        """The provider's logout, back to the shell's public page."""
        query = urlencode({"client_id": CLIENT_SHELL, "post_logout_redirect_uri": self.shell + "/"})
        return f"{self.idp}{LOGOUT_PATH}?{query}"


def origins_of(request: Request) -> Origins:
    origins: Origins = request.app.state.origins
    return origins


def same_state(expected: str, given: str) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected, given)


def from_origin(referer: str | None, origin: str) -> bool:
    """Whether the ``Referer`` header names a page of ``origin`` (or the origin alone, as
    browsers send it on a cross-origin navigation)."""
    if not referer:
        return False
    parts, wanted = urlsplit(referer), urlsplit(origin)
    return (parts.scheme, parts.netloc) == (wanted.scheme, wanted.netloc)


def notice(
    request: Request,
    status: int,
    title: str,
    message: str,
    *,
    alert: bool = False,
) -> Response:
    """A page with a heading, a message (``role="alert"`` when ``alert``) and the link
    « Retour au portail » to the shell's public page."""
    context = {
        "status": status,
        "title": title,
        "message": message,
        "alert": alert,
        "back_href": origins_of(request).shell + "/",
        "back_label": BACK_TO_PORTAL,
    }
    return render(request, "notice.html", context, status_code=status)


def refused(request: Request, message: str = REFUSED_MESSAGE) -> Response:
    """« Requête refusée » (400): a return whose ``state`` or code does not check out."""
    return notice(request, 400, REFUSED_TITLE, message, alert=True)
