"""« Rechercher »'s field names and panel, « Exporter » (CSV), « Télécharger » (the pop-up's
fragment, the PDF, the attachments), over HTTP (SCREENS.md, « Widgets of the invoicing
application »)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from portal_support import three_origins

from sandbox import fmt
from sandbox.faults import drift_css
from sandbox.server import PortalClient, RunningSandbox, csrf_token

SEARCH = "/factures-emises/rechercher"
EXPORT = SEARCH + "/export"
SYNTHESE_EXPORT = "/factures-emises/synthese/export"
NUMERO = "listeResultats.critere.numero"
STATUT = "listeResultats.critere.statut"
DESTINATAIRE = "listeResultats.critere.destinataire"
DU = "listeResultats.critere.dateDepotDu"
AU = "listeResultats.critere.dateDepotAu"
HEADER = "Numéro de facture;Date de dépôt;Destinataire;Montant TTC;Statut"
SECURITY_TEXT = "Des contraintes de sécurité empêchent d'accéder à la page demandée."


class _ResultRows(HTMLParser):
    """The rows of the table « Résultats de la recherche » (or « Synthèse »): header → text."""

    def __init__(self) -> None:
        super().__init__()
        self.head: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._in_table = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._in_table = True
        elif self._in_table and tag == "tr":
            self.rows.append([])
        elif self._in_table and tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif tag in ("th", "td") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            (self.head if tag == "th" else self.rows[-1]).append(text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _table(page: str) -> list[dict[str, str]]:
    parser = _ResultRows()
    parser.feed(page)
    return [dict(zip(parser.head, row, strict=True)) for row in parser.rows if row]


def _csv_rows(body: bytes) -> list[str]:
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM
    text = body[3:].decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return text.split("\r\n")[:-1]


def _as_shown(row: dict[str, str], columns: list[str]) -> str:
    """A table row as the export writes it (the table's spaces are collapsed by the parser:
    compare with the export's spaces collapsed the same way)."""
    return ";".join(row[c] for c in columns)


def _collapse(line: str) -> str:
    return ";".join(" ".join(value.split()) for value in line.split(";"))


def _every_page(client: PortalClient, params: dict[str, str]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for page in range(1, 20):
        answer = client.get(SEARCH, params={**params, "page": str(page), "taille": "10"})
        assert answer.status_code == 200
        rows += _table(answer.text)
        if f"Page {page} sur {page}" in answer.text:
            return rows
    raise AssertionError("too many pages")


# --- field names and the criteria panel ----------------------------------------------------


def test_the_search_reads_the_portal_field_names_only(fresh_sandbox: RunningSandbox) -> None:
    invoice = fresh_sandbox.invoices(status="REJETEE")[0]
    with fresh_sandbox.http_client() as client:
        every = client.get(SEARCH).text
        by_new_name = client.get(SEARCH, params={NUMERO: invoice["numero"]}).text
        by_old_name = client.get(SEARCH, params={"numero": invoice["numero"]}).text
        by_siret = client.get(SEARCH, params={DESTINATAIRE: invoice["siret_destinataire"]}).text
    assert [r["Numéro de facture"] for r in _table(by_new_name)] == [invoice["numero"]]
    assert _table(by_old_name) == _table(every)  # the short names are gone
    assert {r["Destinataire"] for r in _table(by_siret)} == {invoice["nom_destinataire"]}
    for name, field_id in (
        (NUMERO, "GDP_critereNumero"),
        (STATUT, "GDP_critereStatut"),
        (DESTINATAIRE, "GDP_critereDestinataire"),
        (DU, "GDP_critereDateDepotDu"),
        (AU, "GDP_critereDateDepotAu"),
    ):
        assert re.search(rf'id="{field_id}" name="{re.escape(name)}"', every), name
        assert f'<label for="{field_id}" id="{field_id}-label">' in every


def test_the_criteria_panel_is_open_before_a_search_and_closed_on_its_results(
    fresh_sandbox: RunningSandbox,
) -> None:
    with fresh_sandbox.http_client() as client:
        visit = client.get(SEARCH).text
        resized = client.get(SEARCH, params={"taille": "20"}).text
        submitted = client.get(SEARCH, params={NUMERO: "", STATUT: "REJETEE"}).text
        wrong = client.get(SEARCH, params={DU: "31/02/2026"}).text
    toggle = re.compile(
        r'<button type="button" class="panel-toggle" aria-expanded="(true|false)" '
        r'aria-controls="GDP_criteresRecherche" data-collapse-toggle>Critères de recherche</button>'
    )
    panel = re.compile(r'<div id="GDP_criteresRecherche" class="([^"]+)"')
    for page, expanded in ((visit, "true"), (resized, "true"), (submitted, "false")):
        found, classes = toggle.search(page), panel.search(page)
        assert found is not None and classes is not None
        assert found.group(1) == expanded
        assert classes.group(1) == ("collapse show" if expanded == "true" else "collapse")
    # Criteria in error: the alert, and the panel open to correct them.
    assert "La date « Déposée du » n'est pas valide" in html.unescape(wrong)
    assert 'aria-expanded="true" aria-controls="GDP_criteresRecherche"' in wrong


def test_the_pagination_form_keeps_the_criteria_and_the_size(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.reset(seed=24)
    with fresh_sandbox.http_client() as client:
        page = client.get(SEARCH, params={STATUT: "REJETEE", NUMERO: "", "taille": "10"}).text
        second = client.get(SEARCH, params={STATUT: "REJETEE", "taille": "10", "page": "2"}).text
    form = page[page.index('class="pagination-links"') :]
    form = form[: form.index("</form>")]
    assert f'<input type="hidden" name="{STATUT}" value="REJETEE">' in form
    assert f'<input type="hidden" name="{NUMERO}" value="">' in form
    assert '<input type="hidden" name="taille" value="10">' in form
    assert 'name="page" value="1"' not in form.replace("disabled", "").split("›")[-1]
    assert "Page 2 sur 3" in second
    assert {r["Statut"] for r in _table(second)} == {"Rejetée"}


# --- « Exporter » ----------------------------------------------------------------------------


def test_the_export_holds_every_matching_invoice_as_the_table_shows_it(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.reset(seed=24)
    criteria = {NUMERO: "", STATUT: "REJETEE", DESTINATAIRE: "", DU: "", AU: ""}
    with fresh_sandbox.http_client() as client:
        shown = _every_page(client, criteria)
        answer = client.get(EXPORT, params=criteria)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    today = fmt.paris_today().strftime("%Y%m%d")
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="export_factures_{today}.csv"'
    )
    lines = _csv_rows(answer.content)
    assert lines[0] == HEADER
    columns = HEADER.split(";")
    assert len(shown) > 20  # three pages of the table
    assert [_collapse(line) for line in lines[1:]] == [_as_shown(r, columns) for r in shown]
    # Against the store: every rejected invoice, newest deposit first, formatted as shown.
    stored = sorted(
        fresh_sandbox.invoices(status="REJETEE"),
        key=lambda i: (i["date_depot"], i["id"]),
        reverse=True,
    )
    assert [line.split(";")[0] for line in lines[1:]] == [i["numero"] for i in stored]
    first = stored[0]
    assert lines[1] == ";".join(
        [
            first["numero"],
            fmt.date_fr(datetime.fromisoformat(first["date_depot"])),
            first["nom_destinataire"],
            fmt.money(Decimal(first["montant_ttc"])),
            "Rejetée",
        ]
    )
    assert "\u202f" in "".join(lines[1:])  # the table's narrow no-break spaces, as they are


def test_the_export_button_is_shown_with_the_results_and_carries_the_criteria(
    fresh_sandbox: RunningSandbox,
) -> None:
    with fresh_sandbox.http_client() as client:
        page = client.get(SEARCH, params={STATUT: "REJETEE", NUMERO: ""}).text
        nothing = client.get(SEARCH, params={NUMERO: "INCONNU-1"}).text
    form = page[page.index(f'action="{EXPORT}"') :]
    form = form[: form.index("</form>")]
    assert f'<input type="hidden" name="{STATUT}" value="REJETEE">' in form
    assert ">Exporter</button>" in form
    assert ">Exporter</button>" not in nothing  # no results, no export


def test_an_export_with_wrong_criteria_is_refused_with_the_page_alert(
    fresh_sandbox: RunningSandbox,
) -> None:
    with fresh_sandbox.http_client() as client:
        answer = client.get(EXPORT, params={DU: "2026-13-45", STATUT: "REJETEE"})
    assert answer.history and answer.history[0].status_code == 303
    assert answer.url.path == SEARCH and answer.url.params[STATUT] == "REJETEE"
    assert answer.headers["content-type"].startswith("text/html")
    assert "La date « Déposée du » n'est pas valide" in html.unescape(answer.text)


def test_an_export_needs_a_session_and_counts_as_a_page(fresh_sandbox: RunningSandbox) -> None:
    with PortalClient(base_url=fresh_sandbox.url, follow_redirects=False, timeout=30) as anon:
        page = anon.get(EXPORT)
        script = anon.get(EXPORT, headers={"X-Fragment": "1"})
    assert page.status_code == 303 and page.headers["location"] == "/connexion"
    assert script.status_code == 401
    with fresh_sandbox.http_client() as client:
        before = fresh_sandbox.stats()["requetes"]
        client.get(EXPORT)
        after = fresh_sandbox.stats()["requetes"]
    assert after["documents"] == before["documents"] + 1


def test_the_synthese_export_has_its_columns(fresh_sandbox: RunningSandbox) -> None:
    with fresh_sandbox.http_client() as client:
        shown = _table(client.get("/factures-emises/synthese", params={"taille": "50"}).text)
        answer = client.get(SYNTHESE_EXPORT)
        page = client.get("/factures-emises/synthese").text
    assert f'action="{SYNTHESE_EXPORT}"' in page
    today = fmt.paris_today().strftime("%Y%m%d")
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="export_synthese_{today}.csv"'
    )
    lines = _csv_rows(answer.content)
    columns = [*HEADER.split(";"), "Acquittée"]
    assert lines[0] == ";".join(columns)
    assert [_collapse(line) for line in lines[1:]] == [_as_shown(r, columns) for r in shown]


# --- « Télécharger » -------------------------------------------------------------------------


def _pdf_objects_are_where_the_xref_says(body: bytes) -> None:
    start = int(body.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert body[start:].startswith(b"xref\n")
    entries = body[start:].split(b"\n")[3:]
    for number, entry in enumerate(entries, start=1):
        if not entry.endswith(b" n "):
            break
        offset = int(entry[:10])
        assert body[offset:].startswith(b"%d 0 obj" % number)


def test_the_download_popup_and_the_pdf_of_an_invoice(fresh_sandbox: RunningSandbox) -> None:
    invoice = next(i for i in fresh_sandbox.invoices() if i["pieces_jointes"])
    path = f"/factures-emises/factures/{invoice['id']}"
    with fresh_sandbox.http_client() as client:
        results = client.get(SEARCH, params={NUMERO: invoice["numero"]}).text
        popup = client.get(path + "/telecharger", headers={"X-Fragment": "1"})
        pdf = client.get(path + "/pdf")
        kept = client.get(path + "/pieces-jointes/1")
    button = re.search(
        r"<button [^>]*data-download=\"([^\"]+)\"[^>]*>Télécharger</button>", results
    )
    assert button is not None and button.group(1) == path + "/telecharger"
    assert f'aria-label="Télécharger la facture {invoice["numero"]}"' in button.group(0)
    text = html.unescape(popup.text)
    assert popup.status_code == 200 and 'role="dialog" aria-modal="true"' in text
    assert f">Télécharger la facture {invoice['numero']}</h2>" in text
    assert f'<a href="{path}/pdf" download>Facture au format PDF</a>' in text
    name = invoice["pieces_jointes"][0]["nom"]
    assert f"<span>{name}</span>" in text and "non disponible" in text  # the seed keeps no file
    assert ">Fermer</button>" in text
    assert kept.status_code == 404
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == (
        f'attachment; filename="facture_{invoice["numero"]}.pdf"'
    )
    body = pdf.content
    assert body.startswith(b"%PDF-1.4\n") and body.endswith(b"%%EOF\n")
    _pdf_objects_are_where_the_xref_says(body)
    amount = fmt.money(Decimal(invoice["montant_ttc"])).replace("\u202f", " ").replace("€", "")
    assert f"(Facture {invoice['numero']})".encode() in body
    assert f"Montant TTC : {amount}".encode("cp1252") in body
    history = fresh_sandbox.invoice(invoice["numero"])["historique"]
    assert history[-1]["action"] == "TELECHARGEMENT_FACTURE"


def test_an_attachment_sent_through_the_portal_can_be_downloaded(
    fresh_sandbox: RunningSandbox,
) -> None:
    source = fresh_sandbox.invoices(status="REJETEE")[0]
    with fresh_sandbox.http_client() as client:
        form = client.get("/factures-emises/saisir").text
        account = re.search(
            r'name="compte_id"[^>]*>\s*<option value="">[^<]*</option><option value="(\d+)"', form
        )
        assert account is not None
        sent = client.post(
            "/factures-emises/saisir",
            data={
                "csrf": csrf_token(form),
                "cadre": "A1",
                "siret_destinataire": source["siret_destinataire"],
                "code_service": source["code_service"],
                "compte_id": account.group(1),
                "type_facture": "FACTURE",
                "numero": "PJ-2026-001",
                "date_facture": source["date_facture"],
                "devise": "EUR",
                "type_tva": "TVA_SUR_DEBIT",
                "mode_paiement": "VIREMENT",
                "numero_engagement": source["numero_engagement"],
                "ligne-1-designation": "Prestation",
                "ligne-1-quantite": "1",
                "ligne-1-prix_unitaire_ht": "10",
                "ligne-1-taux_tva": "20",
                "total_ht": "10.00",
                "total_tva": "2.00",
                "total_ttc": "12.00",
                "action": "envoyer",
            },
            files=[("pieces_jointes", ("bon commande.csv", b"a;b\r\n1;2\r\n", "text/csv"))],
        )
        path = sent.url.path
        popup = html.unescape(client.get(path + "/telecharger", headers={"X-Fragment": "1"}).text)
        attachment = client.get(path + "/pieces-jointes/1")
        beyond = client.get(path + "/pieces-jointes/2")
    assert re.fullmatch(r"/factures-emises/factures/\d+", path)
    assert f'<a href="{path}/pieces-jointes/1" download>bon commande.csv</a>' in popup
    assert attachment.content == b"a;b\r\n1;2\r\n"
    assert attachment.headers["content-type"].startswith("text/csv")
    assert attachment.headers["content-disposition"] == 'attachment; filename="bon_commande.csv"'
    assert beyond.status_code == 404


def test_the_documents_need_a_session_and_the_account_own_invoice(
    fresh_sandbox: RunningSandbox,
) -> None:
    invoice = fresh_sandbox.invoices()[0]
    path = f"/factures-emises/factures/{invoice['id']}"
    with PortalClient(base_url=fresh_sandbox.url, follow_redirects=False, timeout=30) as anon:
        assert anon.get(path + "/telecharger", headers={"X-Fragment": "1"}).status_code == 401
        assert anon.get(path + "/pdf").headers["location"] == "/connexion"
    with fresh_sandbox.http_client() as client:
        for tail in ("/telecharger", "/pdf", "/pieces-jointes/1"):
            answer = client.get("/factures-emises/factures/999999" + tail)
            assert answer.status_code == 404 and "Facture 999999 introuvable." in answer.text


# --- three origins ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    yield from three_origins(tmp_path_factory, "three-origins-exports")


def test_under_cpp_the_export_and_documents_behave_as_every_invoicing_address(
    three: RunningSandbox,
) -> None:
    three.set_faults()
    three.reset()
    cpp, shell = three.origins["cpp"], three.origins["portail"]
    invoice = three.invoices()[0]
    with PortalClient(follow_redirects=False, timeout=30) as anon:
        direct = anon.get(cpp + "/cpp" + EXPORT)
        from_shell = anon.get(cpp + "/cpp" + EXPORT, headers={"Referer": shell + "/"})
        script = anon.get(
            cpp + f"/cpp/factures-emises/factures/{invoice['id']}/telecharger",
            headers={"X-Fragment": "1"},
        )
    assert direct.status_code == 403 and SECURITY_TEXT in html.unescape(direct.text)
    assert from_shell.status_code == 302
    assert from_shell.headers["location"].startswith(three.origins["idp"] + "/auth/realms/")
    assert script.status_code == 401 and script.headers["x-login"] == shell + "/"
    with three.http_client() as client:
        page = client.get(SEARCH).text
        answer = client.get(EXPORT)
        popup = client.get(
            f"/factures-emises/factures/{invoice['id']}/telecharger", headers={"X-Fragment": "1"}
        ).text
    assert f'action="/cpp{EXPORT}"' in page
    assert 'data-download="/cpp/factures-emises/factures/' in page
    assert answer.status_code == 200 and _csv_rows(answer.content)[0] == HEADER
    assert f'href="/cpp/factures-emises/factures/{invoice["id"]}/pdf"' in popup


# --- the widgets' markup -----------------------------------------------------------------------


def test_every_select_of_the_invoicing_pages_is_a_select2_one(
    fresh_sandbox: RunningSandbox,
) -> None:
    recycle = fresh_sandbox.invoices(status="A_RECYCLER")[0]
    with fresh_sandbox.http_client() as client:
        pages = {
            path: client.get(path).text
            for path in (
                SEARCH,
                "/factures-emises/synthese",
                "/factures-emises/saisir",
                f"/factures-emises/factures/{recycle['id']}/recycler",
            )
        }
    for path, page in pages.items():
        selects = re.findall(r"<select [^>]*>", page)
        assert selects, path
        for select in selects:
            assert "data-select2" in select and 'aria-hidden="true"' in select, select
            field_id = re.search(r'id="([^"]+)"', select)
            assert field_id is not None
            wanted = re.escape(f'for="{field_id.group(1)}" id="{field_id.group(1)}-label"')
            assert re.search(rf"<label [^>]*{wanted}", page), select
    assert 'id="GDP_siret_destinataire"' in pages["/factures-emises/saisir"]
    assert 'id="GCU_blocCompte"' in pages[SEARCH]


def test_layout_drift_renames_the_pages_classes_but_not_select2s() -> None:
    css = ".select2-container .panel, .select2-selection--single:focus { color: red }"
    assert drift_css(css, lambda name: "z" + name) == (
        ".select2-container .zpanel, .select2-selection--single:focus { color: red }"
    )
