"""Fault knobs: the ways the sandbox misbehaves on purpose, changeable at runtime.

:class:`FaultState` holds the knobs (validated on every change); :class:`FaultMiddleware`
applies the per-request ones (latency, error rate, maintenance), adds the
``Server-Timing`` header and counts the portal's answers in a :class:`RequestCounter`
(``/_admin/stats``). The pop-up, the slow list, session expiry, layout drift and the label
drift (renamed or removed labels, reordered columns and form blocks) are read from the same
state by the templates that show them; the session cap per account
(``max_sessions_per_account``) by the login (:mod:`sandbox.web_auth`).

Paths under ``/health``, ``/_admin`` and ``/static`` are never faulted: the harness must always
be able to see and steer the server.

**Requests served** (:func:`request_kind`): documents (a page, or the redirect answering a
page's request) and XHR/fetch (``/api/…`` JSON, a list's fragment), told apart by the
browser's ``Sec-Fetch-Dest``/``Sec-Fetch-Mode`` where it sends them, by the path otherwise (an
HTTP client such as httpx sends none). Not counted: the exempt paths above, the favicon and
whatever else a browser fetches by itself (stylesheets, scripts, images: any other
``Sec-Fetch-Dest``). Counted when the answer starts, injected error pages included.

Every random decision (injected 503, pop-up, latency jitter, drifted names) comes from the
state's ``seed``: two servers started with the same seed take the same decisions for the same
sequence of requests, so a failed run can be replayed (``--fault-seed``,
``CHORUS_SANDBOX_FAULT_SEED``). Each kind of decision draws from its own stream, so that turning
one knob on does not shift the decisions of another.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from loguru import logger
from markupsafe import Markup, escape
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.settings import FAULT_SEED_MAX

EXEMPT_PREFIXES = ("/health", "/_admin", "/static")
#: Paths a browser asks for by itself, never the portal's screens: not counted.
BROWSER_OWN_PATHS = frozenset({"/favicon.ico", "/robots.txt"})
BROWSER_OWN_PREFIXES = ("/.well-known/",)
#: The invoicing application's prefix with three origins (:mod:`sandbox.origins`).
APP_ROOT_CPP = "/cpp"
_STREAMS = ("error", "popup", "jitter")


def draw_fault_seed() -> int:
    """A fresh seed for the fault decisions (to be shown, so that the run can be replayed)."""
    return random.SystemRandom().randrange(FAULT_SEED_MAX + 1)


class FaultError(ValueError):
    """A knob name or value is not acceptable (message in French)."""


@dataclass
class Knobs:
    """The knob values; zero / False means « no fault »."""

    latency_ms: int = 0
    jitter_ms: int = 0
    error_rate: float = 0.0
    session_idle_s: float = 0
    session_max_requests: int = 0  # a logged-in session ends after serving this many pages
    max_sessions_per_account: int = 0  # a further login of an account holding this many fails
    maintenance: bool = False
    popup_rate: float = 0.0
    slow_list_ms: int = 0
    layout_drift: bool = False
    # Portal drift: a visible label → its new text; labels whose element is not rendered;
    # columns of the lists and blocks of the entry form shown in another order.
    label_renames: dict[str, str] = field(default_factory=dict)
    label_removals: list[str] = field(default_factory=list)
    reorder: bool = False


KNOB_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Knobs))
_BOOLEANS = ("maintenance", "layout_drift", "reorder")
_MAX_LABELS = 100


def _label(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FaultError(f"{name} : chaque libellé doit être un texte non vide.")
    return value


def _check_labels(name: str, value: Any) -> Any:
    """``label_renames`` ({label: new label}) or ``label_removals`` ([label, …]), checked."""
    if name == "label_renames":
        if not isinstance(value, dict):
            raise FaultError("label_renames doit être un objet {libellé: nouveau libellé}.")
        checked: Any = {_label(name, k): _label(name, v) for k, v in value.items()}
    else:
        if not isinstance(value, list):
            raise FaultError("label_removals doit être une liste de libellés.")
        checked = [_label(name, item) for item in value]
    if len(checked) > _MAX_LABELS:
        raise FaultError(f"{name} : {_MAX_LABELS} libellés au plus.")
    return checked


def _check(name: str, value: Any) -> Any:
    """The value converted to the knob's type, or :class:`FaultError`."""
    if name not in KNOB_NAMES:
        raise FaultError(f"Réglage inconnu : {name}.")
    if name in ("label_renames", "label_removals"):
        return _check_labels(name, value)
    if name in _BOOLEANS:
        if not isinstance(value, bool):
            raise FaultError(f"{name} doit être un booléen.")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{name} doit être un nombre.")
    if value < 0:
        raise FaultError(f"{name} ne peut pas être négatif.")
    if name in ("error_rate", "popup_rate"):
        if value > 1:
            raise FaultError(f"{name} doit être compris entre 0 et 1.")
        return float(value)
    if name == "session_idle_s":
        return float(value)
    if value != int(value):
        unit = "" if name == "max_sessions_per_account" else " (millisecondes)"
        raise FaultError(f"{name} doit être un entier{unit}.")
    return int(value)


