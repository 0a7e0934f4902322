"""The meaning of a plan's cells: parsing and checking each value against the portal's rules.

Every parser raises ``ValueError`` with a French message; :func:`check_rows` collects them
all, with the cross-row checks (duplicates, a new number reusing a rejected one).

What a row asks for (:class:`~scenarios.model.Action`): its ``action`` cell when filled (it
must fit the row's kind); else the work of its kind — but in a plan that has an ``action``
column (the template's), a row that gives nothing to work with (a rejected invoice without
``nouveau_numero``, a suspended one without attachment or comment, one to recycle without a
new recipient) is ignored: the accountant left it as the template wrote it. A plan without
that column (written before it) keeps the old rule: every row is worked, what it lacks is an
error. A row to acknowledge only or to ignore has its other cells checked, then dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TypeVar

from stdnum import iban as stdnum_iban
from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.fr import siret as stdnum_siret

from robot.config import is_email
from robot.plan._csv import ACCOUNT_COLUMN, KIND_COLUMN, Problem, RawRow
from robot.timezone import PARIS
from scenarios.model import Action, Correction, Kind

NUMERO_MAX = 20
ENGAGEMENT_MAX = 50
ATTACHMENT_NAME_MAX = 50
BANK_ACCOUNT_MAX = 100
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


_ACTIONS = {_plain(action.value): action for action in Action} | {
    _plain(action.label): action for action in Action
}


def parse_action(text: str) -> Action:
    """« reemettre », « Réémettre », « acquitter », « ignorer »… → the action."""
    key = _plain(text).replace(" ", "_").replace("-", "_")
    action = _ACTIONS.get(key) or _ACTIONS.get(key.replace("_", " "))
    if action is None:
        raise ValueError(
            f"action « {text} » inconnue ({', '.join(a.value for a in Action)} attendu)"
        )
    return action


_YES = frozenset({"oui", "o", "x", "1", "vrai"})
_NO = frozenset({"non", "n", "0", "faux"})


def parse_yes_no(text: str) -> bool:
    """« oui » / « non » (also « x », « 1 », « vrai », « 0 », « faux »)."""
    key = _plain(text)
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ValueError(f"« {text} » : oui ou non attendu")


_IBAN_LIKE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")


def parse_bank_account(text: str) -> str:
    """One of the supplier's registered accounts, as the plan names it: its label (« Compte
    principal »), its IBAN, or both as the portal shows them (« Compte principal - FR76 … »).
    Which accounts exist is the portal's to say, before the first click; an IBAN is checked
    here (its check digits)."""
    value = " ".join(text.split())
    if len(value) > BANK_ACCOUNT_MAX:
        raise ValueError(f"coordonnées bancaires trop longues ({len(value)} caractères)")
    candidate = re.sub(r"\s", "", value.rsplit(" - ", 1)[-1]).upper()
    if _IBAN_LIKE.fullmatch(candidate) and not stdnum_iban.is_valid(candidate):
        raise ValueError(f"l'IBAN {value.rsplit(' - ', 1)[-1]} est invalide (clé de contrôle)")
    return value


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


#: How to leave a row alone, said where a value its work needs is missing (:func:`_hint`).
SKIP_HINT = "pour ne pas traiter cette facture, retirez la ligne ou mettez action=ignorer"


def _hint(kind: Kind) -> str:
    """How to leave a row alone, or do less with it, said where a value is missing."""
    if kind is Kind.REJECTED:
        return f"{SKIP_HINT} ; pour l'acquitter sans nouvelle facture, action=acquitter"
    return SKIP_HINT


@dataclass
class _Row:
    """Checks one raw row, collecting every problem."""

    raw: RawRow
    columns: frozenset[str]
    base_dir: Path
    today: date
    has_lines: bool = False  # the lines sheet gives this invoice's lines
    problems: list[Problem] = field(default_factory=list)

    def report(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.raw.line, column, message))

    def cell(self, column: str) -> str:
        return self.raw.cells.get(column, "")

    def parsed(self, column: str, parser: Callable[[str], T]) -> T | None:
        text = self.cell(column)
        if not text:
            return None
        try:
            return parser(text)
        except ValueError as exc:
            self.report(column, str(exc))
            return None

    def numero(self, column: str, *, new: bool, missing: str = "") -> str:
        value = self.cell(column)
        if not value:
            # A column the header lacks is reported once, on the header (robot.plan._csv) —
            # but a plan with an ``action`` column may lack ``nouveau_numero``: then each row
            # that needs it says so.
            if column in self.columns or (column == "nouveau_numero" and "action" in self.columns):
                self.report(
                    column,
                    "valeur obligatoire manquante" + (f" : {missing}" if missing else ""),
                )
            return ""
        problem = numero_is_valid(value, self.today) if new else _numero_format_problem(value)
        if problem:
            self.report(column, problem)
        return value

    def kind(self, action: Action | None) -> Kind:
        """Which work the row is: its ``statut`` when it names one, else what its ``action``
        says, else its content.

        From its content: a ``nouveau_numero`` means a rejected invoice (reissued); no new
        number but a new recipient, service or engagement, one to recycle; no new number but
        attachments or a comment, a suspended one (completed); nothing, a rejected one whose
        new number is missing. The portal's status is checked again before any click.
        """
        statut = self.cell(KIND_COLUMN)
        if statut:
            kind = Kind.of_status(statut)
            if kind is not None:
                return kind
            self.report(
                KIND_COLUMN,
                f"statut « {statut} » : le robot traite les factures « Rejetée », « Suspendue » "
                "et « À recycler » (retirez la ligne pour ne pas la traiter)",
            )
        if action is not None and action is not Action.IGNORE:
            return next(k for k in Kind if action in Action.allowed_for(k))
        if self.cell("nouveau_numero"):
            return Kind.REJECTED
        if any(self.cell(column) for column in RECYCLE_COLUMNS):
            return Kind.TO_RECYCLE
        if self.cell("piece_jointe") or self.cell("commentaire"):
            return Kind.SUSPENDED
        return Kind.REJECTED

    def work(self, kind: Kind, action: Action | None) -> Action:
        """What the row asks for (see the module docstring)."""
        if action is not None:
            if action not in Action.allowed_for(kind):
                allowed = ", ".join(a.value for a in Action.allowed_for(kind))
                self.report(
                    "action",
                    f"action « {action.value} » impossible pour une facture « {kind.label} » "
                    f"(possibles : {allowed})",
                )
                return Action.IGNORE
            return action
        default = Action.default_for(kind)
        if "action" not in self.columns or self._asks_for_work(kind):
            return default
        return Action.IGNORE

    def _asks_for_work(self, kind: Kind) -> bool:
        """Whether the row gives what its kind's work needs — or, for a rejected invoice,
        something only a reissue uses (never written by the template): its new number is then
        missing, not the row left alone."""
        if kind is Kind.REJECTED:
            confirmed = _plain(self.cell("confirmer_reemission")) in _YES
            return bool(self.cell("nouveau_numero") or self.cell("piece_jointe")) or (
                confirmed or self.has_lines
            )
        if kind is Kind.SUSPENDED:
            return bool(self.cell("piece_jointe") or self.cell("commentaire"))
        return any(self.cell(column) for column in RECYCLE_COLUMNS)

    def compte(self) -> str:
        """The row's account, as written; empty: the default account."""
        compte = self.cell(ACCOUNT_COLUMN)
        if compte and not is_email(compte):
            self.report(
                ACCOUNT_COLUMN,
                f"« {compte} » n'est pas un identifiant de compte (l'adresse électronique de "
                "connexion au portail est attendue ; vide = le compte CHORUS_LOGIN)",
            )
        return compte

    def correction(self) -> Correction:
        compte = self.compte()
        explicit = self.parsed("action", parse_action)
        kind = self.kind(explicit)
        work = self.work(kind, explicit)
        rejete = self.numero(
            "numero_rejete", new=False, missing="le numéro de la facture sur le portail"
        )
        nouveau = self._new_number(kind, work, rejete)
        confirmed = bool(self.parsed("confirmer_reemission", parse_yes_no))
        if work is not Action.IGNORE:
            for column in NOT_FOR.get(kind, ()):
                if self.cell(column):
                    self.report(column, NOT_FOR_MESSAGE[kind])
        if work is Action.ACKNOWLEDGE:
            if self.cell("piece_jointe"):
                self.report("piece_jointe", ACKNOWLEDGE_ONLY_MESSAGE)
            if confirmed:
                self.report("confirmer_reemission", ACKNOWLEDGE_ONLY_MESSAGE)
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
        engagement = self.cell("numero_engagement")
        if len(engagement) > ENGAGEMENT_MAX:
            self.report(
                "numero_engagement",
                f"le numéro d'engagement dépasse {ENGAGEMENT_MAX} caractères ({len(engagement)})",
            )
        attachments: list[Path] = []
        for text in _attachment_cells(self.cell("piece_jointe")):
            attachment, problems = attachment_problems(text, self.base_dir)
            attachments.append(attachment)
            for message in problems:
                self.report("piece_jointe", message)
        commentaire = self.cell("commentaire") or None
        if work is Action.COMPLETE and not attachments and not commentaire:
            self.report(
                "piece_jointe",
                "une facture suspendue se complète par au moins une pièce jointe (plusieurs : "
                f"séparées par « | ») ou un commentaire ({_hint(kind)})",
            )
        if work is Action.RECYCLE and not any(self.cell(c) for c in RECYCLE_COLUMNS):
            self.report(
                "siret_destinataire",
                "une facture à recycler demande un nouveau SIRET du destinataire, un code "
                f"service ou un numéro d'engagement ({_hint(kind)})",
            )
        correction = Correction(
            numero_rejete=rejete,
            nouveau_numero=nouveau,
            date_facture=invoice_date,
            montant_ht=ht,
            taux_tva=rate,
            numero_engagement=engagement or None,
            code_service=self.cell("code_service") or None,
            siret_destinataire=self.parsed("siret_destinataire", parse_siret),
            numero_marche=self.cell("numero_marche") or None,
            mode_paiement=self.parsed("mode_paiement", parse_mode),
            commentaire=commentaire,
            pieces_jointes=tuple(attachments),
            source_line=self.raw.line,
            kind=kind,
            compte=compte,
            remise=self.parsed("remise", parse_amount),
            coordonnees_bancaires=self.parsed("coordonnees_bancaires", parse_bank_account),
            confirmer_reemission=confirmed and work is Action.REISSUE,
        )
        if work is Action.IGNORE or work is Action.ACKNOWLEDGE:
            # Checked above; nothing of it is used: no new invoice, no change.
            correction = Correction(
                numero_rejete=rejete,
                nouveau_numero="",
                source_line=self.raw.line,
                kind=kind,
                compte=compte,
            )
        if work is not Action.default_for(kind):
            correction = replace(correction, action=work)
        return correction

    def _new_number(self, kind: Kind, work: Action, rejete: str) -> str:
        if work is Action.REISSUE:
            nouveau = self.numero(
                "nouveau_numero",
                new=True,
                missing=f"le numéro de la nouvelle facture ({_hint(kind)})",
            )
            if rejete and nouveau and rejete.casefold() == nouveau.casefold():
                self.report("nouveau_numero", "le nouveau numéro doit différer du numéro rejeté")
            return nouveau
        if not self.cell("nouveau_numero"):
            return ""
        if work is Action.IGNORE:
            self.numero("nouveau_numero", new=True)  # checked, then left: nothing is issued
        elif work is Action.ACKNOWLEDGE:
            self.report(
                "nouveau_numero",
                "pas de nouveau numéro avec action=acquitter : la facture est acquittée et son "
                "rejet traité, sans nouvelle facture (videz la cellule, ou action=reemettre)",
            )
        else:
            self.report(
                "nouveau_numero",
                f"pas de nouveau numéro pour une facture « {kind.label} » : elle garde son "
                "numéro (videz la cellule)",
            )
        return ""


