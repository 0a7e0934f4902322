"""Step 3 — issue the corrected invoice under its new number (« Saisir une facture »).

Reconcile first: an invoice with the new number that is ours (same recipient, deposited after
the rejection) means the step is already done — never a second invoice. A draft with that
number needs a person. When the rejection was processed in the same transaction (``fresh``),
nothing can have sent the new invoice yet: the search is left to the portal's own refusal of a
number already used, which leads back to it. Otherwise the form is filled from the rejected
invoice and the correction, sent, and the new invoice's consultation page is read to verify.

Dry run: the form is filled (proving every value can be chosen on the portal) but neither
sent nor saved; the result says, in French, what would be sent, new totals included.

What the step records (``StepResult.before`` / ``after``): the new invoice's content as typed
(:meth:`ReissueContent.as_dict`) and the invoice as read on the portal; under ``"contenu"``,
the rejected invoice's content as read (``before``) and the new invoice's as read back after
sending (``after``; in a dry run, as it would be sent, with ``"simulation": True``), each as
:func:`scenarios.reissue_content.describe` says it — the report compares them.

Before the first click of a transaction (:func:`check_reissue`, :func:`check_bank_account`),
a reissue that would bill twice — an invoice rejected as « Facture en doublon », or a new
invoice identical to the rejected one but for its number — needs the plan's
``confirmer_reemission``, and the bank account the plan names must be one of the supplier's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from playwright.sync_api import Page

from pages import (
    EntryForm,
    FormRejected,
    InvoicePage,
    InvoiceRecord,
    Navigator,
    SearchPage,
    SearchRow,
)
from pages.form_blocks import match_account
from scenarios._portal import DRAFT, read_rejected, search_number, translated
from scenarios.model import (
    BusinessError,
    Correction,
    Outcome,
    PortalError,
    Rejection,
    Step,
    StepResult,
)
from scenarios.reissue_content import ReissueContent, build_content, described

#: The motive of a rejection for double billing (docs/portal.md, « Rejection motives »):
#: found in the motive's text, whatever its case.
DUPLICATE_MOTIVE = "doublon"

#: The portal's refusal of an invoice number the supplier already used this year
#: (docs/portal.md, « Entry form »).
NUMBER_TAKEN = "Vous avez déjà déposé une demande de paiement avec ce numéro de facture"

#: Statuses that show the new invoice was sent (docs/portal.md, « Statuses »).
SENT_STATUSES = ("Déposée", "En cours d'acheminement", "Mise à disposition du destinataire")


def reissue(
    page: Page,
    rejection: Rejection,
    correction: Correction,
    *,
    dry_run: bool = False,
    check: Callable[[InvoiceRecord], object] | None = None,
    fresh: bool = False,
) -> StepResult:
    """Issue the corrected invoice ``correction.nouveau_numero`` unless it already exists.

    ``check`` is called with the rejected invoice before the form is filled (as by the steps
    before, when they did not click): the BusinessError it raises stops the step there.
    ``fresh``: the rejection was processed in this very transaction, so nothing the robot did
    can have sent the new invoice yet: the search for the new number is skipped (two portal
    requests). The portal itself refuses a number already used by the supplier
    (:data:`NUMBER_TAKEN`): on that refusal the step searches, as it does when not fresh, and
    an invoice that is ours is « already done » — never a second invoice.
    """
    numero = correction.nouveau_numero
    with translated(f"Nouvelle facture {numero}"):
        original = rejection.invoice or read_rejected(page, rejection.numero, rejection.link)
        try:
            content = build_content(original, correction)
        except BusinessError:
            if check is not None:
                check(original)  # the same refusal, saying in what state the portal is
            raise
        was = {"contenu": described(original)}
        existing = None if fresh else _existing(page, rejection, content, original)
        if existing is not None:
            return _already_sent(existing, was)
        if check is not None:
            check(original)
        form = Navigator(page).entry_form()
        fill(form, content)
        if dry_run:
            return StepResult(
                Step.REISSUE,
                Outcome.WOULD_DO,
                content.summary(),
                before={**content.as_dict(), **was},
                after={"contenu": content.described(), "simulation": True},
            )
        try:
            said = form.submit()
        except FormRejected as exc:
            if not fresh or not any(NUMBER_TAKEN in message for message in exc.messages):
                raise
            # The number is taken: by our own earlier invoice (already done) or by another,
            # which is the portal's refusal, as it said it.
            existing = _existing(page, rejection, content, original)
            if existing is None:
                raise
            return _already_sent(existing, was)
        record = InvoicePage(page).wait().read()
    if record.numero.casefold() != numero.casefold() or record.statut not in SENT_STATUSES:
        raise PortalError(
            f"Nouvelle facture {numero} : le portail affiche la facture {record.numero} "
            f"au statut « {record.statut} »."
        )
    return StepResult(
        Step.REISSUE,
        Outcome.DONE,
        f"Facture {numero} émise.",
        before={**content.as_dict(), **was},
        after={**_state(record), "contenu": described(record)},
        portal_messages=(said,),
    )


def _already_sent(existing: InvoiceRecord, was: dict[str, Any]) -> StepResult:
    return StepResult(
        Step.REISSUE,
        Outcome.ALREADY_DONE,
        f"La facture {existing.numero} existe déjà ({existing.statut}).",
        before={**_state(existing), **was},
        after={**_state(existing), "contenu": described(existing)},
    )


def check_reissue(record: InvoiceRecord, correction: Correction) -> ReissueContent:
    """The new invoice's content, built before the transaction's first click.

    A correction that cannot apply to the rejected invoice as the portal shows it (say
    ``montant_ht`` on an invoice of several lines), or a reissue that would bill twice
    without ``confirmer_reemission`` (:func:`double_billing`), is a BusinessError whose
    message says in what state the portal is left — untouched by this transaction — and what
    to do next.
    """
    try:
        content = build_content(record, correction)
        if not correction.confirmer_reemission:
            why = double_billing(record, correction, content)
            if why:
                raise BusinessError(why)
    except BusinessError as exc:
        raise BusinessError(
            f"{exc}. Rien n'a été fait par le robot sur le portail : la facture "
            f"{record.numero} y est {_left(record)}. Corrigez {_where(correction)}, puis "
            "relancez-le.",
            exc.messages,
        ) from exc
    return content


def double_billing(record: InvoiceRecord, correction: Correction, content: ReissueContent) -> str:
    """Why reissuing ``record`` as ``content`` would likely bill the recipient twice (French),
    or "": it was rejected as « Facture en doublon », or nothing but its number changes."""
    new = correction.nouveau_numero
    if DUPLICATE_MOTIVE in record.motif_rejet.casefold():
        return (
            f"La facture {record.numero} a été rejetée pour le motif « {record.motif_rejet} » : "
            f"la réémettre sous le numéro {new} la facturerait deux fois. Si le destinataire "
            "n'a pas reçu cette facture, mettez confirmer_reemission=oui dans le plan ; sinon, "
            "action=acquitter (acquitter et traiter le rejet, sans nouvelle facture)"
        )
    unchanged = build_content(record, Correction(record.numero, new))
    if content.same_as(unchanged):
        motive = f" (« {record.motif_rejet} »)" if record.motif_rejet else ""
        return (
            f"La nouvelle facture {new} serait identique à la facture rejetée {record.numero}, "
            "au numéro près : rien n'y est corrigé et le destinataire la recevrait deux fois. "
            f"Corrigez dans le plan ce qui a motivé le rejet{motive}, ou mettez "
            "confirmer_reemission=oui pour la réémettre telle quelle"
        )
    return ""


def check_bank_account(page: Page, correction: Correction) -> Correction:
    """``correction`` with its ``coordonnees_bancaires`` as the portal names that account
    (« Libellé - IBAN »), read on « Saisir une facture » (opened, never sent); BusinessError
    when the supplier has no such account. Read-only: run before the first click."""
    wanted = correction.coordonnees_bancaires
    if wanted is None:
        return correction
    with translated("Coordonnées bancaires"):
        accounts = Navigator(page).entry_form().fournisseur.accounts()
    chosen = match_account(accounts, wanted)
    if chosen is None:
        offered = " ; ".join(f"« {account.label} »" for account in accounts) or "aucun"
        raise BusinessError(
            f"Coordonnées bancaires « {wanted} » inconnues du portail : les comptes du "
            f"fournisseur sont {offered}. Rien n'a été fait par le robot sur le portail pour "
            f"la facture {correction.numero_rejete}. Corrigez {_where(correction)} (colonne "
            "coordonnees_bancaires : le libellé ou l'IBAN d'un de ces comptes), puis "
            "relancez-le."
        )
    return replace(correction, coordonnees_bancaires=chosen.label)


def _left(record: InvoiceRecord) -> str:
    """In what state the rejected invoice is, as ``record`` shows it."""
    if not record.acquittee:
        return "toujours rejetée, non acquittée"
    if not record.rejet_traite:
        return "rejetée et acquittée, rejet non traité"
    return "rejetée, rejet traité, sans nouvelle facture"


def _where(correction: Correction) -> str:
    return f"la ligne {correction.source_line} du plan" if correction.source_line else "le plan"


def fill(form: EntryForm, content: ReissueContent) -> None:
    """Type ``content`` into the entry form, block by block, in the portal's order; what the
    form already shows (a default, an empty field left empty) is left as it is."""
    form.read_shown()
    if content.cadre:
        form.cadre.set(content.cadre)
    form.destinataire.set_siret(content.siret_destinataire)
    if content.code_service:  # a missing required one is left to the portal's own message
        form.destinataire.set_code_service(content.code_service)
    if content.account_named:  # the plan's choice: never another account instead
        form.fournisseur.choose_account(content.coordonnees_bancaires)
    else:
        form.fournisseur.set_account(content.coordonnees_bancaires)
    refs = form.references
    if content.type_facture:
        refs.set_type(content.type_facture)
    refs.set_numero(content.numero)
    if content.date_facture:
        refs.set_date(content.date_facture)
    if content.devise:
        refs.set_devise(content.devise)
    if content.type_tva:
        refs.set_type_tva(content.type_tva)
    if content.mode_paiement:
        refs.set_mode_paiement(content.mode_paiement)
    refs.set_engagement(content.numero_engagement)
    refs.set_marche(content.numero_marche)
    refs.set_origine(content.numero_facture_origine)
    form.lignes.set_lines(content.lignes)
    if content.pieces_jointes:
        form.pieces_jointes.attach(list(content.pieces_jointes))
    form.commentaire.set(content.commentaire)


def _existing(
    page: Page, rejection: Rejection, content: ReissueContent, original: InvoiceRecord
) -> InvoiceRecord | None:
    """Our invoice with the new number if the portal has it; BusinessError for a draft.

    An invoice is ours when it is not the rejected one, went to the same recipient, and was
    deposited after the rejection. Another invoice with that number is left to the portal,
    which refuses duplicates with its own message.
    """
    rows = [
        row
        for row in search_number(page, content.numero)
        if row.numero.casefold() != rejection.numero.casefold()
    ]
    drafts = [row for row in rows if row.statut == DRAFT]
    since = original.date_rejet or original.date_depot
    for row in rows:
        if row.statut == DRAFT:
            continue
        record = _open(page, row).read()
        same_recipient = record.siret_destinataire == content.siret_destinataire
        after_rejection = since is None or (
            record.date_depot is not None and record.date_depot >= since
        )
        if same_recipient and after_rejection:
            return record
    if drafts:
        raise BusinessError(
            f"Un brouillon porte déjà le numéro {content.numero} : "
            "supprimez-le ou choisissez un autre numéro."
        )
    return None


def _open(page: Page, row: SearchRow) -> InvoicePage:
    return SearchPage(page).open_row(row)


def _state(record: InvoiceRecord) -> dict[str, Any]:
    return {
        "numero": record.numero,
        "statut": record.statut,
        "siret_destinataire": record.siret_destinataire,
        "code_service": record.code_service,
        "montant_ht": str(record.montant_ht) if record.montant_ht is not None else None,
        "montant_ttc": str(record.montant_ttc) if record.montant_ttc is not None else None,
        "url": record.url,
    }
