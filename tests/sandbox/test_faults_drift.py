"""Portal drift knobs: labels renamed or removed, list columns and form blocks reordered."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from playwright.sync_api import Page
from portal_support import log_in

from pages import Navigator
from sandbox.faults import FaultError, FaultState
from sandbox.server import RunningSandbox, option_env
from sandbox.settings import OptionError, SandboxOptions

SYNTHESE = "/factures-emises/synthese"
SAISIR = "/factures-emises/saisir"


@dataclass
class _Table:
    head: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


class _Tables(HTMLParser):
    """Header texts and body cell texts of every table of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[_Table] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append(_Table())
        elif tag == "tr" and self.tables:
            self.tables[-1].rows.append([])
        elif tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None and self.tables:
            text = " ".join("".join(self._cell).split())
            target = self.tables[-1]
            (target.head if tag == "th" else target.rows[-1]).append(text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _table(html: str) -> tuple[list[str], list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    first = parser.tables[0]
    return first.head, [row for row in first.rows if row]


def _get(sandbox: RunningSandbox, path: str) -> str:
    with sandbox.http_client() as client:
        return client.get(path).text


def test_renamed_label_is_shown_under_its_new_name_and_only_there(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.set_faults(label_renames={"Traiter le rejet": "Traiter", "Statut": "État"})
    page = _get(fresh_sandbox, SYNTHESE)
    search = _get(fresh_sandbox, "/factures-emises/rechercher")
    assert ">Traiter</button>" in page and "Traiter le rejet" not in page
    assert '<th scope="col">État</th>' in page and ">Statut<" not in page
    assert '<label for="GDP_critereStatut" id="GDP_critereStatut-label">État</label>' in search
    assert "Cochez les factures rejetées" in page  # the rest of the page is untouched


def test_removed_label_takes_its_element_away(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.set_faults(label_removals=["Numéro de marché", "Montant TTC", "Rechercher"])
    form = _get(fresh_sandbox, SAISIR)
    head, rows = _table(_get(fresh_sandbox, SYNTHESE))
    search = _get(fresh_sandbox, "/factures-emises/rechercher")
    assert "Numéro de marché" not in form and 'name="numero_marche"' not in form
    assert "Montant TTC" not in head and all(len(row) == len(head) == 6 for row in rows)
    assert ">Rechercher</button>" not in search and ">Rechercher</a>" not in search


def test_reorder_reverses_list_columns_and_keeps_each_cell_under_its_header(
    fresh_sandbox: RunningSandbox,
) -> None:
    plain_head, plain_rows = _table(_get(fresh_sandbox, SYNTHESE))
    fresh_sandbox.set_faults(reorder=True)
    head, rows = _table(_get(fresh_sandbox, SYNTHESE))
    assert head == plain_head[::-1]
    as_dicts = [dict(zip(head, row, strict=True)) for row in rows]
    assert as_dicts == [dict(zip(plain_head, row, strict=True)) for row in plain_rows]
    search_head, _ = _table(_get(fresh_sandbox, "/factures-emises/rechercher"))
    assert search_head[:2] == ["Actions", "Statut"] and search_head[-1] == "Numéro de facture"


def test_reorder_moves_form_blocks_on_screen_not_in_the_document(
    fresh_sandbox: RunningSandbox,
) -> None:
    plain = _get(fresh_sandbox, SAISIR)
    fresh_sandbox.set_faults(reorder=True)
    moved = _get(fresh_sandbox, SAISIR)
    legends = re.findall(r"<legend>([^<]+)</legend>", moved)
    orders = [int(n) for n in re.findall(r'<fieldset[^>]*style="order: (\d+)"', moved)]
    assert legends == re.findall(r"<legend>([^<]+)</legend>", plain)
    assert orders == list(range(8, 0, -1))
    assert 'style="display: flex; flex-direction: column"' in moved
    assert 'style="order: 9"' in moved  # the buttons stay last


def test_renamed_label_is_escaped_like_any_text(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.set_faults(label_renames={"Traiter le rejet": '<b>"Traiter"</b>'})
    page = _get(fresh_sandbox, SYNTHESE)
    assert "&lt;b&gt;&quot;Traiter&quot;&lt;/b&gt;</button>" in page


def test_clearing_the_knobs_restores_every_label(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.set_faults(
        label_renames={"Traiter le rejet": "Traiter"}, label_removals=["Statut"], reorder=True
    )
    knobs = fresh_sandbox.set_faults()
    assert (knobs["label_renames"], knobs["label_removals"], knobs["reorder"]) == ({}, [], False)
    assert ">Traiter le rejet</button>" in _get(fresh_sandbox, SYNTHESE)


@pytest.mark.parametrize(
    "changes",
    [
        {"label_renames": ["Statut"]},
        {"label_renames": {"Statut": ""}},
        {"label_renames": {"Statut": 3}},
        {"label_removals": "Statut"},
        {"label_removals": [""]},
        {"reorder": "oui"},
    ],
)
def test_drift_knobs_are_validated(
    fresh_sandbox: RunningSandbox, changes: dict[str, object]
) -> None:
    with pytest.raises(FaultError):
        FaultState().update(changes)
    assert fresh_sandbox.admin("POST", "faults", json=changes).status_code == 422


def test_knob_values_are_copies_the_caller_cannot_change_behind_the_server_back() -> None:
    state = FaultState()
    renames = {"Statut": "État"}
    state.update({"label_renames": renames})
    renames["Statut"] = "Autre"
    state.knobs.label_renames["Statut"] = "Encore"
    assert state.label("Statut") == "État" and state.label("Motif") == "Motif"


def test_drift_options_come_from_the_environment_and_the_harness() -> None:
    options = SandboxOptions.from_env(
        {
            "CHORUS_SANDBOX_LABEL_RENAMES": '{"Traiter le rejet": "Traiter"}',
            "CHORUS_SANDBOX_LABEL_REMOVALS": '["Numéro de marché"]',
            "CHORUS_SANDBOX_REORDER": "oui",
        }
    )
    assert options.label_renames == {"Traiter le rejet": "Traiter"}
    assert options.label_removals == ["Numéro de marché"] and options.reorder
    again = SandboxOptions.from_env(option_env(options))  # what a subprocess sandbox receives
    assert (again.label_renames, again.label_removals) == (
        options.label_renames,
        options.label_removals,
    )
    with pytest.raises(OptionError):
        SandboxOptions.from_env({"CHORUS_SANDBOX_LABEL_RENAMES": "pas du JSON"})


@pytest.mark.e2e
def test_page_objects_read_the_same_rows_whatever_the_column_order(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    plain = Navigator(page).synthese().rows()
    plain_search = Navigator(page).search().search()
    fresh_sandbox.set_faults(reorder=True, layout_drift=True)
    page.reload()
    moved = Navigator(page).synthese().rows()
    moved_search = Navigator(page).search().search()
    assert moved == plain and moved_search == plain_search
    assert all(row.numero and row.montant_ttc is not None for row in moved)
    form = Navigator(page).entry_form()
    cadre = form.cadre.group.bounding_box()
    comment = form.commentaire.group.bounding_box()
    assert cadre is not None and comment is not None
    assert comment["y"] < cadre["y"]  # shown in reverse order
    assert form.missing_elements() == []
