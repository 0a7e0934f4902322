"""The plan template: Excel-friendly CSV (or JSON) that loads back into the current values."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from pages.records import InvoiceLine, InvoiceRecord
from robot.plan import COLUMNS, INFO_COLUMNS, load_plan
from robot.plan.template import write_plan_template
from scenarios.model import Correction, Kind, Rejection

TODAY = date(2026, 3, 16)
ACCOUNT = "Compte principal - FR76 3000 4008 2200 0123 4567 834"


def line(taux: str, prix: str = "500.00") -> InvoiceLine:
    return InvoiceLine(
        reference="REF-1",
        designation="Prestation",
        quantite=Decimal("2"),
        unite="jour",
        prix_unitaire_ht=Decimal(prix),
        remise=Decimal("0"),
        taux_tva=Decimal(taux),
    )


def rejection(numero: str, **changes: object) -> Rejection:
    record = InvoiceRecord(
        numero=numero,
        statut="Rejetée",
        date_facture=date(2026, 2, 27),
        date_depot=datetime(2026, 3, 2, 9, 30),
        siret_destinataire="11000000700010",
        destinataire="Mairie de Exempleville",
        code_service="SERV-COMPTA",
        numero_engagement="EJ-2026-004512",
        numero_marche="M-2025-118",
        mode_paiement="Virement",
        montant_ht=Decimal("1234.50"),
        montant_tva=Decimal("246.90"),
        montant_ttc=Decimal("1481.40"),
        commentaire="Prestation de février ; phase 2",
        coordonnees_bancaires=ACCOUNT,
        lignes=(line("20", "617.25"),),
    )
    record = dataclasses.replace(record, **changes)  # type: ignore[arg-type]
    return Rejection(
        numero=numero,
        destinataire="Mairie de Exempleville",
        date_depot="02/03/2026 09:30",
        motif="Taux de TVA erroné",
        commentaire='=HYPERLINK("http://exemple.invalid")',
        montant_ttc=Decimal("1481.40"),
        invoice=record,
    )


REJECTIONS = [
    rejection("FAC-2026-0101"),
    rejection(
        "FAC-2026-0102",
        lignes=(line("20"), line("5.5")),
        montant_ht=Decimal("2000.00"),
        montant_tva=Decimal("127.50"),
        montant_ttc=Decimal("2127.50"),
        mode_paiement="cheque",
        commentaire="",
    ),
    Rejection(numero="FAC-2026-0103", motif="Autre", montant_ttc=Decimal("99.90")),
]


def rows_of(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


def fill_new_numbers(path: Path) -> None:
    """What the accountant does in Excel: type a new number per row, save as CSV (;)."""
    rows = rows_of(path)
    for index, row in enumerate(rows, start=1):
        row["nouveau_numero"] = f"FAC-2026-R{index:03d}"
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.DictWriter(stream, COLUMNS, delimiter=";", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def test_template_is_a_french_excel_csv_with_bom_crlf_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "modele.csv"

    write_plan_template(REJECTIONS, path)

    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    assert data.count(b"\r\n") == 4 and b"\n" not in data.replace(b"\r\n", b"")
    header = data[len(codecs.BOM_UTF8) :].split(b"\r\n")[0].decode()
    assert header.split(";") == list(COLUMNS)
    assert header.startswith(
        "numero_rejete;statut;info_motif_rejet;info_commentaire_rejet;info_date_depot;"
        "info_destinataire;info_coordonnees_bancaires;info_lignes;action;nouveau_numero;"
    )


def test_template_prefills_the_current_values_and_leaves_new_numbers_empty(
    tmp_path: Path,
) -> None:
    path = tmp_path / "modele.csv"

    write_plan_template(REJECTIONS, path)

    first, second, bare = rows_of(path)
    assert first["nouveau_numero"] == "" and first["piece_jointe"] == ""
    assert first["action"] == ""  # an untouched row does nothing (see the next tests)
    assert first["date_facture"] == "27/02/2026"
    assert (first["montant_ht"], first["remise"], first["taux_tva"], first["montant_ttc"]) == (
        "1234,50",
        "0,00",
        "20",
        "1481,40",
    )
    assert first["siret_destinataire"] == "110 000 007 00010"  # stays text in Excel
    assert first["coordonnees_bancaires"] == ""  # kept unless named: shown, not prefilled
    assert first["info_coordonnees_bancaires"] == ACCOUNT
    assert first["info_motif_rejet"] == "Taux de TVA erroné"
    assert first["info_date_depot"] == "02/03/2026 09:30"
    assert first["info_lignes"] == "1"
    assert first["commentaire"] == "Prestation de février ; phase 2"
    assert second["taux_tva"] == ""  # two rates on its lines: no single rate to show
    assert second["mode_paiement"] == "Chèque"
    assert bare["montant_ttc"] == "99,90" and bare["montant_ht"] == ""


def test_template_neutralises_formulas_typed_by_the_public_client(tmp_path: Path) -> None:
    path = tmp_path / "modele.csv"

    write_plan_template(REJECTIONS[:1], path)

    assert rows_of(path)[0]["info_commentaire_rejet"] == '\'=HYPERLINK("http://exemple.invalid")'


def test_filled_template_loads_into_corrections_equal_to_the_current_values(
    tmp_path: Path,
) -> None:
    path = tmp_path / "modele.csv"
    write_plan_template(REJECTIONS, path)
    fill_new_numbers(path)

    first, second, bare = load_plan(path, today=TODAY).corrections

    assert first == Correction(
        numero_rejete="FAC-2026-0101",
        nouveau_numero="FAC-2026-R001",
        date_facture=date(2026, 2, 27),
        montant_ht=Decimal("1234.50"),
        taux_tva=Decimal("20"),
        numero_engagement="EJ-2026-004512",
        code_service="SERV-COMPTA",
        siret_destinataire="11000000700010",
        numero_marche="M-2025-118",
        mode_paiement="Virement",
        commentaire="Prestation de février ; phase 2",
        source_line=2,
        remise=Decimal("0.00"),
    )
    # Several lines: neither their total nor a discount is prefilled (they cannot change).
    assert (second.taux_tva, second.montant_ht, second.remise, second.commentaire) == (
        None,
        None,
        None,
        None,
    )
    assert bare.overrides() == {}


def test_json_template_loads_into_the_same_corrections_as_the_csv_one(tmp_path: Path) -> None:
    csv_path, json_path = tmp_path / "modele.csv", tmp_path / "modele.json"
    write_plan_template(REJECTIONS, csv_path)
    write_plan_template(REJECTIONS, json_path)
    fill_new_numbers(csv_path)
    document = json.loads(json_path.read_text(encoding="utf-8"))
    for index, row in enumerate(document["corrections"], start=1):
        assert row["nouveau_numero"] == ""
        row["nouveau_numero"] = f"FAC-2026-R{index:03d}"
    json_path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    from_csv = load_plan(csv_path, today=TODAY).corrections
    from_json = load_plan(json_path, today=TODAY).corrections

    assert document["corrections"][0]["montant_ht"] == "1234.50"
    assert [c.overrides() for c in from_json] == [c.overrides() for c in from_csv]
    assert [c.source_line for c in from_json] == [1, 2, 3]


def test_template_for_no_rejection_has_only_the_header(tmp_path: Path) -> None:
    path = tmp_path / "vide" / "modele.csv"

    write_plan_template([], path)

    assert path.read_bytes() == codecs.BOM_UTF8 + ";".join(COLUMNS).encode() + b"\r\n"


def test_the_work_list_template_has_a_row_per_kind_that_loads_once_filled_in(
    tmp_path: Path,
) -> None:
    suspended = dataclasses.replace(rejection("FAC-2026-0201"), statut="Suspendue")
    to_recycle = dataclasses.replace(rejection("FAC-2026-0301"), statut="À recycler")
    path = tmp_path / "plan.csv"
    write_plan_template([rejection("FAC-2026-0101"), suspended, to_recycle], path)
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig")), delimiter=";"))

    assert [row["statut"] for row in rows] == ["Rejetée", "Suspendue", "À recycler"]
    corrections = [c for c in COLUMNS if c not in {"numero_rejete", "nouveau_numero"}]
    informational = {"statut", *INFO_COLUMNS}
    for row in rows[1:]:  # what changes is the accountant's to say
        assert all(row[c] == "" for c in corrections if c not in informational), row

    rows[0]["nouveau_numero"] = "FAC-2026-0101-R"
    rows[1]["commentaire"] = "Bon de livraison joint"
    rows[2]["code_service"] = "SERV-FIN"
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    kinds = [c.kind for c in load_plan(path, today=TODAY).corrections]

    assert kinds == [Kind.REJECTED, Kind.SUSPENDED, Kind.TO_RECYCLE]
