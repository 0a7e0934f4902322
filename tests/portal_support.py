"""Helpers of the tests that drive the sandbox with a pytest-playwright ``page``."""

from __future__ import annotations

from playwright.sync_api import Page

from sandbox.server import RunningSandbox
from scenarios import login


def log_in(page: Page, sandbox: RunningSandbox) -> None:
    """Log ``page`` in to ``sandbox`` with its account (no one-time code)."""
    login(
        page,
        base_url=sandbox.url,
        identifiant=sandbox.options.user,
        password=sandbox.options.password,
        otp=None,
    )
