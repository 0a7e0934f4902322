"""Secret values are found anywhere in a run folder, traces included, and redacted away."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from robot.audit.manifest import verify_bundle, write_manifest
from robot.audit.scan import find_secrets, redact_tree

PASSWORD = "Mot-de-passe!Secret42 é"
CODE = "493817"
COOKIE = "sess-3f9a8b7c6d5e4f0a1b2c"
SECRETS = (PASSWORD, CODE, COOKIE)
TRACE = "traces/F2026-001.zip"

_FORM = """<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Connexion</title>
</head><body><form method="post" action="/valider">
<label>Mot de passe <input name="password" type="password"></label>
<label>Code <input name="code"></label><button>Valider</button></form></body></html>"""


def _serve(route: Route) -> None:
    body = _FORM if route.request.method == "GET" else "<p>Connecté</p>"
    route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)


@pytest.fixture(scope="module")
def real_trace(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Path:
    """A Playwright trace where the password and code are typed and the cookie is sent.

    pytest-playwright's browser: the Sync API cannot start a second time in its event loop.
    """
    path = tmp_path_factory.mktemp("trace") / "trace.zip"
    context = browser.new_context()
    context.add_cookies([{"name": "session", "value": COOKIE, "url": "http://portail.test/"}])
    context.tracing.start(screenshots=True, snapshots=True)
    page = context.new_page()
    page.route("http://portail.test/**", _serve)
    page.goto("http://portail.test/connexion")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("Code").fill(CODE)
    with page.expect_navigation():
        page.get_by_role("button", name="Valider").click()
    context.tracing.stop(path=path)
    context.close()
    return path


@pytest.fixture
def run_dir(tmp_path: Path, real_trace: Path) -> Iterator[Path]:
    root = tmp_path / "20261127-103000-a1b2"
    (root / "traces").mkdir(parents=True)
    shutil.copy(real_trace, root / TRACE)
    yield root


def _every_member(root: Path) -> Iterator[tuple[str, bytes]]:
    """Every file's bytes, and every zip member's, opened independently of the scanner."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        yield str(path), data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    yield f"{path}:{name}", archive.read(name)


@pytest.mark.parametrize("secret", SECRETS, ids=["password", "code", "cookie"])
def test_each_secret_is_found_inside_a_real_trace(run_dir: Path, secret: str) -> None:
    hits = find_secrets(run_dir, [secret])
    assert hits
    assert all(hit.startswith(f"{TRACE}:") for hit in hits)


def test_hits_name_file_and_member_never_the_secret(run_dir: Path) -> None:
    hits = find_secrets(run_dir, SECRETS)
    assert f"{TRACE}:trace.trace" in hits
    assert f"{TRACE}:trace.network" in hits
    assert not any(secret in hit for hit in hits for secret in SECRETS)


def test_redacted_trace_holds_no_secret_and_is_still_a_valid_trace(run_dir: Path) -> None:
    with zipfile.ZipFile(run_dir / TRACE) as before:
        names = before.namelist()
    assert redact_tree(run_dir, SECRETS) == [TRACE]
    assert find_secrets(run_dir, SECRETS) == []
    with zipfile.ZipFile(run_dir / TRACE) as after:
        assert after.testzip() is None
        assert after.namelist() == names
        for member in ("trace.trace", "trace.network"):
            events = [json.loads(line) for line in after.read(member).splitlines() if line]
            assert events
        assert b"********" in after.read("trace.trace")


def test_no_raw_or_form_encoded_secret_is_left_in_any_file_of_a_bundle(run_dir: Path) -> None:
    (run_dir / "run.log").write_text(f"cookie={COOKIE} code {CODE}\n", encoding="utf-8")
    (run_dir / "events.jsonl").write_text(json.dumps({"m": PASSWORD}) + "\n", encoding="utf-8")
    redact_tree(run_dir, SECRETS)
    forms = [s.encode() for s in SECRETS] + [quote_plus(PASSWORD).encode(), b"Secret42"]
    leaks = [name for name, data in _every_member(run_dir) if any(f in data for f in forms)]
    assert leaks == []


@pytest.mark.parametrize("prefix", [b"", b"a", b"ab"])
def test_secret_inside_a_base64_value_is_found_at_any_alignment(
    tmp_path: Path, prefix: bytes
) -> None:
    header = base64.b64encode(prefix + b"user@example.fr:" + PASSWORD.encode())
    (tmp_path / "headers.txt").write_bytes(b"Authorization: Basic " + header)
    assert find_secrets(tmp_path, [PASSWORD]) == ["headers.txt"]


