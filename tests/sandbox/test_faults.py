"""Each fault knob has its effect (and leaves /health, /_admin and /static alone)."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from sandbox.faults import FaultError, FaultState, drift_css
from sandbox.server import RunningSandbox


def _get(sandbox: RunningSandbox, path: str) -> httpx.Response:
    return httpx.get(sandbox.url + path, timeout=30)


def _timing(response: httpx.Response, name: str) -> float:
    match = re.search(rf"{name};dur=([\d.]+)", response.headers["server-timing"])
    assert match is not None
    return float(match.group(1))


def test_latency_delays_pages_and_is_reported_apart(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.set_faults(latency_ms=300)
    started = time.perf_counter()
    page = _get(fresh_sandbox, "/connexion")
    elapsed = time.perf_counter() - started
    health = _get(fresh_sandbox, "/health")
    assert page.status_code == 200
    assert elapsed >= 0.3
    assert _timing(page, "latency") == pytest.approx(300, abs=1)
    assert _timing(page, "app") < 300
    assert _timing(health, "latency") == 0


def test_jitter_adds_at_most_its_value(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.set_faults(latency_ms=10, jitter_ms=40)
    latencies = [_timing(_get(fresh_sandbox, "/"), "latency") for _ in range(8)]
    assert all(10 <= value <= 50 for value in latencies)
    assert len(set(latencies)) > 1


def test_full_error_rate_answers_service_indisponible_but_spares_the_harness(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.set_faults(error_rate=1.0)
    page = _get(fresh_sandbox, "/connexion")
    assert page.status_code == 503
    assert "Service indisponible" in page.text
    assert "Le service est momentanément indisponible. Veuillez réessayer ultérieurement." in (
        page.text
    )
    assert _get(fresh_sandbox, "/health").status_code == 200
    assert _get(fresh_sandbox, "/static/style.css").status_code == 200
    assert fresh_sandbox.admin("GET", "faults").status_code == 200


def test_partial_error_rate_fails_some_pages_only(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.set_faults(error_rate=0.5)
    statuses = [_get(fresh_sandbox, "/").status_code for _ in range(40)]
    assert 503 in statuses and 200 in statuses


def test_maintenance_closes_every_page(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.set_faults(maintenance=True)
    pages = [_get(fresh_sandbox, path) for path in ("/", "/connexion", "/accueil")]
    assert all(p.status_code == 503 and "Maintenance en cours" in p.text for p in pages)
    assert _get(fresh_sandbox, "/health").status_code == 200


def test_popup_covers_pages_when_its_rate_is_one(fresh_sandbox: RunningSandbox) -> None:
    quiet = _get(fresh_sandbox, "/connexion").text
    fresh_sandbox.set_faults(popup_rate=1.0)
    noisy = _get(fresh_sandbox, "/connexion").text
    assert "J'ai compris" not in quiet
    assert 'role="dialog"' in noisy and ">Information</h2>" in noisy
    assert "J'ai compris</button>" in noisy


def test_slow_list_shows_a_progressbar_then_a_delayed_fragment(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.set_faults(slow_list_ms=400)
    with fresh_sandbox.http_client() as client:
        page = client.get("/factures-emises/synthese").text
        fragment_url = re.search(r'data-fragment="([^"]+)"', page)
        assert fragment_url is not None
        started = time.perf_counter()
        fragment = client.get(fragment_url.group(1).replace("&amp;", "&"))
        elapsed = time.perf_counter() - started
        search = client.get("/factures-emises/rechercher").text
    assert 'role="progressbar"' in page and "Chargement en cours…" in page
    assert "<table" not in page
    assert elapsed >= 0.4
    assert "<caption>Synthèse</caption>" in fragment.text
    assert "<html" not in fragment.text
    assert 'role="progressbar"' in search


def test_layout_drift_renames_ids_and_classes_but_keeps_labels(
    fresh_sandbox: RunningSandbox,
) -> None:
    def ids_and_classes(html: str) -> set[str]:
        found = set(re.findall(r'\bid="([^"]+)"', html))
        for value in re.findall(r'\bclass="([^"]+)"', html):
            found.update(value.split())
        return found

    def visible_words(html: str) -> list[str]:
        return re.findall(r">([^<>]*\w[^<>]*)<", html)

    plain = _get(fresh_sandbox, "/connexion").text
    plain_css = _get(fresh_sandbox, "/static/style.css").text
    fresh_sandbox.set_faults(layout_drift=True)
    drifted = _get(fresh_sandbox, "/connexion").text
    drifted_css = _get(fresh_sandbox, "/static/style.css").text
    assert ids_and_classes(plain) and not ids_and_classes(plain) & ids_and_classes(drifted)
    assert visible_words(plain) == visible_words(drifted)
    assert "Identifiant" in drifted and "Mot de passe" in drifted
    login_box = re.search(r'<div class="([^"]+)">\s*<h1', drifted)
    assert login_box is not None
    assert f".{login_box.group(1)} " in drifted_css
    assert ".login-box" in plain_css and ".login-box" not in drifted_css


def test_drifted_stylesheet_keeps_declarations_intact() -> None:
    css = ".a-b .c:hover { margin: 0.5rem 1.25em; color: #fff; }\n@media (x) { .d { top: 1.5px } }"
    out = drift_css(css, lambda name: "x" + name)
    assert out == (
        ".xa-b .xc:hover { margin: 0.5rem 1.25em; color: #fff; }\n@media (x) { .xd { top: 1.5px } }"
    )


def test_knobs_are_validated_before_any_change() -> None:
    state = FaultState()
    with pytest.raises(FaultError):
        state.update({"latency_ms": 10, "popup_rate": 3})
    with pytest.raises(FaultError):
        state.update({"unknown": 1})
    assert state.as_dict()["latency_ms"] == 0
