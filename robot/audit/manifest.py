"""``manifest.json``: the SHA-256 of every file of a run folder, optionally signed.

The manifest lists every file under the run folder (relative POSIX paths, sorted; the
manifest itself excluded) with its ``sha256`` and ``size``. ``content_sha256`` is the SHA-256
of the canonical JSON of the manifest without that field, so that an edit of the manifest is
told apart from an edit of a file it lists. With a key (``CHORUS_AUDIT_KEY``),
``hmac_sha256`` is the HMAC-SHA256 of the canonical JSON of the file list::

    json.dumps(files, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

The file is written in one canonical form (2-space indent, sorted keys, final newline), so any
change of a byte of it is detected too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from robot.audit.events import verify_chain
from robot.audit.rundir import EVENTS_NAME, MANIFEST_NAME

FORMAT = "chorus-robot-manifest/1"
_CHUNK = 1024 * 1024


def file_sha256(path: Path) -> str:
    """SHA-256 hex of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def bundle_files(run_dir: Path) -> Iterator[tuple[str, Path]]:
    """(relative POSIX path, path) of every file under ``run_dir`` but the manifest, sorted."""
    found: list[tuple[str, Path]] = []
    for path in run_dir.rglob("*"):
        if path.is_file():
            relative = path.relative_to(run_dir).as_posix()
            if relative != MANIFEST_NAME:
                found.append((relative, path))
    yield from sorted(found)


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _serialise(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=2) + "\n").encode()


def _content_sha256(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "content_sha256"}
    return hashlib.sha256(_canonical(body)).hexdigest()


def sign(files: list[dict[str, Any]], key: bytes) -> str:
    """HMAC-SHA256 hex of the canonical JSON of a manifest's file list."""
    return hmac.new(key, _canonical(files), hashlib.sha256).hexdigest()


def write_manifest(run_dir: Path, *, key: bytes | None = None) -> Path:
    """Write ``run_dir/manifest.json`` (signed when ``key`` is given); return its path."""
    files = [
        {"path": relative, "sha256": file_sha256(path), "size": path.stat().st_size}
        for relative, path in bundle_files(run_dir)
    ]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "algorithm": "sha256",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "files": files,
    }
    if key:
        manifest["hmac_algorithm"] = "hmac-sha256"
        manifest["hmac_sha256"] = sign(files, key)
    manifest["content_sha256"] = _content_sha256(manifest)
    target = run_dir / MANIFEST_NAME
    # Written beside the target then renamed: a crash never leaves half a manifest. The
    # temporary name starts with the manifest's so that it is never mistaken for an artifact.
    temporary = run_dir / f".{MANIFEST_NAME}.tmp"
    with temporary.open("wb") as stream:
        stream.write(_serialise(manifest))
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, target)
    return target


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The parsed manifest; ValueError (French) when it is absent or unreadable."""
    path = run_dir / MANIFEST_NAME
    if not path.is_file():
        raise ValueError(f"{MANIFEST_NAME} absent : le dossier n'a pas été scellé")
    try:
        manifest = json.loads(path.read_bytes())
    except ValueError:
        raise ValueError(f"{MANIFEST_NAME} illisible (JSON invalide : fichier modifié ?)") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise ValueError(f"{MANIFEST_NAME} illisible (liste des fichiers absente)")
    return manifest


def _listed(manifest: dict[str, Any], problems: list[str]) -> dict[str, dict[str, Any]]:
    """Path → entry of the manifest's well-formed entries; bad ones reported."""
    listed: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(manifest["files"], start=1):
        relative = entry.get("path") if isinstance(entry, dict) else None
        pure = PurePosixPath(relative) if isinstance(relative, str) else None
        if (
            pure is None
            or pure.is_absolute()
            or ".." in pure.parts
            or not isinstance(entry.get("sha256"), str)
            or not isinstance(entry.get("size"), int)
        ):
            problems.append(f"{MANIFEST_NAME} : entrée n° {index} invalide")
            continue
        listed[str(relative)] = entry
    return listed


def _manifest_problems(run_dir: Path, manifest: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if manifest.get("content_sha256") != _content_sha256(manifest):
        problems.append(f"{MANIFEST_NAME} modifié (son empreinte interne ne correspond plus)")
    elif (run_dir / MANIFEST_NAME).read_bytes() != _serialise(manifest):
        problems.append(f"{MANIFEST_NAME} modifié (mise en forme altérée)")
    return problems


def _signature_problems(manifest: dict[str, Any], key: bytes | None) -> list[str]:
    if not key:
        return []
    signature = manifest.get("hmac_sha256")
    if not isinstance(signature, str) or not signature:
        return ["signature absente (manifest.json n'est pas signé)"]
    if not hmac.compare_digest(signature, sign(manifest["files"], key)):
        return ["signature invalide (clé différente ou manifest.json modifié)"]
    return []


def verify_bundle(run_dir: Path, *, key: bytes | None = None) -> list[str]:
    """Every missing, extra or altered file, chain break and signature problem, in French.

    An empty list means the bundle is intact.
    """
    problems: list[str] = []
    events = run_dir / EVENTS_NAME
    try:
        manifest = read_manifest(run_dir)
    except ValueError as exc:
        problems.append(str(exc))
        if events.is_file():
            problems.extend(verify_chain(events))
        return problems
    problems.extend(_manifest_problems(run_dir, manifest))
    listed = _listed(manifest, problems)
    present = dict(bundle_files(run_dir))
    for relative in sorted(listed.keys() - present.keys()):
        problems.append(f"fichier manquant : {relative}")
    for relative in sorted(present.keys() - listed.keys()):
        problems.append(f"fichier en trop (absent du manifeste) : {relative}")
    for relative in sorted(listed.keys() & present.keys()):
        entry, path = listed[relative], present[relative]
        if path.stat().st_size != entry["size"] or file_sha256(path) != entry["sha256"]:
            problems.append(f"fichier modifié : {relative} (empreinte SHA-256 différente)")
    if events.is_file():
        problems.extend(verify_chain(events))
    problems.extend(_signature_problems(manifest, key))
    return problems


def is_signed(run_dir: Path) -> bool:
    """Whether the manifest carries a signature (False when it cannot be read)."""
    try:
        return bool(read_manifest(run_dir).get("hmac_sha256"))
    except ValueError:
        return False