def test_latin1_and_url_encoded_forms_are_found(tmp_path: Path) -> None:
    (tmp_path / "latin1.txt").write_bytes(PASSWORD.encode("latin-1"))
    (tmp_path / "form.txt").write_text("password=Mot-de-passe%21Secret42+%E9", encoding="ascii")
    (tmp_path / "clean.txt").write_text("Mot-de-passe", encoding="utf-8")
    assert find_secrets(tmp_path, [PASSWORD]) == ["form.txt", "latin1.txt"]


def test_secrets_shorter_than_four_characters_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("abc abc", encoding="utf-8")
    assert find_secrets(tmp_path, ["abc"]) == []
    assert redact_tree(tmp_path, ["abc"]) == []


def test_a_code_inside_a_longer_number_is_not_a_hit(tmp_path: Path) -> None:
    (tmp_path / "trace.json").write_text('{"time":1493817.25}', encoding="utf-8")
    assert find_secrets(tmp_path, [CODE]) == []
    (tmp_path / "form.txt").write_text(f"code={CODE}&x=1", encoding="utf-8")
    assert find_secrets(tmp_path, [CODE]) == ["form.txt"]


def test_members_of_nested_zip_and_gzip_are_named_and_redacted(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("note.txt", f"token {COOKIE}")
    with zipfile.ZipFile(tmp_path / "outer.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("inner.zip", inner.getvalue())
        archive.writestr("body.gz", gzip.compress(COOKIE.encode()))
    hits = find_secrets(tmp_path, [COOKIE])
    assert "outer.zip:inner.zip:note.txt" in hits
    assert "outer.zip:body.gz" in hits
    redact_tree(tmp_path, [COOKIE])
    assert find_secrets(tmp_path, [COOKIE]) == []
    with zipfile.ZipFile(tmp_path / "outer.zip") as archive:
        assert archive.getinfo("body.gz").compress_type == zipfile.ZIP_DEFLATED
        assert gzip.decompress(archive.read("body.gz")) == b"********"


def test_redaction_keeps_the_text_around_the_secret(tmp_path: Path) -> None:
    (tmp_path / "run.log").write_text(f"avant {COOKIE} après\n", encoding="utf-8")
    assert redact_tree(tmp_path, [COOKIE]) == ["run.log"]
    assert (tmp_path / "run.log").read_text(encoding="utf-8") == "avant ******** après\n"


def test_files_without_secrets_are_left_untouched(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("<p>Rien à cacher</p>", encoding="utf-8")
    before = target.stat().st_mtime_ns
    assert redact_tree(tmp_path, SECRETS) == []
    assert target.stat().st_mtime_ns == before


def test_bundle_redacted_then_sealed_verifies_and_holds_no_secret(run_dir: Path) -> None:
    (run_dir / "run.log").write_text(f"session {COOKIE}\n", encoding="utf-8")
    redact_tree(run_dir, SECRETS)
    write_manifest(run_dir)
    assert verify_bundle(run_dir) == []
    assert find_secrets(run_dir, SECRETS) == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_listening(viewer: subprocess.Popen[bytes]) -> None:
    """Wait for the viewer's « Listening on » line, within a deadline."""
    assert viewer.stdout is not None
    deadline = time.monotonic() + 30
    output = b""
    with selectors.DefaultSelector() as selector:
        selector.register(viewer.stdout, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if selector.select(timeout=remaining):
                # os.read, not readline: a buffered reader would hide data from select().
                chunk = os.read(viewer.stdout.fileno(), 4096)
                assert chunk, f"the trace viewer stopped: {output!r}"
                output += chunk
                if b"Listening on" in output:
                    return
    raise AssertionError("the trace viewer did not start within 30 s")


def test_playwright_trace_viewer_opens_the_redacted_trace(run_dir: Path, page: Page) -> None:
    redact_tree(run_dir, SECRETS)
    port = _free_port()
    command = [sys.executable, "-m", "playwright", "show-trace", "-h", "127.0.0.1"]
    command += ["-p", str(port), str(run_dir / TRACE)]
    viewer = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        _wait_until_listening(viewer)
        page.goto(f"http://127.0.0.1:{port}/")
        actions = page.get_by_text('Fill "********"')
        expect(actions).to_have_count(2, timeout=20_000)
        expect(page.get_by_text("Secret42")).to_have_count(0)
    finally:
        # The viewer runs a Node.js child: stop the whole session this test started.
        os.killpg(viewer.pid, signal.SIGTERM)
        viewer.wait(timeout=10)
