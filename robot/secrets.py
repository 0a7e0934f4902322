"""Secret values (password, one-time codes, session cookies) and their redaction.

A :class:`Secret` never shows its value in a ``repr``, a ``str`` or an f-string. Every secret
value is also registered in a process-wide registry, so that :func:`redact` can hide it in any
text (log lines, exception messages) and artifact scanners can look for it
(:func:`registered`). The registry also holds the encoded forms a value takes in URLs, form
bodies, JSON and HTML, where a leak would otherwise go unnoticed.
"""

from __future__ import annotations

import hmac
import html
import json
import re
import threading
import traceback
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from loguru import Record

MASK = "********"

#: Shorter values cannot be told apart from ordinary text: redacting them would mangle logs.
MIN_LENGTH = 4

_lock = threading.Lock()
_values: set[str] = set()
_text_pattern: re.Pattern[str] | None = None
_bytes_pattern: re.Pattern[bytes] | None = None


class Secret:
    """A secret string: ``reveal()`` gives the value; everything else shows ``********``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret attend une chaîne de caractères")
        self._value = value
        register(value)

    def reveal(self) -> str:
        """The secret value, to type it where it belongs (and nowhere else)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        # Only another Secret compares: ``Secret("x") == "x"`` is False, never an accident.
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # Unpickled in a worker process: registers itself there too.
        return (Secret, (self._value,))


def _variants(value: str) -> set[str]:
    """The value and the forms it takes once encoded in a URL, a form, JSON or HTML."""
    forms = {
        value,
        quote(value, safe=""),
        quote_plus(value, safe=""),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value),
    }
    return {form for form in forms if len(form) >= MIN_LENGTH}


def register(value: str) -> None:
    """Add a value (and its encoded forms) to the values :func:`redact` hides.

    Values shorter than :data:`MIN_LENGTH` characters are ignored.
    """
    global _text_pattern, _bytes_pattern
    if not isinstance(value, str) or len(value) < MIN_LENGTH:
        return
    forms = _variants(value)
    with _lock:
        if forms <= _values:
            return
        _values.update(forms)
        _text_pattern = None
        _bytes_pattern = None


def registered() -> tuple[str, ...]:
    """Every registered value, longest first (for artifact scanners)."""
    with _lock:
        return tuple(sorted(_values, key=lambda v: (-len(v), v)))


def _alternative(value: str) -> str:
    # A one-time code inside a longer number (a timestamp, an id) is no leak; hiding it there
    # would garble the number and, in a JSON artifact, the document.
    if value.isascii() and value.isdigit():
        return rf"(?<![0-9]){value}(?![0-9])"
    return re.escape(value)


def _patterns() -> tuple[re.Pattern[str] | None, re.Pattern[bytes] | None]:
    global _text_pattern, _bytes_pattern
    with _lock:
        if _text_pattern is None and _values:
            # Longest first, so that a value containing another one is hidden whole.
            ordered = sorted(_values, key=lambda v: (-len(v), v))
            _text_pattern = re.compile("|".join(_alternative(v) for v in ordered))
            _bytes_pattern = re.compile(b"|".join(_alternative(v).encode() for v in ordered))
        return _text_pattern, _bytes_pattern


def redact(text: str) -> str:
    """``text`` with every registered value replaced by ``********``."""
    pattern, _ = _patterns()
    return text if pattern is None else pattern.sub(MASK, text)


def redact_bytes(data: bytes) -> bytes:
    """``data`` with every registered value (UTF-8) replaced by ``********``."""
    _, pattern = _patterns()
    return data if pattern is None else pattern.sub(MASK.encode(), data)


def _redact_record(record: Record) -> None:
    record["message"] = redact(record["message"])
    exception = record["exception"]
    if exception is not None and exception.type is not None:
        # Formatted here, without local variables, then redacted: loguru's own rendering
        # (``diagnose``) would print the values of locals, a password among them.
        text = "".join(
            traceback.format_exception(exception.type, exception.value, exception.traceback)
        )
        record["message"] = f"{record['message']}\n{redact(text).rstrip()}"
        record["exception"] = None
    for key, value in list(record["extra"].items()):
        if isinstance(value, str):
            record["extra"][key] = redact(value)


def install_log_redaction() -> None:
    """Make loguru redact registered values in every record (message, exception, extra)."""
    from loguru import logger

    logger.configure(patcher=_redact_record)
