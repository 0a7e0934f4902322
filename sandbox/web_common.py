"""What every screen of the sandbox shares: the portal state, rendering, sessions, CSRF.

The pages read the shared :class:`Portal` from ``request.app.state.portal``. Rendering adds
the layout-drift function ``d()``, the label-drift functions ``L()``, ``shown()``,
``columns()`` and ``block_style()``, the logged-in account, the flashes and the information
pop-up (fault knob) to every template.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox import fmt
from sandbox.faults import FaultState, RequestCounter, is_exempt
from sandbox.model import STATUS_LABELS
from sandbox.security import (
    SESSION_COOKIE,
    AuthorizationCodes,
    LoginGuard,
    Maildir,
    Session,
    SessionStore,
)
from sandbox.seed import seed
from sandbox.settings import SandboxOptions
from sandbox.store import Store

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

EXPIRED_MESSAGE = "Votre session a expiré. Veuillez vous reconnecter."
PAGE_SIZES = (10, 20, 50)  # [assumed] rows per page offered by the lists


@dataclass(frozen=True)
class Site:
    """Where the pages of one origin link to. The single origin's are its own paths; with
    three origins (:mod:`sandbox.origins`) the shell and the invoicing application link to
    each other with absolute addresses. Templates read them as ``app_root``, ``home_url``,
    ``public_url``, ``logout_url``, ``window_url``, ``login_url`` and extend ``layout``."""

    #: Prefix of the invoicing screens' addresses as this origin's pages write them: "" (one
    #: origin), "/cpp" (the invoicing application), "http://…:C/cpp" (the shell).
    app_root: str = ""
    home_url: str = "/accueil"
    public_url: str = "/"
    login_url: str = "/connexion"
    logout_url: str = "/deconnexion"
    window_url: str = "/accueil/fenetre"
    layout: str = "base.html"

    def context(self) -> dict[str, Any]:
        return {
            "app_root": self.app_root,
            "home_url": self.home_url,
            "public_url": self.public_url,
            "login_url": self.login_url,
            "logout_url": self.logout_url,
            "window_url": self.window_url,
            "layout": self.layout,
        }


SINGLE_ORIGIN = Site()


def site_of(request: Request) -> Site:
    """The :class:`Site` of the origin serving ``request``."""
    site: Site = getattr(request.app.state, "site", SINGLE_ORIGIN)
    return site


def redirect(request: Request, path: str) -> RedirectResponse:
    """303 to one of the invoicing screens (``path`` as in the single origin: ``/facturation``),
    under this origin's prefix."""
    return RedirectResponse(site_of(request).app_root + path, status_code=303)


@dataclass
class Portal:
    """The state one sandbox server shares between its screens."""

    options: SandboxOptions
    store: Store
    faults: FaultState
    sessions: SessionStore
    guard: LoginGuard
    maildir: Maildir
    health_token: str
    env: jinja2.Environment
    #: Documents and XHR answered since the last reset (counted by ``FaultMiddleware``).
    requests: RequestCounter = field(default_factory=RequestCounter)
    #: Three origins (:mod:`sandbox.origins`; empty with one): the shell's sessions, the
    #: identity provider's sessions, its logins under way and its authorization codes.
    #: ``sessions`` are then the invoicing application's (the work sessions).
    shell_sessions: SessionStore = field(default_factory=SessionStore)
    idp_sessions: SessionStore = field(default_factory=SessionStore)
    idp_logins: SessionStore = field(default_factory=SessionStore)
    codes: AuthorizationCodes = field(default_factory=AuthorizationCodes)

    @property
    def stores(self) -> tuple[SessionStore, ...]:
        """Every session store: the work sessions first."""
        return (self.sessions, self.shell_sessions, self.idp_sessions, self.idp_logins)

    def reseed(
        self,
        *,
        rejected: int,
        random_seed: int,
        otp: bool,
        suspended: int = 0,
        recycle: int = 0,
        accounts: int = 1,
    ) -> dict[str, Any]:
        """Wipe and re-seed the store; also forget sessions (and their peaks), lockouts,
        e-mails and the count of requests served. The answer's first keys are account 1's;
        ``comptes`` lists every account."""
        if min(rejected, suspended, recycle) < 0:
            raise ValueError("seed must be >= 0")
        info = seed(
            self.store,
            rejected=rejected,
            suspended=suspended,
            recycle=recycle,
            random_seed=random_seed,
            user_email=self.options.user,
            password=self.options.password,
            otp=otp,
            accounts=accounts,
        )
        for store in self.stores:
            store.clear()
        self.codes.clear()
        self.guard.clear()
        self.maildir.clear()
        self.requests.clear()
        return {
            "supplier_id": info.supplier_id,
            "user": info.user_email,
            "rejected": list(info.rejected_numbers),
            "suspended": list(info.suspended_numbers),
            "recycle": list(info.recycle_numbers),
            "invoices": self.store.count_invoices(),
            "comptes": [
                {
                    "compte": account.user_email,
                    "supplier_id": account.supplier_id,
                    "siret": account.supplier.siret,
                    "nom": account.supplier.nom,
                    "rejected": list(account.rejected_numbers),
                    "suspended": list(account.suspended_numbers),
                    "recycle": list(account.recycle_numbers),
                }
                for account in info.accounts
            ],
        }


