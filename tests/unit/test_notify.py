"""The end-of-run notification: the summary POSTed as JSON, never failing the run."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from robot.config import Config
from robot.run.notify import notify


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def test_summary_is_posted_to_the_configured_address(
    receiver: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    url, received = receiver
    (tmp_path / "summary.json").write_text(json.dumps({"exit_code": 1, "totals": {"done": 2}}))

    assert notify(Config(notify_url=url), tmp_path) is True
    assert received == [{"exit_code": 1, "totals": {"done": 2}}]


def test_no_address_means_no_notification(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("{}")
    assert notify(Config(), tmp_path) is False


def test_unreachable_address_is_logged_not_raised(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("{}")
    with socket.socket() as sock:  # a localhost port with nothing listening on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert notify(Config(notify_url=f"http://127.0.0.1:{port}/hook"), tmp_path) is False
