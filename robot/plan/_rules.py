"""The meaning of a plan's cells: parsing and checking each value against the portal's rules.

Every parser raises ``ValueError`` with a French message; :func:`check_rows` collects them
all, with the cross-row checks (duplicates, a new number reusing a rejected one).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TypeVar

from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.fr import siret as stdnum_siret

from robot.plan._csv import Problem, RawRow
from robot.timezone import PARIS
from scenarios.model import Correction, Kind

NUMERO_MAX = 20
ENGAGEMENT_MAX = 50
ATTACHMENT_NAME_MAX = 50
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_EXTENSIONS = frozenset(
    {"pdf", "xml", "csv", "png", "jpg", "jpeg", "gif", "tif", "tiff", "odt", "ods", "odp"}
    | {"doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "rtf", "zip", "bmp", "html", "htm"}
)
VAT_RATES = (Decimal("20"), Decimal("10"), Decimal("5.5"), Decimal("2.1"), Decimal("0"))
PAYMENT_MODES = ("Virement", "Chèque", "Prélèvement", "Espèce", "Report", "Autre")
CENT = Decimal("0.01")

_NUMERO_CHARS = re.compile(r"[A-Za-z0-9_/+\-]")
_SPACES = " \u00a0\u202f\u2009"
_AMOUNT_FORMS = (
    re.compile(r"(\d+)(?:[.,](\d+))?"),
    re.compile(rf"(\d{{1,3}}(?:[{_SPACES}]\d{{3}})+)(?:[.,](\d+))?"),
    re.compile(r"(\d{1,3}(?:\.\d{3})+)(?:,(\d+))?"),
    re.compile(r"(\d{1,3}(?:,\d{3})+)(?:\.(\d+))?"),
)
_FR_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_SCIENTIFIC = re.compile(r"\d+(?:[.,]\d+)?[eE][+-]?\d+")
T = TypeVar("T")


def paris_today() -> date:
    return datetime.now(PARIS).date()


def _numero_format_problem(numero: str) -> str | None:
    if not numero:
        return "le numéro de facture est obligatoire"
    if len(numero) > NUMERO_MAX:
        return f"le numéro « {numero} » dépasse {NUMERO_MAX} caractères ({len(numero)})"
    bad = sorted({c for c in numero if not _NUMERO_CHARS.fullmatch(c)})
    if bad:
        shown = ", ".join("espace" if c.isspace() else f"« {c} »" for c in bad)
        return (
            f"le numéro « {numero} » contient des caractères refusés par le portail ({shown}) : "
            "seuls les lettres, les chiffres et - _ / + sont admis"
        )
    return None


def numero_is_valid(numero: str, today: date | None = None) -> str | None:
    """Why the portal would refuse ``numero`` as a new invoice number (French), or None."""
    problem = _numero_format_problem(numero)
    if problem is not None:
        return problem
    today = today or paris_today()
    if numero in (today.strftime("%Y%m%d"), today.strftime("%d%m%Y")):
        return f"le numéro « {numero} » est la date du jour, ce que le portail refuse"
    return None


def parse_amount(text: str) -> Decimal:
    """« 1 234,56 », « 1234.56 », « 1 234,56 € » → Decimal; at most 2 decimals, not negative."""
    cleaned = re.sub(r"(€|eur)$", "", text.strip(), flags=re.IGNORECASE).strip()
    if cleaned[:1] in ("-", "−") or (cleaned.startswith("(") and cleaned.endswith(")")):
        raise ValueError(f"le montant « {text} » est négatif")
    cleaned = cleaned.removeprefix("+")
    for form in _AMOUNT_FORMS:
        match = form.fullmatch(cleaned)
        if match:
            whole, decimals = match.group(1), match.group(2) or ""
            break
    else:
        raise ValueError(f"« {text} » n'est pas un montant (ex. 1 234,56)")
    if len(decimals) > 2:
        raise ValueError(f"le montant « {text} » a plus de 2 décimales")
    digits = re.sub(r"\D", "", whole)
    return Decimal(f"{digits}.{decimals or '0'}").quantize(CENT)


def parse_rate(text: str) -> Decimal:
    """« 20 », « 5,5 », « 20 % » → one of the portal's VAT rates."""
    cleaned = text.strip().removesuffix("%").strip()
    if re.fullmatch(r"\d+(?:[.,]\d+)?", cleaned):
        value = Decimal(cleaned.replace(",", "."))
        for rate in VAT_RATES:
            if value == rate:
                return rate
    raise ValueError(f"taux de TVA « {text} » refusé (20, 10, 5,5, 2,1 ou 0 attendu)")


