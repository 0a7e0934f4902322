"""The blocks (``<fieldset>``) of the form « Saisir une facture », one small class each.

The « Lignes » and « Récapitulatif » blocks are in :mod:`pages.form_lines`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, Response

from pages._base import PageObject
from pages._guard import session_gone, wait_for_screen
from pages._options import (
    NATIVE,
    Option,
    choose,
    find_option,
    labelled,
    pick,
    read_list,
    real_options,
)
from pages._parse import clean, format_date_iso
from pages.errors import LoginRequired, OptionUnavailable, PortalUnavailable


class Labels:
    CADRE = "Cadre de facturation"
    DESTINATAIRE = "Destinataire"
    SIRET = "SIRET du destinataire"
    CODE_SERVICE = "Code service"
    SERVICES_FAILED = "Le chargement des services a échoué."  # [assumed]
    FOURNISSEUR = "Fournisseur"
    COORDONNEES = "Coordonnées bancaires"
    REFERENCES = "Références"
    TYPE = "Type de facture"
    NUMERO = "Numéro"
    DATE = "Date de facture"
    DEVISE = "Devise"
    TYPE_TVA = "Type de TVA"
    MODE_PAIEMENT = "Mode de paiement"
    ENGAGEMENT = "Numéro d'engagement"
    MARCHE = "Numéro de marché"
    ORIGINE = "Numéro de la facture d'origine"
    PIECES = "Pièces jointes"
    PIECES_INPUT = "Ajouter des pièces jointes"
    COMMENTAIRE = "Commentaire"
    REQUIREMENTS = (
        "Code service et numéro d'engagement obligatoires",
        "Code service ou numéro d'engagement obligatoire",
        "Code service obligatoire",
        "Numéro d'engagement obligatoire",
    )


#: What every block of the form shows, read in one round trip (:meth:`EntryForm.read_shown`):
#: [legend, {label: [value, options of a list or null, whether a widget stands for it]}] per
#: ``<fieldset>``, each control by the text of its ``<label>`` (or its ``aria-label``).
READ_SHOWN = """
groups => groups.map(group => {
  const text = el => (el.innerText || el.textContent || '').trim();
  const legend = group.querySelector('legend');
  const fields = {};
  for (const control of group.querySelectorAll('input, select, textarea')) {
    const label = control.labels && control.labels.length
      ? text(control.labels[0]) : (control.getAttribute('aria-label') || '').trim();
    if (!label || label in fields) continue;
    fields[label] = [
      control.value,
      control.tagName === 'SELECT'
        ? Array.from(control.options).map(o => [o.value, (o.label || o.textContent || '').trim()])
        : null,
      control.getAttribute('aria-hidden') === 'true',
    ];
  }
  return [legend ? text(legend) : '', fields];
})
"""

#: A field as the form showed it: its value, its options when it is a list, and whether a
#: widget (Select2) stands for it, the list itself hidden.
Shown = tuple[str, list[Option] | None, bool]


class FormBlock(PageObject):
    """A ``<fieldset>`` found by its ``<legend>``.

    ``shown``: its fields as the form showed them when it was last read whole (None: not
    read). Typing and choosing go through :meth:`fill_field` and :meth:`choose_field`, which
    leave a field alone when it already shows the value and keep ``shown`` up to date; the
    fields the page itself changes (« Code service », loaded from the SIRET) are not taken
    from it.
    """

    LEGEND = ""

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.shown: dict[str, Shown] | None = None

    @property
    def group(self) -> Locator:
        return self.page.get_by_role("group", name=self.LEGEND, exact=True)

    def field(self, label: str) -> Locator:
        """The field or list labelled ``label`` as a person sees it (a list's combobox)."""
        return labelled(self.group, label)

    def fill_field(self, label: str, value: str, field: Locator | None = None) -> None:
        """Type ``value`` into the field labelled ``label`` unless it already shows it."""
        known = self.shown.get(label) if self.shown is not None else None
        if known is not None and known[0] == value:
            return
        (field or self.field(label)).fill(value)
        if known is not None and self.shown is not None:
            self.shown[label] = (value, known[1], known[2])

    def choose_field(self, label: str, wanted: str, field: Locator | None = None) -> Option:
        """Choose the option of the list labelled ``label`` matching ``wanted`` (see
        :func:`~pages._options.choose`) unless it is already the one shown."""
        known = self.shown.get(label) if self.shown is not None else None
        if known is None or known[1] is None:
            return choose(field or self.field(label), wanted, label)
        option = find_option([o for o in known[1] if o.value.strip()], wanted)
        if option is None:
            raise OptionUnavailable((f"« {wanted} » ne figure pas dans la liste « {label} ».",))
        if option.value != known[0]:
            pick(field or self.field(label), option, widget=known[2], among=len(known[1]))
            if self.shown is not None:
                self.shown[label] = (option.value, known[1], known[2])
        return option

    def is_list(self, label: str, field: Locator) -> bool:
        """Whether the field labelled ``label`` is a list (``<select>``)."""
        known = self.shown.get(label) if self.shown is not None else None
        if known is not None:
            return known[1] is not None
        return bool(field.evaluate(_IS_LIST))

    def expected_elements(self) -> dict[str, Locator]:
        return {f"Bloc « {self.LEGEND} »": self.group}


_IS_LIST = f"el => ({NATIVE.strip()})(el) !== null"


class CadreBlock(FormBlock):
    LEGEND = Labels.CADRE

    @property
    def cadre(self) -> Locator:
        return self.field(Labels.CADRE)

    def expected_elements(self) -> dict[str, Locator]:
        return {**super().expected_elements(), Labels.CADRE: self.cadre}

    def set(self, cadre: str) -> Option:
        """Choose the cadre by code (« A1 ») or display label."""
        return self.choose_field(Labels.CADRE, cadre)


# What changes in « Destinataire » when the structure is loaded: its services and its texts
# (the list's options are read from the ``<select>`` its combobox stands for).
_BLOCK_STATE = f"""(box, group) => {{
  const select = ({NATIVE.strip()})(box);
  return group.innerText + "|"
    + (select ? Array.from(select.options).map(o => o.value + "=" + o.text).join(",") : "");
}}"""

# While the page loads the structure, the block is watched from the page's window: a new
# document has no watch, so the wait also ends when the page is replaced (the portal's script
# reloads it when its request is refused for a lost session), which a wait holding the old
# document's elements would not notice.
_WATCH = "__chorusRobotDestinataire"

_START_WATCH = f"""([select, group]) => {{
  const state = {_BLOCK_STATE};
  const before = state(select, group);
  window.{_WATCH} = {{select, group, state, before, since: performance.now()}};
}}"""

# "changed" (services listed or a message shown), "left" (another document), "refused" (a
# request of the page answered 401 — Chromium's resource timing — whatever its script does).
_WATCH_OUTCOME = f"""() => {{
  const watch = window.{_WATCH};
  if (!watch || !watch.select.isConnected) return "left";
  if (watch.state(watch.select, watch.group) !== watch.before) {{
    delete window.{_WATCH};
    return "changed";
  }}
  const refused = performance.getEntriesByType("resource").some(
    entry => entry.startTime >= watch.since && entry.responseStatus === 401);
  return refused ? "refused" : false;
}}"""


class DestinataireBlock(FormBlock):
    LEGEND = Labels.DESTINATAIRE

    @property
    def siret(self) -> Locator:
        return self.field(Labels.SIRET)

    @property
    def code_service(self) -> Locator:
        return self.field(Labels.CODE_SERVICE)

    def expected_elements(self) -> dict[str, Locator]:
        return {
            **super().expected_elements(),
            Labels.SIRET: self.siret,
            Labels.CODE_SERVICE: self.code_service,
        }

    def set_siret(self, siret: str) -> list[Option]:
        """Type the SIRET, leave the field, and wait for the « Code service » list to load.

        Returns the services offered ([] for an unknown SIRET). The page fetches the
        structure once the box holds 14 digits: we wait for the block to change (services
        listed or a message shown), never for a fixed time. When the portal answers that
        fetch with « session gone », LoginRequired is raised at once.
        """
        wanted = re.sub(r"[\s.]", "", siret)
        if re.sub(r"[\s.]", "", self.siret.input_value()) == wanted:
            return real_options(self.code_service)  # already typed: nothing will reload
        if not re.fullmatch(r"\d{14}", wanted):
            self.siret.fill(siret)  # the page fetches nothing for it
            self.siret.blur()
            return real_options(self.code_service)
        refused: list[Response] = []

        def note(response: Response) -> None:
            if session_gone(response):
                refused.append(response)

        self.page.evaluate(
            _START_WATCH, [self.code_service.element_handle(), self.group.element_handle()]
        )
        self.page.on("response", note)
        try:
            self.siret.fill(siret)
            self.siret.blur()
            outcome = self._watch_outcome()
        finally:
            self.page.remove_listener("response", note)
        if refused or outcome == "refused":
            raise LoginRequired(
                "Le portail demande de se reconnecter (session expirée pendant le chargement "
                "des services)."
            )
        if outcome != "changed":
            # Another document, for another reason: the login form or an error page raise.
            wait_for_screen(self.page, self.group, "Destinataire")
            raise PortalUnavailable("Destinataire : la page a été rechargée, le SIRET est perdu.")
        if self.group.get_by_text(Labels.SERVICES_FAILED).count():
            # The portal failed to answer the page's request: not the data's fault.
            raise PortalUnavailable("Destinataire : la liste des services ne s'est pas chargée.")
        return real_options(self.code_service)

    def _watch_outcome(self) -> str:
        """Wait for the watch of :data:`_START_WATCH` to end; how it ended."""
        ended = self.page.wait_for_function(_WATCH_OUTCOME)
        try:
            return str(ended.json_value())
        except PlaywrightError:  # yet another document since: not the block's change
            return "left"

    def set_code_service(self, code: str) -> Option:
        """Choose the service whose code (value, or label « CODE - Nom ») is ``code``."""
        return choose(self.code_service, code, Labels.CODE_SERVICE)

    def requirement(self) -> str:
        """What the structure requires (« Code service obligatoire »…), "" when nothing.

        The portal writes it within a sentence (« Destinataire : Nom — Code service
        obligatoire »): looked for in the block's text, the longest wordings first.
        """
        shown = " ".join(self.group.inner_text().split())
        return next((text for text in Labels.REQUIREMENTS if text in shown), "")


class FournisseurBlock(FormBlock):
    LEGEND = Labels.FOURNISSEUR

    @property
    def coordonnees(self) -> Locator:
        return self.field(Labels.COORDONNEES)

    def expected_elements(self) -> dict[str, Locator]:
        return {**super().expected_elements(), Labels.COORDONNEES: self.coordonnees}

    def accounts(self) -> list[Option]:
        return real_options(self.coordonnees)

    def _accounts(self) -> tuple[list[Option], bool]:
        """The accounts offered, and whether a widget stands for their list (one read)."""
        state = read_list(self.coordonnees)
        return [o for o in state.options if o.value.strip()], state.widget

    def set_account(self, wanted: str = "") -> Option | None:
        """Choose the account matching ``wanted`` (« Libellé - IBAN », or an IBAN), else the
        first one; None when the structure has no account."""
        accounts, widget = self._accounts()
        if not accounts:
            return None
        chosen = match_account(accounts, wanted) or accounts[0]
        pick(self.coordonnees, chosen, widget=widget, among=len(accounts))
        return chosen

    def choose_account(self, wanted: str) -> Option:
        """Choose the account ``wanted`` names (see :func:`match_account`); OptionUnavailable,
        naming the accounts offered, when none matches."""
        accounts, widget = self._accounts()
        chosen = match_account(accounts, wanted)
        if chosen is None:
            offered = " ; ".join(account.label for account in accounts) or "aucune"
            raise OptionUnavailable(
                (
                    f"« {wanted} » ne figure pas dans la liste « {Labels.COORDONNEES} » "
                    f"(proposées : {offered}).",
                )
            )
        pick(self.coordonnees, chosen, widget=widget, among=len(accounts))
        return chosen


_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")


def match_account(accounts: list[Option], wanted: str) -> Option | None:
    """The account of ``accounts`` that ``wanted`` names: its whole label (« Libellé -
    IBAN »), its value, its IBAN (spaces and case aside), or its label alone (« Libellé »,
    case aside) when no other account has that label."""
    key = clean(wanted)
    if not key:
        return None
    for account in accounts:
        if account.label == key or account.value == key:
            return account
    iban = re.sub(r"\s", "", key.rsplit(" - ", 1)[-1]).upper()
    if _IBAN.fullmatch(iban):
        for account in accounts:
            if iban in re.sub(r"\s", "", account.label).upper():
                return account
    named = [
        account
        for account in accounts
        if account.label.rsplit(" - ", 1)[0].strip().casefold() == key.casefold()
    ]
    return named[0] if len(named) == 1 else None


class ReferencesBlock(FormBlock):
    LEGEND = Labels.REFERENCES

    def expected_elements(self) -> dict[str, Locator]:
        names = (
            Labels.TYPE, Labels.NUMERO, Labels.DATE, Labels.DEVISE, Labels.TYPE_TVA,
            Labels.MODE_PAIEMENT, Labels.ENGAGEMENT, Labels.MARCHE, Labels.ORIGINE,
        )  # fmt: skip
        return {**super().expected_elements(), **{name: self.field(name) for name in names}}

    def set_type(self, value: str) -> None:
        self.choose_field(Labels.TYPE, value)

    def set_numero(self, value: str) -> None:
        self.fill_field(Labels.NUMERO, value)

    def set_date(self, value: date) -> None:
        self.fill_field(Labels.DATE, format_date_iso(value))

    def set_devise(self, value: str) -> None:
        self.choose_field(Labels.DEVISE, value)

    def set_type_tva(self, value: str) -> None:
        self.choose_field(Labels.TYPE_TVA, value)

    def set_mode_paiement(self, value: str) -> None:
        self.choose_field(Labels.MODE_PAIEMENT, value)

    def set_engagement(self, value: str) -> None:
        self.fill_field(Labels.ENGAGEMENT, value)

    def set_marche(self, value: str) -> None:
        self.fill_field(Labels.MARCHE, value)

    def set_origine(self, value: str) -> None:
        self.fill_field(Labels.ORIGINE, value)


class PiecesJointesBlock(FormBlock):
    LEGEND = Labels.PIECES

    @property
    def files(self) -> Locator:
        return self.field(Labels.PIECES_INPUT)

    def expected_elements(self) -> dict[str, Locator]:
        return {**super().expected_elements(), Labels.PIECES_INPUT: self.files}

    def attach(self, paths: Sequence[Path]) -> None:
        self.files.set_input_files(list(paths))


class CommentaireBlock(FormBlock):
    LEGEND = Labels.COMMENTAIRE

    @property
    def text(self) -> Locator:
        return self.field(Labels.COMMENTAIRE)

    def expected_elements(self) -> dict[str, Locator]:
        return {**super().expected_elements(), Labels.COMMENTAIRE: self.text}

    def set(self, comment: str) -> None:
        self.fill_field(Labels.COMMENTAIRE, comment, self.text)
