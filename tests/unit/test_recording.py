"""What the recorder keeps: traces and videos by mode, partial chunks named in order."""

from __future__ import annotations

from pathlib import Path

from robot.audit.events import EventLog
from robot.audit.rundir import RunDir
from robot.browser.recording import (
    BATCH_EVENT,
    SCREENSHOT_EVENT,
    Recorder,
    read_batch_traces,
    read_screenshot_notes,
    safe_name,
)


def _video(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "videos" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"webm")
    return path


def test_retain_on_failure_drops_videos_of_a_context_where_everything_succeeded(
    tmp_path: Path,
) -> None:
    recorder = Recorder(tmp_path, trace="off", video="retain-on-failure")
    recorder.begin("F-1")
    recorder.end("F-1", failed=False)
    video = _video(tmp_path, "a.webm")
    recorder.context_closed([video])
    assert not video.exists()


def test_retain_on_failure_keeps_videos_of_a_context_where_a_transaction_failed(
    tmp_path: Path,
) -> None:
    recorder = Recorder(tmp_path, trace="off", video="retain-on-failure")
    recorder.begin("F-1")
    recorder.end("F-1", failed=True)
    video = _video(tmp_path, "b.webm")
    recorder.context_closed([video])
    assert video.exists()
    later = _video(tmp_path, "c.webm")  # the next context starts with a clean slate
    recorder.context_closed([later])
    assert not later.exists()


def test_invoice_numbers_become_safe_file_names() -> None:
    assert safe_name("FAC/2026+01") == "FAC_2026+01"
    assert safe_name("../..") == "facture"


class _Tracing:
    """The part of ``BrowserContext.tracing`` the recorder uses: each chunk saved is a file."""

    def __init__(self) -> None:
        self.titles: list[str] = []

    def start(self, **_: object) -> None:
        pass

    def start_chunk(self, title: str | None = None) -> None:
        self.titles.append(title or "")

    def stop_chunk(self, path: str | None = None) -> None:
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_bytes(self.titles[-1].encode())


class _Context:
    def __init__(self) -> None:
        self.tracing = _Tracing()


def test_a_transaction_paused_for_its_batch_keeps_each_part_and_the_batch_its_own_trace(
    tmp_path: Path,
) -> None:
    recorder = Recorder(tmp_path, trace="on")
    recorder.attach(_Context())  # type: ignore[arg-type]
    for numero in ("F-1", "F-2"):  # acknowledged one after the other
        recorder.begin(numero)
        recorder.pause(numero)
    lot = recorder.begin_batch(["F-2", "F-1"])  # processed together
    assert lot == "lot-F-2"
    batch = recorder.end_batch(lot)
    assert [p.name for p in batch] == ["lot-F-2.zip"]
    recorder.begin("F-1")  # then each reissued
    kept = recorder.end("F-1", failed=False)
    assert [p.name for p in kept] == ["F-1-part1.zip", "F-1.zip"]
    assert (tmp_path / "traces" / "F-2-part1.zip").read_bytes() == b"F-2"
    # A second batch starting with the same invoice (a resume) never writes over the first.
    again = recorder.begin_batch(["F-2"])
    assert again == "lot-F-2-2"
    recorder.end_batch(again)
    assert (tmp_path / "traces" / "lot-F-2.zip").read_bytes() == b"lot-F-2"


def test_a_batch_trace_and_screenshots_belong_to_every_invoice_of_the_batch(
    tmp_path: Path,
) -> None:
    events = EventLog(RunDir(tmp_path).events)
    events.append({"type": BATCH_EVENT, "invoices": ["F-1", "F-2"], "traces": ["lot-F-1.zip"]})
    events.append({"type": BATCH_EVENT, "invoices": ["F-2"], "traces": ["lot-F-2.zip"]})
    events.append(
        {
            "type": SCREENSHOT_EVENT,
            "invoice": "lot-F-1",
            "invoices": ["F-1", "F-2"],
            "file": "screenshots/lot-F-1-001-Traiter_le_rejet-avant.jpg",
        }
    )
    assert read_batch_traces(tmp_path) == {
        "F-1": ["lot-F-1.zip"],
        "F-2": ["lot-F-1.zip", "lot-F-2.zip"],
    }
    [note] = read_screenshot_notes(tmp_path).values()
    assert note.shows("F-1") and note.shows("F-2") and note.shows("lot-F-1")
    assert not note.shows("F-3")
