"""What the recorder keeps: traces and videos by mode, partial chunks named in order."""

from __future__ import annotations

from pathlib import Path

from robot.browser.recording import Recorder, safe_name


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
