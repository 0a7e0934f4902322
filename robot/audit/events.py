"""The hash-chained event log of a run: ``events.jsonl``, one JSON object per line.

Each line is the compact JSON (sorted keys, UTF-8) of one event; it carries ``seq`` (1-based),
``time`` (ISO 8601, UTC, milliseconds) and ``prev_sha256``: the SHA-256 of the previous
line's exact bytes, without its ``\\n`` terminator (``"0" * 64`` for the first line). Deleting,
inserting or editing a line therefore breaks the chain at the next line.

Several threads and several worker processes may append to the same file: each append takes
an exclusive ``fcntl.flock`` on the file and reads the last line from the file under the lock.
"""

from __future__ import annotations

import dataclasses
import enum
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path, PurePath
from typing import Any

from robot.secrets import redact

GENESIS = "0" * 64
#: Keys the log sets itself; values passed for them are replaced.
RESERVED = ("seq", "time", "prev_sha256")
_TAIL_CHUNK = 64 * 1024


def line_sha256(line: bytes) -> str:
    """SHA-256 hex of one line's bytes, without its ``\\n`` terminator."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def canonical_line(event: Mapping[str, Any]) -> bytes:
    """The exact bytes of an event's line (without ``\\n``)."""
    text = json.dumps(event, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data, every string redacted."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Mapping):
        return {redact(str(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    # Anything else (a Secret among them) is shown by its str(), which hides secrets.
    return redact(str(value))


def _last_line(fd: int) -> bytes | None:
    """The last line of the file open at ``fd``, without its terminator (None when empty)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    end = size - 1 if os.pread(fd, 1, size - 1) == b"\n" else size
    tail = b""
    position = end
    while position > 0:
        start = max(0, position - _TAIL_CHUNK)
        tail = os.pread(fd, position - start, start) + tail
        position = start
        cut = tail.rfind(b"\n")
        if cut != -1:
            return tail[cut + 1 :]
    return tail


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class EventLog:
    """Appends hash-chained events to ``path``; safe across threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EventLog({str(self.path)!r})"

    def append(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Write ``event`` as the next line; return the record as written (redacted)."""
        body = {k: v for k, v in event.items() if k not in RESERVED}
        record: dict[str, Any] = _jsonable(body)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    record.update(self._chain_fields(fd))
                    record["time"] = _now_iso()
                    data = canonical_line(record) + b"\n"
                    size = os.fstat(fd).st_size
                    if size and os.pread(fd, 1, size - 1) != b"\n":
                        # A torn last line (crash mid-write) stays a line of its own.
                        data = b"\n" + data
                    os.write(fd, data)
                    os.fsync(fd)
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        return record

    @staticmethod
    def _chain_fields(fd: int) -> dict[str, Any]:
        last = _last_line(fd)
        if last is None:
            return {"seq": 1, "prev_sha256": GENESIS}
        try:
            previous = json.loads(last)
            seq = int(previous["seq"]) + 1
        except (ValueError, KeyError, TypeError):
            # The previous line is damaged: verify_chain will say so; keep chaining.
            seq = _count_lines(fd) + 1
        return {"seq": seq, "prev_sha256": line_sha256(last)}


def _count_lines(fd: int) -> int:
    size = os.fstat(fd).st_size
    data = os.pread(fd, size, 0)
    return len([line for line in data.split(b"\n") if line])


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every well-formed event of the log, in order (damaged lines are skipped)."""
    events: list[dict[str, Any]] = []
    if not path.is_file():
        return events
    for raw in path.read_bytes().split(b"\n"):
        if not raw:
            continue
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def verify_chain(path: Path) -> list[str]:
    """Every break of the log's chain, in French, naming the line; empty list = intact."""
    name = path.name
    if not path.is_file():
        return [f"{name} absent"]
    data = path.read_bytes()
    if not data:
        return []
    lines = data.split(b"\n")
    problems: list[str] = []
    if lines[-1] == b"":
        lines.pop()
    else:
        problems.append(f"{name} ligne {len(lines)} : ligne incomplète (pas de fin de ligne)")
    previous_hash = GENESIS
    expected_seq = 1
    for number, raw in enumerate(lines, start=1):
        where = f"{name} ligne {number}"
        problems.extend(_check_line(where, raw, previous_hash, expected_seq))
        previous_hash = line_sha256(raw)
        seq = _seq_of(raw)
        expected_seq = (seq if seq is not None else expected_seq) + 1
    return problems


def _seq_of(raw: bytes) -> int | None:
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    seq = event.get("seq") if isinstance(event, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def _check_line(where: str, raw: bytes, previous_hash: str, expected_seq: int) -> list[str]:
    try:
        event = json.loads(raw)
    except ValueError:
        return [f"{where} : JSON invalide (ligne modifiée ou tronquée ?)"]
    if not isinstance(event, dict):
        return [f"{where} : ce n'est pas un événement (objet JSON attendu)"]
    problems: list[str] = []
    if event.get("prev_sha256") != previous_hash:
        problems.append(
            f"{where} : empreinte de la ligne précédente incorrecte (ligne supprimée ou modifiée ?)"
        )
    seq = _seq_of(raw)
    if seq is None:
        problems.append(f"{where} : numéro de séquence absent ou invalide")
    elif seq != expected_seq:
        problems.append(
            f"{where} : numéro de séquence {seq} au lieu de {expected_seq} "
            "(ligne supprimée ou insérée ?)"
        )
    if canonical_line(event) != raw:
        problems.append(f"{where} : mise en forme non canonique (ligne modifiée ?)")
    return problems