class FaultState:
    """The current knobs, shared by the middleware and the pages (thread-safe)."""

    def __init__(self, knobs: Knobs | None = None, *, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._knobs = Knobs()
        #: Where every random decision comes from (drawn when not given).
        self.seed = draw_fault_seed() if seed is None else seed
        if not 0 <= self.seed <= FAULT_SEED_MAX:
            raise FaultError(f"La graine des pannes doit être entre 0 et {FAULT_SEED_MAX}.")
        self._rngs = {name: random.Random(f"{self.seed}:{name}") for name in _STREAMS}
        # Drifted names differ from one seed to the next (a new one per run unless given).
        self._drift_salt = hashlib.sha256(f"{self.seed}:drift".encode()).hexdigest()[:8]
        if knobs is not None:
            self.update({f.name: getattr(knobs, f.name) for f in fields(Knobs)})

    @property
    def knobs(self) -> Knobs:
        with self._lock:
            return _copy(self._knobs)

    def as_dict(self) -> dict[str, Any]:
        knobs = self.knobs
        return {name: getattr(knobs, name) for name in KNOB_NAMES}

    def update(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change some knobs; all are validated before any is applied."""
        checked = {name: _check(name, value) for name, value in changes.items()}
        with self._lock:
            for name, value in checked.items():
                setattr(self._knobs, name, value)
        return self.as_dict()

    def clear(self) -> dict[str, Any]:
        """Every knob back to « no fault »."""
        blank = Knobs()
        return self.update({name: getattr(blank, name) for name in KNOB_NAMES})

    def _chance(self, stream: str, rate: float) -> bool:
        """True with probability ``rate``, drawn from ``stream`` (no draw when ``rate`` is 0)."""
        if rate <= 0:
            return False
        with self._lock:
            return self._rngs[stream].random() < rate

    def injects_error(self) -> bool:
        """Whether this request gets an injected « Service indisponible » (``error_rate``)."""
        return self._chance("error", self.knobs.error_rate)

    def shows_popup(self) -> bool:
        """Whether this page is covered by the information pop-up (``popup_rate``)."""
        return self._chance("popup", self.knobs.popup_rate)

    def latency_s(self) -> float:
        """The delay to add to this request: ``latency_ms`` plus a draw of the jitter."""
        knobs = self.knobs
        jitter = 0
        if knobs.jitter_ms:
            with self._lock:
                jitter = self._rngs["jitter"].randint(0, knobs.jitter_ms)
        return (knobs.latency_ms + jitter) / 1000

    def drift_name(self, name: str) -> str:
        """The id / CSS class to write for ``name``: itself, or a renamed one under drift."""
        if not self.knobs.layout_drift:
            return name
        digest = hashlib.sha256(f"{self._drift_salt}:{name}".encode()).hexdigest()[:8]
        return f"z{digest}"

    # -- portal drift: what the templates call where they render a label --------------------
    def label(self, text: str, quote: bool = False) -> Markup:
        """The text to show for the visible label ``text`` (renamed under drift), escaped.

        Apostrophes stay as typed (« J'ai compris »), as in the templates' literal text;
        with ``quote`` they are escaped like any value Jinja prints. Double quotes always
        are, since the templates quote their attributes with them.
        """
        with self._lock:
            shown = self._knobs.label_renames.get(text, text)
        if quote:
            return escape(shown)
        return Markup(html.escape(shown, quote=False).replace('"', "&quot;"))

    def shown(self, text: str) -> bool:
        """False when the element labelled ``text`` must not be rendered."""
        with self._lock:
            return text not in self._knobs.label_removals

    def columns(self, columns: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """A table's ``(key, label)`` columns: removed ones left out, reversed under reorder."""
        kept = [column for column in columns if self.shown(column[1])]
        return kept[::-1] if self.knobs.reorder else kept

    def block_style(self, position: int, blocks: int) -> Markup:
        """The ``style`` attribute placing a form block (1…``blocks``), or the form itself
        (position 0, made a flex column), when blocks are reordered; empty otherwise.

        Blocks are shown in reverse order; anything after them (position > ``blocks``, the
        buttons) stays last. The DOM order does not change: only what a person sees does.
        """
        if not self.knobs.reorder:
            return Markup("")
        if position == 0:
            return Markup(' style="display: flex; flex-direction: column"')
        order = blocks + 1 - position if position <= blocks else position
        return Markup(f' style="order: {order}"')


def _copy(knobs: Knobs) -> Knobs:
    values = {name: getattr(knobs, name) for name in KNOB_NAMES}
    values["label_renames"] = dict(knobs.label_renames)
    values["label_removals"] = list(knobs.label_removals)
    return Knobs(**values)


def is_exempt(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in EXEMPT_PREFIXES)


RequestKind = Literal["documents", "xhr"]
_DOCUMENT_DESTS = frozenset({b"document", b"iframe", b"frame"})


def request_kind(path: str, headers: Iterable[tuple[bytes, bytes]]) -> RequestKind | None:
    """What an answer to this request counts as: ``"documents"``, ``"xhr"``, or None (not
    counted: the harness's paths, static files, what a browser fetches by itself).

    ``headers``: the ASGI scope's (lower-case names). ``Sec-Fetch-Mode: navigate`` or a
    document ``Sec-Fetch-Dest`` is a page; ``Sec-Fetch-Dest: empty`` is ``fetch()`` or
    ``XMLHttpRequest``; any other destination (style, script, image, font…) is the browser's
    own. Without those headers: ``/api/…`` (``/cpp/api/…``) or ``X-Fragment: 1`` is XHR,
    anything else a page.
    """
    if is_exempt(path) or path in BROWSER_OWN_PATHS or path.startswith(BROWSER_OWN_PREFIXES):
        return None
    dest = mode = fragment = None
    for name, value in headers:
        if name == b"sec-fetch-dest":
            dest = value.lower()
        elif name == b"sec-fetch-mode":
            mode = value.lower()
        elif name == b"x-fragment":
            fragment = value
    if mode == b"navigate" or dest in _DOCUMENT_DESTS:
        return "documents"
    if dest == b"empty":
        return "xhr"
    if dest:
        return None
    if path.startswith(APP_ROOT_CPP + "/"):
        path = path[len(APP_ROOT_CPP) :]  # its ``/cpp/api/…`` is the single origin's ``/api/…``
    if path.startswith("/api/") or fragment == b"1":
        return "xhr"
    return "documents"


class RequestCounter:
    """The documents and XHR answered since the last :meth:`clear` (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[RequestKind, int] = {"documents": 0, "xhr": 0}

    def add(self, kind: RequestKind) -> None:
        with self._lock:
            self._counts[kind] += 1

    def clear(self) -> None:
        with self._lock:
            self._counts = {"documents": 0, "xhr": 0}

    def counts(self) -> dict[str, int]:
        """``{"documents": n, "xhr": n, "total": n}``."""
        with self._lock:
            documents, xhr = self._counts["documents"], self._counts["xhr"]
        return {"documents": documents, "xhr": xhr, "total": documents + xhr}


ErrorPage = Callable[[str], tuple[int, str]]


class FaultMiddleware:
    """ASGI middleware: latency, injected 503s, maintenance, ``Server-Timing``, and the
    count of documents and XHR answered (``counter``, when given).

    ``error_page(kind)`` returns ``(status, html)`` for ``kind`` in ``{"unavailable",
    "maintenance"}``, so the pages keep the portal's look.
    """

    def __init__(
        self,
        app: ASGIApp,
        state: FaultState,
        error_page: ErrorPage,
        counter: RequestCounter | None = None,
    ) -> None:
        self.app = app
        self.state = state
        self.error_page = error_page
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        counter = self.counter
        counted = None if counter is None else request_kind(path, scope.get("headers", ()))
        latency = 0.0
        if not is_exempt(path):
            latency = self.state.latency_s()
            if latency:
                await asyncio.sleep(latency)
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                if counter is not None and counted is not None:
                    counter.add(counted)
                app_ms = (time.perf_counter() - started) * 1000
                value = f"app;dur={app_ms:.1f}, latency;dur={latency * 1000:.1f}"
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"server-timing"
                ]
                headers.append((b"server-timing", value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        if not is_exempt(path):
            knobs = self.state.knobs
            kind = None
            if knobs.maintenance:
                kind = "maintenance"
            elif self.state.injects_error():
                kind = "unavailable"
            if kind is not None:
                status, html = self.error_page(kind)
                await _send_html(timed_send, status, html)
                return
        started_response = False

        async def tracking_send(message: Message) -> None:
            nonlocal started_response
            if message["type"] == "http.response.start":
                started_response = True
            await timed_send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started_response:
                raise
            logger.exception("Unhandled error on {}", path)
            status, html = self.error_page("crash")
            await _send_html(timed_send, status, html)


_CLASS_SELECTOR = re.compile(r"\.(-?[A-Za-z_][\w-]*)")
#: Classes of a library the pages' script builds (the Select2 drop-downs): the portal's
#: layout drift renames its own classes, not a library's, so they stay as they are.
LIBRARY_CLASS_PREFIXES = ("select2",)


def drift_css(css: str, rename: Callable[[str], str]) -> str:
    """The stylesheet with every class selector renamed like the pages' classes (but the
    library's, :data:`LIBRARY_CLASS_PREFIXES`).

    Only selector preludes (text before ``{``) are touched, never declarations, so that
    numbers such as ``0.5rem`` stay as they are.
    """

    def renamed(match: re.Match[str]) -> str:
        name = match.group(1)
        return "." + (name if name.startswith(LIBRARY_CLASS_PREFIXES) else rename(name))

    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    parts = re.split(r"([{}])", css)
    out: list[str] = []
    for i, part in enumerate(parts):
        is_prelude = i + 1 < len(parts) and parts[i + 1] == "{"
        if is_prelude and not part.lstrip().startswith("@"):
            part = _CLASS_SELECTOR.sub(renamed, part)
        out.append(part)
    return "".join(out)


async def _send_html(send: Send, status: int, html: str) -> None:
    body = html.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"retry-after", b"5"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
