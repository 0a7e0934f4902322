"""``bench`` is a folder of tools at the project root, not an installed package: put the root
on ``sys.path`` so the benchmark's tests can import it (``python -m bench.run`` runs from the
root, where this holds already)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