def parse_date(text: str) -> date:
    """``JJ/MM/AAAA`` or ``AAAA-MM-JJ`` → date."""
    french, iso = _FR_DATE.fullmatch(text.strip()), _ISO_DATE.fullmatch(text.strip())
    if french:
        day, month, year = (int(g) for g in french.groups())
    elif iso:
        year, month, day = (int(g) for g in iso.groups())
    else:
        raise ValueError(f"« {text} » n'est pas une date (JJ/MM/AAAA ou AAAA-MM-JJ attendu)")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"la date « {text} » n'existe pas") from None


def parse_siret(text: str) -> str:
    """The 14 digits of a valid SIRET (spaces removed)."""
    compact = re.sub(r"\s", "", text)
    if _SCIENTIFIC.fullmatch(compact):
        raise ValueError(
            f"le SIRET « {text} » a été converti en nombre par le tableur : "
            "saisissez-le comme du texte (14 chiffres)"
        )
    if not compact.isdigit():
        raise ValueError(f"le SIRET {text} est invalide (14 chiffres attendus)")
    if len(compact) != 14:
        raise ValueError(
            f"le SIRET {text} est invalide (14 chiffres attendus, {len(compact)} trouvés)"
        )
    try:
        return str(stdnum_siret.validate(compact))
    except InvalidChecksum:
        raise ValueError(f"le SIRET {text} est invalide (clé de contrôle incorrecte)") from None
    except ValidationError:
        raise ValueError(f"le SIRET {text} est invalide") from None


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_MODES = {_plain(mode): mode for mode in PAYMENT_MODES}


def parse_mode(text: str) -> str:
    """A payment mode, whatever its case and accents, as the portal spells it."""
    key = _plain(text)
    mode = _MODES.get(key) or _MODES.get(key.removesuffix("s"))
    if mode is None:
        raise ValueError(
            f"mode de paiement « {text} » inconnu ({', '.join(PAYMENT_MODES[:-1])} "
            f"ou {PAYMENT_MODES[-1]} attendu)"
        )
    return mode


def attachment_problems(text: str, base_dir: Path) -> tuple[Path, list[str]]:
    """The attachment's path (relative to the plan's folder) and why the portal would refuse it."""
    path = Path(text).expanduser()
    path = path if path.is_absolute() else base_dir / path
    name, problems = path.name, []
    if len(name) > ATTACHMENT_NAME_MAX:
        problems.append(
            f"le nom du fichier « {name} » dépasse {ATTACHMENT_NAME_MAX} caractères ({len(name)})"
        )
    extension = path.suffix.lower().removeprefix(".")
    if extension not in ATTACHMENT_EXTENSIONS:
        problems.append(f"le format du fichier « {name} » n'est pas accepté par le portail")
    if not path.exists():
        problems.append(f"le fichier « {text} » est introuvable (cherché dans {base_dir})")
    elif not path.is_file():
        problems.append(f"« {text} » n'est pas un fichier")
    elif path.stat().st_size > ATTACHMENT_MAX_BYTES:
        size = Decimal(path.stat().st_size) / (1024 * 1024)
        problems.append(f"le fichier « {name} » dépasse 10 Mo ({french_number(size, 1)} Mo)")
    return path.resolve(), problems


def french_number(value: Decimal, places: int = 2) -> str:
    """« 1 234,56 » (for messages)."""
    quantized = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{quantized:,.{places}f}".replace(",", " ").replace(".", ",")


def french_rate(rate: Decimal) -> str:
    """« 20 », « 5,5 » (as the portal writes its rates)."""
    return format(rate.normalize(), "f").replace(".", ",")


