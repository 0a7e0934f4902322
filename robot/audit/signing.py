"""Ed25519 signature of ``manifest.json``: who sealed a bundle, not only that its files agree.

Why a key pair: the HMAC of ``CHORUS_AUDIT_KEY`` is symmetric, so whoever can check it can
also forge it. Here the robot holds the private key (a PEM file named by
``CHORUS_AUDIT_SIGNING_KEY``, written by ``chorus-robot audit keygen``) and the auditor only the
public key: checking proves who signed, and gives no power to sign.

A signed manifest carries two fields::

    "signer": {"algorithm": "ed25519",
               "public_key": <base64 of the raw 32-byte public key>,
               "public_key_sha256": <SHA-256 hex of those 32 bytes: the fingerprint>}
    "signature": <base64 of the Ed25519 signature of signed_payload(manifest)>

:func:`signed_payload` is the canonical JSON of the manifest without ``signature`` and
``content_sha256`` (which hashes the signature itself): every other field is signed,
``created_at`` and ``signer`` included. The public key travels with the manifest so that the
signature can be checked without the auditor's copy; that only shows the manifest is
consistent with *a* key. Authenticating the signer takes the auditor's own public key file,
whose fingerprint must be the manifest's.

The private key's bytes are read to sign and never logged, shown nor written anywhere else;
error messages name its path only.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "ed25519"
PRIVATE_KEY_NAME = "cle-privee.pem"
PUBLIC_KEY_NAME = "cle-publique.pem"
#: Fields left out of what is signed: the signature itself, and the hash that covers it.
UNSIGNED_FIELDS = ("signature", "content_sha256")


class SigningKeyError(ValueError):
    """A key file cannot be used (absent, unreadable, not Ed25519); the message is French."""


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 hex of the raw 32-byte public key: how a manifest names its signer."""
    return hashlib.sha256(_raw(public_key)).hexdigest()


def generate_key_pair(folder: Path) -> str:
    """Write ``cle-privee.pem`` (mode 0600) and ``cle-publique.pem`` in ``folder``; return
    the fingerprint. Refuses (:class:`SigningKeyError`) when either file exists."""
    private_path, public_path = folder / PRIVATE_KEY_NAME, folder / PUBLIC_KEY_NAME
    existing = [p for p in (private_path, public_path) if p.exists()]
    if existing:
        names = ", ".join(str(p) for p in existing)
        raise SigningKeyError(f"déjà présent, rien n'a été écrasé : {names}")
    folder.mkdir(parents=True, exist_ok=True)
    private_key = Ed25519PrivateKey.generate()
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # O_EXCL: never overwrite a key that appeared since the check; 0600 from the first byte.
    _write_new(private_path, private_pem, 0o600)
    try:
        _write_new(public_path, public_pem, 0o644)
    except OSError:
        private_path.unlink(missing_ok=True)
        raise
    return fingerprint(private_key.public_key())


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have narrowed or widened nothing: be explicit
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SigningKeyError(f"{what} introuvable : {path}") from None
    except OSError as exc:
        raise SigningKeyError(f"{what} illisible : {path} ({exc.strerror})") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key of a PEM file (unencrypted PKCS#8, as ``keygen`` writes it)."""
    data = _read(path, "clé privée de signature")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # Neither the key nor the library's message (which may quote it) is shown.
        raise SigningKeyError(
            f"clé privée de signature illisible : {path} (PEM non chiffré attendu)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"clé privée de signature : {path} n'est pas une clé Ed25519")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key of a PEM file (``cle-publique.pem``)."""
    data = _read(path, "clé publique")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise SigningKeyError(f"clé publique illisible : {path} (PEM attendu)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"clé publique : {path} n'est pas une clé Ed25519")
    return key


def signed_payload(manifest: dict[str, Any]) -> bytes:
    """The bytes the signature covers: every field but :data:`UNSIGNED_FIELDS`."""
    body = {k: v for k, v in manifest.items() if k not in UNSIGNED_FIELDS}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def sign_manifest(manifest: dict[str, Any], private_key: Ed25519PrivateKey) -> None:
    """Set ``signer`` then ``signature`` in ``manifest`` (``content_sha256`` comes after)."""
    public_key = private_key.public_key()
    manifest["signer"] = {
        "algorithm": ALGORITHM,
        "public_key": base64.b64encode(_raw(public_key)).decode("ascii"),
        "public_key_sha256": fingerprint(public_key),
    }
    manifest["signature"] = base64.b64encode(private_key.sign(signed_payload(manifest))).decode(
        "ascii"
    )


class SignatureStatus(enum.Enum):
    """What the check of a manifest's signature established."""

    UNSIGNED = "unsigned"  # neither Ed25519 nor HMAC
    AUTHENTICATED = "authenticated"  # Ed25519, checked with the auditor's public key
    CONSISTENT = "consistent"  # Ed25519, checked with the key the manifest carries only
    HMAC_VERIFIED = "hmac_verified"  # legacy HMAC, checked with CHORUS_AUDIT_KEY
    HMAC_UNCHECKED = "hmac_unchecked"  # legacy HMAC present, no key to check it
    INVALID = "invalid"  # a check failed: see the problems


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of :func:`check_ed25519` or of the manifest's HMAC check."""

    status: SignatureStatus
    fingerprint: str | None = None
    problems: list[str] = field(default_factory=list)


def is_ed25519_signed(manifest: dict[str, Any]) -> bool:
    return "signer" in manifest or "signature" in manifest


def check_ed25519(
    manifest: dict[str, Any], public_key: Ed25519PublicKey | None = None
) -> SignatureCheck:
    """Check the Ed25519 signature of a manifest that carries one (see the module's doc)."""
    signer = manifest.get("signer")
    signature = manifest.get("signature")
    if not isinstance(signer, dict) or not isinstance(signature, str):
        return _invalid("signature Ed25519 incomplète (champ « signer » ou « signature » absent)")
    if signer.get("algorithm") != ALGORITHM:
        return _invalid(f"algorithme de signature inconnu : {signer.get('algorithm')!r}")
    declared = signer.get("public_key_sha256")
    try:
        embedded = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(str(signer.get("public_key")), validate=True)
        )
        signature_bytes = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        return _invalid("signature Ed25519 illisible (clé publique ou signature mal encodée)")
    if fingerprint(embedded) != declared:
        return _invalid(
            "empreinte du signataire incohérente : la clé publique du manifeste n'a pas "
            "l'empreinte annoncée (manifest.json modifié)"
        )
    if public_key is not None and fingerprint(public_key) != declared:
        return _invalid(
            f"signé par une autre clé : empreinte du manifeste {declared}, "
            f"clé publique fournie {fingerprint(public_key)}",
            declared,
        )
    try:
        (public_key or embedded).verify(signature_bytes, signed_payload(manifest))
    except InvalidSignature:
        return _invalid(
            "signature Ed25519 invalide : un champ de manifest.json a été modifié après la "
            "signature (date de création, liste des fichiers…)",
            declared,
        )
    status = SignatureStatus.AUTHENTICATED if public_key is not None else SignatureStatus.CONSISTENT
    return SignatureCheck(status, str(declared))


def _invalid(problem: str, fingerprint_: object = None) -> SignatureCheck:
    shown = fingerprint_ if isinstance(fingerprint_, str) else None
    return SignatureCheck(SignatureStatus.INVALID, shown, [problem])
