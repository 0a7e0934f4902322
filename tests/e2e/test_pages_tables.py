"""Tables read in one round trip to the browser: shown, absent, several."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from pages._table import read_table, read_table_if_shown

pytestmark = pytest.mark.e2e

_TABLES = """
<table aria-label="Lignes">
  <thead><tr><th>Référence</th><th>Quantité</th></tr></thead>
  <tbody>
    <tr><td><a href="/lignes/1">R-1</a></td><td>2,00</td></tr>
    <tr><td>R-2</td><td>—</td></tr>
  </tbody>
  <tfoot><tr><td>Total</td><td>2,00</td></tr></tfoot>
</table>
<table aria-label="Lignes"><tr><th>Autre</th></tr><tr><td>X</td></tr></table>
<table aria-label="Vide"><tr><th>A</th><th>B</th></tr><tr><td colspan="2">Aucun</td></tr></table>
"""


def test_a_table_shown_is_read_with_its_headers_links_and_no_footer(page: Page) -> None:
    page.set_content(_TABLES)
    rows = read_table_if_shown(page.get_by_role("table", name="Lignes", exact=True))
    assert rows is not None
    assert [row.cells for row in rows] == [
        {"Référence": "R-1", "Quantité": "2,00"},
        {"Référence": "R-2", "Quantité": "—"},
    ]
    assert rows[0].href.endswith("/lignes/1") and rows[1].href == ""
    assert rows[1].get("Quantité") == ""  # « — » is no value


def test_a_table_not_shown_is_none_and_an_empty_one_has_no_rows(page: Page) -> None:
    page.set_content(_TABLES)
    assert read_table_if_shown(page.get_by_role("table", name="Absente", exact=True)) is None
    empty = page.get_by_role("table", name="Vide", exact=True)
    assert read_table_if_shown(empty) == [] == read_table(empty)
