"""The count of documents and XHR the portal served since the last reset (``requetes`` of
``/_admin/stats``): what the benchmark divides by the invoices a run carried."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import httpx
import pytest

from sandbox.faults import RequestCounter, RequestKind, request_kind
from sandbox.server import RunningSandbox

NAVIGATE = {"Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate"}
FETCH = {"Sec-Fetch-Dest": "empty", "Sec-Fetch-Mode": "cors"}


def _counts(sandbox: RunningSandbox) -> dict[str, int]:
    counts: dict[str, int] = sandbox.stats()["requetes"]
    return counts


def _moved(sandbox: RunningSandbox, action: Callable[[], object]) -> tuple[int, int]:
    """How many documents and XHR the sandbox counted while ``action`` ran."""
    before = _counts(sandbox)
    action()
    after = _counts(sandbox)
    assert after["total"] == after["documents"] + after["xhr"]
    return after["documents"] - before["documents"], after["xhr"] - before["xhr"]


def _siret(sandbox: RunningSandbox) -> str:
    siret: str = sandbox.invoices()[0]["siret_destinataire"]
    return siret


def test_the_count_starts_at_zero_after_a_reset_and_keeps_the_other_stats(
    fresh_sandbox: RunningSandbox,
) -> None:
    with fresh_sandbox.http_client(login=False) as client:
        assert client.get("/connexion").status_code == 200
    assert _counts(fresh_sandbox)["documents"] >= 1
    fresh_sandbox.reset()
    stats = fresh_sandbox.stats()
    assert stats["requetes"] == {"documents": 0, "xhr": 0, "total": 0}
    assert {"comptes", "max_sessions_per_account"} <= stats.keys()


def test_a_client_without_sec_fetch_headers_is_counted_by_the_path(
    fresh_sandbox: RunningSandbox,
) -> None:
    """httpx (the floor client) sends no ``Sec-Fetch-*``: pages are documents, ``/api/`` is
    XHR, static files, the favicon, ``/health`` and the admin interface are not counted."""
    siret = _siret(fresh_sandbox)
    client = fresh_sandbox.http_client(login=False)
    with client:
        assert _moved(fresh_sandbox, lambda: client.get("/connexion")) == (1, 0)
        # The login: the form, then its answer (303) and the page it leads to.
        assert _moved(fresh_sandbox, lambda: fresh_sandbox.http_client().close()) == (3, 0)
    with fresh_sandbox.http_client() as client:
        assert _moved(fresh_sandbox, lambda: client.get("/accueil")) == (1, 0)
        answer = client.get(f"/api/structures/{siret}")
        assert answer.status_code == 200 and answer.json()["siret"] == siret
        assert _moved(fresh_sandbox, lambda: client.get(f"/api/structures/{siret}")) == (0, 1)
        for path in ("/static/style.css", "/static/app.js", "/favicon.ico", "/health"):
            assert _moved(fresh_sandbox, partial(client.get, path)) == (0, 0), path
        assert _moved(fresh_sandbox, lambda: fresh_sandbox.invoices()) == (0, 0)
        assert _moved(fresh_sandbox, lambda: fresh_sandbox.admin("GET", "faults")) == (0, 0)
        # A page that does not exist is still a document the portal answered.
        assert _moved(fresh_sandbox, lambda: client.get("/inconnue")) == (1, 0)


def test_a_browser_is_counted_by_its_sec_fetch_headers(fresh_sandbox: RunningSandbox) -> None:
    siret = _siret(fresh_sandbox)
    with fresh_sandbox.http_client() as client:
        assert _moved(fresh_sandbox, lambda: client.get("/accueil", headers=NAVIGATE)) == (1, 0)
        api = f"/api/structures/{siret}"
        assert _moved(fresh_sandbox, lambda: client.get(api, headers=FETCH)) == (0, 1)
        # A page fetched by a script is XHR; a page asked for as a script, the browser's own.
        assert _moved(fresh_sandbox, lambda: client.get("/accueil", headers=FETCH)) == (0, 1)
        script = {"Sec-Fetch-Dest": "script", "Sec-Fetch-Mode": "no-cors"}
        assert _moved(fresh_sandbox, lambda: client.get("/accueil", headers=script)) == (0, 0)
        style = {"Sec-Fetch-Dest": "style", "Sec-Fetch-Mode": "no-cors"}
        assert _moved(fresh_sandbox, lambda: client.get("/static/style.css", headers=style)) == (
            0,
            0,
        )
        # A navigation to the JSON address is a document.
        assert _moved(fresh_sandbox, lambda: client.get(api, headers=NAVIGATE)) == (1, 0)
    # A page asked for while logged out: its redirect and the login form, two documents.
    with httpx.Client(base_url=fresh_sandbox.url, follow_redirects=True) as anonymous:
        answer = anonymous.get("/accueil", headers=NAVIGATE)
        assert answer.url.path == "/connexion" and len(answer.history) == 1
        assert _moved(fresh_sandbox, lambda: anonymous.get("/accueil", headers=NAVIGATE)) == (
            2,
            0,
        )


def test_an_injected_error_page_is_counted_like_the_page_it_replaces(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.set_faults(maintenance=True)
    with httpx.Client(base_url=fresh_sandbox.url) as client:
        answer = client.get("/connexion")
        assert answer.status_code == 503
        assert _moved(fresh_sandbox, lambda: client.get("/connexion")) == (1, 0)
        assert _moved(fresh_sandbox, lambda: client.get("/static/style.css")) == (0, 0)


@pytest.mark.parametrize(
    ("path", "headers", "kind"),
    [
        ("/accueil", {}, "documents"),
        ("/factures-emises/synthese/traiter", {}, "documents"),
        ("/api/structures/1", {}, "xhr"),
        ("/factures-emises/synthese", {"x-fragment": "1"}, "xhr"),
        ("/accueil", {"sec-fetch-dest": "document", "sec-fetch-mode": "navigate"}, "documents"),
        ("/accueil", {"sec-fetch-dest": "iframe", "sec-fetch-mode": "navigate"}, "documents"),
        ("/accueil", {"sec-fetch-mode": "navigate"}, "documents"),
        ("/api/structures/1", {"sec-fetch-dest": "empty", "sec-fetch-mode": "cors"}, "xhr"),
        ("/accueil", {"sec-fetch-dest": "image", "sec-fetch-mode": "no-cors"}, None),
        ("/static/app.js", {}, None),
        ("/static/app.js", {"sec-fetch-dest": "empty", "sec-fetch-mode": "cors"}, None),
        ("/favicon.ico", {}, None),
        ("/.well-known/appspecific/com.chrome.devtools.json", {}, None),
        ("/_admin/stats", {}, None),
        ("/health", {}, None),
    ],
)
def test_request_kind(path: str, headers: dict[str, str], kind: str | None) -> None:
    raw = [(name.encode(), value.encode()) for name, value in headers.items()]
    assert request_kind(path, raw) == kind


def test_the_counter_adds_and_clears() -> None:
    counter = RequestCounter()
    kinds: tuple[RequestKind, ...] = ("documents", "documents", "xhr")
    for kind in kinds:
        counter.add(kind)
    assert counter.counts() == {"documents": 2, "xhr": 1, "total": 3}
    counter.clear()
    assert counter.counts() == {"documents": 0, "xhr": 0, "total": 0}
