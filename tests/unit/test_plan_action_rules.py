"""What a plan row asks for (``action``), the columns a reissue needs (``confirmer_reemission``,
``coordonnees_bancaires``, ``remise``), the lines sheet (``--lignes``), the template an
accountant fills, and messages that name the invoice."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pages.records import InvoiceLine, InvoiceRecord
from robot.plan import COLUMNS, Plan, PlanError, PlanIssue, load_plan, write_plan_template
from robot.run.journal import TransactionRow
from robot.run.outcomes import exit_code_of
from robot.run.states import SUCCEEDED, State
from robot.run.worker import correction_text
from scenarios.model import Action, Correction, Kind, Rejection

TODAY = date(2026, 3, 16)
IBAN = "FR76 3000 4008 2200 0123 4567 834"


def csv_file(path: Path, *rows: Mapping[str, str]) -> Path:
    """A `;` UTF-8 CRLF file whose header is every column the rows use, in order."""
    columns = list(dict.fromkeys(name for row in rows for name in row))
    lines = [";".join(columns)] + [";".join(row.get(c, "") for c in columns) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def plan_of(tmp_path: Path, *rows: Mapping[str, str]) -> Path:
    return csv_file(tmp_path / "plan.csv", *rows)


def load(path: Path, lines: Path | None = None) -> Plan:
    return load_plan(path, lines=lines, today=TODAY)


def issues_of(path: Path, lines: Path | None = None) -> list[PlanIssue]:
    with pytest.raises(PlanError) as caught:
        load(path, lines)
    return caught.value.issues


def brief(issues: list[PlanIssue]) -> list[tuple[int, str, str]]:
    return [(i.line, i.column, i.message) for i in issues]


def rejected(numero: str = "FAC-1", action: str = "", nouveau: str = "", **cells: str) -> dict:
    return {"numero_rejete": numero, "action": action, "nouveau_numero": nouveau, **cells}


# -- action --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("reemettre", Action.REISSUE),
        ("Réémettre", Action.REISSUE),
        ("ACQUITTER", Action.ACKNOWLEDGE),
        ("ignorer", Action.IGNORE),
    ],
)
def test_an_action_is_read_whatever_its_case_and_accents(
    tmp_path: Path, written: str, expected: Action
) -> None:
    nouveau = "FAC-1-R" if expected is Action.REISSUE else ""
    (correction,) = load(plan_of(tmp_path, rejected(action=written, nouveau=nouveau)))

    assert correction.work is expected
    assert correction.kind is Kind.REJECTED


def test_a_rejection_is_reissued_by_default_and_its_action_left_unsaid(tmp_path: Path) -> None:
    (correction,) = load(plan_of(tmp_path, {"numero_rejete": "FAC-1", "nouveau_numero": "R-1"}))

    assert correction.action is None and correction.work is Action.REISSUE


def test_an_unknown_action_lists_the_known_ones(tmp_path: Path) -> None:
    path = plan_of(tmp_path, rejected(action="annuler", nouveau="R-1"))

    assert brief(issues_of(path)) == [
        (
            2,
            "action",
            "action « annuler » inconnue (reemettre, acquitter, completer, recycler, ignorer "
            "attendu)",
        )
    ]


def test_an_action_that_does_not_fit_the_rows_statut_is_refused(tmp_path: Path) -> None:
    path = plan_of(
        tmp_path, {"numero_rejete": "FAC-1", "statut": "Suspendue", "action": "reemettre"}
    )

    assert brief(issues_of(path)) == [
        (
            2,
            "action",
            "action « reemettre » impossible pour une facture « Suspendue » (possibles : "
            "completer, ignorer)",
        )
    ]


def test_an_action_says_the_kind_when_no_statut_does(tmp_path: Path) -> None:
    (tmp_path / "pv.pdf").write_bytes(b"%PDF-1.4")
    plan = load(
        plan_of(
            tmp_path,
            {"numero_rejete": "FAC-1", "action": "completer", "piece_jointe": "pv.pdf"},
            {"numero_rejete": "FAC-2", "action": "recycler", "code_service": "FIN"},
            {"numero_rejete": "FAC-3", "action": "acquitter"},
        )
    )

    assert [(c.kind, c.work) for c in plan] == [
        (Kind.SUSPENDED, Action.COMPLETE),
        (Kind.TO_RECYCLE, Action.RECYCLE),
        (Kind.REJECTED, Action.ACKNOWLEDGE),
    ]


def test_with_an_action_column_a_row_that_says_nothing_to_do_is_ignored(tmp_path: Path) -> None:
    plan = load(
        plan_of(
            tmp_path,
            rejected("FAC-1", nouveau="FAC-1-R"),
            rejected("FAC-2", statut="Rejetée", date_facture="02/03/2026", commentaire="Écrit"),
            {"numero_rejete": "FAC-3", "statut": "Suspendue"},
            {"numero_rejete": "FAC-4", "statut": "À recycler"},
        )
    )

    assert [c.work for c in plan] == [
        Action.REISSUE,
        Action.IGNORE,
        Action.IGNORE,
        Action.IGNORE,
    ]


def test_without_an_action_column_a_missing_number_is_an_error_saying_how_to_skip(
    tmp_path: Path,
) -> None:
    path = plan_of(tmp_path, {"numero_rejete": "FAC-1", "nouveau_numero": ""})

    ((line, column, message),) = brief(issues_of(path))

    assert (line, column) == (2, "nouveau_numero")
    assert message.startswith("valeur obligatoire manquante")
    assert "retirez la ligne ou mettez action=ignorer" in message
    assert "action=acquitter" in message


def test_an_explicit_reissue_without_a_number_is_an_error(tmp_path: Path) -> None:
    path = plan_of(tmp_path, rejected(action="reemettre"))

    assert [(i.column, i.message.split(" :")[0]) for i in issues_of(path)] == [
        ("nouveau_numero", "valeur obligatoire manquante")
    ]


def test_a_row_with_an_attachment_but_no_number_is_missing_its_number_not_ignored(
    tmp_path: Path,
) -> None:
    (tmp_path / "bon.pdf").write_bytes(b"%PDF-1.4")
    path = plan_of(tmp_path, {**rejected(), "statut": "Rejetée", "piece_jointe": "bon.pdf"})

    assert [i.column for i in issues_of(path)] == ["nouveau_numero"]


def test_acknowledging_only_drops_the_corrections_and_wants_no_new_number(tmp_path: Path) -> None:
    (correction,) = load(
        plan_of(tmp_path, rejected(action="acquitter", montant_ht="10,00", code_service="FIN"))
    )

    assert correction.work is Action.ACKNOWLEDGE
    assert correction.nouveau_numero == "" and correction.overrides() == {}


def test_acknowledging_only_with_a_new_number_or_an_attachment_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bon.pdf").write_bytes(b"%PDF-1.4")
    path = plan_of(
        tmp_path,
        rejected(action="acquitter", nouveau="FAC-1-R", piece_jointe="bon.pdf"),
        rejected("FAC-2", action="acquitter", confirmer_reemission="oui"),
    )

    found = [(i.line, i.column) for i in issues_of(path)]

    assert found == [(2, "nouveau_numero"), (2, "piece_jointe"), (3, "confirmer_reemission")]


def test_an_ignored_row_is_still_checked_then_asks_for_nothing(tmp_path: Path) -> None:
    path = plan_of(
        tmp_path,
        rejected("FAC-1", action="ignorer", nouveau="FAC 1", date_facture="31/02/2026"),
    )

    assert [(i.column, i.message) for i in issues_of(path)] == [
        (
            "nouveau_numero",
            "le numéro « FAC 1 » contient des caractères refusés par le portail (espace) : "
            "seuls les lettres, les chiffres et - _ / + sont admis",
        ),
        ("date_facture", "la date « 31/02/2026 » n'existe pas"),
    ]


def test_an_ignored_rows_number_is_neither_kept_nor_a_duplicate(tmp_path: Path) -> None:
    plan = load(
        plan_of(
            tmp_path,
            rejected("FAC-1", action="ignorer", nouveau="NEW-1", montant_ht="10,00"),
            rejected("FAC-2", nouveau="NEW-1"),
        )
    )

    ignored, reissued = plan.corrections
    assert ignored.work is Action.IGNORE
    assert (ignored.nouveau_numero, ignored.overrides()) == ("", {})
    assert reissued.nouveau_numero == "NEW-1"


def test_a_plan_of_acknowledgements_needs_no_new_number_column(tmp_path: Path) -> None:
    path = csv_file(tmp_path / "plan.csv", {"numero_rejete": "FAC-1", "action": "acquitter"})

    (correction,) = load(path)

    assert correction.work is Action.ACKNOWLEDGE


# -- confirmer_reemission, coordonnees_bancaires, remise -------------------------------------


@pytest.mark.parametrize(("written", "expected"), [("oui", True), ("X", True), ("non", False)])
def test_confirmation_of_a_reissue_reads_yes_or_no(
    tmp_path: Path, written: str, expected: bool
) -> None:
    (correction,) = load(plan_of(tmp_path, rejected(nouveau="R-1", confirmer_reemission=written)))

    assert correction.confirmer_reemission is expected


def test_a_confirmation_that_is_neither_yes_nor_no_is_refused(tmp_path: Path) -> None:
    path = plan_of(tmp_path, rejected(nouveau="R-1", confirmer_reemission="peut-être"))

    assert brief(issues_of(path)) == [
        (2, "confirmer_reemission", "« peut-être » : oui ou non attendu")
    ]


def test_bank_account_by_label_or_iban_and_discount_are_read(tmp_path: Path) -> None:
    first, second = load(
        plan_of(
            tmp_path,
            rejected(nouveau="R-1", coordonnees_bancaires="Compte principal", remise="12,50"),
            rejected("FAC-2", nouveau="R-2", coordonnees_bancaires=IBAN),
        )
    )

    assert (first.coordonnees_bancaires, first.remise) == ("Compte principal", Decimal("12.50"))
    assert second.coordonnees_bancaires == IBAN
    assert first.overrides()["remise"] == Decimal("12.50")


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        (
            {"coordonnees_bancaires": "FR76 3000 4008 2200 0123 4567 800"},
            "coordonnees_bancaires",
            "l'IBAN FR76 3000 4008 2200 0123 4567 800 est invalide (clé de contrôle)",
        ),
        ({"remise": "-5"}, "remise", "le montant « -5 » est négatif"),
        ({"remise": "5,123"}, "remise", "le montant « 5,123 » a plus de 2 décimales"),
    ],
)
def test_a_wrong_bank_account_or_discount_is_reported(
    tmp_path: Path, cells: dict[str, str], column: str, message: str
) -> None:
    path = plan_of(tmp_path, rejected(nouveau="R-1", **cells))

    assert brief(issues_of(path)) == [(2, column, message)]


@pytest.mark.parametrize("column", ["remise", "coordonnees_bancaires", "confirmer_reemission"])
def test_new_invoice_columns_do_not_apply_to_an_invoice_that_keeps_its_number(
    tmp_path: Path, column: str
) -> None:
    path = plan_of(
        tmp_path,
        {
            "numero_rejete": "FAC-1",
            "nouveau_numero": "",
            "statut": "À recycler",
            "code_service": "FIN",
            column: "oui",
        },
    )

    found = [(i.column, i.message) for i in issues_of(path)]

    assert (column, found[0][1]) in found
    assert found[0][1].startswith("ne s'applique pas à une facture à recycler")


# -- messages name the invoice ---------------------------------------------------------------


def test_every_issue_names_file_line_invoice_and_column(tmp_path: Path) -> None:
    path = plan_of(tmp_path, rejected("FAC-2026-00012", nouveau="R-1", date_facture="demain"))

    (issue,) = issues_of(path)

    assert str(issue) == (
        f"{path} ligne 2 (facture FAC-2026-00012), colonne date_facture : « demain » n'est pas "
        "une date (JJ/MM/AAAA ou AAAA-MM-JJ attendu)"
    )


def test_a_json_plans_issue_names_its_element(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps([{"numero_rejete": "FAC-7", "nouveau_numero": "R 7"}]))

    (issue,) = issues_of(path)

    assert str(issue).startswith(f"{path} élément 1 (facture FAC-7), colonne nouveau_numero : ")


# -- informative columns ---------------------------------------------------------------------


def test_informative_columns_old_and_new_are_accepted_and_ignored(tmp_path: Path) -> None:
    path = plan_of(
        tmp_path,
        {
            "numero_rejete": "FAC-1",
            "nouveau_numero": "R-1",
            "destinataire": "Mairie corrigée à la main",
            "motif_rejet": "Autre",
            "commentaire_rejet": "=1+1",
            "date_depot": "hier",
            "info_lignes": "3",
            "info_note_du_comptable": "à voir avec Paul",
        },
    )

    (correction,) = load(path)

    assert correction.overrides() == {}


def test_statut_still_decides_the_kind_of_an_old_plan(tmp_path: Path) -> None:
    path = plan_of(
        tmp_path,
        {
            "numero_rejete": "F-1",
            "nouveau_numero": "",
            "statut": "À recycler",
            "code_service": "FIN",
        },
    )

    (correction,) = load(path)

    assert (correction.kind, correction.work) == (Kind.TO_RECYCLE, Action.RECYCLE)


# -- the lines sheet -------------------------------------------------------------------------


def lines_of(tmp_path: Path, *rows: Mapping[str, str]) -> Path:
    return csv_file(tmp_path / "lignes.csv", *rows)


def sheet_line(numero: str = "FAC-1", **cells: str) -> dict[str, str]:
    return {
        "numero_rejete": numero,
        "designation": "Audit",
        "quantite": "2",
        "unite": "jour",
        "prix_unitaire_ht": "500,00",
        "remise": "",
        "taux_tva": "20",
        **cells,
    }


def test_the_lines_sheet_replaces_the_lines_of_its_invoices(tmp_path: Path) -> None:
    plan_path = plan_of(tmp_path, rejected(nouveau="FAC-1-R"), rejected("FAC-2", nouveau="FAC-2-R"))
    lines = lines_of(
        tmp_path,
        sheet_line(remise="100,00"),
        sheet_line(designation="Formation", quantite="1,5", prix_unitaire_ht="800", taux_tva="10"),
    )

    plan = load(plan_path, lines)

    first, second = plan.corrections
    assert first.lignes == (
        InvoiceLine(
            "", "Audit", Decimal(2), "jour", Decimal("500.00"), Decimal("100.00"), Decimal(20)
        ),
        InvoiceLine(
            "", "Formation", Decimal("1.5"), "jour", Decimal("800.00"), Decimal("0.00"), Decimal(10)
        ),
    )
    assert second.lignes == ()
    assert plan.lines_path == lines
    assert (
        "Audit — 2 jour × 500,00 € HT, remise 100,00 €, TVA 20 %"
        in correction_text(first)["lignes"]
    )


def test_a_json_lines_sheet_loads_and_takes_the_plans_rate_when_a_line_has_none(
    tmp_path: Path,
) -> None:
    plan_path = plan_of(tmp_path, rejected(nouveau="FAC-1-R", taux_tva="5,5"))
    lines = tmp_path / "lignes.json"
    lines.write_text(
        json.dumps(
            {
                "lignes": [
                    {"numero_rejete": "FAC-1", "designation": "Repas", "quantite": 3,
                     "prix_unitaire_ht": "12.00", "reference": "R-9"},
                ]
            }
        )
    )  # fmt: skip

    (correction,) = load(plan_path, lines).corrections

    assert correction.lignes == (
        InvoiceLine(
            "R-9", "Repas", Decimal(3), "", Decimal("12.00"), Decimal("0.00"), Decimal("5.5")
        ),
    )


def test_lines_sheet_problems_name_its_file_line_invoice_and_column(tmp_path: Path) -> None:
    plan_path = plan_of(tmp_path, rejected(nouveau="FAC-1-R"))
    lines = lines_of(
        tmp_path,
        sheet_line(quantite="0"),
        sheet_line(designation="", prix_unitaire_ht="douze"),
        sheet_line(remise="1 500,00"),
        sheet_line(taux_tva=""),
    )

    issues = issues_of(plan_path, lines)

    assert [(i.file, i.line, i.invoice, i.column) for i in issues] == [
        (str(lines), 2, "FAC-1", "quantite"),
        (str(lines), 3, "FAC-1", "designation"),
        (str(lines), 3, "FAC-1", "prix_unitaire_ht"),
        (str(lines), 4, "FAC-1", "remise"),
        (str(lines), 5, "FAC-1", "taux_tva"),
    ]
    assert str(issues[3]) == (
        f"{lines} ligne 4 (facture FAC-1), colonne remise : la remise 1 500,00 dépasse le "
        "montant de la ligne (2 × 500,00 = 1 000,00)"
    )
    assert issues[4].message.startswith("taux de TVA manquant")


def test_a_lines_sheet_naming_an_invoice_not_in_the_plan_is_refused(tmp_path: Path) -> None:
    plan_path = plan_of(tmp_path, rejected(nouveau="FAC-1-R"))
    lines = lines_of(tmp_path, sheet_line("FAC-9"), sheet_line("FAC-9"))

    (issue,) = issues_of(plan_path, lines)

    assert (issue.line, issue.invoice, issue.column) == (2, "FAC-9", "numero_rejete")
    assert issue.message.startswith("la facture FAC-9 n'est pas dans le plan")


def test_plan_and_lines_sheet_problems_are_listed_together(tmp_path: Path) -> None:
    plan_path = plan_of(tmp_path, rejected(nouveau="FAC-1-R", date_facture="hier"))
    lines = lines_of(tmp_path, sheet_line(quantite="beaucoup"))

    issues = issues_of(plan_path, lines)

    assert [(Path(i.file).name, i.column) for i in issues] == [
        ("plan.csv", "date_facture"),
        ("lignes.csv", "quantite"),
    ]


def test_plan_cells_must_agree_with_the_lines_they_get(tmp_path: Path) -> None:
    plan_path = plan_of(
        tmp_path,
        rejected(nouveau="FAC-1-R", montant_ht="1 000,00", remise="0,00", taux_tva="20"),
    )
    lines = lines_of(tmp_path, sheet_line(remise="50,00"), sheet_line(taux_tva="10"))

    found = [(Path(i.file).name, i.column) for i in issues_of(plan_path, lines)]

    assert found == [("plan.csv", "montant_ht"), ("plan.csv", "remise"), ("plan.csv", "taux_tva")]


def test_plan_cells_that_agree_with_the_lines_are_accepted(tmp_path: Path) -> None:
    plan_path = plan_of(
        tmp_path,
        rejected(nouveau="FAC-1-R", montant_ht="900,00", remise="100,00", taux_tva="20"),
    )
    lines = lines_of(tmp_path, sheet_line(remise="100,00", taux_tva=""))

    (correction,) = load(plan_path, lines).corrections

    assert correction.lignes[0].montant_ht == Decimal("900.00")


def test_lines_for_a_row_that_issues_no_invoice_are_refused(tmp_path: Path) -> None:
    plan_path = plan_of(tmp_path, rejected(action="acquitter"))
    lines = lines_of(tmp_path, sheet_line())

    (issue,) = issues_of(plan_path, lines)

    assert (Path(issue.file).name, issue.column) == ("lignes.csv", "numero_rejete")
    assert "ne réémet pas la facture FAC-1 (action acquitter)" in issue.message


def test_lines_without_a_new_number_in_the_plan_are_a_missing_number(tmp_path: Path) -> None:
    plan_path = plan_of(tmp_path, rejected())
    lines = lines_of(tmp_path, sheet_line())

    (issue,) = issues_of(plan_path, lines)

    assert (Path(issue.file).name, issue.column) == ("plan.csv", "nouveau_numero")


def test_lines_of_an_ignored_row_are_checked_but_not_used(tmp_path: Path) -> None:
    plan_path = plan_of(tmp_path, rejected(action="ignorer"))

    (correction,) = load(plan_path, lines_of(tmp_path, sheet_line())).corrections
    assert correction.lignes == ()
    assert [
        i.column for i in issues_of(plan_path, lines_of(tmp_path, sheet_line(quantite="")))
    ] == ["quantite"]


def test_a_missing_lines_sheet_is_reported_under_its_own_name(tmp_path: Path) -> None:
    plan_path = plan_of(tmp_path, rejected(nouveau="FAC-1-R"))

    (issue,) = issues_of(plan_path, tmp_path / "absent.csv")

    assert str(issue) == f"{tmp_path / 'absent.csv'} : le fichier est introuvable"


def test_a_plan_read_without_a_lines_sheet_has_no_lines_path(tmp_path: Path) -> None:
    plan = load(plan_of(tmp_path, rejected(nouveau="FAC-1-R")))

    assert plan.lines_path is None
    assert Plan(plan.path, plan.corrections) == plan  # built from its two parts (fleet)


# -- the template ----------------------------------------------------------------------------


def _line(taux: str = "20", remise: str = "0.00") -> InvoiceLine:
    return InvoiceLine(
        "R", "Audit", Decimal(2), "jour", Decimal("500.00"), Decimal(remise), Decimal(taux)
    )


def _rejection(
    numero: str, motif: str = "Autre", *lines: InvoiceLine, statut: str = "Rejetée"
) -> Rejection:
    lines = lines or (_line(),)
    record = InvoiceRecord(
        numero=numero,
        statut=statut,
        date_facture=date(2026, 2, 27),
        siret_destinataire="11000000700010",
        code_service="SERV-COMPTA",
        mode_paiement="Virement",
        coordonnees_bancaires=f"Compte principal - {IBAN}",
        montant_ht=sum((line.montant_ht for line in lines), Decimal("0.00")),
        montant_ttc=Decimal("1200.00"),
        commentaire="Prestation de février",
        lignes=lines,
    )
    return Rejection(numero=numero, motif=motif, statut=statut, invoice=record)


TEMPLATE = [
    _rejection("FAC-1", "Taux de TVA erroné"),
    _rejection("FAC-2", "Facture en doublon", _line(), _line("10")),
    _rejection("FAC-3", "Pièce justificative manquante", statut="Suspendue"),
    _rejection("FAC-4", "Code service erroné", statut="À recycler"),
]


def template_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig")), delimiter=";"))


def write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.DictWriter(stream, COLUMNS, delimiter=";", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize("name", ["modele.csv", "modele.json"])
def test_an_untouched_template_loads_and_asks_for_nothing(tmp_path: Path, name: str) -> None:
    path = tmp_path / name

    write_plan_template(TEMPLATE, path)

    assert [c.work for c in load(path)] == [Action.IGNORE] * 4


def test_a_template_row_given_a_new_number_is_reissued_with_its_current_values(
    tmp_path: Path,
) -> None:
    path = tmp_path / "modele.csv"
    write_plan_template(TEMPLATE, path)
    rows = template_rows(path)
    rows[0]["nouveau_numero"] = "FAC-1-R"
    write_rows(path, rows)

    first, *others = load(path)

    assert (first.work, first.nouveau_numero, first.kind) == (
        Action.REISSUE,
        "FAC-1-R",
        Kind.REJECTED,
    )
    assert first.coordonnees_bancaires is None  # the rejected invoice's, kept
    assert (first.montant_ht, first.remise) == (Decimal("1000.00"), Decimal("0.00"))
    assert [c.work for c in others] == [Action.IGNORE] * 3


def test_the_template_separates_what_is_read_from_what_informs(tmp_path: Path) -> None:
    path = tmp_path / "modele.csv"

    write_plan_template(TEMPLATE, path)

    single, several, suspended, _ = template_rows(path)
    assert list(single)[:9] == [
        "numero_rejete",
        "statut",
        "info_motif_rejet",
        "info_commentaire_rejet",
        "info_date_depot",
        "info_destinataire",
        "info_coordonnees_bancaires",
        "info_lignes",
        "action",
    ]
    assert "destinataire" not in single and "motif_rejet" not in single
    assert (single["info_lignes"], single["montant_ht"], single["remise"]) == (
        "1",
        "1000,00",
        "0,00",
    )
    # Several lines: their total and discount cannot change from the plan.
    assert (several["info_lignes"], several["montant_ht"], several["remise"]) == ("2", "", "")
    assert several["info_motif_rejet"] == "Facture en doublon"
    assert single["info_coordonnees_bancaires"] == f"Compte principal - {IBAN}"
    assert single["coordonnees_bancaires"] == ""
    assert suspended["action"] == "" and suspended["piece_jointe"] == ""


# -- states --------------------------------------------------------------------------------------


def test_an_ignored_transaction_is_final_labelled_in_french_and_counted_as_done() -> None:
    assert (State.IGNORED.label, State.IGNORED.final) == ("Ignorée", True)
    assert State.IGNORED in SUCCEEDED


def test_correction_text_says_the_action_and_the_confirmation() -> None:
    correction = Correction("FAC-1", "", kind=Kind.REJECTED, action=Action.ACKNOWLEDGE)
    confirmed = Correction("FAC-2", "R-2", confirmer_reemission=True, remise=Decimal("5.00"))

    assert correction_text(correction) == {"nature": "rejetee", "action": "acquitter"}
    assert correction_text(confirmed) == {
        "nature": "rejetee",
        "action": "reemettre",
        "confirmer_reemission": "oui",
        "remise": "5.00",
    }


def test_a_run_whose_transactions_are_done_or_ignored_exits_with_zero() -> None:
    rows = [
        TransactionRow(n, f"FAC-{n}", "", {}, state, "", "")
        for n, state in enumerate((State.DONE, State.IGNORED), start=1)
    ]

    assert exit_code_of(rows) == 0


def test_a_reissue_in_a_plan_without_a_new_number_column_is_missing_its_number(
    tmp_path: Path,
) -> None:
    path = csv_file(tmp_path / "plan.csv", {"numero_rejete": "FAC-1", "action": "reemettre"})

    assert [(i.line, i.column) for i in issues_of(path)] == [(2, "nouveau_numero")]


def test_the_work_a_plan_asks_for_leaves_its_ignored_rows_out(tmp_path: Path) -> None:
    plan = load(
        plan_of(
            tmp_path,
            rejected("FAC-1", nouveau="FAC-1-R"),
            {"numero_rejete": "FAC-2", "statut": "À recycler", "action": "ignorer"},
        )
    )

    assert plan.kinds() == (Kind.REJECTED,)


def test_a_json_plan_holds_the_same_columns(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(
        json.dumps(
            {
                "corrections": [
                    {"numero_rejete": "FAC-1", "action": "acquitter"},
                    {"numero_rejete": "FAC-2", "nouveau_numero": "R-2", "remise": "MARK",
                     "coordonnees_bancaires": IBAN, "confirmer_reemission": "oui"},
                    {"numero_rejete": "FAC-3", "action": "Ignorer", "info_lignes": 2},
                    {"numero_rejete": "FAC-4"},
                ]
            }
        ).replace('"MARK"', "12.5")
    )  # fmt: skip

    acknowledged, reissued, ignored, untouched = load(path)

    assert acknowledged.work is Action.ACKNOWLEDGE
    assert (reissued.remise, reissued.coordonnees_bancaires) == (Decimal("12.50"), IBAN)
    assert reissued.confirmer_reemission and reissued.work is Action.REISSUE
    assert ignored.work is Action.IGNORE
    assert untouched.work is Action.IGNORE  # an object that says nothing to do


def test_a_transaction_registered_with_lines_is_not_carried_without_them() -> None:
    from robot.run.worker import _lines_changed

    lines = (InvoiceLine("", "Audit", Decimal(1), "", Decimal("10.00"), Decimal(0), Decimal(20)),)
    with_lines = Correction("FAC-1", "R-1", lignes=lines)
    registered = TransactionRow(
        1, "FAC-1", "R-1", correction_text(with_lines), State.PENDING, "", ""
    )

    assert not _lines_changed(registered, with_lines)
    assert _lines_changed(registered, Correction("FAC-1", "R-1"))  # a resume without --lignes
    assert not _lines_changed(
        TransactionRow(2, "FAC-2", "R-2", {"nature": "rejetee"}, State.PENDING, "", ""),
        Correction("FAC-2", "R-2"),
    )
