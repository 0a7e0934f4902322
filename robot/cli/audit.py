"""``chorus-robot audit``: check a bundle's integrity and who sealed it, make a signing key,
open its traces.

``verify RUN_DIR`` exits 0 when the bundle is intact and complete, 1 when anything is missing,
extra, altered or (with ``--strict``) unproven, 2 when the folder, the public key or the
certificate given cannot be read. It says plainly what the proof rests on: « NON SIGNÉ », a
signature consistent with the manifest's own key only, or authenticated with the auditor's
public key; a timestamp whose imprint only, or also whose authority, was checked.
``keygen DOSSIER`` writes an Ed25519 key pair. ``show RUN_DIR [--invoice NUMBER]`` opens the
Playwright trace viewer, or prints the command when there is no display.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from robot.audit.completeness import completeness_problems
from robot.audit.manifest import KEY_VARIABLE, BundleCheck, check_bundle
from robot.audit.report import format_time
from robot.audit.rundir import RunDir
from robot.audit.signing import (
    PRIVATE_KEY_NAME,
    PUBLIC_KEY_NAME,
    SignatureStatus,
    SigningKeyError,
    load_public_key,
)
from robot.audit.signing import generate_key_pair as _generate_key_pair
from robot.audit.timestamp import TimestampStatus, load_tsa_certificates
from robot.browser.recording import read_batch_traces, safe_name
from robot.cli.french import FrenchCommand, FrenchGroup

EXIT_INTACT = 0
EXIT_ALTERED = 1
EXIT_USAGE = 2
SIGNING_KEY_VARIABLE = "CHORUS_AUDIT_SIGNING_KEY"

audit_app = typer.Typer(
    cls=FrenchGroup,
    name="audit",
    help="Vérifier un dossier d'audit, créer une clé de signature, rejouer ses traces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    options_metavar="[OPTIONS]",
    subcommand_metavar="COMMANDE [ARGUMENTS]...",
)

RunDirArgument = Annotated[
    Path,
    typer.Argument(
        help="Dossier du run (ex. runs/20261127-103000-a1b2).",
        metavar="DOSSIER_DU_RUN",
        show_default=False,
    ),
]


def _require_dir(run_dir: Path) -> None:
    if not run_dir.is_dir():
        typer.echo(f"Dossier de run introuvable : {run_dir}", err=True)
        raise typer.Exit(EXIT_USAGE)


def _key() -> bytes | None:
    value = os.environ.get(KEY_VARIABLE, "")
    return value.encode("utf-8") if value else None


def _public_key(path: Path | None) -> Ed25519PublicKey | None:
    if path is None:
        return None
    try:
        return load_public_key(path)
    except SigningKeyError as exc:
        typer.echo(f"Vérification impossible : {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _tsa_roots(path: Path | None) -> list[x509.Certificate] | None:
    if path is None:
        return None
    try:
        return load_tsa_certificates(path)
    except ValueError as exc:
        typer.echo(f"Vérification impossible : {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _signature_lines(
    check: BundleCheck, public_key: Path | None, strict: bool
) -> tuple[list[str], list[str]]:
    """(lines saying what the signature proves, problems ``--strict`` adds)."""
    signature = check.signature
    status = signature.status
    if status is SignatureStatus.UNSIGNED:
        lines = [
            "NON SIGNÉ : rien ne prouve qui a écrit ce dossier. Les fichiers concordent entre "
            "eux, mais qui pouvait les modifier pouvait aussi refaire le manifeste."
        ]
        return lines, ["NON SIGNÉ : --strict exige une signature"] if strict else []
    if status is SignatureStatus.AUTHENTICATED:
        return [
            f"Signature Ed25519 vérifiée avec la clé publique {public_key} "
            f"(empreinte {signature.fingerprint})."
        ], []
    if status is SignatureStatus.CONSISTENT:
        lines = [
            "Signature Ed25519 cohérente avec l'empreinte du manifeste "
            f"({signature.fingerprint}), mais signataire NON AUTHENTIFIÉ : n'importe quelle "
            "clé a pu signer. Vérifiez avec --public-key FICHIER (la clé publique du signataire)."
        ]
        problem = "signataire non authentifié : --strict exige --public-key FICHIER"
        return lines, [problem] if strict else []
    if status is SignatureStatus.HMAC_VERIFIED:
        return [
            f"Signature vérifiée avec la clé {KEY_VARIABLE} (HMAC : clé symétrique, quiconque "
            "la détient peut aussi signer ; préférez une paire de clés, « audit keygen »)."
        ], []
    if status is SignatureStatus.HMAC_UNCHECKED:
        lines = [f"Signature HMAC présente mais non vérifiée ({KEY_VARIABLE} non défini)."]
        problem = f"signature HMAC non vérifiée : --strict exige {KEY_VARIABLE}"
        return lines, [problem] if strict else []
    return ["Signature : INVALIDE (voir ci-dessus)."], []


def _timestamp_lines(check: BundleCheck, tsa_cert: Path | None) -> list[str]:
    timestamp = check.timestamp
    when = f"{format_time(timestamp.time)} (heure de Paris)"
    if timestamp.status is TimestampStatus.VERIFIED:
        return [
            f"Horodatage RFC 3161 vérifié avec le certificat {tsa_cert} : le manifeste "
            f"existait le {when}."
        ]
    if timestamp.status is TimestampStatus.IMPRINT_ONLY:
        return [
            f"Horodatage RFC 3161 du {when} : son empreinte est celle du manifeste, mais la "
            "signature de l'autorité n'est PAS vérifiée (donnez son certificat avec "
            "--tsa-cert FICHIER)."
        ]
    if timestamp.status is TimestampStatus.ABSENT:
        return ["Non horodaté (pas de jeton manifest.tsr)."]
    return ["Horodatage : INVALIDE (voir ci-dessus)."]


@audit_app.command(cls=FrenchCommand, options_metavar="[OPTIONS]")
def verify(
    run_dir: RunDirArgument,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="Clé publique du signataire (cle-publique.pem) : authentifie la signature.",
            metavar="FICHIER",
            show_default=False,
        ),
    ] = None,
    tsa_cert: Annotated[
        Path | None,
        typer.Option(
            "--tsa-cert",
            help="Certificat de l'autorité d'horodatage (PEM) : vérifie la signature du jeton.",
            metavar="FICHIER",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Échouer (code 1) si le dossier n'est pas signé ou si son signataire n'est "
            "pas authentifié.",
            show_default=False,
        ),
    ] = False,
) -> None:
    """Recalculer les empreintes, la chaîne d'événements, la signature et la complétude du
    run ; 0 seulement si tout est intact."""
    _require_dir(run_dir)
    check = check_bundle(
        run_dir, key=_key(), public_key=_public_key(public_key), tsa_roots=_tsa_roots(tsa_cert)
    )
    signature_lines, strict_problems = _signature_lines(check, public_key, strict)
    problems = [*check.problems, *completeness_problems(run_dir), *strict_problems]
    if problems:
        typer.echo(f"Dossier d'audit altéré : {len(problems)} problème(s) dans {run_dir}")
        for problem in problems:
            typer.echo(f"  • {problem}")
    else:
        typer.echo(f"Dossier d'audit intact : {run_dir}")
        typer.echo(
            "Complet : les événements vont du début à la fin du run, et chaque facture du "
            "résumé a ses événements, sa trace et ses captures."
        )
    for line in [*signature_lines, *_timestamp_lines(check, tsa_cert)]:
        typer.echo(line)
    if problems:
        raise typer.Exit(EXIT_ALTERED)


@audit_app.command(cls=FrenchCommand, options_metavar="[OPTIONS]")
def keygen(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Dossier où écrire la paire de clés (créé au besoin).",
            metavar="DOSSIER",
            show_default=False,
        ),
    ],
) -> None:
    """Créer une paire de clés Ed25519 pour signer les dossiers d'audit (sans rien écraser)."""
    try:
        fingerprint = _generate_key_pair(folder)
    except SigningKeyError as exc:
        typer.echo(f"Clés non créées : {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except OSError as exc:
        typer.echo(f"Clés non créées : {folder} ({exc.strerror})", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    typer.echo(
        f"Clé privée : {folder / PRIVATE_KEY_NAME} (lecture réservée à son propriétaire ; "
        f"à garder secrète, désignée par {SIGNING_KEY_VARIABLE})"
    )
    typer.echo(
        f"Clé publique : {folder / PUBLIC_KEY_NAME} (à remettre aux auditeurs : "
        "« chorus-robot audit verify --public-key »)"
    )
    typer.echo(f"Empreinte : {fingerprint}")


_PART = re.compile(r"-part\d+$")


def _traces(run_dir: Path) -> dict[str, list[Path]]:
    """Invoice number (as in file names) → its trace files, in order: the batch actions that
    covered it (``traces/lot-….zip``), its partial chunks, its own trace
    (``traces/<numero_rejete>.zip``)."""
    folder = RunDir(run_dir).traces
    if not folder.is_dir():
        return {}
    found: dict[str, list[Path]] = {}
    files = [p for p in folder.glob("*.zip") if p.is_file() and not p.name.startswith("lot-")]

    # By invoice, its parts first and its own trace last.
    def order(path: Path) -> tuple[str, bool, str]:
        return (_PART.sub("", path.stem), not _PART.search(path.stem), path.name)

    for path in sorted(files, key=order):
        found.setdefault(_PART.sub("", path.stem), []).append(path)
    for numero, names in read_batch_traces(run_dir).items():
        batches = [folder / name for name in names if (folder / name).is_file()]
        if batches:
            key = safe_name(numero)
            found[key] = [*batches, *found.get(key, [])]
    return found


def _command(trace: Path) -> list[str]:
    return ["playwright", "show-trace", str(trace)]


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@audit_app.command(cls=FrenchCommand, options_metavar="[OPTIONS]")
def show(
    run_dir: RunDirArgument,
    invoice: Annotated[
        str | None,
        typer.Option(
            "--invoice", help="Numéro de la facture rejetée.", metavar="NUMERO", show_default=False
        ),
    ] = None,
) -> None:
    """Ouvrir la trace Playwright d'une facture (ou afficher la commande sans écran)."""
    _require_dir(run_dir)
    traces = _traces(run_dir)
    if not traces:
        typer.echo(f"Aucune trace dans {run_dir / 'traces'}", err=True)
        raise typer.Exit(EXIT_USAGE)
    if invoice is not None:
        if invoice not in traces:
            typer.echo(
                f"Pas de trace pour la facture « {invoice} ». Traces disponibles :", err=True
            )
            for number in traces:
                typer.echo(f"  • {number}", err=True)
            raise typer.Exit(EXIT_USAGE)
        chosen = traces[invoice]
    else:
        chosen = sorted({path for paths in traces.values() for path in paths})
    if len(chosen) == 1 and _has_display():
        trace = chosen[0]
        typer.echo(f"Ouverture de la trace {trace}…")
        result = subprocess.run(
            [sys.executable, "-m", "playwright", "show-trace", str(trace)], check=False
        )
        raise typer.Exit(result.returncode)
    if len(chosen) > 1 and invoice is not None:
        typer.echo(
            f"{len(chosen)} traces pour la facture {invoice} (actions groupées, puis la "
            "transaction), à ouvrir l'une après l'autre :"
        )
    elif len(chosen) > 1:
        typer.echo(f"{len(chosen)} traces ; choisissez une facture avec --invoice NUMERO :")
    elif not _has_display():
        typer.echo("Pas d'écran disponible : ouvrez la trace sur un poste avec écran avec :")
    for trace in chosen:
        typer.echo(shlex.join(_command(trace)))
