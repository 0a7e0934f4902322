"""The local stand-in of the Chorus Pro portal: web app, seed data and fault knobs.

Public names (imported lazily, so that the domain modules load without the web layer)::

    create_app(options) -> Starlette
    SandboxOptions
    start_sandbox(options, *, mode="thread") -> RunningSandbox
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.app import create_app
    from sandbox.server import RunningSandbox, start_sandbox
    from sandbox.settings import SandboxOptions

__all__ = ["RunningSandbox", "SandboxOptions", "create_app", "start_sandbox"]

_HOMES = {
    "create_app": "sandbox.app",
    "RunningSandbox": "sandbox.server",
    "start_sandbox": "sandbox.server",
    "SandboxOptions": "sandbox.settings",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(home), name)
