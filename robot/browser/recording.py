"""Recording a worker's work: one Playwright trace per transaction, screenshots, videos.

Tracing runs on the *work* context only (the login context is never traced). Each
transaction is one trace chunk saved as ``traces/<numero_rejete>.zip``. When the work
context is replaced mid-transaction (re-login, browser crash), the chunk recorded so far is
saved as ``traces/<numero_rejete>-partN.zip`` so no part of the record is lost. A trace holds
the DOM snapshots Playwright takes before and after every action (the trace viewer replays
them, filled fields included) and no screencast.

Screenshots around each click that changes the portal (:meth:`Recorder.witness`): before the
click, the window as the user sees it (for « Confirmer et envoyer »: the confirmation dialog
and its totals); after the click, the window. Before a click that sends a filled form
(:data:`SENDING_CLICKS`), the whole page too, any modal window set aside: what is sent —
SIRET, engagement, lines, bank account. Only there: a whole-page capture of the entry form
(about 2,500 px high) took 0.7 to 1.6 s on a loaded 2-core machine, against 0.1 s for the
window; on all three clicks of a reissue it added a third to the time of a transaction.
Each one is written down as a ``screenshot`` event of
``events.jsonl`` — when, which click, which address, its SHA-256 — so the report can caption
it and the hash chain seals it the moment it is taken. File names are ASCII
(``Confirmer_et_envoyer-apres``).

Modes (``CHORUS_TRACE`` / ``CHORUS_VIDEO``): ``on``, ``off``, ``retain-on-failure``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from loguru import logger
from playwright.sync_api import BrowserContext, Page

from robot.audit.events import EventLog, read_events
from robot.audit.rundir import SCREENSHOTS_DIR, RunDir
from robot.timezone import PARIS

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")
#: Letters NFKD does not take apart.
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})
#: The clicks that send a filled form (the portal's labels): the page before them is kept
#: whole, as sent.
SENDING_CLICKS = frozenset({"Confirmer et envoyer", "Compléter", "Recycler"})
#: The screenshot event's type in ``events.jsonl``.
SCREENSHOT_EVENT = "screenshot"
#: The event of an action taken for several invoices at once: its invoices, its traces.
BATCH_EVENT = "batch"
#: Applied while the whole-page screenshot is taken only (the page itself is not touched):
#: a modal window and its backdrop would hide and darken the form behind them.
_SET_MODALS_ASIDE = (
    "dialog[open], [aria-modal='true'], :not(html, body):has(> [aria-modal='true']) "
    "{ display: none !important; }"
)


def ascii_name(text: str) -> str:
    """``text`` with accents taken off (« après » → « apres »), for file names."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def safe_name(text: str) -> str:
    """A file-name-safe, ASCII form of an invoice number or a label (``/`` is allowed in
    numbers; accents are taken off rather than replaced)."""
    return _UNSAFE.sub("_", ascii_name(text)).strip("._") or "facture"


@dataclass(frozen=True)
class ScreenshotNote:
    """What a screenshot shows: when, around which click, at which address.

    ``file``: its path relative to the run folder; ``moment``: « avant » or « après » the
    click; ``full_page``: the whole page (modal windows set aside) rather than the window."""

    file: str
    invoice: str
    action: str
    moment: str
    url: str
    taken_at: datetime | None
    full_page: bool = False
    #: The invoices of a batch action (« Traiter le rejet » for several): each one's record.
    invoices: tuple[str, ...] = ()

    def shows(self, numero: str) -> bool:
        """Whether this screenshot belongs to the record of invoice ``numero``."""
        return self.invoice == numero or numero in self.invoices

    @property
    def caption(self) -> str:
        """In French, for the report: « Avant « Acquitter » — page entière »."""
        what = f"{self.moment.capitalize()} « {self.action} »" if self.action else self.moment
        return f"{what} — page entière" if self.full_page else f"{what} — fenêtre affichée"


def read_screenshot_notes(run_dir: Path) -> dict[str, ScreenshotNote]:
    """Every screenshot the run's events describe, by its path relative to the run folder."""
    notes: dict[str, ScreenshotNote] = {}
    for event in read_events(RunDir(run_dir).events):
        if event.get("type") != SCREENSHOT_EVENT or not isinstance(event.get("file"), str):
            continue
        notes[event["file"]] = ScreenshotNote(
            file=event["file"],
            invoice=str(event.get("invoice", "")),
            action=str(event.get("action", "")),
            moment=str(event.get("moment", "")),
            url=str(event.get("url", "")),
            taken_at=_instant(event.get("taken_at") or event.get("time")),
            full_page=bool(event.get("full_page", False)),
            invoices=tuple(str(n) for n in event.get("invoices") or ()),
        )
    return notes


