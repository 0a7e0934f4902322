"""The sandbox web application: ``create_app(options)`` wires the store, the screens, the
sessions, the fault knobs and the admin interface into one Starlette app.

On start the database in ``options.data_dir`` is seeded only when it is empty (or when
``reset=True``): a restarted server keeps its state. The seed of the fault decisions (given, or
drawn) is logged, so that the run can be replayed.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import fields
from typing import Any

from loguru import logger
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from sandbox import (
    web_admin,
    web_auth,
    web_entry,
    web_followup,
    web_home,
    web_invoice,
    web_lists,
)
from sandbox.faults import FaultMiddleware, FaultState, Knobs, drift_css
from sandbox.security import LoginGuard, Maildir, SessionStore
from sandbox.seed import seed
from sandbox.settings import ENV_PREFIX, SandboxOptions
from sandbox.store import NotFound, Store
from sandbox.web_common import (
    SINGLE_ORIGIN,
    STATIC,
    CsrfRefused,
    LoginNeeded,
    Portal,
    SessionMiddleware,
    Site,
    login_redirect,
    make_env,
    portal_of,
    render,
    render_plain,
    site_of,
)

_ERRORS: dict[str, tuple[int, str, str]] = {
    "unavailable": (
        503,
        "Service indisponible",
        "Le service est momentanément indisponible. Veuillez réessayer ultérieurement.",
    ),
    "crash": (
        500,
        "Service indisponible",
        "Le service est momentanément indisponible. Veuillez réessayer ultérieurement.",
    ),
    "maintenance": (
        503,
        "Maintenance en cours",
        "Le portail est en cours de maintenance. Veuillez réessayer ultérieurement.",
    ),
}


def _is_empty(store: Store) -> bool:
    return store.count_invoices() == 0 and not store.list_structures()


def reseed_data_dir(options: SandboxOptions) -> str:
    """Re-seed the database of ``options.data_dir`` without serving (``chorus-sandbox seed``)."""
    options.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(options.db_path)
    try:
        info = seed(
            store,
            rejected=options.seed,
            suspended=options.seed_suspended,
            recycle=options.seed_recycle,
            random_seed=options.random_seed,
            user_email=options.user,
            password=options.password,
            otp=options.otp,
            accounts=options.accounts,
        )
        Maildir(options.maildir).clear()
        rejected = sum(len(a.rejected_numbers) for a in info.accounts)
        suspended = sum(len(a.suspended_numbers) for a in info.accounts)
        recycle = sum(len(a.recycle_numbers) for a in info.accounts)
        summary = f"{store.count_invoices()} factures, dont {rejected} rejetées"
        if suspended or recycle:
            summary += f", {suspended} suspendues à acquitter et {recycle} à recycler"
        if len(info.accounts) > 1:
            summary += (
                f", sur {len(info.accounts)} comptes (de {info.accounts[0].user_email} "
                f"à {info.accounts[-1].user_email})"
            )
        return summary + "."
    finally:
        store.close()


def error_response(portal: Portal, kind: str, site: Site = SINGLE_ORIGIN) -> tuple[int, str]:
    """The fault middleware's page for ``kind`` (in the look of ``site``)."""
    status, title, message = _ERRORS[kind]
    ctx = {"status": status, "title": title, "message": message, "link": None}
    return status, render_plain(portal, "error.html", ctx, site)


def page_error(request: Request, status: int, title: str, message: str) -> Response:
    link = (site_of(request).home_url, "Retour à l'accueil")
    ctx = {"status": status, "title": title, "message": message, "link": link}
    return render(request, "error.html", ctx, status_code=status)


async def _not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code != 404:
        return HTMLResponse(str(exc.detail), status_code=exc.status_code)
    message = str(exc) if isinstance(exc, NotFound) else "La page demandée n'existe pas."
    return page_error(request, 404, "Page introuvable", message)


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    return page_error(
        request,
        403,
        "Requête refusée",
        "La requête n'a pas pu être vérifiée (jeton de sécurité absent ou périmé). "
        "Rechargez la page puis recommencez.",
    )


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "token": portal_of(request).health_token})


