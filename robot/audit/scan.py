"""Look for secret values in every file of a run folder, and redact them.

Playwright traces are zip files: each member is scanned (and rewritten) on its own, nested
zips and gzip members included. A secret is looked for in the forms it takes in artifacts:
as is (UTF-8, Latin-1 and Windows-1252 bytes), URL-encoded (``quote`` and ``quote_plus``, in
each of these encodings), JSON- and HTML-escaped, mis-decoded (a form posted in Latin-1 and
read as UTF-8 shows « � » for « é »), and base64 (standard and URL-safe, at the three byte
alignments, so that it is found inside a longer encoded value such as an
``Authorization: Basic`` header).
Secrets shorter than :data:`MIN_LENGTH` characters are ignored: they cannot be told apart
from ordinary text; an all-digit secret (a one-time code) is matched only where it is not part
of a longer number.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import html
import io
import json
import os
import re
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus

from robot.audit.manifest import bundle_files
from robot.secrets import MASK

MIN_LENGTH = 4
_MAX_DEPTH = 3
_GZIP_MAGIC = b"\x1f\x8b"
#: Single-byte encodings a secret may have been typed, posted or stored in.
_ENCODINGS = ("latin-1", "cp1252")


def _base64_forms(raw: bytes) -> set[bytes]:
    """The parts of base64 text that encode ``raw`` whatever bytes precede or follow it."""
    forms: set[bytes] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        start = -(-shift * 8 // 6)  # first character made of the secret's bits only
        end = (shift + len(raw)) * 8 // 6  # last one, before bits of what follows
        core = encoded[start:end]
        forms.add(core)
        forms.add(core.translate(bytes.maketrans(b"+/", b"-_")))
    return forms


def _texts(secret: str) -> set[str]:
    """The secret as text: as is, escaped, URL-encoded and as mis-decoded by a page."""
    texts = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
    }
    for encoding in ("utf-8", *_ENCODINGS):
        with contextlib.suppress(UnicodeEncodeError):
            raw = secret.encode(encoding)
            texts.add(quote(secret, safe="", encoding=encoding))
            texts.add(quote_plus(secret, safe="", encoding=encoding))
            # A form posted in one encoding and read in another (a page without charset).
            texts.add(raw.decode("utf-8", errors="replace"))
            texts.add(secret.encode("utf-8").decode(encoding, errors="replace"))
    return texts


def needles(secrets: Iterable[str]) -> list[bytes]:
    """Every byte form of every secret worth looking for, longest first."""
    found: set[bytes] = set()
    for secret in secrets:
        if not isinstance(secret, str) or len(secret) < MIN_LENGTH:
            continue
        for text in _texts(secret):
            for encoding in ("utf-8", *_ENCODINGS):
                with contextlib.suppress(UnicodeEncodeError):
                    found.add(text.encode(encoding))
        found |= _base64_forms(secret.encode("utf-8"))
    return sorted((n for n in found if len(n) >= MIN_LENGTH), key=lambda n: (-len(n), n))


def _alternative(form: bytes) -> bytes:
    # An all-digit secret (a one-time code) inside a longer number (a timestamp in a trace)
    # is no leak; redacting it there would also break the JSON the number belongs to.
    if form.isdigit():
        return rb"(?<![0-9])" + re.escape(form) + rb"(?![0-9])"
    return re.escape(form)


def _pattern(secrets: Iterable[str]) -> re.Pattern[bytes] | None:
    forms = needles(secrets)
    return re.compile(b"|".join(_alternative(form) for form in forms)) if forms else None


def _unpacked(data: bytes) -> zipfile.ZipFile | None:
    if not data.startswith(b"PK"):
        return None
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return None


def _gunzipped(data: bytes) -> bytes | None:
    if not data.startswith(_GZIP_MAGIC):
        return None
    try:
        return gzip.decompress(data)
    except (OSError, EOFError):
        return None


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """A member's bytes; None for a folder or a member that cannot be read (damaged)."""
    if info.is_dir():
        return None
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError):
        return None