@dataclass
class _Row:
    """Checks one raw row, collecting every problem."""

    raw: RawRow
    columns: frozenset[str]
    base_dir: Path
    today: date
    problems: list[Problem] = field(default_factory=list)

    def report(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.raw.line, column, message))

    def parsed(self, column: str, parser: Callable[[str], T]) -> T | None:
        text = self.raw.cells.get(column, "")
        if not text:
            return None
        try:
            return parser(text)
        except ValueError as exc:
            self.report(column, str(exc))
            return None

    def numero(self, column: str, *, new: bool) -> str:
        value = self.raw.cells.get(column, "")
        if not value:
            if column in self.columns:
                self.report(column, "valeur obligatoire manquante")
            return ""
        problem = numero_is_valid(value, self.today) if new else _numero_format_problem(value)
        if problem:
            self.report(column, problem)
        return value

    def kind(self) -> Kind:
        """Which work the row asks for: its ``statut`` when it names one, else its content.

        Without a ``statut``: a ``nouveau_numero`` means a rejected invoice (reissued); no new
        number but a new recipient, service or engagement, one to recycle; no new number but
        attachments or a comment, a suspended one (completed); nothing, a rejected one whose
        new number is missing. The portal's status is checked again before any click.
        """
        statut = self.raw.cells.get("statut", "")
        if statut:
            kind = Kind.of_status(statut)
            if kind is not None:
                return kind
            self.report(
                "statut",
                f"statut « {statut} » : le robot traite les factures « Rejetée », « Suspendue » "
                "et « À recycler » (retirez la ligne pour ne pas la traiter)",
            )
        cells = self.raw.cells
        if cells.get("nouveau_numero"):
            return Kind.REJECTED
        if any(cells.get(column) for column in RECYCLE_COLUMNS):
            return Kind.TO_RECYCLE
        if cells.get("piece_jointe") or cells.get("commentaire"):
            return Kind.SUSPENDED
        return Kind.REJECTED

    def correction(self) -> Correction:
        kind = self.kind()
        rejete = self.numero("numero_rejete", new=False)
        if kind is Kind.REJECTED:
            nouveau = self.numero("nouveau_numero", new=True)
            if rejete and nouveau and rejete.casefold() == nouveau.casefold():
                self.report("nouveau_numero", "le nouveau numéro doit différer du numéro rejeté")
        else:
            nouveau = ""
            if self.raw.cells.get("nouveau_numero"):
                self.report(
                    "nouveau_numero",
                    f"pas de nouveau numéro pour une facture « {kind.label} » : elle garde son "
                    "numéro (videz la cellule)",
                )
        for column in NOT_FOR.get(kind, ()):
            if self.raw.cells.get(column):
                self.report(column, NOT_FOR_MESSAGE[kind])
        invoice_date = self.parsed("date_facture", parse_date)
        if invoice_date is not None and invoice_date > self.today:
            self.report(
                "date_facture",
                f"la date de facture {invoice_date:%d/%m/%Y} est postérieure à la date du jour",
            )
        ht = self.parsed("montant_ht", parse_amount)
        rate = self.parsed("taux_tva", parse_rate)
        ttc = self.parsed("montant_ttc", parse_amount)
        if ht is not None and rate is not None and ttc is not None:
            expected = (ht * (1 + rate / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
            if ttc != expected:
                self.report(
                    "montant_ttc",
                    f"le montant TTC {french_number(ttc)} ne correspond pas au HT et au taux : "
                    f"{french_number(ht)} × (1 + {french_rate(rate)} %) = "
                    f"{french_number(expected)}",
                )
        engagement = self.raw.cells.get("numero_engagement", "")
        if len(engagement) > ENGAGEMENT_MAX:
            self.report(
                "numero_engagement",
                f"le numéro d'engagement dépasse {ENGAGEMENT_MAX} caractères ({len(engagement)})",
            )
        attachments: list[Path] = []
        for text in _attachment_cells(self.raw.cells.get("piece_jointe", "")):
            attachment, problems = attachment_problems(text, self.base_dir)
            attachments.append(attachment)
            for message in problems:
                self.report("piece_jointe", message)
        commentaire = self.raw.cells.get("commentaire") or None
        if kind is Kind.SUSPENDED and not attachments and not commentaire:
            self.report(
                "piece_jointe",
                "une facture suspendue se complète par au moins une pièce jointe (plusieurs : "
                "séparées par « | ») ou un commentaire",
            )
        if kind is Kind.TO_RECYCLE and not any(self.raw.cells.get(c) for c in RECYCLE_COLUMNS):
            self.report(
                "siret_destinataire",
                "une facture à recycler demande un nouveau SIRET du destinataire, un code "
                "service ou un numéro d'engagement",
            )
        return Correction(
            numero_rejete=rejete,
            nouveau_numero=nouveau,
            date_facture=invoice_date,
            montant_ht=ht,
            taux_tva=rate,
            numero_engagement=engagement or None,
            code_service=self.raw.cells.get("code_service") or None,
            siret_destinataire=self.parsed("siret_destinataire", parse_siret),
            numero_marche=self.raw.cells.get("numero_marche") or None,
            mode_paiement=self.parsed("mode_paiement", parse_mode),
            commentaire=commentaire,
            pieces_jointes=tuple(attachments),
            source_line=self.raw.line,
            kind=kind,
        )


def _attachment_cells(text: str) -> list[str]:
    """« a.pdf | b.pdf » → the files named, in order (several are separated by « | »)."""
    return [part.strip() for part in text.split("|") if part.strip()]


#: The columns that say where an invoice to recycle goes: at least one must be filled.
RECYCLE_COLUMNS = ("siret_destinataire", "code_service", "numero_engagement")

#: Columns that do not apply to a kind of work (the robot could not use them).
NOT_FOR: dict[Kind, tuple[str, ...]] = {
    Kind.SUSPENDED: (
        "date_facture",
        "montant_ht",
        "taux_tva",
        "montant_ttc",
        "numero_marche",
        "mode_paiement",
        *RECYCLE_COLUMNS,
    ),
    Kind.TO_RECYCLE: (
        "date_facture",
        "montant_ht",
        "taux_tva",
        "montant_ttc",
        "numero_marche",
        "mode_paiement",
        "piece_jointe",
    ),
}
NOT_FOR_MESSAGE = {
    Kind.SUSPENDED: "ne s'applique pas à une facture suspendue : elle est complétée par des "
    "pièces jointes et/ou un commentaire, ses données ne changent pas (videz la cellule)",
    Kind.TO_RECYCLE: "ne s'applique pas à une facture à recycler : seuls le SIRET du "
    "destinataire, le code service et le numéro d'engagement changent (videz la cellule)",
}


def check_rows(
    rows: list[RawRow], columns: frozenset[str], base_dir: Path, today: date
) -> tuple[list[Correction], list[Problem]]:
    """The corrections of ``rows`` and every problem found in them, alone or together."""
    corrections: list[Correction] = []
    problems: list[Problem] = []
    for raw in rows:
        row = _Row(raw, columns, base_dir, today)
        corrections.append(row.correction())
        problems += row.problems
    problems += _cross_row_problems(corrections)
    return corrections, problems


def _cross_row_problems(corrections: list[Correction]) -> list[Problem]:
    problems: list[Problem] = []
    for column in ("numero_rejete", "nouveau_numero"):
        first_line: dict[str, int] = {}
        for c in corrections:
            value: str = getattr(c, column)
            if not value:
                continue
            key = value.casefold()
            if key in first_line:
                label = "numéro rejeté" if column == "numero_rejete" else "nouveau numéro"
                problems.append(
                    Problem(
                        c.source_line,
                        column,
                        f"{label} « {value} » en double (lignes {first_line[key]} "
                        f"et {c.source_line})",
                    )
                )
            else:
                first_line[key] = c.source_line
    rejected_at: dict[str, int] = {}
    for c in corrections:
        if c.numero_rejete:
            rejected_at.setdefault(c.numero_rejete.casefold(), c.source_line)
    for c in corrections:
        other = rejected_at.get(c.nouveau_numero.casefold()) if c.nouveau_numero else None
        if other is not None and other != c.source_line:
            problems.append(
                Problem(
                    c.source_line,
                    "nouveau_numero",
                    f"le nouveau numéro « {c.nouveau_numero} » est le numéro rejeté de la "
                    f"ligne {other}",
                )
            )
    return problems
