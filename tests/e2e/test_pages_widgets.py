"""The page objects through the invoicing application's widgets: Select2 lists chosen the way
a person does, the folded « Critères de recherche », the titled pagination buttons; a plain
``<select>`` still chosen directly; all of it under layout drift."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from portal_support import log_in

from pages import InvoiceLine, Navigator, OptionUnavailable
from pages._options import choose, labelled, read_list, selected_value
from sandbox.server import RunningSandbox
from scenarios.preflight import check_portal, mismatches

pytestmark = pytest.mark.e2e

NEXT = "Aller à la page suivante du tableau"


def _line(taux: str) -> InvoiceLine:
    return InvoiceLine(
        reference="REF-1",
        designation="Prestation",
        quantite=Decimal("2"),
        unite="jour",
        prix_unitaire_ht=Decimal("100"),
        remise=Decimal("0"),
        taux_tva=Decimal(taux),
    )


def _search_by_status_then_number(page: Page, sandbox: RunningSandbox) -> None:
    search = Navigator(page).search()
    expected = sorted(i["numero"] for i in sandbox.invoices(status="REJETEE"))
    assert len(expected) > 10  # more than one page of 10: the next page's button is followed
    rows = search.search(statut="Rejetée")
    assert sorted(row.numero for row in rows) == expected
    # The status was chosen through the widget, and the walk ended on the last page.
    expect(search.statut).to_have_text("Rejetée")
    expect(page.get_by_role("button", name=NEXT)).to_be_disabled()
    # After a search the portal folds the criteria: the page object unfolds them again.
    expect(search.criteria_toggle).to_have_attribute("aria-expanded", "false")
    rows = search.search(numero=expected[0])
    assert [row.numero for row in rows] == [expected[0]]
    assert selected_value(search.statut) == ""  # back to « Tous »


def test_search_chooses_a_status_in_the_select2_widget_and_walks_every_page(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(seed=25)
    log_in(page, fresh_sandbox)
    _search_by_status_then_number(page, fresh_sandbox)


def test_a_line_rate_chosen_in_its_widget_is_what_the_page_computes_with(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    form = Navigator(page).entry_form()
    rate = form.lignes.input(1, "Taux de TVA")
    assert read_list(rate).widget  # a Select2 combobox, its <select> hidden
    form.lignes.set_lines([_line("5.5")])
    expect(rate).to_have_text("5,5 %")
    assert form.recap.totals()["Total TVA"] == Decimal("11.00")  # the page saw the change
    with pytest.raises(OptionUnavailable, match="Devise"):
        form.references.set_devise("XYZ")


def test_widgets_still_work_when_ids_and_classes_change(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    fresh_sandbox.reset(seed=25)
    fresh_sandbox.set_faults(layout_drift=True, reorder=True)
    log_in(page, fresh_sandbox)
    _search_by_status_then_number(page, fresh_sandbox)
    form = Navigator(page).entry_form()
    form.lignes.set_lines([_line("10"), _line("20")])
    assert form.recap.totals()["Total TVA"] == Decimal("60.00")


def test_a_plain_select_is_chosen_directly(page: Page) -> None:
    page.set_content(
        "<label for='s'>Statut</label><select id='s'><option value=''>Tous</option>"
        "<option value='R'>Rejetée</option><option value='S'>Suspendue</option></select>"
    )
    box = labelled(page, "Statut")
    assert not read_list(box).widget
    assert choose(box, "Suspendue", "Statut").value == "S"
    expect(page.locator("select")).to_have_value("S")


@pytest.mark.parametrize(
    ("renamed", "where"),
    [
        ({"Statut": "État"}, "Rechercher : « Statut » introuvable"),
        ({"Taux de TVA": "TVA"}, "« Taux de TVA ligne 1 » introuvable"),
        ({NEXT: "Suivant"}, f"Synthèse : « {NEXT} » introuvable"),
    ],
)
def test_a_renamed_widget_label_is_named_by_the_preflight(
    page: Page, fresh_sandbox: RunningSandbox, renamed: dict[str, str], where: str
) -> None:
    log_in(page, fresh_sandbox)
    fresh_sandbox.set_faults(label_renames=renamed)
    named = mismatches(check_portal(page, fresh_sandbox.url))
    assert any(where in text for text in named), named
