"""Reading a plan file into raw rows: encodings, delimiters, headers, JSON shapes.

Nothing here knows what a value means (that is :mod:`robot.plan._rules`); this module only
turns bytes into ``{column: text}`` rows with their line numbers, and reports what is wrong
with the file's shape.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

REQUIRED_COLUMNS = ("numero_rejete", "nouveau_numero")
#: What the row asks for (``reemettre``, ``acquitter``, ``completer``, ``recycler``,
#: ``ignorer``) and the confirmation a reissue the robot would refuse needs.
ACTION_COLUMNS = ("action", "confirmer_reemission")
#: Says which work the row is (« Rejetée », « Suspendue », « À recycler »): read.
KIND_COLUMN = "statut"
#: Written by the template for the accountant's information; ignored on read, like any column
#: whose name starts with :data:`INFO_PREFIX`.
INFO_COLUMNS = (
    "info_motif_rejet",
    "info_commentaire_rejet",
    "info_date_depot",
    "info_destinataire",
    "info_coordonnees_bancaires",
    "info_lignes",
)
INFO_PREFIX = "info_"
#: The informative columns of templates written before the ``info_`` prefix: accepted and
#: ignored, so that older plans still load.
LEGACY_INFO_COLUMNS = ("date_depot", "destinataire", "motif_rejet", "commentaire_rejet")
OVERRIDE_COLUMNS = (
    "date_facture",
    "montant_ht",
    "remise",
    "taux_tva",
    "montant_ttc",
    "numero_engagement",
    "code_service",
    "siret_destinataire",
    "numero_marche",
    "mode_paiement",
    "coordonnees_bancaires",
    "commentaire",
    "piece_jointe",
)
#: The template's columns, in its order (when the work list spans several accounts, the
#: template starts with :data:`ACCOUNT_COLUMN`: see :data:`ALL_COLUMNS`): the invoice and its
#: kind, what is there to inform, then what the robot reads.
COLUMNS = (
    "numero_rejete",
    KIND_COLUMN,
    *INFO_COLUMNS,
    "action",
    "nouveau_numero",
    "confirmer_reemission",
    *OVERRIDE_COLUMNS,
)
#: The account (its identifiant) a row's invoice belongs to; empty: the default account.
ACCOUNT_COLUMN = "compte"
#: Every column a plan may hold, in the order of a template written for several accounts
#: (besides :data:`LEGACY_INFO_COLUMNS` and any other ``info_`` column).
ALL_COLUMNS = (ACCOUNT_COLUMN, *COLUMNS)
#: The columns of the lines sheet (``--lignes``): one row per line of a new invoice.
LINE_COLUMNS = (
    "numero_rejete",
    "reference",
    "designation",
    "quantite",
    "unite",
    "prix_unitaire_ht",
    "remise",
    "taux_tva",
)
CSV_SUFFIXES = (".csv", ".txt")
_DELIMITERS = (";", ",", "\t")  # order = preference when the header is ambiguous


@dataclass(frozen=True)
class Sheet:
    """What one kind of file holds: its columns, those it must have, its JSON key."""

    columns: tuple[str, ...]  # read, in the order problems are listed
    required: tuple[str, ...]
    json_key: str  # {"corrections": [...]}
    item: str  # what one row is, in French
    empty: str  # the message for a file without rows
    ignored: tuple[str, ...] = ()  # accepted and not read (besides ``info_…``)

    def accepts(self, name: str) -> bool:
        return name in self.columns or name in self.ignored or name.startswith(INFO_PREFIX)


PLAN_SHEET = Sheet(
    ALL_COLUMNS,
    REQUIRED_COLUMNS,
    "corrections",
    "correction",
    "le plan ne contient aucune correction",
    LEGACY_INFO_COLUMNS,
)
LINES_SHEET = Sheet(
    LINE_COLUMNS,
    ("numero_rejete", "designation", "quantite", "prix_unitaire_ht"),
    "lignes",
    "ligne",
    "la feuille de lignes ne contient aucune ligne",
)


class Problem(NamedTuple):
    """One problem found in the file: line (0 = the whole file), column, French message."""

    line: int
    column: str
    message: str


@dataclass
class RawRow:
    """One correction as written: line number and stripped text of every column it has."""

    line: int
    cells: dict[str, str]


@dataclass
class RawPlan:
    """What a plan file holds before its values are checked."""

    rows: list[RawRow] = field(default_factory=list)
    columns: frozenset[str] = frozenset()  # the known columns present (JSON: all)
    problems: list[Problem] = field(default_factory=list)


def read_raw(path: Path, sheet: Sheet = PLAN_SHEET) -> RawPlan:
    """Read ``path`` (CSV or JSON, by extension) into raw rows, listing shape problems."""
    suffix = path.suffix.lower()
    if suffix != ".json" and suffix not in CSV_SUFFIXES:
        return RawPlan(
            problems=[
                Problem(
                    0,
                    "",
                    f"format « {suffix or 'sans extension'} » non pris en charge : enregistrez "
                    "le fichier en CSV (séparateur point-virgule) ou en JSON",
                )
            ]
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return RawPlan(problems=[Problem(0, "", "le fichier est introuvable")])
    except IsADirectoryError:
        return RawPlan(problems=[Problem(0, "", "c'est un dossier, pas un fichier")])
    except PermissionError:
        return RawPlan(problems=[Problem(0, "", "lecture du fichier non autorisée")])
    except OSError as exc:
        return RawPlan(problems=[Problem(0, "", f"le fichier est illisible ({exc.strerror})")])
    text, problem = _decode(data)
    if problem is not None:
        return RawPlan(problems=[problem])
    if not text.strip():
        return RawPlan(problems=[Problem(0, "", "le fichier est vide")])
    return _read_json(text, sheet) if suffix == ".json" else _read_csv(text, sheet)


def _decode(data: bytes) -> tuple[str, Problem | None]:
    """Text of the file: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            return "", Problem(0, "", "le fichier UTF-16 est corrompu")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return "", Problem(
            line,
            "",
            f"encodage non reconnu (octet 0x{data[exc.start]:02X}) : enregistrez le fichier "
            "en UTF-8 ou en Windows-1252",
        )


