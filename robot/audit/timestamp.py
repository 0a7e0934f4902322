"""Trusted timestamp of ``manifest.json`` (RFC 3161): proof that the manifest existed at a time
that neither the robot nor its operator can set.

With a timestamp authority's URL (``CHORUS_TSA_URL``), the SHA-256 of the manifest's exact
bytes is sent as a ``TimeStampReq`` (HTTP POST, ``application/timestamp-query``); the
authority's ``TimeStampResp`` is stored beside the manifest as ``manifest.tsr`` (DER, readable
by ``openssl ts -reply -in manifest.tsr -text``). The manifest declares the token in its
``timestamp`` field, under its signature, so that removing the token is detected too.

Checking a token: with the authority's CA certificate (``--tsa-cert``), its signature and
certificate chain are verified at the token's own time and its message imprint must be the
manifest's hash; without it, only the imprint is compared, which proves nothing about who
stamped it, and the output says so. Requests, replies and checks use ``rfc3161-client``
(Trail of Bits, as used by sigstore), which verifies with ``cryptography``'s OpenSSL: no
``openssl`` binary is needed on the robot's machine.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

TOKEN_NAME = "manifest.tsr"
#: The ``timestamp`` field of a manifest whose token was requested.
DECLARATION = {"format": "rfc3161", "file": TOKEN_NAME, "hash_algorithm": "sha256"}
REQUEST_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
TIMEOUT_S = 30.0
_SHA256_OID = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")


class TimestampError(RuntimeError):
    """The authority could not stamp the manifest; the message is French."""


def shown_url(url: str) -> str:
    """The URL without any user or password it may carry (never shown)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return parts._replace(netloc=host).geturl()


def request_timestamp(data: bytes, tsa_url: str, *, timeout: float = TIMEOUT_S) -> bytes:
    """Have ``tsa_url`` stamp the SHA-256 of ``data``; return its checked reply (DER)."""
    request = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256).build()
    where = shown_url(tsa_url)
    try:
        answer = httpx.post(
            tsa_url,
            content=request.as_bytes(),
            headers={"Content-Type": REQUEST_TYPE, "Accept": REPLY_TYPE},
            timeout=timeout,
        )
    except httpx.TimeoutException:
        raise TimestampError(
            f"autorité d'horodatage injoignable ({where}) : pas de réponse en {timeout:g} s"
        ) from None
    except httpx.HTTPError as exc:
        # httpx's own words are English: the kind of failure is enough to act on.
        cause = "connexion impossible" if isinstance(exc, httpx.ConnectError) else "erreur réseau"
        raise TimestampError(f"autorité d'horodatage injoignable ({where}) : {cause}") from None
    if answer.status_code != 200:
        raise TimestampError(f"l'autorité d'horodatage {where} a répondu HTTP {answer.status_code}")
    try:
        response = decode_timestamp_response(answer.content)
    except ValueError:
        raise TimestampError(f"réponse illisible de l'autorité d'horodatage {where}") from None
    if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampError(
            f"horodatage refusé par {where} (statut {response.status}"
            f"{' : ' + ' '.join(response.status_string) if response.status_string else ''})"
        )
    info = response.tst_info
    if info.nonce != request.nonce:
        raise TimestampError(f"réponse de {where} à une autre demande (nonce différent)")
    if info.message_imprint.message != hashlib.sha256(data).digest():
        raise TimestampError(f"réponse de {where} pour une autre empreinte que celle demandée")
    return answer.content


def load_tsa_certificates(path: Path) -> list[x509.Certificate]:
    """The certificates of a PEM (or DER) file: the authority's CA, trusted as roots."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(
            f"certificat de l'autorité d'horodatage illisible : {path} ({exc.strerror})"
        ) from None
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise ValueError(
            f"certificat de l'autorité d'horodatage illisible : {path} (PEM ou DER attendu)"
        ) from None


class TimestampStatus(enum.Enum):
    ABSENT = "absent"  # no token, none declared
    VERIFIED = "verified"  # signature and chain checked with the CA, imprint matches
    IMPRINT_ONLY = "imprint_only"  # imprint matches; signature not checked (no CA given)
    INVALID = "invalid"


@dataclass(frozen=True)
class TimestampCheck:
    status: TimestampStatus
    time: datetime | None = None  # the authority's time (genTime), UTC
    problems: list[str] = field(default_factory=list)


def check_timestamp(
    manifest_bytes: bytes,
    token: bytes | None,
    *,
    declared: bool,
    roots: list[x509.Certificate] | None = None,
) -> TimestampCheck:
    """Check ``token`` (``manifest.tsr``'s bytes, None when absent) against the manifest."""
    if token is None:
        if declared:
            return _invalid(f"{TOKEN_NAME} absent alors que manifest.json annonce un horodatage")
        if roots:
            return _invalid(f"{TOKEN_NAME} absent : le dossier n'est pas horodaté")
        return TimestampCheck(TimestampStatus.ABSENT)
    try:
        response = decode_timestamp_response(token)
    except ValueError:
        return _invalid(f"{TOKEN_NAME} illisible (jeton d'horodatage RFC 3161 attendu)")
    problems: list[str] = []
    if not declared:
        problems.append(f"{TOKEN_NAME} présent mais non annoncé par manifest.json")
    if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        return _invalid(f"{TOKEN_NAME} : horodatage refusé par l'autorité", *problems)
    imprint = response.tst_info.message_imprint
    if imprint.hash_algorithm != _SHA256_OID:
        return _invalid(f"{TOKEN_NAME} : algorithme d'empreinte inattendu", *problems)
    if imprint.message != hashlib.sha256(manifest_bytes).digest():
        return _invalid(
            f"{TOKEN_NAME} : le jeton horodate une autre version de manifest.json "
            "(manifeste ou jeton modifié)",
            *problems,
        )
    time = response.tst_info.gen_time
    if roots:
        problems.extend(_chain_problems(response, manifest_bytes, roots))
    if problems:
        return TimestampCheck(TimestampStatus.INVALID, time, problems)
    status = TimestampStatus.VERIFIED if roots else TimestampStatus.IMPRINT_ONLY
    return TimestampCheck(status, time)


def _chain_problems(
    response: TimeStampResponse, manifest_bytes: bytes, roots: list[x509.Certificate]
) -> list[str]:
    builder = VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify_message(response, manifest_bytes)
    except VerificationError:
        # The library's reason is English and technical: the auditor gets the French gist.
        return [
            f"{TOKEN_NAME} : signature de l'autorité d'horodatage non reconnue avec le "
            "certificat fourni (autre autorité, certificat non valable à la date du jeton, "
            "ou jeton modifié)"
        ]
    return []


def _invalid(*problems: str) -> TimestampCheck:
    return TimestampCheck(TimestampStatus.INVALID, None, list(problems))