def _attachment_cells(text: str) -> list[str]:
    """« a.pdf | b.pdf » → the files named, in order (several are separated by « | »)."""
    return [part.strip() for part in text.split("|") if part.strip()]


#: The columns that say where an invoice to recycle goes: at least one must be filled.
RECYCLE_COLUMNS = ("siret_destinataire", "code_service", "numero_engagement")
#: What only a new invoice uses: no use for an invoice that keeps its number.
_NEW_INVOICE_ONLY = (
    "date_facture",
    "montant_ht",
    "remise",
    "taux_tva",
    "montant_ttc",
    "numero_marche",
    "mode_paiement",
    "coordonnees_bancaires",
    "confirmer_reemission",
)

#: Columns that do not apply to a kind of work (the robot could not use them).
NOT_FOR: dict[Kind, tuple[str, ...]] = {
    Kind.SUSPENDED: (*_NEW_INVOICE_ONLY, *RECYCLE_COLUMNS),
    Kind.TO_RECYCLE: (*_NEW_INVOICE_ONLY, "piece_jointe"),
}
NOT_FOR_MESSAGE = {
    Kind.SUSPENDED: "ne s'applique pas à une facture suspendue : elle est complétée par des "
    "pièces jointes et/ou un commentaire, ses données ne changent pas (videz la cellule)",
    Kind.TO_RECYCLE: "ne s'applique pas à une facture à recycler : seuls le SIRET du "
    "destinataire, le code service et le numéro d'engagement changent (videz la cellule)",
}
ACKNOWLEDGE_ONLY_MESSAGE = (
    "ne s'applique pas avec action=acquitter : aucune nouvelle facture n'est émise (videz la "
    "cellule, ou action=reemettre)"
)


