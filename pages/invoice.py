"""The consultation page of one invoice: its data, motive block (« Rejet », « Suspension »,
« Recyclage »), lines, history; « Acquitter », and the buttons opening « Compléter » and
« Recycler »."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

from playwright.sync_api import Locator

from pages._base import PageObject
from pages._guard import goto, messages, navigation, portal_timeouts, wait_for_screen
from pages._parse import (
    clean,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_money,
    parse_yes_no,
)
from pages._table import READ_TABLE, Columns, TableRow, read_table_if_shown, table_rows
from pages._witness import witness
from pages.completion import CompletionForm
from pages.completion import Labels as CompletionLabels
from pages.errors import ElementMissing, FormRejected
from pages.records import HistoryEntry, InvoiceLine, InvoiceRecord
from pages.recycling import Labels as RecyclingLabels
from pages.recycling import RecyclingForm


class Labels:
    HEADING = re.compile(r"^Facture\s+\S+$")
    INFO_REGION = "Informations de la facture"
    #: The block of the public client's motive; « Recyclage » is [assumed].
    REJECTION_REGIONS = ("Rejet", "Suspension", "Recyclage")
    LINES_TABLE = "Lignes"
    ATTACHMENTS_TABLE = "Pièces jointes"
    HISTORY_REGION = "Historique des actions utilisateurs"
    ACKNOWLEDGE = "Acquitter"
    COMPLETE = CompletionLabels.OPEN  # [assumed] « Compléter » (pages.completion)
    RECYCLE = RecyclingLabels.OPEN  # [assumed] « Recycler » (pages.recycling)


_PARSERS: dict[str, Callable[[str], Any]] = {
    "date_facture": parse_date,
    "date_depot": parse_datetime,
    "date_rejet": parse_datetime,
    "montant_ht": parse_money,
    "montant_tva": parse_money,
    "montant_ttc": parse_money,
    "montant_a_payer": parse_money,
    "acquittee": parse_yes_no,
    "rejet_traite": parse_yes_no,
}

_ZERO = Decimal("0.00")

_Form = TypeVar("_Form", CompletionForm, RecyclingForm)

#: The (term, description) pairs of the first element matched: [] when none is shown, else
#: [pairs] — one round trip to the browser, with no wait (the screen is already shown).
#: The (term, description) pairs under an element, as JavaScript.
_PAIRS = """root => Array.from(root.querySelectorAll('dt')).map(dt => {
  let dd = dt.nextElementSibling;
  while (dd && dd.tagName !== 'DD') dd = dd.nextElementSibling;
  const text = el => (el.innerText || el.textContent || '').trim();
  return [text(dt), dd ? text(dd) : ''];
})"""
_READ_FIRST_DL = f"roots => roots.slice(0, 1).map({_PAIRS})"


#: Every block :meth:`InvoicePage.read` reads, in one round trip: for each element matched
#: (document order), the name it is labelled with (``aria-label``, ``aria-labelledby``, a
#: table's caption; null when none), its first ``<dl>``'s pairs and its table (itself or its
#: first one), read as :mod:`pages._table` reads tables.
_READ_BLOCKS = f"""
elements => {{
  const text = el => (el.innerText || el.textContent || '').trim();
  const readTable = {READ_TABLE.strip()};
  const name = el => {{
    const label = el.getAttribute('aria-label');
    if (label) return label.trim();
    const ids = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
    if (ids.length) return ids.map(id => {{
      const node = document.getElementById(id);
      return node ? text(node) : '';
    }}).join(' ').trim();
    if (el.tagName === 'TABLE' && el.caption) return text(el.caption);
    return null;
  }};
  const pairs = {_PAIRS};
  return elements.map(el => {{
    const dl = el.tagName === 'DL' ? el : el.querySelector('dl');
    const table = el.tagName === 'TABLE' ? el : el.querySelector('table');
    return {{name: name(el), dl: dl ? pairs(dl) : null, table: table ? readTable(table) : null}};
  }});
}}
"""


class InvoicePage(PageObject):
    """« Facture N »: read everything, « Acquitter »."""

    # What this page object reads, each declared once: read by :meth:`read`, checked by the
    # preflight (« check-portal »). Labels read into the same field are alternatives.

    #: « Informations de la facture »: ``<dt>`` label → field of :class:`InvoiceRecord`.
    INFO_FIELDS: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "Numéro": "numero",
            "Statut": "statut",
            "Type de facture": "type_facture",
            "Cadre de facturation": "cadre",
            "Date de facture": "date_facture",
            "Date de dépôt": "date_depot",
            "SIRET du destinataire": "siret_destinataire",
            "Destinataire": "destinataire",
            "Code service": "code_service",
            "Numéro d'engagement": "numero_engagement",
            "Numéro de marché": "numero_marche",
            "Numéro de la facture d'origine": "numero_facture_origine",
            "Devise": "devise",
            "Type de TVA": "type_tva",
            "Mode de paiement": "mode_paiement",
            "Fournisseur": "fournisseur",
            "Coordonnées bancaires": "coordonnees_bancaires",
            "Montant HT": "montant_ht",
            "Montant TVA": "montant_tva",
            "Montant TTC": "montant_ttc",
            "Montant à payer": "montant_a_payer",
            "Commentaire": "commentaire",
        }
    )
    #: « Rejet » (or « Suspension », « Recyclage »): ``<dt>`` label → field of
    #: :class:`InvoiceRecord`. « Date de la demande » (« Recyclage ») is [assumed].
    REJECTION_FIELDS: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "Motif": "motif_rejet",
            "Commentaire": "commentaire_rejet",
            "Date du rejet": "date_rejet",
            "Date de la suspension": "date_rejet",
            "Date de la demande": "date_rejet",
            "Acquittée": "acquittee",
            "Rejet traité": "rejet_traite",
        }
    )
    #: The table « Lignes » (header → field of :class:`InvoiceLine`); « Montant HT » is
    #: not read: the line computes it.
    LINE_COLUMNS: ClassVar[Columns] = MappingProxyType(
        {
            "Référence": "reference",
            "Désignation": "designation",
            "Quantité": "quantite",
            "Unité": "unite",
            "Prix unitaire HT": "prix_unitaire_ht",
            "Remise": "remise",
            "Taux de TVA": "taux_tva",
        }
    )
    #: The table of « Historique des actions utilisateurs » (header → field of
    #: :class:`HistoryEntry`).
    HISTORY_COLUMNS: ClassVar[Columns] = MappingProxyType(
        {"Date et heure": "date", "Utilisateur": "utilisateur", "Action": "action"}
    )

    @property
    def heading(self) -> Locator:
        return self.page.get_by_role("heading", name=Labels.HEADING)

    @property
    def info_region(self) -> Locator:
        return self.page.get_by_role("region", name=Labels.INFO_REGION, exact=True)

    @property
    def rejection_region(self) -> Locator:
        first, *others = Labels.REJECTION_REGIONS
        region = self.page.get_by_role("region", name=first, exact=True)
        for name in others:
            region = region.or_(self.page.get_by_role("region", name=name, exact=True))
        return region

    @property
    def lines_table(self) -> Locator:
        return self.page.get_by_role("table", name=Labels.LINES_TABLE, exact=True)

    @property
    def attachments_table(self) -> Locator:
        return self.page.get_by_role("table", name=Labels.ATTACHMENTS_TABLE, exact=True)

    @property
    def history_region(self) -> Locator:
        return self.page.get_by_role("region", name=Labels.HISTORY_REGION, exact=True)

    @property
    def acknowledge_button(self) -> Locator:
        return self.page.get_by_role("button", name=Labels.ACKNOWLEDGE, exact=True)

    @property
    def complete_button(self) -> Locator:
        """« Compléter » (a suspended invoice once acknowledged)."""
        return self.page.get_by_role("button", name=Labels.COMPLETE, exact=True)

    @property
    def recycle_button(self) -> Locator:
        """« Recycler » (an invoice « À recycler »)."""
        return self.page.get_by_role("button", name=Labels.RECYCLE, exact=True)

    def expected_elements(self) -> dict[str, Locator]:
        return {
            "Titre « Facture N »": self.heading,
            "Informations de la facture": self.info_region,
            "Lignes": self.lines_table,
            "Historique des actions utilisateurs": self.history_region,
        }

    def wait(self) -> InvoicePage:
        """Wait until the consultation page shows (or an error page)."""
        wait_for_screen(self.page, self.info_region, "Consultation de la facture")
        return self

    def goto(self, url: str) -> InvoicePage:
        """Open the consultation page at ``url`` (read earlier from a link of the portal)."""
        goto(self.page, url, self.info_region, "Consultation de la facture")
        return self

    def open_link(self, link: Locator) -> InvoicePage:
        """Click a link to an invoice and wait for its consultation page."""
        with navigation(self.page, self.info_region, "Consultation de la facture"):
            link.click()
        return self

    def read(self) -> InvoiceRecord:
        """Every field the page shows, parsed: every block in one round trip to the browser
        when each block found tells its name as the page labels it, else block by block."""
        with portal_timeouts("Lecture de la facture"):
            values = self._read_at_once()
            if values is None:
                values = self._read_block_by_block()
        values["url"] = self.page.url
        values.setdefault("numero", "")
        values.setdefault("statut", "")
        return InvoiceRecord(**values)

    def acknowledge(self) -> list[str]:
        """« Acquitter »; returns the portal's status and alert messages."""
        witness(self.page, Labels.ACKNOWLEDGE, "avant")
        with navigation(self.page, self.info_region, "Acquittement de la facture"):
            self.acknowledge_button.click()
        witness(self.page, Labels.ACKNOWLEDGE, "après")
        return messages(self.page, "status") + messages(self.page, "alert")

    def open_completion(self) -> CompletionForm:
        """« Compléter »: open the completion form of this invoice (shown).

        ElementMissing when the page offers no « Compléter » (the invoice is not suspended,
        or not acknowledged yet); FormRejected with the portal's alert when it refuses to
        open the form (the invoice's status changed meanwhile).
        """
        return self._open(self.complete_button, Labels.COMPLETE, CompletionForm(self.page))

    def open_recycling(self) -> RecyclingForm:
        """« Recycler »: open the recycling form of this invoice (shown).

        ElementMissing when the page offers no « Recycler » (the invoice is not « À
        recycler »); FormRejected with the portal's alert when it refuses to open the form.
        """
        return self._open(self.recycle_button, Labels.RECYCLE, RecyclingForm(self.page))

    def _open(self, button: Locator, label: str, form: _Form) -> _Form:
        with portal_timeouts(f"Consultation de la facture › {label}"):
            if not button.count():
                raise ElementMissing(
                    f"Consultation de la facture : pas de bouton « {label} » "
                    f"(statut « {self._status()} »)."
                )
        refused = self.page.get_by_role("alert")
        with navigation(self.page, form.heading.or_(refused), form.SCREEN):
            button.click()
        if not form.heading.count():
            raise FormRejected(tuple(messages(self.page, "alert")))
        return form

    def _status(self) -> str:
        """The « Statut » shown, for messages ("" when unreadable)."""
        found = self._read_dl(self.info_region, {"Statut": "statut"}) or {}
        return str(found.get("statut", ""))

    def _read_block_by_block(self) -> dict[str, Any]:
        info = self._read_dl(self.info_region, self.INFO_FIELDS)
        if info is None:
            raise ElementMissing(f"Lecture de la facture : « {Labels.INFO_REGION} » absent.")
        values: dict[str, Any] = dict(info)
        values.update(self._read_dl(self.rejection_region, self.REJECTION_FIELDS) or {})
        values["lignes"] = self._read_lines()
        values["historique"] = self._read_history()
        values["pieces_jointes"] = self._read_attachments()
        return values

    def _read_at_once(self) -> dict[str, Any] | None:
        """:meth:`read`'s blocks with one ``evaluate_all`` over the blocks the role locators
        match; None (read them one by one) when a block found does not say which it is."""
        blocks = (
            self.info_region.or_(self.rejection_region)
            .or_(self.lines_table)
            .or_(self.history_region)
            .or_(self.attachments_table)
        )
        found: dict[str, dict[str, Any]] = {}
        for block in blocks.evaluate_all(_READ_BLOCKS):
            name = clean(block["name"]) if block["name"] is not None else None
            if name not in _BLOCK_NAMES:
                return None
            found.setdefault(_BLOCK_NAMES[name], block)  # the first one shown, as one by one
        info = found.get("info")
        if info is None or info["dl"] is None:
            return None  # one by one, which says what is missing
        values: dict[str, Any] = self._parse_dl(info["dl"], self.INFO_FIELDS)
        motive = found.get("rejection")
        if motive is not None and motive["dl"] is not None:
            values.update(self._parse_dl(motive["dl"], self.REJECTION_FIELDS))
        values["lignes"] = self._lines(self._rows(found.get("lines")))
        values["historique"] = self._history(self._rows(found.get("history")))
        values["pieces_jointes"] = self._attachments(self._rows(found.get("attachments")))
        return values

    @staticmethod
    def _rows(block: dict[str, Any] | None) -> list[TableRow]:
        if block is None or block["table"] is None:
            return []
        return table_rows(block["table"])

    @staticmethod
    def _parse_dl(pairs: list[list[str]], fields: Mapping[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for label, raw in pairs:
            name = fields.get(clean(label))
            if name is None or name in values:
                continue
            parser = _PARSERS.get(name, clean)
            values[name] = parser(raw)
        return values

    @staticmethod
    def _read_dl(root: Locator, fields: Mapping[str, str]) -> dict[str, Any] | None:
        """The ``fields`` of the first ``root`` shown, parsed; None when none is shown."""
        found = root.evaluate_all(_READ_FIRST_DL)
        if not found:
            return None
        return InvoicePage._parse_dl(found[0], fields)

    def _read_lines(self) -> tuple[InvoiceLine, ...]:
        return self._lines(read_table_if_shown(self.lines_table) or [])

    def _lines(self, rows: list[TableRow]) -> tuple[InvoiceLine, ...]:
        lines = []
        for row in rows:
            cells = row.fields(self.LINE_COLUMNS)
            lines.append(
                InvoiceLine(
                    reference=cells["reference"],
                    designation=cells["designation"],
                    quantite=parse_decimal(cells["quantite"]) or _ZERO,
                    unite=cells["unite"],
                    prix_unitaire_ht=parse_money(cells["prix_unitaire_ht"]) or _ZERO,
                    remise=parse_money(cells["remise"]) or _ZERO,
                    taux_tva=parse_decimal(cells["taux_tva"]) or _ZERO,
                )
            )
        return tuple(lines)

    def _read_history(self) -> tuple[HistoryEntry, ...]:
        table = self.history_region.get_by_role("table")
        return self._history(read_table_if_shown(table) or [])

    def _history(self, rows: list[TableRow]) -> tuple[HistoryEntry, ...]:
        return tuple(HistoryEntry(**row.fields(self.HISTORY_COLUMNS)) for row in rows)

    def _read_attachments(self) -> tuple[str, ...]:
        return self._attachments(read_table_if_shown(self.attachments_table) or [])

    @staticmethod
    def _attachments(rows: list[TableRow]) -> tuple[str, ...]:
        names = []
        for row in rows:
            first = next(iter(row.cells.values()), "")
            if clean(first):
                names.append(clean(first))
        return tuple(names)


#: The blocks of the page by the name they are labelled with (:data:`_READ_BLOCKS`).
_BLOCK_NAMES: dict[str | None, str] = {
    Labels.INFO_REGION: "info",
    **{name: "rejection" for name in Labels.REJECTION_REGIONS},
    Labels.LINES_TABLE: "lines",
    Labels.HISTORY_REGION: "history",
    Labels.ATTACHMENTS_TABLE: "attachments",
}