def read_batch_traces(run_dir: Path) -> dict[str, list[str]]:
    """By invoice number, the traces of the batch actions that covered it (file names in
    ``traces/``, in the order the :data:`BATCH_EVENT` events name them)."""
    found: dict[str, list[str]] = {}
    for event in read_events(RunDir(run_dir).events):
        if event.get("type") != BATCH_EVENT:
            continue
        for numero in event.get("invoices") or ():
            for name in event.get("traces") or ():
                if name not in found.setdefault(str(numero), []):
                    found[str(numero)].append(str(name))
    return found


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(PARIS) if moment.tzinfo else None


class Recorder:
    """Owns tracing and screenshots for one worker's successive work contexts."""

    def __init__(self, run_dir: Path, *, trace: str = "on", video: str = "off") -> None:
        self.run_dir = run_dir
        self.trace_mode = trace
        self.video_mode = video
        layout = RunDir(run_dir)
        self.traces_dir = layout.traces
        self.screenshots_dir = layout.screenshots
        self.videos_dir = layout.videos
        self._context: BrowserContext | None = None
        self._current: str | None = None
        self._parts: dict[str, list[Path]] = {}
        self._shot_seq = 0
        self._events = EventLog(layout.events)
        self._context_failed = False  # a failed transaction in the current context's video
        self._batch: tuple[str, ...] = ()  # the invoices of the batch being recorded

    @property
    def tracing(self) -> bool:
        return self.trace_mode != "off"

    @property
    def video_dir(self) -> Path | None:
        return self.videos_dir if self.video_mode != "off" else None

    # -- contexts ---------------------------------------------------------------------------
    def attach(self, context: BrowserContext) -> None:
        """A new work context: start tracing, resume the current transaction's chunk."""
        self._context = context
        if not self.tracing:
            return
        # DOM snapshots before and after every action: what the trace viewer replays. No
        # screencast (``screenshots=False``): its frames cost 1.1 to 1.7 CPU-s per invoice,
        # and the witness screenshots already show each portal-changing click as the user saw
        # it.
        context.tracing.start(screenshots=False, snapshots=True, sources=False)
        # ``start`` opens a first chunk of its own. Close it now: a chunk left open keeps its
        # record of every later call's stack in Playwright's driver for as long as the driver
        # lives, even once a new chunk replaced it (one more per work context: the two
        # drivers of a 1,000-invoice run reached 657 MB). Each transaction then records in a
        # chunk of its own.
        context.tracing.stop_chunk()
        if self._current is not None:
            context.tracing.start_chunk(title=self._current)

    def detach(self, context: BrowserContext) -> None:
        """The work context is about to close: keep what its current chunk recorded."""
        if context is not self._context:
            return
        self._context = None
        if not self.tracing or self._current is None:
            return
        self._save_part(context, self._current)

    def _save_part(self, context: BrowserContext, numero: str) -> None:
        """Save the chunk recorded so far as ``<numero>-partN.zip`` (returned by :meth:`end`)."""
        parts = self._parts.setdefault(numero, [])
        path = self.traces_dir / f"{safe_name(numero)}-part{len(parts) + 1}.zip"
        try:
            context.tracing.stop_chunk(path=str(path))
            parts.append(path)
        except Exception as exc:
            logger.debug("trace partielle perdue pour {} : {}", numero, exc)

    # -- transactions -----------------------------------------------------------------------
    def context_closed(self, videos: list[Path]) -> None:
        """The work context closed and its video files are complete: keep them or not."""
        keep = self.video_mode == "on" or (
            self.video_mode == "retain-on-failure" and self._context_failed
        )
        self._context_failed = False
        if not keep:
            for video in videos:
                video.unlink(missing_ok=True)

    def begin(self, numero: str) -> None:
        self._current = numero
        if self.tracing and self._context is not None:
            self._context.tracing.start_chunk(title=numero)

    def pause(self, numero: str) -> None:
        """Close the transaction's chunk for now (its worker turns to other invoices of its
        batch): kept as ``<numero>-partN.zip``, returned with the rest by :meth:`end`."""
        if self._current != numero:
            return
        self._current = None
        if self.tracing and self._context is not None:
            self._save_part(self._context, numero)

    def begin_batch(self, invoices: list[str]) -> str:
        """Record one action taken for several invoices at once (« Traiter le rejet » on a
        batch) in a chunk of its own; its screenshots name every invoice. Returns the name
        of the trace to come (``lot-<first invoice>.zip``, never one already written)."""
        stem = f"lot-{safe_name(invoices[0])}"
        name, n = stem, 1
        while (self.traces_dir / f"{name}.zip").exists() or name in self._parts:
            n += 1
            name = f"{stem}-{n}"
        self._batch = tuple(invoices)
        self.begin(name)
        return name

    def end_batch(self, name: str) -> list[Path]:
        """Close the batch's chunk; the trace files kept for it (any mode but ``off``: it
        is part of the record of every invoice it covers)."""
        self._batch = ()
        return self._close(name, keep=True)

    def end(self, numero: str, *, failed: bool) -> list[Path]:
        """Close the transaction's chunk; return the trace files kept for it."""
        self._context_failed |= failed
        keep = self.trace_mode == "on" or (self.trace_mode == "retain-on-failure" and failed)
        return self._close(numero, keep=keep)

    def _close(self, numero: str, *, keep: bool) -> list[Path]:
        """Close the current chunk: saved as ``<numero>.zip`` with the parts before it when
        ``keep``, else every file of it removed."""
        self._current = None
        path = self.traces_dir / f"{safe_name(numero)}.zip"
        if self.tracing and self._context is not None:
            try:
                self._context.tracing.stop_chunk(path=str(path) if keep else None)
            except Exception as exc:
                logger.debug("trace perdue pour {} : {}", numero, exc)
        files = [*self._parts.pop(numero, [])]
        if path.exists():
            files.append(path)
        if not keep:
            for file in files:
                file.unlink(missing_ok=True)
            return []
        return files

    # -- screenshots ------------------------------------------------------------------------
    def screenshot(
        self,
        page: Page,
        numero: str,
        label: str,
        *,
        action: str = "",
        moment: str = "",
        full_page: bool = False,
    ) -> Path | None:
        """A screenshot, named in order and written down as a ``screenshot`` event; never
        fails the work.

        The window by default (JPEG: a fraction of a full-page PNG's cost on every click);
        ``full_page``: the whole page, modal windows set aside for the capture only."""
        path = self._next_path(numero, label)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            url = page.url
            taken_at = datetime.now(PARIS)
            if full_page:
                page.screenshot(
                    path=str(path), type="jpeg", quality=70, full_page=True, style=_SET_MODALS_ASIDE
                )
            else:
                page.screenshot(path=str(path), type="jpeg", quality=70)
        except Exception as exc:
            logger.debug("capture impossible ({}) : {}", label, exc)
            return None
        try:
            self._events.append(
                {
                    "type": SCREENSHOT_EVENT,
                    "invoice": numero,
                    **({"invoices": list(self._batch)} if self._batch else {}),
                    "file": f"{SCREENSHOTS_DIR}/{path.name}",
                    "action": action,
                    "moment": moment,
                    "url": url,
                    "full_page": full_page,
                    "taken_at": taken_at.isoformat(timespec="milliseconds"),
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                }
            )
        except OSError as exc:
            logger.debug("capture {} non consignée : {}", path.name, exc)
        return path

    def _next_path(self, numero: str, label: str) -> Path:
        # Numbered in order; a number a former attempt of this run used (a resume, another
        # worker process) is skipped, never written over: its event holds its SHA-256.
        while True:
            self._shot_seq += 1
            name = f"{safe_name(numero)}-{self._shot_seq:03d}-{safe_name(label)}.jpg"
            if not (self.screenshots_dir / name).exists():
                return self.screenshots_dir / name

    def witness(self, page: Page, action: str, moment: str) -> None:
        """Screenshots around each click that changes the portal: the window before and
        after it; before a click that sends a form, the whole page first (what is sent)."""
        if not self.tracing:
            return
        numero = self._current or "run"
        label = f"{action}-{moment}"
        if moment == "avant" and action in SENDING_CLICKS:
            self.screenshot(
                page, numero, f"{label}-page-entiere", action=action, moment=moment, full_page=True
            )
        self.screenshot(page, numero, label, action=action, moment=moment)
