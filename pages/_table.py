"""Read an HTML table found by its accessible name, and walk the portal's pagination.

Tables are read in one round trip (column header → cell text), relying only on the HTML
table structure, never on ids or classes. A page object declares the columns it reads as a
:data:`Columns` mapping (header → field of its record), reads them with
:meth:`TableRow.fields`, and the preflight checks the same declaration. Pagination: a
navigation landmark « Pagination » with the buttons « Aller à la première / page précédente /
page suivante / dernière page du tableau » (named by their ``title``, disabled at either
end), « Page X sur Y » and the list « Lignes par page ».
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Locator, Page

from pages._guard import navigation
from pages._options import choose, labelled, read_list
from pages._parse import clean


class PaginationLabels:
    NAV = "Pagination"
    FIRST = "Aller à la première page du tableau"
    PREVIOUS = "Aller à la page précédente du tableau"
    NEXT = "Aller à la page suivante du tableau"
    PAGE_OF = re.compile(r"Page\s+(\d+)\s+sur\s+(\d+)")
    PER_PAGE = "Lignes par page"
    SHOW = "Afficher"


#: The columns a page object reads: header as the portal shows it → field of its record.
Columns = Mapping[str, str]

#: Most pages a list may have before we stop following the next page (API caps at 200).
MAX_PAGES = 100

READ_TABLE = """
table => {
  const text = cell => (cell.innerText || cell.textContent || '').trim();
  const rows = Array.from(table.rows);
  const isHeader = row => row.cells.length > 0
      && Array.from(row.cells).every(cell => cell.tagName === 'TH');
  const headerRow = rows.find(isHeader);
  const headers = headerRow ? Array.from(headerRow.cells).map(text) : [];
  const body = rows.filter(row => row !== headerRow && row.parentElement.tagName !== 'TFOOT'
      && row.cells.length > 0);
  return {
    headers,
    rows: body.map(row => ({
      cells: Array.from(row.cells).map(text),
      href: (row.querySelector('a[href]') || {}).href || '',
    })),
  };
}
"""


@dataclass(frozen=True)
class TableRow:
    """One body row: cell texts by column header, and the URL of its first link."""

    cells: dict[str, str]
    href: str

    def get(self, column: str) -> str:
        """The cleaned text of ``column`` (« — » and missing columns give "")."""
        return clean(self.cells.get(column))

    def fields(self, columns: Columns) -> dict[str, str]:
        """The cleaned text of each column of ``columns``, by record field."""
        return {field: self.get(header) for header, field in columns.items()}


def read_table(table: Locator) -> list[TableRow]:
    """Every body row of ``table`` (waits for it to be on the page)."""
    return table_rows(table.evaluate(READ_TABLE))


def read_table_if_shown(table: Locator) -> list[TableRow] | None:
    """Every body row of ``table`` if the page shows it, else None — one round trip to the
    browser, where counting then reading takes four (the first match when several)."""
    found = table.evaluate_all(_FIRST_TABLE)
    return table_rows(found[0]) if found else None


_FIRST_TABLE = f"tables => tables.slice(0, 1).map({READ_TABLE.strip()})"


def table_rows(data: dict[str, Any]) -> list[TableRow]:
    """The rows of a table as :data:`READ_TABLE` read it."""
    headers = [clean(header) for header in data["headers"]]
    rows = []
    for row in data["rows"]:
        cells = row["cells"]
        if len(cells) == 1 and len(headers) > 1:
            continue  # a « no result » row spanning the table
        rows.append(TableRow(dict(zip(headers, cells, strict=False)), str(row["href"])))
    return rows


def page_position(page: Page) -> tuple[int, int]:
    """(current page, number of pages) from « Page X sur Y »; (1, 1) when not shown."""
    label = page.get_by_text(PaginationLabels.PAGE_OF)
    if not label.count():
        return 1, 1
    match = PaginationLabels.PAGE_OF.search(label.first.inner_text())
    if not match:
        return 1, 1
    return int(match.group(1)), int(match.group(2))


def _pagination(page: Page) -> Locator:
    return page.get_by_role("navigation", name=PaginationLabels.NAV)


def _move(page: Page, name: str) -> Locator:
    """The pagination button ``name`` while it can be used (the portal disables it at the
    end it leads to)."""
    return _pagination(page).get_by_role("button", name=name, exact=True, disabled=False)


def next_button(page: Page) -> Locator:
    return _move(page, PaginationLabels.NEXT)


def per_page_box(page: Page) -> Locator:
    return labelled(page, PaginationLabels.PER_PAGE)


def pagination_elements(page: Page) -> dict[str, Locator]:
    """What the robot walks a list with (for « check-portal »): the next page's button,
    enabled or not, and « Lignes par page ». A renamed button would end every list at its
    first page without a word: the preflight looks for it."""
    return {
        PaginationLabels.NEXT: _pagination(page).get_by_role(
            "button", name=PaginationLabels.NEXT, exact=True
        ),
        PaginationLabels.PER_PAGE: per_page_box(page),
    }


def set_rows_per_page(page: Page, rows: int, expected: Locator, what: str) -> bool:
    """Choose « Lignes par page » = ``rows`` and « Afficher », when the list offers it.

    True when the list was reloaded for it (False: no such choice, or already shown).
    """
    box = per_page_box(page)
    if not box.count():
        return False
    if read_list(box).value == str(rows):
        return False
    choose(box, str(rows), PaginationLabels.PER_PAGE)
    with navigation(page, expected, what):
        page.get_by_role("button", name=PaginationLabels.SHOW, exact=True).click()
    return True


def rewind(page: Page, expected: Locator, what: str) -> None:
    """Go back to the first page (« Aller à la première page du tableau », else the previous
    page until there is none)."""
    first = _move(page, PaginationLabels.FIRST)
    if first.count():
        with navigation(page, expected, what):
            first.first.click()
        return
    for _ in range(MAX_PAGES):
        button = _move(page, PaginationLabels.PREVIOUS)
        if not button.count():
            return
        with navigation(page, expected, what):
            button.first.click()


def each_page(page: Page, expected: Locator, what: str) -> Iterator[int]:
    """Yield once per page of the list, going to the next page in between."""
    for index in range(1, MAX_PAGES + 1):
        yield index
        button = next_button(page)
        if not button.count():
            return
        with navigation(page, expected, what):
            button.first.click()
