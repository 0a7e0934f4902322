"""``manifest.json``: the SHA-256 of every file of a run folder, signed, optionally timestamped.

The manifest lists every file under the run folder (relative POSIX paths, sorted; the
manifest and its timestamp token excluded) with its ``sha256`` and ``size``.
``content_sha256`` is the SHA-256 of the canonical JSON of the manifest without that field,
so that an edit of the manifest is told apart from an edit of a file it lists.

Who sealed it: with a private key (``CHORUS_AUDIT_SIGNING_KEY``), ``signer`` and
``signature`` hold an Ed25519 signature of every other field, ``created_at`` included (see
:mod:`robot.audit.signing`); only the matching public key authenticates it. When: with a
timestamp authority (``CHORUS_TSA_URL``), ``timestamp`` declares ``manifest.tsr``, an
RFC 3161 token over the manifest's bytes (see :mod:`robot.audit.timestamp`).

Legacy, still written and checked: with ``CHORUS_AUDIT_KEY``, ``hmac_sha256`` is the
HMAC-SHA256 of the canonical JSON of the file list::

    json.dumps(files, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

A symmetric key proves nothing to an auditor who holds it (they could have computed it);
old bundles keep verifying with it.

The file is written in one canonical form (2-space indent, sorted keys, final newline), so any
change of a byte of it is detected too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from robot.audit.events import verify_chain
from robot.audit.rundir import EVENTS_NAME, MANIFEST_NAME
from robot.audit.signing import (
    SignatureCheck,
    SignatureStatus,
    check_ed25519,
    is_ed25519_signed,
    load_private_key,
    sign_manifest,
)
from robot.audit.timestamp import (
    DECLARATION,
    TOKEN_NAME,
    TimestampCheck,
    TimestampError,
    TimestampStatus,
    check_timestamp,
    request_timestamp,
)

FORMAT = "chorus-robot-manifest/1"
KEY_VARIABLE = "CHORUS_AUDIT_KEY"
_CHUNK = 1024 * 1024


def file_sha256(path: Path) -> str:
    """SHA-256 hex of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


#: Files that seal the others, so are not listed: the manifest and its timestamp token.
SEALS = (MANIFEST_NAME, TOKEN_NAME)


def bundle_files(run_dir: Path) -> Iterator[tuple[str, Path]]:
    """(relative POSIX path, path) of every file under ``run_dir`` but the seals, sorted."""
    found: list[tuple[str, Path]] = []
    for path in run_dir.rglob("*"):
        if path.is_file():
            relative = path.relative_to(run_dir).as_posix()
            if relative not in SEALS:
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


def write_manifest(
    run_dir: Path,
    *,
    key: bytes | None = None,
    signing_key: Path | None = None,
    tsa_url: str | None = None,
) -> Path:
    """Write ``run_dir/manifest.json`` and return its path.

    ``signing_key``: the Ed25519 private key PEM that signs it (:class:`SigningKeyError` before
    anything is written when it cannot be read). ``key``: the legacy HMAC key. ``tsa_url``:
    a timestamp authority that stamps it into ``manifest.tsr``; when the authority fails, the
    manifest is written without a timestamp (signed, and verifying) and then
    :class:`~robot.audit.timestamp.TimestampError` is raised for the caller to report.
    A token left by an earlier seal is removed: it stamped another manifest.
    """
    private_key = load_private_key(signing_key) if signing_key is not None else None
    files = [
        {"path": relative, "sha256": file_sha256(path), "size": path.stat().st_size}
        for relative, path in bundle_files(run_dir)
    ]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "algorithm": "sha256",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
    }
    if key:
        manifest["hmac_algorithm"] = "hmac-sha256"
        manifest["hmac_sha256"] = sign(files, key)
    if tsa_url:
        manifest["timestamp"] = dict(DECLARATION)
    data = _sealed(manifest, private_key)
    token: bytes | None = None
    failure: TimestampError | None = None
    if tsa_url:
        try:
            token = request_timestamp(data, tsa_url)
        except TimestampError as exc:
            # Sealed without the declaration, so that the bundle verifies; then reported.
            failure = exc
            del manifest["timestamp"]
            data = _sealed(manifest, private_key)
    (run_dir / TOKEN_NAME).unlink(missing_ok=True)
    if token is not None:
        _write_atomically(run_dir / TOKEN_NAME, token)
    target = run_dir / MANIFEST_NAME
    _write_atomically(target, data)
    if failure is not None:
        raise failure
    return target


def _sealed(manifest: dict[str, Any], private_key: Ed25519PrivateKey | None) -> bytes:
    """Sign (when a key is given) and hash ``manifest`` in place; return its file's bytes."""
    for derived in ("signer", "signature", "content_sha256"):
        manifest.pop(derived, None)
    if private_key is not None:
        sign_manifest(manifest, private_key)
    manifest["content_sha256"] = _content_sha256(manifest)
    return _serialise(manifest)


