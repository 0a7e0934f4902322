"""The invoicing pages' widgets in real headless Chromium (SCREENS.md, « Widgets of the invoicing
application »): Select2 comboboxes, the collapsible criteria panel, the pagination buttons,
the pop-up « Télécharger » and its PDF.

Role and label locators, web-first assertions: each step waits for a state, never for time.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from sandbox.server import RunningSandbox

SEARCH = "/factures-emises/rechercher"
ENTRY = "/factures-emises/saisir"
NEXT = "Aller à la page suivante du tableau"
LAST = "Aller à la dernière page du tableau"
FIRST = "Aller à la première page du tableau"
PREVIOUS = "Aller à la page précédente du tableau"


def _log_in(page: Page, sandbox: RunningSandbox, path: str) -> None:
    page.goto(sandbox.url + "/connexion")
    page.get_by_label("Identifiant").fill(sandbox.options.user)
    page.get_by_label("Mot de passe").fill(sandbox.options.password)
    page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("heading", name="Accueil", exact=True)).to_be_visible()
    page.goto(sandbox.url + path)


def _combobox(page: Page, name: str) -> Locator:
    return page.get_by_role("combobox", name=name, exact=True)


def _choose(page: Page, name: str, typed: str, option: str) -> None:
    """What a person does: click the combobox, type in its search box, click the option."""
    _combobox(page, name).click()
    page.get_by_role("searchbox", name="Rechercher").fill(typed)
    page.get_by_role("listbox", name=name, exact=True).get_by_role(
        "option", name=option, exact=True
    ).click()


def _criteria(page: Page) -> Locator:
    return page.get_by_role("search").get_by_role(
        "button", name="Critères de recherche", exact=True
    )


# --- Select2 -----------------------------------------------------------------------------------


def test_a_person_picks_a_status_with_the_mouse_through_the_select2_widget(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    _log_in(page, fresh_sandbox, SEARCH)
    statut = _combobox(page, "Statut")
    expect(statut).to_have_count(1)  # the native select is aria-hidden: only the widget
    expect(statut).to_have_text("Tous")
    expect(statut).to_have_attribute("aria-expanded", "false")
    native = page.locator("select[name='listeResultats.critere.statut']")
    expect(native).to_have_attribute("aria-hidden", "true")
    expect(native).to_have_class(re.compile(r"\bselect2-hidden-accessible\b"))

    statut.click()
    expect(statut).to_have_attribute("aria-expanded", "true")
    results = page.get_by_role("listbox", name="Statut", exact=True)
    expect(statut).to_have_attribute("aria-controls", re.compile(r"^select2-.+-results$"))
    search_box = page.get_by_role("searchbox", name="Rechercher")
    expect(search_box).to_be_focused()
    expect(results.get_by_role("option", name="Tous")).to_have_attribute("aria-selected", "true")
    expect(results.get_by_role("option")).to_have_count(14)  # « Tous » and the 13 statuses

    search_box.fill("REJ")  # case-insensitive substring
    expect(results.get_by_role("option")).to_have_text(["Rejetée"])
    search_box.fill("a recycler")  # accents ignored
    expect(results.get_by_role("option")).to_have_text(["À recycler"])
    search_box.fill("mise a dispo")
    expect(results.get_by_role("option")).to_have_text(
        ["Mise à disposition du destinataire", "Mise à disposition du comptable"]
    )
    search_box.fill("zzz")
    expect(results.get_by_role("option")).to_have_count(0)
    expect(results.get_by_role("alert")).to_have_text("Aucun résultat trouvé")
    search_box.fill("rej")
    results.get_by_role("option", name="Rejetée").click()

    expect(results).to_have_count(0)
    expect(statut).to_have_attribute("aria-expanded", "false")
    expect(statut).not_to_have_attribute("aria-controls", re.compile(".*"))
    expect(statut).to_have_text("Rejetée")
    expect(statut).to_be_focused()
    expect(native).to_have_value("REJETEE")

    page.get_by_role("search").get_by_role("button", name="Rechercher").click()
    expect(page).to_have_url(re.compile(r"listeResultats\.critere\.statut=REJETEE"))
    table = page.get_by_role("table", name="Résultats de la recherche")
    expect(table.get_by_role("row")).not_to_have_count(0)
    rejected = len(fresh_sandbox.invoices(status="REJETEE"))
    expect(table.get_by_text("Rejetée", exact=True)).to_have_count(min(rejected, 10))
    expect(_combobox(page, "Statut")).to_have_count(0)  # in the closed panel
    _criteria(page).click()
    expect(_combobox(page, "Statut")).to_have_text("Rejetée")  # kept after the reload


def test_a_person_picks_a_status_with_the_keyboard_and_escape_changes_nothing(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    _log_in(page, fresh_sandbox, SEARCH)
    statut = _combobox(page, "Statut")
    native = page.locator("select[name='listeResultats.critere.statut']")
    statut.focus()
    statut.press("Enter")
    search_box = page.get_by_role("searchbox", name="Rechercher")
    expect(search_box).to_be_focused()
    search_box.press_sequentially("susp")
    results = page.get_by_role("listbox", name="Statut", exact=True)
    suspended = results.get_by_role("option", name="Suspendue")
    expect(suspended).to_have_class(re.compile(r"select2-results__option--highlighted"))
    expect(search_box).to_have_attribute(
        "aria-activedescendant", suspended.get_attribute("id") or ""
    )
    search_box.press("Enter")
    expect(statut).to_have_text("Suspendue")
    expect(native).to_have_value("SUSPENDUE")
    expect(statut).to_be_focused()

    # ArrowDown opens; the highlight moves with the arrows; Escape closes without change.
    statut.press("ArrowDown")
    expect(statut).to_have_attribute("aria-expanded", "true")
    highlighted = results.locator(".select2-results__option--highlighted")
    expect(highlighted).to_have_text("Suspendue")  # the chosen option first
    search_box.press("ArrowDown")
    expect(highlighted).to_have_text("Complétée")
    search_box.press("ArrowUp")
    search_box.press("ArrowUp")
    expect(highlighted).to_have_text("À recycler")
    search_box.press("Escape")
    expect(results).to_have_count(0)
    expect(statut).to_have_text("Suspendue")
    expect(native).to_have_value("SUSPENDUE")
    expect(statut).to_be_focused()

    # Space opens too; a click elsewhere closes, unchanged; only one drop-down at a time.
    statut.press(" ")
    expect(results).to_be_visible()
    _combobox(page, "Lignes par page").click()
    expect(results).to_have_count(0)
    expect(page.get_by_role("listbox")).to_have_count(1)
    page.get_by_role("heading", name="Rechercher").click()
    expect(page.get_by_role("listbox")).to_have_count(0)
    expect(_combobox(page, "Lignes par page")).to_have_text("10")


def test_entry_form_comboboxes_keep_the_page_working(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    rejected = fresh_sandbox.invoices(status="REJETEE")[0]
    _log_in(page, fresh_sandbox, ENTRY)
    # Every select of the form is a combobox named by its label.
    for name in (
        "Cadre de facturation",
        "Code service",
        "Coordonnées bancaires",
        "Type de facture",
        "Devise",
        "Type de TVA",
        "Mode de paiement",
        "Taux de TVA ligne 1",
    ):
        expect(_combobox(page, name)).to_have_count(1)
    expect(page.locator("select:not([aria-hidden='true'])")).to_have_count(0)
    expect(_combobox(page, "Cadre de facturation")).to_have_text(
        re.compile(r"^A1 - Dépôt par un fournisseur")
    )

    # A line's « Taux de TVA » still recomputes its totals (change events on the native).
    page.get_by_label("Désignation ligne 1").fill("Maintenance")
    page.get_by_label("Quantité ligne 1").fill("2")
    page.get_by_label("Prix unitaire HT ligne 1").fill("100")
    expect(page.get_by_label("Total TVA")).to_have_text("40,00 €")
    _choose(page, "Taux de TVA ligne 1", "5,5", "5,5 %")
    expect(page.get_by_label("Total TVA")).to_have_text("11,00 €")
    expect(page.get_by_label("Total TTC")).to_have_text("211,00 €")
    # « A2 » (already paid): nothing left to pay.
    _choose(
        page,
        "Cadre de facturation",
        "déjà payée",
        "A2 - Dépôt par un fournisseur d'une facture déjà payée",
    )
    expect(page.get_by_label("Montant à payer")).to_have_text("0,00 €")

    # A line added later gets its widget too, and it works.
    page.get_by_role("button", name="Ajouter une ligne").click()
    expect(_combobox(page, "Taux de TVA ligne 2")).to_have_text("20 %")
    page.get_by_label("Désignation ligne 2").fill("Support")
    page.get_by_label("Quantité ligne 2").fill("1")
    page.get_by_label("Prix unitaire HT ligne 2").fill("50")
    expect(page.get_by_label("Total TVA")).to_have_text("21,00 €")
    _choose(page, "Taux de TVA ligne 2", "10", "10 %")
    expect(page.get_by_label("Total TVA")).to_have_text("16,00 €")
    # Deleting line 1 renumbers line 2 and its widget's name follows.
    page.get_by_role("button", name="Supprimer la ligne 1").click()
    expect(_combobox(page, "Taux de TVA ligne 1")).to_have_text("10 %")
    expect(_combobox(page, "Taux de TVA ligne 2")).to_have_count(0)

    # « Code service »: the options the structure's request brings are the widget's.
    service = _combobox(page, "Code service")
    expect(service).to_have_text("")
    page.get_by_label("SIRET du destinataire").fill(rejected["siret_destinataire"])
    page.get_by_label("SIRET du destinataire").press("Tab")
    expect(service).to_have_text("Sélectionnez un service")
    service.click()
    options = page.get_by_role("listbox", name="Code service").get_by_role("option")
    expect(options.first).to_have_text("Sélectionnez un service")
    expect(options).not_to_have_count(1)
    wanted = options.nth(1).inner_text()
    options.nth(1).click()
    expect(service).to_have_text(wanted)
    native = page.locator("select[name='code_service']")
    expect(native).to_have_value(wanted.split(" - ")[0])

    # The page's own code changing the native select: the widget follows.
    vat_type = _combobox(page, "Type de TVA")
    page.locator("select[name='type_tva']").evaluate(
        """select => {
            select.value = "EXONERATION";
            select.dispatchEvent(new Event("change", { bubbles: true }));
            select.disabled = true;
            select.setAttribute("aria-invalid", "true");
        }"""
    )
    expect(vat_type).to_have_text("Exonération")
    expect(vat_type).to_have_attribute("aria-disabled", "true")
    expect(vat_type).to_have_attribute("aria-invalid", "true")
    vat_type.click(force=True)
    expect(page.get_by_role("listbox")).to_have_count(0)  # a disabled widget does not open


def test_the_widgets_work_under_layout_drift(page: Page, fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.set_faults(layout_drift=True)
    _log_in(page, fresh_sandbox, SEARCH)
    native = page.locator("select[name='listeResultats.critere.statut']")
    expect(native).to_have_attribute("id", re.compile(r"^z[0-9a-f]{8}$"))
    box = native.bounding_box()
    assert box is not None and box["width"] <= 1 and box["height"] <= 1  # hidden, not gone
    statut = _combobox(page, "Statut")
    expect(statut).to_be_visible()
    _choose(page, "Statut", "brouil", "Brouillon")
    expect(native).to_have_value("BROUILLON")
    page.get_by_role("search").get_by_role("button", name="Rechercher").click()
    expect(_criteria(page)).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_label("Numéro de facture")).to_be_hidden()
    _criteria(page).click()
    expect(page.get_by_label("Numéro de facture")).to_be_visible()
    expect(_combobox(page, "Statut")).to_have_text("Brouillon")


# --- the criteria panel --------------------------------------------------------------------


def test_the_criteria_panel_closes_on_the_results_and_opens_with_its_button(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    numero = fresh_sandbox.invoices()[0]["numero"]
    _log_in(page, fresh_sandbox, SEARCH)
    toggle = _criteria(page)
    numero_box = page.get_by_label("Numéro de facture")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(numero_box).to_be_visible()
    panel = page.locator("#" + (toggle.get_attribute("aria-controls") or "none"))
    expect(panel).to_have_attribute("id", "GDP_criteresRecherche")

    numero_box.fill(numero)
    page.get_by_role("search").get_by_role("button", name="Rechercher").click()
    results = page.get_by_role("table", name="Résultats de la recherche")
    expect(results.get_by_role("link", name=numero, exact=True)).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(panel).to_be_hidden()
    expect(page.get_by_role("search").get_by_role("button", name="Rechercher")).to_be_hidden()

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(numero_box).to_be_visible()
    expect(numero_box).to_have_value(numero)
    numero_box.fill("")
    page.get_by_role("search").get_by_role("button", name="Rechercher").click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(results.get_by_role("row")).to_have_count(11)  # every invoice again: 10 and the head
    toggle.click()
    expect(panel).to_be_visible()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(panel).to_be_hidden()


# --- pagination ----------------------------------------------------------------------------


def test_pagination_buttons_move_pages_and_are_disabled_at_the_ends(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(seed=24)
    _log_in(page, fresh_sandbox, SEARCH)
    _choose(page, "Statut", "rejet", "Rejetée")
    page.get_by_role("search").get_by_role("button", name="Rechercher").click()
    rejected = len(fresh_sandbox.invoices(status="REJETEE"))
    assert 20 < rejected <= 30
    pagination = page.get_by_role("navigation", name="Pagination")
    expect(pagination).to_contain_text(f"{rejected} facture(s)")
    expect(pagination).to_contain_text("Page 1 sur 3")
    for name in (FIRST, PREVIOUS):
        expect(pagination.get_by_role("button", name=name)).to_be_disabled()
    for name in (NEXT, LAST):
        expect(pagination.get_by_role("button", name=name)).to_be_enabled()

    pagination.get_by_role("button", name=NEXT).click()
    expect(pagination).to_contain_text("Page 2 sur 3")
    expect(page).to_have_url(re.compile(r"listeResultats\.critere\.statut=REJETEE"))
    for name in (FIRST, PREVIOUS, NEXT, LAST):
        expect(pagination.get_by_role("button", name=name)).to_be_enabled()

    pagination.get_by_role("button", name=LAST).click()
    expect(pagination).to_contain_text("Page 3 sur 3")
    for name in (NEXT, LAST):
        expect(pagination.get_by_role("button", name=name)).to_be_disabled()
    table = page.get_by_role("table", name="Résultats de la recherche")
    expect(table.get_by_text("Rejetée", exact=True)).to_have_count(rejected - 20)  # filter kept

    pagination.get_by_role("button", name=PREVIOUS).click()
    expect(pagination).to_contain_text("Page 2 sur 3")
    pagination.get_by_role("button", name=FIRST).click()
    expect(pagination).to_contain_text("Page 1 sur 3")

    _choose(page, "Lignes par page", "50", "50")
    pagination.get_by_role("button", name="Afficher").click()
    expect(pagination).to_contain_text("Page 1 sur 1")
    expect(table.get_by_text("Rejetée", exact=True)).to_have_count(rejected)
    for name in (FIRST, PREVIOUS, NEXT, LAST):
        expect(pagination.get_by_role("button", name=name)).to_be_disabled()
    expect(_combobox(page, "Lignes par page")).to_have_text("50")


# --- « Télécharger » -------------------------------------------------------------------------


def test_the_download_popup_lists_the_documents_and_gives_the_pdf(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    invoice = fresh_sandbox.invoices(status="MISE_EN_PAIEMENT")[0]
    numero = invoice["numero"]
    _log_in(page, fresh_sandbox, SEARCH)
    page.get_by_label("Numéro de facture").fill(numero)
    page.get_by_role("search").get_by_role("button", name="Rechercher").click()
    table = page.get_by_role("table", name="Résultats de la recherche")
    expect(table.get_by_role("columnheader").last).to_have_text("Actions")
    opener = table.get_by_role("button", name=f"Télécharger la facture {numero}", exact=True)
    expect(opener).to_have_text("Télécharger")
    opener.click()

    dialog = page.get_by_role("dialog", name=f"Télécharger la facture {numero}")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "true")
    pdf = dialog.get_by_role("link", name="Facture au format PDF")
    expect(pdf).to_be_focused()
    with page.expect_download() as info:
        pdf.click()
    download = info.value
    assert download.suggested_filename == f"facture_{numero}.pdf"
    body = Path(download.path()).read_bytes()
    assert body.startswith(b"%PDF-1.4") and body.rstrip().endswith(b"%%EOF")
    assert f"Facture {numero}".encode() in body
    montant = invoice["montant_ttc"].replace(".", ",")
    assert montant.encode() in body.replace(b" ", b"")

    dialog.get_by_role("button", name="Fermer").click()
    expect(dialog).to_have_count(0)
    expect(opener).to_be_focused()
    opener.click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    history = fresh_sandbox.invoice(numero)["historique"]
    assert history[-1]["action"] == "TELECHARGEMENT_FACTURE"
