"""Rules on the attachments of an invoice (« Pièces jointes », SCREENS.md).

A file name of at most 50 characters including its extension, an allowed extension, at most
10 Mo per file and 120 Mo in all (1 Mo = 1024 × 1024 octets).
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_NAME = 50
MAX_FILE = 10 * 1024 * 1024
MAX_TOTAL = 120 * 1024 * 1024
ALLOWED_EXTENSIONS = frozenset(
    [
        "pdf",
        "xml",
        "csv",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "tif",
        "tiff",
        "odt",
        "ods",
        "odp",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "txt",
        "rtf",
        "zip",
        "bmp",
        "html",
        "htm",
    ]
)


def attachment_name(name: str) -> str:
    """The file name alone (some browsers send a path such as ``C:\\fakepath\\x.pdf``)."""
    return name.replace("\\", "/").rsplit("/", 1)[-1].strip()


def validate_attachment(name: str, data: bytes) -> list[str]:
    """The messages about one file (empty when it is accepted)."""
    name = attachment_name(name)
    errors = []
    if len(name) > MAX_NAME:
        errors.append(f"Le nom du fichier {name} dépasse 50 caractères.")
    _, dot, extension = name.rpartition(".")
    if not dot or extension.lower() not in ALLOWED_EXTENSIONS:
        errors.append(f"Le format du fichier {name} n'est pas autorisé.")
    if len(data) > MAX_FILE:
        errors.append(f"Le fichier {name} dépasse 10 Mo.")
    return errors


def validate_attachments(files: Iterable[tuple[str, bytes]], *, already: int = 0) -> list[str]:
    """The messages about every file, then about their total size (``already``: the bytes of
    the attachments the invoice holds before these, counted in the total)."""
    errors: list[str] = []
    total, added = already, 0
    for name, data in files:
        errors.extend(validate_attachment(name, data))
        total += len(data)
        added += 1
    if added and total > MAX_TOTAL:
        errors.append("La taille totale des pièces jointes dépasse 120 Mo.")
    return errors