def _sniff_delimiter(text: str) -> str:
    """The delimiter of the header line (the first non-blank one): the most frequent wins."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts.values())
    return next(d for d in _DELIMITERS if counts[d] == best) if best else ";"


def _records(text: str, delimiter: str) -> tuple[list[tuple[int, list[str]]], Problem | None]:
    """Non-blank records with the physical line each starts on; cells stripped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    previous_end = 0
    try:
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            cells = [cell.replace("\ufeff", "").strip() for cell in record]
            if any(cells):
                records.append((start, cells))
    except csv.Error as exc:
        return records, Problem(reader.line_num, "", f"ligne illisible ({exc})")
    return records, None


def _read_csv(text: str, sheet: Sheet) -> RawPlan:
    delimiter = _sniff_delimiter(text)
    records, problem = _records(text, delimiter)
    plan = RawPlan(problems=[problem] if problem else [])
    if not records:
        plan.problems.append(Problem(0, "", "le fichier est vide"))
        return plan
    (header_line, header), body = records[0], records[1:]
    names = [name.lower() for name in header]
    columns: dict[int, str] = {}
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            if any(index < len(cells) and cells[index] for _, cells in body):
                plan.problems.append(
                    Problem(header_line, f"colonne {index + 1}", "colonne sans nom dans l'en-tête")
                )
            continue
        if name in seen:
            plan.problems.append(
                Problem(
                    header_line,
                    name,
                    f"colonne en double (colonnes {seen[name] + 1} et {index + 1})",
                )
            )
            continue
        seen[name] = index
        if name in sheet.columns:
            columns[index] = name
        elif not sheet.accepts(name):
            plan.problems.append(Problem(header_line, name, _unknown_column(name, sheet)))
    for name in _required(sheet, seen):
        plan.problems.append(Problem(header_line, name, "colonne obligatoire absente"))
    plan.columns = frozenset(columns.values())
    for line, cells in body:
        if any(cells[len(names) :]):
            hint = (
                " (virgule décimale non protégée par des guillemets ?)" if delimiter == "," else ""
            )
            plan.problems.append(
                Problem(line, "", f"la ligne a plus de cellules que l'en-tête{hint}")
            )
        row = {name: cells[i] if i < len(cells) else "" for i, name in columns.items()}
        plan.rows.append(RawRow(line, row))
    if not body:
        plan.problems.append(Problem(header_line, "", sheet.empty))
    return plan


def _required(sheet: Sheet, present: Collection[str]) -> list[str]:
    """The required columns missing from ``present``. A plan with an ``action`` column says
    per row whether it needs a new number: ``nouveau_numero`` may then be absent."""
    required = [name for name in sheet.required if name not in present]
    if sheet is PLAN_SHEET and "action" in present:
        required = [name for name in required if name != "nouveau_numero"]
    return required


def _unknown_column(name: str, sheet: Sheet) -> str:
    close = difflib.get_close_matches(name, sheet.columns, n=1, cutoff=0.6)
    hint = f" (vouliez-vous dire « {close[0]} » ?)" if close else ""
    return f"colonne inconnue « {name} »{hint}"


def _read_json(text: str, sheet: Sheet) -> RawPlan:
    plan = RawPlan()
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        plan.problems.append(Problem(exc.lineno, "", f"JSON invalide : {exc.msg}"))
        return plan
    key = sheet.json_key
    if isinstance(data, dict):
        lowered = {str(k).strip().lower(): v for k, v in data.items()}
        if key not in lowered:
            plan.problems.append(Problem(0, "", f"objet JSON sans clé « {key} »"))
            return plan
        data = lowered[key]
    if not isinstance(data, list):
        plan.problems.append(Problem(0, "", f"une liste de {key} est attendue"))
        return plan
    present: set[str] = set()
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            plan.problems.append(Problem(index, "", f"chaque {sheet.item} doit être un objet JSON"))
            continue
        cells: dict[str, str] = {}
        for key_name, value in item.items():
            name = str(key_name).strip().lower()
            if name not in sheet.columns:
                if not sheet.accepts(name):
                    plan.problems.append(Problem(index, name, _unknown_column(name, sheet)))
                continue
            present.add(name)
            text_value = _json_text(value)
            if text_value is None:
                plan.problems.append(
                    Problem(index, name, "valeur inattendue (texte ou nombre attendu)")
                )
                continue
            cells[name] = text_value
        plan.rows.append(RawRow(index, cells))
    if not data:
        plan.problems.append(Problem(0, "", sheet.empty))
    # A key no object has is an absent column; those a row must have are checked in each row.
    plan.columns = frozenset(present | set(sheet.required))
    return plan


def _json_text(value: Any) -> str | None:
    """The text of a JSON scalar as a cell would hold it; None for what no cell can hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return None
