"""What the entry form « Saisir une facture » accepts: every rule, with the portal's messages.

:func:`validate_draft` returns *every* error, keyed by form field (``"numero"``,
``"siret_destinataire"``, ``"ligne-2-quantite"``…), in the form's order, and the parsed data
when there is none. Messages are those of SCREENS.md « Validation messages », quoted exactly;
the few the contract leaves open (combobox values, bank details, other line fields) follow
the same wording.

Two levels:

- **sending** (« Valider et envoyer »): every rule — required fields, the directory, what the
  recipient structure requires, the date, the lines, the totals, the duplicate number.
- **draft** (« Enregistrer »): the number must be well formed (required, length, characters,
  not today's date) and whatever is typed must be parseable (SIRET format, dates, numbers,
  lengths, combobox values, attachments), but nothing is required and neither the directory,
  the totals nor duplicates are checked: a draft is not a deposit — sending it later checks
  them. In a draft, blank line amounts count as 0 and a blank VAT rate as 20 %.

Comboboxes (cadre, type de facture, devise, type de TVA, mode de paiement) accept the code or
the display label; a missing value falls back to the form's first option.

The two forms that act on an invoice already sent reuse these rules:

- :func:`validate_completion` (« Compléter » a suspended invoice): the attachments' rules
  (their total counts the attachments the invoice already holds), and at least one
  attachment or a comment;
- :func:`validate_recycling` (« Recycler » an invoice « À recycler »): the recipient's rules
  of a sending (SIRET required, valid, known, active; code service and engagement number as
  the structure requires; engagement at most 50 characters), and at least one of the SIRET,
  the code service and the engagement number changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from stdnum.fr import siret as siret_number

from sandbox._attachments import attachment_name, validate_attachment, validate_attachments
from sandbox.model import (
    CADRES,
    DEVISES,
    MODES_PAIEMENT,
    TAUX_TVA,
    TYPES_FACTURE,
    TYPES_TVA,
    CleanInvoiceData,
    Draft,
    Invoice,
    Line,
    Structure,
    Supplier,
    totals,
)
from sandbox.store import DUPLICATE_MESSAGE, Store

__all__ = [
    "DUPLICATE_MESSAGE",
    "NOTHING_CHANGED",
    "NOTHING_TO_COMPLETE",
    "Completion",
    "Errors",
    "Rerouting",
    "parse_amount",
    "validate_attachment",
    "validate_attachments",
    "validate_completion",
    "validate_draft",
    "validate_recycling",
]

Errors = dict[str, list[str]]

#: [assumed] « Compléter » with neither a file nor a comment.
NOTHING_TO_COMPLETE = "Ajoutez au moins une pièce jointe ou un commentaire."
#: [assumed] « Recycler » with the recipient's SIRET, code service and engagement unchanged.
NOTHING_CHANGED = (
    "Modifiez au moins le SIRET du destinataire, le code service ou le numéro d'engagement."
)

NUMERO_MAX = 20
ENGAGEMENT_MAX = 50
_NUMERO_CHARS = re.compile(r"[A-Za-z0-9_/+-]+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_LINE_FIELDS = ("reference", "designation", "quantite", "unite", "prix_unitaire_ht", "remise")


def parse_amount(text: str) -> Decimal | None:
    """A decimal typed French or English style (« 1 234,5 », « 1234.50 »); None if not one."""
    compact = re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".")
    if not compact or len(compact) > 20 or not _NUMBER.fullmatch(compact):
        return None
    try:
        return Decimal(compact)
    except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
        return None


def _parse_date(text: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


def _has_more_than_2_decimals(value: Decimal) -> bool:
    return value != value.quantize(Decimal("0.01"))


@dataclass
class _Check:
    """The state of one validation: the draft, its context and the errors found so far."""

    draft: Draft
    store: Store
    supplier: Supplier
    today: date
    sending: bool
    errors: Errors

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    def choice(self, key: str, value: str, options: Mapping[str, str], invalid: str) -> str:
        """A combobox value as its code: the code or label typed, else the first option."""
        typed = value.strip()
        if not typed:
            return next(iter(options))
        for code, label in options.items():
            if typed.casefold() in (code.casefold(), label.casefold()):
                return code
        self.add(key, invalid)
        return typed


def validate_draft(
    draft: Draft, *, store: Store, supplier: Supplier, today: date, sending: bool
) -> tuple[Errors, CleanInvoiceData | None]:
    """Every error of the submitted form (field → messages), and the clean data if none."""
    check = _Check(draft, store, supplier, today, sending, {})
    cadre = check.choice("cadre", draft.cadre, CADRES, "Le cadre de facturation n'est pas valide.")
    siret, structure = _recipient(check)
    code_service = draft.code_service.strip()
    compte_id = _bank_account(check)
    type_facture = check.choice(
        "type_facture", draft.type_facture, TYPES_FACTURE, "Le type de facture n'est pas valide."
    )
    numero = _numero(check)
    date_facture = _date_facture(check)
    devise = check.choice(
        "devise", draft.devise, dict.fromkeys(DEVISES, "EUR"), "La devise n'est pas valide."
    )
    type_tva = check.choice(
        "type_tva", draft.type_tva, TYPES_TVA, "Le type de TVA n'est pas valide."
    )
    mode = check.choice(
        "mode_paiement",
        draft.mode_paiement,
        MODES_PAIEMENT,
        "Le mode de paiement n'est pas valide.",
    )
    if sending and mode == "VIREMENT" and compte_id is None and "compte_id" not in check.errors:
        check.add(
            "compte_id",
            "Les coordonnées bancaires sont obligatoires pour un paiement par virement.",
        )
    engagement = draft.numero_engagement.strip()
    if len(engagement) > ENGAGEMENT_MAX:
        check.add("numero_engagement", "Le numéro d'engagement ne doit pas dépasser 50 caractères.")
    if sending and structure is not None:
        _requirements(check, structure, code_service, engagement)
    origine = draft.numero_facture_origine.strip()
    if sending and type_facture == "AVOIR" and not origine:
        check.add(
            "numero_facture_origine",
            "Le numéro de la facture d'origine est obligatoire pour un avoir.",
        )
    lines = _lines(check)
    if sending and lines is not None and "lignes" not in check.errors:
        _check_totals(check, lines)
    files = [(attachment_name(name), data) for name, data in draft.pieces_jointes if name or data]
    for message in validate_attachments(files):
        check.add("pieces_jointes", message)
    if check.errors or lines is None:
        return check.errors, None
    return {}, CleanInvoiceData(
        numero=numero,
        cadre=cadre,
        siret_destinataire=siret,
        nom_destinataire=structure.nom if structure else "",
        code_service=code_service,
        compte_id=compte_id,
        type_facture=type_facture,
        date_facture=date_facture,
        devise=devise,
        type_tva=type_tva,
        mode_paiement=mode,
        numero_engagement=engagement,
        numero_marche=draft.numero_marche.strip(),
        numero_facture_origine=origine,
        commentaire=draft.commentaire.strip(),
        lignes=tuple(lines),
        pieces_jointes=tuple(files),
    )


def _numero(check: _Check) -> str:
    numero = check.draft.numero.strip()
    if not numero:
        check.add("numero", "Le numéro de facture est obligatoire.")
        return numero
    if len(numero) > NUMERO_MAX:
        check.add("numero", "Le numéro de facture ne doit pas dépasser 20 caractères.")
    if not _NUMERO_CHARS.fullmatch(numero):
        check.add(
            "numero",
            "Le numéro de facture ne peut contenir que des lettres, des chiffres "
            "et les caractères - _ / +",
        )
    if numero in (check.today.strftime("%Y%m%d"), check.today.strftime("%d%m%Y")):
        check.add("numero", "Le numéro de facture ne peut pas être la date du jour.")
    if (
        check.sending
        and "numero" not in check.errors
        and check.store.has_duplicate(check.supplier.id, numero, check.today.year)
    ):
        check.add("numero", DUPLICATE_MESSAGE)
    return numero


def _recipient(check: _Check) -> tuple[str, Structure | None]:
    typed = re.sub(r"[\s.]", "", check.draft.siret_destinataire)
    if not typed:
        if check.sending:
            check.add("siret_destinataire", "Le SIRET du destinataire est obligatoire.")
        return typed, None
    if not (len(typed) == 14 and typed.isdigit() and siret_number.is_valid(typed)):
        check.add("siret_destinataire", "Le SIRET du destinataire est invalide.")
        return typed, None
    structure = check.store.get_structure(typed)
    if check.sending and structure is None:
        check.add("siret_destinataire", "Aucune structure publique ne correspond à ce SIRET.")
    elif check.sending and structure is not None and not structure.active:
        check.add("siret_destinataire", "La structure destinataire n'est pas active.")
        return typed, None
    return typed, structure


def _requirements(check: _Check, structure: Structure, code: str, engagement: str) -> None:
    """Code service and engagement as the recipient structure requires them."""
    if code:
        service = structure.service(code)
        if service is None or not service.active:
            check.add("code_service", "Ce code service n'existe pas pour cette structure.")
    exigence = structure.exigence
    if not code and exigence in ("service", "service_et_engagement"):
        check.add("code_service", "Le code service est obligatoire pour cette structure.")
    if not code and not engagement and exigence == "service_ou_engagement":
        check.add(
            "code_service", "Cette structure exige un code service ou un numéro d'engagement."
        )
    if not engagement and exigence in ("engagement", "service_et_engagement"):
        check.add(
            "numero_engagement", "Le numéro d'engagement est obligatoire pour cette structure."
        )


def _bank_account(check: _Check) -> int | None:
    typed = check.draft.compte_id.strip()
    if not typed:
        return None
    compte = check.supplier.compte(int(typed)) if typed.isdigit() else None
    if compte is None:
        check.add("compte_id", "Ces coordonnées bancaires ne sont pas celles de votre structure.")
        return None
    return compte.id


def _date_facture(check: _Check) -> date | None:
    typed = check.draft.date_facture.strip()
    parsed = _parse_date(typed) if typed else None
    if parsed is None and (typed or check.sending):
        check.add("date_facture", "La date de facture est obligatoire.")
    elif parsed is not None and check.sending and parsed > check.today:
        check.add(
            "date_facture", "La date de facture ne peut pas être postérieure à la date du jour."
        )
    return parsed


def _lines(check: _Check) -> list[Line] | None:
    """The non-blank lines, parsed (None when one has an error)."""
    lines: list[Line] = []
    valid = True
    for number, row in enumerate(check.draft.lignes, start=1):
        if not any(row.get(name, "").strip() for name in _LINE_FIELDS):
            continue  # an empty row the page left in the table
        line = _line(check, number, row)
        valid = valid and line is not None
        if line is not None:
            lines.append(line)
    if check.sending and not lines and valid:
        check.add("lignes", "La facture doit comporter au moins une ligne.")
    return lines if valid else None


def _line(check: _Check, n: int, row: Mapping[str, str]) -> Line | None:
    key = f"ligne-{n}-"
    before = sum(len(messages) for messages in check.errors.values())
    designation = row.get("designation", "").strip()
    if check.sending and not designation:
        check.add(key + "designation", f"Ligne {n} : la désignation est obligatoire.")
    quantite = _line_number(row, "quantite", check.sending)
    if quantite is None or quantite < 0 or (check.sending and quantite == 0):
        check.add(key + "quantite", f"Ligne {n} : la quantité doit être un nombre positif.")
    prix = _money(check, row, n, "prix_unitaire_ht", "le prix unitaire")
    remise = _money(check, row, n, "remise", "la remise", required=False)
    taux = _rate(row.get("taux_tva", ""), check.sending)
    if taux is None:
        check.add(key + "taux_tva", f"Ligne {n} : le taux de TVA n'est pas valide.")
    if (
        quantite is not None
        and prix is not None
        and remise is not None
        and remise > quantite * prix
    ):
        check.add(
            key + "remise", f"Ligne {n} : la remise ne peut pas dépasser le montant de la ligne."
        )
    if sum(len(messages) for messages in check.errors.values()) > before:
        return None
    assert quantite is not None and prix is not None and remise is not None and taux is not None
    return Line(
        reference=row.get("reference", "").strip(),
        designation=designation,
        quantite=quantite,
        unite=row.get("unite", "").strip(),
        prix_unitaire_ht=prix,
        remise=remise,
        taux_tva=taux,
    )


def _line_number(
    row: Mapping[str, str], name: str, required: bool, blank: Decimal = Decimal(0)
) -> Decimal | None:
    typed = row.get(name, "").strip()
    if not typed:
        return None if required else blank
    return parse_amount(typed)


def _rate(typed: str, required: bool) -> Decimal | None:
    """One of TAUX_TVA (« 5,5 », « 5.5 » or « 5,5 % »); blank = 20 % when not required."""
    typed = typed.strip().rstrip("%")
    if not typed:
        return None if required else Decimal(20)
    value = parse_amount(typed)
    return next((rate for rate in TAUX_TVA if rate == value), None)


def _money(
    check: _Check, row: Mapping[str, str], n: int, name: str, noun: str, *, required: bool = True
) -> Decimal | None:
    """A line amount: a number ≥ 0 with at most 2 decimals (blank = 0 when not required)."""
    value = _line_number(row, name, required and check.sending)
    if value is None or value < 0:
        check.add(f"ligne-{n}-{name}", f"Ligne {n} : {noun} doit être un nombre positif ou nul.")
        return None
    if _has_more_than_2_decimals(value):
        check.add(f"ligne-{n}-{name}", f"Ligne {n} : {noun} doit avoir au plus 2 décimales.")
        return None
    return value


def _check_totals(check: _Check, lines: Sequence[Line]) -> None:
    """The totals the page sent, when it sent them, must be those of the lines."""
    expected = totals(lines)
    declared = (check.draft.total_ht, check.draft.total_tva, check.draft.total_ttc)
    for typed, amount in zip(declared, expected, strict=True):
        if typed.strip() and parse_amount(typed) != amount:
            check.add("totaux", "Les montants ne correspondent pas aux lignes de la facture.")
            return


@dataclass(frozen=True)
class Completion:
    """What « Compléter » adds to a suspended invoice, once checked."""

    pieces_jointes: tuple[tuple[str, bytes], ...]
    commentaire: str


def validate_completion(
    files: Sequence[tuple[str, bytes]], commentaire: str, *, already: int = 0
) -> tuple[Errors, Completion | None]:
    """The errors of a completion (field → messages), and what to add when there is none.

    ``files`` as uploaded (name, content; an empty file input sends a nameless empty part,
    left out); ``already``: the size in bytes of the attachments the invoice holds.
    """
    errors: Errors = {}
    kept = [(attachment_name(name), data) for name, data in files if name or data]
    for message in validate_attachments(kept, already=already):
        errors.setdefault("pieces_jointes", []).append(message)
    comment = commentaire.strip()
    if not kept and not comment:
        errors.setdefault("pieces_jointes", []).append(NOTHING_TO_COMPLETE)
    if errors:
        return errors, None
    return {}, Completion(tuple(kept), comment)


@dataclass(frozen=True)
class Rerouting:
    """The new recipient of a recycled invoice, once checked."""

    siret_destinataire: str
    nom_destinataire: str
    code_service: str
    numero_engagement: str
    commentaire: str


def validate_recycling(
    current: Invoice,
    *,
    siret_destinataire: str,
    code_service: str,
    numero_engagement: str,
    commentaire: str,
    store: Store,
    supplier: Supplier,
    today: date,
) -> tuple[Errors, Rerouting | None]:
    """The errors of a recycling of ``current`` (field → messages, in the form's order), and
    the new recipient when there is none."""
    draft = Draft(
        siret_destinataire=siret_destinataire,
        code_service=code_service,
        numero_engagement=numero_engagement,
    )
    check = _Check(draft, store, supplier, today, True, {})
    siret, structure = _recipient(check)
    code = code_service.strip()
    engagement = numero_engagement.strip()
    if len(engagement) > ENGAGEMENT_MAX:
        check.add("numero_engagement", "Le numéro d'engagement ne doit pas dépasser 50 caractères.")
    if structure is not None:
        _requirements(check, structure, code, engagement)
    unchanged = (
        siret == current.siret_destinataire
        and code == current.code_service
        and engagement == current.numero_engagement
    )
    if unchanged:
        check.add("siret_destinataire", NOTHING_CHANGED)
    if check.errors or structure is None:
        order = ("siret_destinataire", "code_service", "numero_engagement")
        return {key: check.errors[key] for key in order if key in check.errors}, None
    return {}, Rerouting(siret, structure.nom, code, engagement, commentaire.strip())
