"""Recording a worker's work: one Playwright trace per transaction, screenshots, videos.

Tracing runs on the *work* context only (the login context is never traced). Each
transaction is one trace chunk saved as ``traces/<numero_rejete>.zip``. When the work
context is replaced mid-transaction (re-login, browser crash), the chunk recorded so far is
saved as ``traces/<numero_rejete>-partN.zip`` so no part of the record is lost.

Modes (``CHORUS_TRACE`` / ``CHORUS_VIDEO``): ``on``, ``off``, ``retain-on-failure``.
"""

from __future__ import annotations

import re
from pathlib import Path

from loguru import logger
from playwright.sync_api import BrowserContext, Page

from robot.audit.rundir import RunDir

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


def safe_name(text: str) -> str:
    """A file-name-safe form of an invoice number (``/`` is allowed in numbers)."""
    return _UNSAFE.sub("_", text).strip("._") or "facture"


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
        self._context_failed = False  # a failed transaction in the current context's video

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
        context.tracing.start(screenshots=True, snapshots=True, sources=False)
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
        parts = self._parts.setdefault(self._current, [])
        path = self.traces_dir / f"{safe_name(self._current)}-part{len(parts) + 1}.zip"
        try:
            context.tracing.stop_chunk(path=str(path))
            parts.append(path)
        except Exception as exc:
            logger.debug("trace partielle perdue pour {} : {}", self._current, exc)

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

    def end(self, numero: str, *, failed: bool) -> list[Path]:
        """Close the transaction's chunk; return the trace files kept for it."""
        self._current = None
        self._context_failed |= failed
        keep = self.trace_mode == "on" or (self.trace_mode == "retain-on-failure" and failed)
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
    def screenshot(self, page: Page, numero: str, label: str) -> Path | None:
        """A screenshot of what the window shows (JPEG: a fraction of a full-page PNG's cost
        on every click), named in order; never fails the work."""
        self._shot_seq += 1
        path = (
            self.screenshots_dir
            / f"{safe_name(numero)}-{self._shot_seq:03d}-{safe_name(label)}.jpg"
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path), type="jpeg", quality=70)
        except Exception as exc:
            logger.debug("capture impossible ({}) : {}", label, exc)
            return None
        return path

    def witness(self, page: Page, action: str, moment: str) -> None:
        """Screenshot before and after each click that changes the portal."""
        if self.tracing:
            self.screenshot(page, self._current or "run", f"{action}-{moment}")
