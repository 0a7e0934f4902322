"""The stop signal a run's workers share: SIGINT/SIGTERM ask for it, every worker checks it
between two steps, and every wait of the retries (backoff) is cut short by it."""

from __future__ import annotations

import threading
from typing import Any


class Stopper:
    """Asks a worker to stop between steps; also the retries' waiting room.

    ``event`` may be a ``multiprocessing.Event`` shared by every worker process.
    """

    def __init__(self, event: Any = None) -> None:
        self.event: Any = event if event is not None else threading.Event()

    def request(self) -> None:
        self.event.set()

    @property
    def requested(self) -> bool:
        return bool(self.event.is_set())

    def pause(self, seconds: float) -> bool:
        """Wait ``seconds`` unless a stop is requested first; True when stopped."""
        return bool(self.event.wait(seconds))