def portal_of(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


class LoginNeeded(Exception):
    """The page needs a logged-in session (handled by a redirect to the login form)."""

    def __init__(self, expired: bool, fragment: bool = False) -> None:
        super().__init__("login needed")
        self.expired = expired
        self.fragment = fragment


class CsrfRefused(Exception):
    """A POST came without the session's CSRF token (handled by a 403 page)."""


def make_env(faults: FaultState) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        d=faults.drift_name,
        # portal drift (fault knobs): L(label) renamed text, shown(label) rendered or not
        L=faults.label,
        shown=faults.shown,
        columns=faults.columns,
        block_style=faults.block_style,
        money=fmt.money,
        rate=fmt.rate,
        date_fr=fmt.date_fr,
        datetime_fr=fmt.datetime_fr,
        text=fmt.text,
        number=fmt.number,
        yes_no=fmt.yes_no,
        file_size=fmt.file_size,
        STATUS_LABELS=STATUS_LABELS,
    )
    return env


# --- sessions ---------------------------------------------------------------------------


def current_session(request: Request) -> Session | None:
    session: Session | None = request.scope.setdefault("state", {}).get("session")
    return session


def set_session(request: Request, session: Session | None) -> None:
    request.scope.setdefault("state", {})["session"] = session


def store_of(request: Request) -> SessionStore:
    """The session store of the origin serving ``request`` (one origin: ``portal.sessions``)."""
    store: SessionStore | None = request.scope.setdefault("state", {}).get("session_store")
    return store if store is not None else portal_of(request).sessions


def ensure_session(request: Request) -> Session:
    """The request's session, a new anonymous one when it has none."""
    session = current_session(request)
    if session is None:
        session = store_of(request).new()
        set_session(request, session)
    return session


def logged_in(request: Request) -> Session:
    """The logged-in session, or :class:`LoginNeeded`."""
    session = current_session(request)
    if session is not None and session.logged_in:
        return session
    expired = bool(request.scope.get("state", {}).get("session_expired"))
    raise LoginNeeded(expired, fragment=request.headers.get("x-fragment") == "1")


def login_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginNeeded)
    if exc.fragment:
        return Response(status_code=401, headers={"x-login": "/connexion"})
    if exc.expired:
        ensure_session(request).flash("alert", EXPIRED_MESSAGE)
    return RedirectResponse("/connexion", status_code=303)