def check_rows(
    rows: list[RawRow],
    columns: frozenset[str],
    base_dir: Path,
    today: date,
    with_lines: Collection[str] = frozenset(),
) -> tuple[list[Correction], list[Problem]]:
    """The corrections of ``rows`` and every problem found in them, alone or together.

    ``with_lines``: the rejected numbers (casefolded) the lines sheet gives lines for.
    """
    corrections: list[Correction] = []
    problems: list[Problem] = []
    for raw in rows:
        numero = raw.cells.get("numero_rejete", "").casefold()
        row = _Row(raw, columns, base_dir, today, has_lines=numero in with_lines)
        corrections.append(row.correction())
        problems += row.problems
    problems += cross_row_problems(corrections)
    return corrections, problems


def _written_account(correction: Correction) -> str:
    return correction.compte.casefold()


def cross_row_problems(
    corrections: Sequence[Correction], account: Callable[[Correction], str] = _written_account
) -> list[Problem]:
    """Numbers used twice, and new numbers reusing a rejected one.

    A rejected number is unique within one account only: two accounts (two suppliers) may each
    have an invoice « FAC-1 ». ``account`` gives a row's account key: by default its
    ``compte`` as written (casefolded); :func:`robot.plan.check_accounts` passes the account
    each row resolves to, so that an empty ``compte`` and ``CHORUS_LOGIN`` written out count
    as one. New numbers stay unique across the plan: two logins of one supplier share its
    numbering, and the reissue step takes an invoice found with the new number for its own.
    """
    problems: list[Problem] = []
    for column in ("numero_rejete", "nouveau_numero"):
        first_line: dict[tuple[str, str], int] = {}
        for c in corrections:
            value: str = getattr(c, column)
            if not value:
                continue
            scope = account(c) if column == "numero_rejete" else ""
            key = (scope, value.casefold())
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
        new = c.nouveau_numero.casefold()
        other = rejected_at.get(new) if new and new != c.numero_rejete.casefold() else None
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