def _hits(name: str, data: bytes, pattern: re.Pattern[bytes], depth: int = 0) -> list[str]:
    """Where the pattern occurs in ``data`` (named ``name``), looking inside archives."""
    hits: list[str] = []
    if pattern.search(data):
        hits.append(name)
    if depth >= _MAX_DEPTH:
        return hits
    archive = _unpacked(data)
    if archive is not None:
        with archive:
            for info in archive.infolist():
                member = _member(archive, info)
                if member is not None:
                    hits += _hits(f"{name}:{info.filename}", member, pattern, depth + 1)
    unzipped = _gunzipped(data)
    if unzipped is not None:
        hits += [hit for hit in _hits(name, unzipped, pattern, depth + 1) if hit not in hits]
    return hits


def find_secrets(run_dir: Path, secrets: Iterable[str]) -> list[str]:
    """« fichier[:membre] » of every file (or archive member) holding a secret value.

    The secret values themselves are never part of the answer.
    """
    pattern = _pattern(secrets)
    if pattern is None:
        return []
    hits: list[str] = []
    for relative, path in bundle_files(run_dir):
        hits += _hits(relative, path.read_bytes(), pattern)
    return hits


#: Cookie headers and cookie lists as Playwright records them in traces (HAR-like JSON):
#: session cookies are secrets whether or not their value was registered.
_COOKIE_HEADER = re.compile(
    rb'("name"\s*:\s*"(?:cookie|set-cookie)"\s*,\s*"value"\s*:\s*")(?:[^"\\]|\\.)*(")',
    re.IGNORECASE,
)
_COOKIE_LIST = re.compile(rb'("cookies"\s*:\s*\[)[^\]]*(\])')


def _replacement(pattern: re.Pattern[bytes] | None, data: bytes) -> bytes:
    data = _COOKIE_HEADER.sub(rb"\1" + MASK.encode() + rb"\2", data)
    data = _COOKIE_LIST.sub(rb"\1\2", data)
    return pattern.sub(MASK.encode(), data) if pattern is not None else data


def _redacted_zip(data: bytes, pattern: re.Pattern[bytes] | None, depth: int) -> bytes | None:
    """The zip ``data`` with every member redacted, or None when nothing changed."""
    archive = _unpacked(data)
    if archive is None:
        return None
    changed = False
    out = io.BytesIO()
    with archive, zipfile.ZipFile(out, "w") as rewritten:
        for info in archive.infolist():
            member = _member(archive, info)
            if member is None and not info.is_dir():
                return None  # damaged: left as is rather than half rewritten
            member = member or b""
            redacted = member if info.is_dir() else _redacted(member, pattern, depth + 1)
            changed |= redacted != member
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.compress_type = info.compress_type
            copy.external_attr = info.external_attr
            copy.comment = info.comment
            rewritten.writestr(copy, redacted)
    return out.getvalue() if changed else None


def _redacted(data: bytes, pattern: re.Pattern[bytes] | None, depth: int = 0) -> bytes:
    """``data`` with every secret form replaced by ``********``, archives rewritten."""
    if depth < _MAX_DEPTH:
        rezipped = _redacted_zip(data, pattern, depth)
        if rezipped is not None:
            return rezipped
        if _unpacked(data) is not None:
            return data
        unzipped = _gunzipped(data)
        if unzipped is not None:
            cleaned = _redacted(unzipped, pattern, depth + 1)
            if cleaned != unzipped:
                return gzip.compress(cleaned, mtime=0)
    return _replacement(pattern, data)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.redacting")
    with temporary.open("wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


def redact_tree(run_dir: Path, secrets: Iterable[str]) -> list[str]:
    """Replace every secret form with ``********`` in every file and archive member.

    Zip files (Playwright traces) are rewritten member by member and stay valid archives.
    Returns the relative paths of the files rewritten.
    """
    pattern = _pattern(secrets)  # None: only cookie headers are scrubbed
    rewritten: list[str] = []
    for relative, path in bundle_files(run_dir):
        data = path.read_bytes()
        cleaned = _redacted(data, pattern)
        if cleaned != data:
            _write_atomically(path, cleaned)
            rewritten.append(relative)
    return rewritten


def redact_files(paths: Iterable[Path], secrets: Iterable[str]) -> list[Path]:
    """:func:`redact_tree` for given files only (a worker cleaning what it just wrote, while
    other workers write elsewhere in the same folder). Missing files are skipped. Returns the
    files rewritten."""
    pattern = _pattern(secrets)
    rewritten: list[Path] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        cleaned = _redacted(data, pattern)
        if cleaned != data:
            _write_atomically(path, cleaned)
            rewritten.append(path)
    return rewritten