class SessionMiddleware:
    """Loads the server-side session named by the cookie; sets or clears the cookie after.

    By default the single origin's: cookie ``chorus_session`` on ``/``, ``portal.sessions``,
    whose logged-in sessions expire as the knobs say (``expiring``). The three origins
    (:mod:`sandbox.origins`) give each its cookie, path and store.
    """

    def __init__(
        self,
        app: ASGIApp,
        portal: Portal,
        *,
        cookie: str = SESSION_COOKIE,
        path: str = "/",
        store: SessionStore | None = None,
        expiring: bool = True,
    ) -> None:
        self.app = app
        self.portal = portal
        self.cookie = cookie
        self.path = path
        self.store = store if store is not None else portal.sessions
        self.expiring = expiring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_exempt(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        sid = Request(scope).cookies.get(self.cookie)
        knobs = self.portal.faults.knobs
        if self.expiring:
            session, expired = self.store.get(
                sid, idle_s=knobs.session_idle_s, max_requests=knobs.session_max_requests
            )
        else:
            session, expired = self.store.get(sid)
        state = scope.setdefault("state", {})
        state["session"], state["session_expired"] = session, expired
        state["session_store"] = self.store
        attributes = f"Path={self.path}; HttpOnly; SameSite=Lax"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                now: Session | None = state.get("session")
                cookie = None
                if now is not None and now.sid != sid:
                    cookie = f"{self.cookie}={now.sid}; {attributes}"
                elif now is None and sid:
                    cookie = f"{self.cookie}=; {attributes}; Max-Age=0"
                if cookie is not None:
                    headers = list(message.get("headers", []))
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def checked_form(request: Request) -> tuple[Session, FormData]:
    """The posted form once its CSRF token matched the session's (else :class:`CsrfRefused`;
    :class:`LoginNeeded` when the session it was shown in has expired)."""
    form = await request.form(max_files=200, max_part_size=4 * 1024 * 1024)
    session = current_session(request)
    if session is None and request.scope.get("state", {}).get("session_expired"):
        logged_in(request)  # a form of an ended session: the login form says it expired
    token = form.get("csrf")
    if session is None or not isinstance(token, str) or not session.csrf_ok(token):
        raise CsrfRefused()
    return session, form


async def uploaded_files(form: FormData, name: str) -> list[tuple[str, bytes]]:
    """The files of the file input ``name``: (file name, content); an input left empty sends
    a nameless empty part, left out."""
    files: list[tuple[str, bytes]] = []
    for item in form.getlist(name):
        if isinstance(item, UploadFile):
            content = await item.read()
            if item.filename or content:
                files.append((item.filename or "", content))
    return files


def error_list(errors: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(field, message) of every error, in order: the summary « Le formulaire contient des
    erreurs » of a form."""
    return [(key, message) for key, messages in errors.items() for message in messages]


# --- rendering --------------------------------------------------------------------------


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page with what every page needs (account, flashes, CSRF, pop-up, drift)."""
    portal = portal_of(request)
    session = current_session(request)
    fragment = template.startswith("_")
    site = site_of(request)
    path = request.url.path
    if site.app_root.startswith("/") and path.startswith(site.app_root + "/"):
        path = path[len(site.app_root) :]  # as the single origin's pages see it
    base: dict[str, Any] = {
        **site.context(),
        "request": request,
        "path": path,
        "session": session,
        "user_email": session.email if session is not None else None,
        "csrf": session.csrf if session is not None else "",
        "flashes": [] if fragment or session is None else session.pop_flashes(),
        "popup": not fragment and portal.faults.shows_popup(),
        "css_version": portal.faults.drift_name("v"),
    }
    base.update(context or {})
    html = portal.env.get_template(template).render(base)
    return HTMLResponse(html, status_code=status_code, headers={"cache-control": "no-store"})


def render_plain(
    portal: Portal, template: str, context: dict[str, Any], site: Site = SINGLE_ORIGIN
) -> str:
    """Render a page outside any request (error pages of the fault middleware)."""
    base: dict[str, Any] = {
        **site.context(),
        "path": "",
        "session": None,
        "user_email": None,
        "csrf": "",
        "flashes": [],
        "popup": False,
        "css_version": portal.faults.drift_name("v"),
    }
    base.update(context)
    return portal.env.get_template(template).render(base)


# --- lists ------------------------------------------------------------------------------


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name, "")
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if value > 0 else default


def page_params(request: Request) -> tuple[int, int]:
    """(page, size) of a list, from the query string, within bounds."""
    size = int_param(request, "taille", PAGE_SIZES[0])
    if size not in PAGE_SIZES:
        size = PAGE_SIZES[0]
    return int_param(request, "page", 1), size


def pages_count(total: int, size: int) -> int:
    return max(1, math.ceil(total / size))