def _write_atomically(target: Path, data: bytes) -> None:
    # Written beside the target then renamed: a crash never leaves half a file. The
    # temporary name starts with the target's so that it is never mistaken for an artifact.
    temporary = target.with_name(f".{target.name}.tmp")
    with temporary.open("wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, target)


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


def _hmac_problems(manifest: dict[str, Any], key: bytes | None) -> list[str]:
    if not key:
        return []
    signature = manifest.get("hmac_sha256")
    if not isinstance(signature, str) or not signature:
        return ["signature absente (manifest.json n'est pas signé)"]
    if not hmac.compare_digest(signature, sign(manifest["files"], key)):
        return ["signature invalide (clé différente ou manifest.json modifié)"]
    return []


def _signature(
    manifest: dict[str, Any], key: bytes | None, public_key: Ed25519PublicKey | None
) -> SignatureCheck:
    """The Ed25519 signature's check, else the legacy HMAC's (both when both are there)."""
    hmac_problems = _hmac_problems(manifest, key)
    if is_ed25519_signed(manifest):
        if key and not manifest.get("hmac_sha256"):
            hmac_problems = [
                f"signature HMAC absente : {KEY_VARIABLE} est défini, mais manifest.json n'est "
                "signé que par une clé Ed25519 (vérifiez sans cette variable)"
            ]
        checked = check_ed25519(manifest, public_key)
        if not hmac_problems:
            return checked
        return SignatureCheck(
            SignatureStatus.INVALID, checked.fingerprint, checked.problems + hmac_problems
        )
    problems = list(hmac_problems)
    if public_key is not None:
        problems.insert(
            0,
            "manifest.json n'est pas signé par une clé Ed25519 : la clé publique fournie ne "
            "peut pas l'authentifier (signature retirée ou remplacée ?)",
        )
    if problems:
        return SignatureCheck(SignatureStatus.INVALID, None, problems)
    if manifest.get("hmac_sha256"):
        status = SignatureStatus.HMAC_VERIFIED if key else SignatureStatus.HMAC_UNCHECKED
        return SignatureCheck(status)
    return SignatureCheck(SignatureStatus.UNSIGNED)


def _timestamp(
    run_dir: Path, manifest: dict[str, Any], roots: list[x509.Certificate] | None
) -> TimestampCheck:
    token_path = run_dir / TOKEN_NAME
    declared = manifest.get("timestamp")
    if declared is not None and declared != DECLARATION:
        return TimestampCheck(
            TimestampStatus.INVALID, None, [f"horodatage de forme inconnue : {declared!r}"]
        )
    return check_timestamp(
        (run_dir / MANIFEST_NAME).read_bytes(),
        token_path.read_bytes() if token_path.is_file() else None,
        declared=declared is not None,
        roots=roots,
    )


@dataclass(frozen=True)
class BundleCheck:
    """What :func:`check_bundle` found: every problem, and what the proof rests on."""

    problems: list[str]
    signature: SignatureCheck
    timestamp: TimestampCheck


def check_bundle(
    run_dir: Path,
    *,
    key: bytes | None = None,
    public_key: Ed25519PublicKey | None = None,
    tsa_roots: list[x509.Certificate] | None = None,
) -> BundleCheck:
    """Files against the manifest, the event chain, the signature and the timestamp token.

    ``public_key``: the auditor's copy of the signer's key (None: the signature is checked
    against the key the manifest carries only). ``tsa_roots``: the timestamp authority's CA
    (None: only the token's message imprint is compared).
    """
    problems: list[str] = []
    events = run_dir / EVENTS_NAME
    try:
        manifest = read_manifest(run_dir)
    except ValueError as exc:
        problems.append(str(exc))
        if events.is_file():
            problems.extend(verify_chain(events))
        return BundleCheck(
            problems,
            SignatureCheck(SignatureStatus.INVALID),
            TimestampCheck(TimestampStatus.ABSENT),
        )
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
    signature = _signature(manifest, key, public_key)
    problems.extend(signature.problems)
    timestamp = _timestamp(run_dir, manifest, tsa_roots)
    problems.extend(timestamp.problems)
    return BundleCheck(problems, signature, timestamp)


def verify_bundle(
    run_dir: Path,
    *,
    key: bytes | None = None,
    public_key: Ed25519PublicKey | None = None,
    tsa_roots: list[x509.Certificate] | None = None,
) -> list[str]:
    """Every missing, extra or altered file, chain break, signature and timestamp problem,
    in French (:func:`check_bundle`'s problems). An empty list means the bundle is intact."""
    return check_bundle(run_dir, key=key, public_key=public_key, tsa_roots=tsa_roots).problems


def is_signed(run_dir: Path) -> bool:
    """Whether the manifest carries a legacy HMAC signature (``CHORUS_AUDIT_KEY``; False when
    it cannot be read). :func:`signer_fingerprint` tells an Ed25519 one."""
    try:
        return bool(read_manifest(run_dir).get("hmac_sha256"))
    except ValueError:
        return False


def signer_fingerprint(run_dir: Path) -> str | None:
    """The fingerprint of the Ed25519 key the manifest says signed it (None: not signed so)."""
    try:
        signer = read_manifest(run_dir).get("signer")
    except ValueError:
        return None
    found = signer.get("public_key_sha256") if isinstance(signer, dict) else None
    return found if isinstance(found, str) else None
