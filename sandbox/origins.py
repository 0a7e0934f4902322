"""Three origins (``SandboxOptions.origins == 3``): the real portal's three systems on three
ports of one server.

- the shell (:mod:`sandbox.web_shell`) on ``port``: the public page, « Accueil », and the
  harness's ``/health`` and ``/_admin/…``;
- the identity provider (:mod:`sandbox.web_idp`) on ``idp_port``: the login form, single
  sign-on, logout;
- the invoicing application (:mod:`sandbox.web_cpp`) on ``cpp_port``: every invoicing screen
  of the single origin under ``/cpp``.

One uvicorn server listens on the three sockets; :class:`OriginsApp` hands each request to its
origin's app by the local port (``scope["server"]``). The three share one :class:`Portal`
(store, fault knobs, request counter, Maildir, login lockout); each has its session cookie
and store, and the fault knobs apply to all three. Static files are served at ``/static`` on
each origin.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox import (
    web_cpp,
    web_entry,
    web_followup,
    web_home,
    web_idp,
    web_invoice,
    web_lists,
    web_shell,
)
from sandbox.app import (
    PAGE_ERRORS,
    closing_lifespan,
    common_routes,
    create_app,
    fault_middleware,
    harness_routes,
    make_portal,
    static_mount,
)
from sandbox.oidc import APP_ROOT, SHELL_HOME, Origins
from sandbox.settings import SandboxOptions
from sandbox.web_common import LoginNeeded, Portal, SessionMiddleware, Site


def sites(origins: Origins) -> dict[str, Site]:
    """Where each origin's pages link to: ``portail``, ``idp``, ``cpp``."""
    shell = origins.shell
    elsewhere = {
        "home_url": origins.shell_home,
        "public_url": shell + "/",
        "login_url": shell + "/login",
        "window_url": shell + web_shell.WINDOW_PATH,
    }
    return {
        "portail": Site(
            app_root=origins.cpp + APP_ROOT,
            home_url=SHELL_HOME,
            public_url="/",
            login_url="/login",
            logout_url=web_shell.LOGOUT_PATH,
            window_url=web_shell.WINDOW_PATH,
            layout="shell_base.html",
        ),
        "idp": Site(
            app_root=origins.cpp + APP_ROOT,
            logout_url=shell + web_shell.LOGOUT_PATH,
            layout="idp_base.html",
            **elsewhere,
        ),
        "cpp": Site(
            app_root=APP_ROOT,
            logout_url=APP_ROOT + web_cpp.LOGOUT_PATH,
            layout="base.html",
            **elsewhere,
        ),
    }


def _cpp_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [*web_home.domain_routes(), *web_cpp.routes()]
    for module in (web_lists, web_invoice, web_followup, web_entry):
        routes.extend(module.routes())
    return routes


def _origin(
    portal: Portal,
    origins: Origins,
    site: Site,
    routes: list[BaseRoute],
    sessions: dict[str, Any],
    login_needed: Any,
    lifespan: Any = None,
) -> Starlette:
    app = Starlette(
        routes=[*routes, static_mount()],
        middleware=[
            fault_middleware(portal, site),
            Middleware(SessionMiddleware, portal=portal, **sessions),
        ],
        exception_handlers={LoginNeeded: login_needed, **PAGE_ERRORS},
        lifespan=lifespan,
    )
    app.state.portal = portal
    app.state.site = site
    app.state.origins = origins
    return app


class OriginsApp:
    """The one ASGI app of the three ports: each request goes to its origin's app, chosen by
    the port it arrived on; anything else (the lifespan) to the shell's."""

    def __init__(self, portal: Portal, origins: Origins, apps: dict[str, Starlette]) -> None:
        self.portal = portal
        self.origins = origins
        self.apps = apps
        options = portal.options
        self._by_port = {
            options.port: apps["portail"],
            options.idp_port: apps["idp"],
            options.cpp_port: apps["cpp"],
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        app = self._by_port.get(server[1]) if server else None
        await (app or self.apps["portail"])(scope, receive, send)


def create_origins_app(portal: Portal) -> OriginsApp:
    """The three origins over ``portal`` (its options' three ports already bound)."""
    options = portal.options
    if 0 in (options.port, options.idp_port, options.cpp_port):
        raise ValueError("the three origins need their ports bound")
    origins = Origins.of(options)
    site = sites(origins)
    apps = {
        "portail": _origin(
            portal,
            origins,
            site["portail"],
            [*harness_routes(), *common_routes(), *web_shell.routes()],
            {"cookie": web_shell.SHELL_COOKIE, "store": portal.shell_sessions, "expiring": False},
            web_shell.login_needed,
            closing_lifespan(portal),
        ),
        "idp": _origin(
            portal,
            origins,
            site["idp"],
            [*common_routes(), *web_idp.routes()],
            {
                "cookie": web_idp.LOGIN_COOKIE,
                "path": web_idp.COOKIE_PATH,
                "store": portal.idp_logins,
                "expiring": False,
            },
            web_shell.login_needed,
        ),
        "cpp": _origin(
            portal,
            origins,
            site["cpp"],
            [*common_routes(), Mount(APP_ROOT, routes=_cpp_routes())],
            {"cookie": web_cpp.CPP_COOKIE, "path": APP_ROOT, "store": portal.sessions},
            web_cpp.login_needed,
        ),
    }
    return OriginsApp(portal, origins, apps)


def build_app(
    options: SandboxOptions, *, health_token: str | None = None, reset: bool = False
) -> ASGIApp:
    """The server's app: :func:`sandbox.app.create_app`, or with ``options.origins == 3`` the
    three origins' (their ports already bound: ``sandbox.server.bind_origins``)."""
    if options.origins != 3:
        return create_app(options, health_token=health_token, reset=reset)
    return create_origins_app(make_portal(options, health_token=health_token, reset=reset))