async def _stylesheet(request: Request) -> Response:
    portal = portal_of(request)
    css = (STATIC / "style.css").read_text(encoding="utf-8")
    if portal.faults.knobs.layout_drift:
        css = drift_css(css, portal.faults.drift_name)
    return Response(css, media_type="text/css", headers={"cache-control": "no-cache"})


async def _favicon(request: Request) -> Response:
    return Response(status_code=204)


def common_routes() -> list[BaseRoute]:
    """What every origin serves besides its pages: the stylesheet and the favicon (the rest
    of ``/static`` is :func:`static_mount`, last)."""
    return [
        Route("/static/style.css", _stylesheet, methods=["GET"]),
        Route("/favicon.ico", _favicon, methods=["GET"]),
    ]


def static_mount() -> Mount:
    return Mount("/static", app=StaticFiles(directory=STATIC), name="static")


def harness_routes() -> list[BaseRoute]:
    """``/health`` and the admin interface (the single origin's, or the shell's)."""
    return [Route("/health", _health, methods=["GET"]), *web_admin.routes()]


def _routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [Route("/health", _health, methods=["GET"]), *common_routes()]
    for module in (web_auth, web_home, web_lists, web_invoice, web_followup, web_entry, web_admin):
        routes.extend(module.routes())
    routes.append(static_mount())
    return routes


def make_portal(
    options: SandboxOptions, *, health_token: str | None = None, reset: bool = False
) -> Portal:
    """The state one server shares between its screens (and its origins): the database is
    opened, and seeded if empty (or when ``reset``)."""
    options.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(options.db_path)
    store.acheminement_s = options.acheminement_s
    knobs = Knobs(**{f.name: getattr(options, f.name) for f in fields(Knobs)})
    faults = FaultState(knobs, seed=options.fault_seed)
    logger.info("Graine des pannes simulées : {} ({}FAULT_SEED)", faults.seed, ENV_PREFIX)
    maildir = Maildir(options.maildir)
    maildir.ensure()
    portal = Portal(
        options=options,
        store=store,
        faults=faults,
        sessions=SessionStore(),
        guard=LoginGuard(),
        maildir=maildir,
        health_token=health_token or secrets.token_hex(16),
        env=make_env(faults),
    )
    if reset or _is_empty(store):
        portal.reseed(
            rejected=options.seed,
            suspended=options.seed_suspended,
            recycle=options.seed_recycle,
            random_seed=options.random_seed,
            otp=options.otp,
            accounts=options.accounts,
        )
    return portal


def fault_middleware(portal: Portal, site: Site = SINGLE_ORIGIN) -> Middleware:
    """The fault knobs on one origin (the state and the count of requests shared)."""
    return Middleware(
        FaultMiddleware,
        state=portal.faults,
        error_page=lambda kind: error_response(portal, kind, site),
        counter=portal.requests,
    )


def closing_lifespan(portal: Portal) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A lifespan closing the portal's database when the server stops."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            portal.store.close()

    return lifespan


PAGE_ERRORS: dict[Any, Callable[[Request, Exception], Any]] = {
    CsrfRefused: _csrf_refused,
    NotFound: _not_found,
    HTTPException: _not_found,
}


def create_app(
    options: SandboxOptions, *, health_token: str | None = None, reset: bool = False
) -> Starlette:
    """The single-origin sandbox app for these options (the database is opened, and seeded if
    empty). Three origins: :func:`sandbox.origins.build_app`."""
    portal = make_portal(options, health_token=health_token, reset=reset)
    app = Starlette(
        routes=_routes(),
        middleware=[fault_middleware(portal), Middleware(SessionMiddleware, portal=portal)],
        exception_handlers={LoginNeeded: login_redirect, **PAGE_ERRORS},
        lifespan=closing_lifespan(portal),
    )
    app.state.portal = portal
    return app
