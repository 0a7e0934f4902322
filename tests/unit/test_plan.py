"""Loading and validating plans: messy real-world files, every validation problem, JSON."""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from robot.plan import Plan, PlanError, PlanIssue, load_plan, numero_is_valid
from scenarios.model import Correction, Kind

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 3, 16)
BASE = {"numero_rejete": "FAC-2026-0101", "nouveau_numero": "FAC-2026-0101-R1"}


def write(tmp_path: Path, content: bytes, name: str = "plan.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def csv_plan(tmp_path: Path, *rows: Mapping[str, str]) -> Path:
    """A plain `;` UTF-8 CRLF plan whose header is every column the rows use, in order."""
    columns = list(dict.fromkeys(name for row in rows for name in row))
    lines = [";".join(columns)] + [";".join(row.get(c, "") for c in columns) for row in rows]
    return write(tmp_path, ("\r\n".join(lines) + "\r\n").encode())


def load(path: Path) -> Plan:
    return load_plan(path, today=TODAY)


def issues_of(path: Path) -> list[PlanIssue]:
    with pytest.raises(PlanError) as caught:
        load(path)
    return caught.value.issues


def brief(issues: list[PlanIssue]) -> list[tuple[int, str, str]]:
    return [(i.line, i.column, i.message) for i in issues]


# -- messy files, as spreadsheets write them ------------------------------------------------


def test_excel_utf8_export_with_bom_crlf_blank_lines_and_french_numbers_loads(
    tmp_path: Path,
) -> None:
    content = (
        codecs.BOM_UTF8
        + b"Numero_Rejete ;NOUVEAU_NUMERO; Montant_HT ;taux_tva;montant_ttc;date_facture;"
        b"siret_destinataire;mode_paiement;commentaire;;\r\n"
        b"\r\n"
        b"FAC-1 ; FAC-1-R ;1\xe2\x80\xaf234,56;20 %;1\xc2\xa0481,47;05/03/2026;"
        b"732 829 320 00074 ;Ch\xc3\xa8que ;Remise corrig\xc3\xa9e  ;;\r\n"
        b";;;;;;;;;;\r\n"
        b"   \r\n"
        b'FAC-2;FAC-2-R;1234.5;5,5;;2026-03-01;;PRELEVEMENT;"Ligne 1\r\nLigne 2 ; suite";;\r\n'
        b"FAC-3;FAC-3-R;;;;;;;;;\r\n"
    )

    plan = load(write(tmp_path, content))

    first, second, third = plan.corrections
    assert first == Correction(
        numero_rejete="FAC-1",
        nouveau_numero="FAC-1-R",
        date_facture=date(2026, 3, 5),
        montant_ht=Decimal("1234.56"),
        taux_tva=Decimal("20"),
        siret_destinataire="73282932000074",
        mode_paiement="Chèque",
        commentaire="Remise corrigée",
        source_line=3,
    )
    assert (second.montant_ht, second.taux_tva, second.date_facture) == (
        Decimal("1234.50"),
        Decimal("5.5"),
        date(2026, 3, 1),
    )
    assert second.mode_paiement == "Prélèvement"
    assert second.commentaire == "Ligne 1\r\nLigne 2 ; suite"
    assert (second.source_line, third.source_line) == (6, 8)
    assert third.overrides() == {}


def test_excel_windows_1252_export_is_decoded(tmp_path: Path) -> None:
    content = (
        b"numero_rejete;nouveau_numero;mode_paiement;montant_ht;commentaire\r\n"
        b"FAC-1;FAC-1-R;Esp\xe8ce;1 234,56 \x80;R\xe9vision du prix : 10 \x80 de remise\r\n"
    )

    (correction,) = load(write(tmp_path, content)).corrections

    assert correction.mode_paiement == "Espèce"
    assert correction.montant_ht == Decimal("1234.56")
    assert correction.commentaire == "Révision du prix : 10 € de remise"


def test_comma_delimited_file_with_quoted_decimal_comma_and_iso_dates_loads(
    tmp_path: Path,
) -> None:
    content = (
        b"numero_rejete,nouveau_numero,montant_ht,taux_tva,date_facture\n"
        b'FAC-1,FAC-1-R,"1 234,56","5,5",2026-03-05\n'
        b"FAC-2,FAC-2-R,99.90,2.1,\n"
    )

    first, second = load(write(tmp_path, content)).corrections

    assert (first.montant_ht, first.taux_tva, first.date_facture) == (
        Decimal("1234.56"),
        Decimal("5.5"),
        date(2026, 3, 5),
    )
    assert (second.montant_ht, second.taux_tva) == (Decimal("99.90"), Decimal("2.1"))


def test_unicode_text_export_utf16_with_tabs_loads(tmp_path: Path) -> None:
    text = "numero_rejete\tnouveau_numero\tcode_service\r\nFAC-1\tFAC-1-R\tSERV-É1\r\n"

    (correction,) = load(write(tmp_path, text.encode("utf-16"), "plan.txt")).corrections

    assert (correction.nouveau_numero, correction.code_service) == ("FAC-1-R", "SERV-É1")


def test_unquoted_decimal_comma_in_a_comma_delimited_file_is_explained(tmp_path: Path) -> None:
    content = b"numero_rejete,nouveau_numero,montant_ht\nFAC-1,FAC-1-R,1234,56\n"

    assert brief(issues_of(write(tmp_path, content))) == [
        (
            2,
            "",
            "la ligne a plus de cellules que l'en-tête "
            "(virgule décimale non protégée par des guillemets ?)",
        )
    ]


def test_bytes_that_are_neither_utf8_nor_windows_1252_are_reported(tmp_path: Path) -> None:
    content = b"numero_rejete;nouveau_numero\r\nFAC-1;FAC-\x81\r\n"

    assert brief(issues_of(write(tmp_path, content))) == [
        (
            2,
            "",
            "encodage non reconnu (octet 0x81) : enregistrez le fichier en UTF-8 "
            "ou en Windows-1252",
        )
    ]


def test_problems_are_reported_on_the_physical_line_after_multiline_cells(
    tmp_path: Path,
) -> None:
    content = (
        b"numero_rejete;nouveau_numero;commentaire;siret_destinataire\r\n"
        b'FAC-1;FAC-1-R;"premi\xc3\xa8re ligne\r\n\r\ntroisi\xc3\xa8me ligne";\r\n'
        b"\r\n"
        b"FAC-2;FAC-2-R;;123\r\n"
    )

    assert brief(issues_of(write(tmp_path, content))) == [
        (6, "siret_destinataire", "le SIRET 123 est invalide (14 chiffres attendus, 3 trouvés)")
    ]


# -- one problem in one row -------------------------------------------------------------------

TOO_LONG = "FAC-2026-000000000101"  # 21 characters
NEW_NUMBER_MISSING = (
    "valeur obligatoire manquante : le numéro de la nouvelle facture (pour ne pas traiter "
    "cette facture, retirez la ligne ou mettez action=ignorer ; pour l'acquitter sans nouvelle "
    "facture, action=acquitter)"
)


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        (
            {"numero_rejete": ""},
            "numero_rejete",
            "valeur obligatoire manquante : le numéro de la facture sur le portail",
        ),
        ({"nouveau_numero": ""}, "nouveau_numero", NEW_NUMBER_MISSING),
        (
            {"nouveau_numero": TOO_LONG},
            "nouveau_numero",
            f"le numéro « {TOO_LONG} » dépasse 20 caractères (21)",
        ),
        (
            {"nouveau_numero": "FAC 2026#1"},
            "nouveau_numero",
            "le numéro « FAC 2026#1 » contient des caractères refusés par le portail "
            "(espace, « # ») : seuls les lettres, les chiffres et - _ / + sont admis",
        ),
        (
            {"numero_rejete": "FAC-2026-é"},
            "numero_rejete",
            "le numéro « FAC-2026-é » contient des caractères refusés par le portail "
            "(« é ») : seuls les lettres, les chiffres et - _ / + sont admis",
        ),
        (
            {"nouveau_numero": "20260316"},
            "nouveau_numero",
            "le numéro « 20260316 » est la date du jour, ce que le portail refuse",
        ),
        (
            {"nouveau_numero": "16032026"},
            "nouveau_numero",
            "le numéro « 16032026 » est la date du jour, ce que le portail refuse",
        ),
        (
            {"nouveau_numero": "fac-2026-0101"},
            "nouveau_numero",
            "le nouveau numéro doit différer du numéro rejeté",
        ),
        (
            {"siret_destinataire": "123"},
            "siret_destinataire",
            "le SIRET 123 est invalide (14 chiffres attendus, 3 trouvés)",
        ),
        (
            {"siret_destinataire": "732 829 320 00075"},
            "siret_destinataire",
            "le SIRET 732 829 320 00075 est invalide (clé de contrôle incorrecte)",
        ),
        (
            {"siret_destinataire": "SIRET 732829320"},
            "siret_destinataire",
            "le SIRET SIRET 732829320 est invalide (14 chiffres attendus)",
        ),
        (
            {"siret_destinataire": "7,32829E+13"},
            "siret_destinataire",
            "le SIRET « 7,32829E+13 » a été converti en nombre par le tableur : "
            "saisissez-le comme du texte (14 chiffres)",
        ),
        (
            {"date_facture": "2026/03/01"},
            "date_facture",
            "« 2026/03/01 » n'est pas une date (JJ/MM/AAAA ou AAAA-MM-JJ attendu)",
        ),
        ({"date_facture": "30/02/2026"}, "date_facture", "la date « 30/02/2026 » n'existe pas"),
        (
            {"date_facture": "17/03/2026"},
            "date_facture",
            "la date de facture 17/03/2026 est postérieure à la date du jour",
        ),
        (
            {"montant_ht": "douze"},
            "montant_ht",
            "« douze » n'est pas un montant (ex. 1 234,56)",
        ),
        ({"montant_ht": "-12,00"}, "montant_ht", "le montant « -12,00 » est négatif"),
        ({"montant_ttc": "12,345"}, "montant_ttc", "le montant « 12,345 » a plus de 2 décimales"),
        (
            {"taux_tva": "19,6"},
            "taux_tva",
            "taux de TVA « 19,6 » refusé (20, 10, 5,5, 2,1 ou 0 attendu)",
        ),
        (
            {"montant_ht": "100,00", "taux_tva": "5,5", "montant_ttc": "105,00"},
            "montant_ttc",
            "le montant TTC 105,00 ne correspond pas au HT et au taux : "
            "100,00 × (1 + 5,5 %) = 105,50",
        ),
        (
            {"mode_paiement": "Carte bancaire"},
            "mode_paiement",
            "mode de paiement « Carte bancaire » inconnu (Virement, Chèque, Prélèvement, "
            "Espèce, Report ou Autre attendu)",
        ),
        (
            {"numero_engagement": "E" * 51},
            "numero_engagement",
            "le numéro d'engagement dépasse 50 caractères (51)",
        ),
        (
            {"piece_jointe": "absent.pdf"},
            "piece_jointe",
            "le fichier « absent.pdf » est introuvable (cherché dans {dir})",
        ),
        (
            {"piece_jointe": "facture.exe"},
            "piece_jointe",
            "le format du fichier « facture.exe » n'est pas accepté par le portail",
        ),
        (
            {"piece_jointe": "annexes/" + "a" * 47 + ".pdf"},
            "piece_jointe",
            "le nom du fichier « " + "a" * 47 + ".pdf » dépasse 50 caractères (51)",
        ),
        ({"piece_jointe": "scans.zip"}, "piece_jointe", "« scans.zip » n'est pas un fichier"),
        (
            {"piece_jointe": "annexes/gros.pdf"},
            "piece_jointe",
            "le fichier « gros.pdf » dépasse 10 Mo (10,0 Mo)",
        ),
    ],
)
def test_each_invalid_value_is_reported_with_its_line_column_and_reason(
    tmp_path: Path, cells: dict[str, str], column: str, message: str
) -> None:
    annexes = tmp_path / "annexes"
    annexes.mkdir()
    (tmp_path / "scans.zip").mkdir()
    (tmp_path / "facture.exe").write_bytes(b"MZ")
    (annexes / ("a" * 47 + ".pdf")).write_bytes(b"%PDF-1.7")
    with (annexes / "gros.pdf").open("wb") as big:
        big.truncate(10 * 1024 * 1024 + 1)  # sparse: instant, takes no disk
    row = {**BASE, **cells}
    path = csv_plan(tmp_path, row)

    issues = issues_of(path)

    assert issues == [
        PlanIssue(str(path), 2, column, message.format(dir=tmp_path), row["numero_rejete"])
    ]


def test_a_valid_row_fills_every_field_of_the_correction(tmp_path: Path) -> None:
    (tmp_path / "pieces").mkdir()
    (tmp_path / "pieces" / "bon-de-commande.PDF").write_bytes(b"%PDF-1.7")
    path = csv_plan(
        tmp_path,
        {
            **BASE,
            "date_facture": "16/03/2026",
            "montant_ht": "1 000,00",
            "taux_tva": "20",
            "montant_ttc": "1 200,00",
            "numero_engagement": "EJ-2026-004512",
            "code_service": "SERV-COMPTA",
            "siret_destinataire": "11000000700010",
            "numero_marche": "M-2025-118",
            "mode_paiement": "virement",
            "commentaire": "Bon de commande joint",
            "piece_jointe": "pieces/bon-de-commande.PDF",
            "motif_rejet": "Numéro de commande erroné",
            "statut": "Rejetée",
        },
    )

    (correction,) = load(path).corrections

    assert correction == Correction(
        numero_rejete="FAC-2026-0101",
        nouveau_numero="FAC-2026-0101-R1",
        date_facture=TODAY,
        montant_ht=Decimal("1000"),
        taux_tva=Decimal("20"),
        numero_engagement="EJ-2026-004512",
        code_service="SERV-COMPTA",
        siret_destinataire="11000000700010",
        numero_marche="M-2025-118",
        mode_paiement="Virement",
        commentaire="Bon de commande joint",
        pieces_jointes=((tmp_path / "pieces" / "bon-de-commande.PDF").resolve(),),
        source_line=2,
    )


# -- problems between rows and in the file's shape --------------------------------------------


def test_duplicate_rejected_numbers_name_both_lines(tmp_path: Path) -> None:
    path = csv_plan(
        tmp_path,
        {"numero_rejete": "FAC-1", "nouveau_numero": "FAC-1-R"},
        {"numero_rejete": "FAC-2", "nouveau_numero": "FAC-2-R"},
        {"numero_rejete": "fac-1", "nouveau_numero": "FAC-1-S"},
    )

    assert brief(issues_of(path)) == [
        (4, "numero_rejete", "numéro rejeté « fac-1 » en double (lignes 2 et 4)")
    ]


def test_duplicate_new_numbers_name_both_lines(tmp_path: Path) -> None:
    path = csv_plan(
        tmp_path,
        {"numero_rejete": "FAC-1", "nouveau_numero": "FAC-R"},
        {"numero_rejete": "FAC-2", "nouveau_numero": "FAC-R"},
    )

    assert brief(issues_of(path)) == [
        (3, "nouveau_numero", "nouveau numéro « FAC-R » en double (lignes 2 et 3)")
    ]


def test_a_new_number_cannot_reuse_another_rows_rejected_number(tmp_path: Path) -> None:
    path = csv_plan(
        tmp_path,
        {"numero_rejete": "FAC-1", "nouveau_numero": "FAC-2"},
        {"numero_rejete": "FAC-2", "nouveau_numero": "FAC-2-R"},
    )

    assert brief(issues_of(path)) == [
        (2, "nouveau_numero", "le nouveau numéro « FAC-2 » est le numéro rejeté de la ligne 3")
    ]


def test_unknown_columns_get_a_suggestion_and_informational_ones_are_ignored(
    tmp_path: Path,
) -> None:
    content = (
        "numero_rejete;nouveau_numero;montant_tcc;motif_rejet;couleur\r\n"
        "FAC-1;FAC-1-R;12,00;Montant total erroné;bleu\r\n"
    ).encode()

    assert brief(issues_of(write(tmp_path, content))) == [
        (
            1,
            "montant_tcc",
            "colonne inconnue « montant_tcc » (vouliez-vous dire « montant_ttc » ?)",
        ),
        (1, "couleur", "colonne inconnue « couleur »"),
    ]


def test_missing_required_column_is_reported_once_not_on_every_row(tmp_path: Path) -> None:
    path = csv_plan(tmp_path, {"numero_rejete": "FAC-1"}, {"numero_rejete": "FAC-2"})

    assert brief(issues_of(path)) == [(1, "nouveau_numero", "colonne obligatoire absente")]


def test_header_problems_unnamed_and_duplicate_columns(tmp_path: Path) -> None:
    content = (
        b"numero_rejete;nouveau_numero;;commentaire;Commentaire;;\r\nFAC-1;FAC-1-R;oups;a;b;;\r\n"
    )

    assert brief(issues_of(write(tmp_path, content))) == [
        (1, "colonne 3", "colonne sans nom dans l'en-tête"),
        (1, "commentaire", "colonne en double (colonnes 4 et 5)"),
    ]


@pytest.mark.parametrize(
    "content", [b"", codecs.BOM_UTF8, b"\r\n  \r\n", b";;;\r\n;;\r\n"], ids=repr
)
def test_an_empty_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, content)

    (issue,) = issues_of(path)

    assert (issue.line, issue.message) == (0, "le fichier est vide")
    assert str(issue) == f"{path} : le fichier est vide"


def test_a_plan_without_rows_is_refused(tmp_path: Path) -> None:
    content = b"numero_rejete;nouveau_numero\r\n\r\n;\r\n"

    assert brief(issues_of(write(tmp_path, content))) == [
        (1, "", "le plan ne contient aucune correction")
    ]


def test_a_spreadsheet_file_must_be_saved_as_csv_first(tmp_path: Path) -> None:
    path = write(tmp_path, b"PK\x03\x04", "plan.xlsx")

    assert brief(issues_of(path)) == [
        (
            0,
            "",
            "format « .xlsx » non pris en charge : enregistrez le fichier en CSV "
            "(séparateur point-virgule) ou en JSON",
        )
    ]


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    assert brief(issues_of(tmp_path / "absent.csv")) == [(0, "", "le fichier est introuvable")]


def test_a_folder_is_not_a_plan(tmp_path: Path) -> None:
    (tmp_path / "plan.csv").mkdir()

    assert brief(issues_of(tmp_path / "plan.csv")) == [(0, "", "c'est un dossier, pas un fichier")]


def test_every_problem_is_collected_sorted_by_line_and_listed_one_per_line(
    tmp_path: Path,
) -> None:
    path = csv_plan(
        tmp_path,
        {"numero_rejete": "FAC-1", "nouveau_numero": "FAC-1", "siret_destinataire": "123"},
        {"numero_rejete": "FAC-2", "nouveau_numero": "", "montant_ht": "-1"},
        {"numero_rejete": "FAC-1", "nouveau_numero": "FAC-3-R", "mode_paiement": "carte"},
    )

    with pytest.raises(PlanError) as caught:
        load(path)

    lines = str(caught.value).splitlines()
    assert [(i.line, i.column) for i in caught.value.issues] == [
        (2, "nouveau_numero"),
        (2, "siret_destinataire"),
        (3, "nouveau_numero"),
        (3, "montant_ht"),
        (4, "numero_rejete"),
        (4, "mode_paiement"),
    ]
    assert len(lines) == 6
    assert lines[1] == (
        f"{path} ligne 2 (facture FAC-1), colonne siret_destinataire : le SIRET 123 est "
        "invalide (14 chiffres attendus, 3 trouvés)"
    )


# -- JSON plans -------------------------------------------------------------------------------


def test_json_list_with_numbers_and_nulls_loads_without_float_rounding(tmp_path: Path) -> None:
    content = json.dumps(
        [
            {**BASE, "montant_ht": "MARK", "taux_tva": 20, "date_facture": "05/03/2026"},
            {"numero_rejete": "FAC-2", "nouveau_numero": "FAC-2-R", "commentaire": None},
        ]
    ).replace('"MARK"', "1234.1")

    first, second = load(write(tmp_path, content.encode(), "plan.json")).corrections

    assert first.montant_ht == Decimal("1234.10")
    assert first.taux_tva == Decimal("20")
    assert first.date_facture == date(2026, 3, 5)
    assert (first.source_line, second.source_line) == (1, 2)
    assert second.commentaire is None


def test_json_object_with_corrections_key_and_uppercase_keys_loads(tmp_path: Path) -> None:
    content = json.dumps({"Corrections": [{"NUMERO_REJETE": "FAC-1", "Nouveau_Numero": "F-9"}]})

    (correction,) = load(write(tmp_path, content.encode(), "plan.json")).corrections

    assert (correction.numero_rejete, correction.nouveau_numero) == ("FAC-1", "F-9")


def test_json_problems_use_the_index_of_the_object_as_line(tmp_path: Path) -> None:
    content = json.dumps(
        [
            BASE,
            {"numero_rejete": "FAC-2", "nouveau_numero": "FAC-2-R", "montant_tt": "1,00"},
            "FAC-3",
            {"numero_rejete": "FAC-4", "mode_paiement": True},
        ]
    )

    assert brief(issues_of(write(tmp_path, content.encode(), "plan.json"))) == [
        (2, "montant_tt", "colonne inconnue « montant_tt » (vouliez-vous dire « montant_ttc » ?)"),
        (3, "", "chaque correction doit être un objet JSON"),
        (4, "nouveau_numero", NEW_NUMBER_MISSING),
        (4, "mode_paiement", "valeur inattendue (texte ou nombre attendu)"),
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[\n  {"numero_rejete": "FAC-1",\n  }\n]', (3, "", "JSON invalide : ")),
        ('{"plan": []}', (0, "", "objet JSON sans clé « corrections »")),
        ('"FAC-1"', (0, "", "une liste de corrections est attendue")),
        ("[]", (0, "", "le plan ne contient aucune correction")),
    ],
)
def test_json_files_of_the_wrong_shape_are_refused(
    tmp_path: Path, content: str, expected: tuple[int, str, str]
) -> None:
    ((line, column, message),) = brief(issues_of(write(tmp_path, content.encode(), "plan.json")))

    assert (line, column) == expected[:2]
    assert message.startswith(expected[2])


# -- numbers and examples ---------------------------------------------------------------------


@pytest.mark.parametrize("numero", ["FAC-2026-0001", "A/B_C+D-1", "2026031", "X" * 20])
def test_numbers_the_portal_accepts_are_valid(numero: str) -> None:
    assert numero_is_valid(numero, TODAY) is None


@pytest.mark.parametrize(
    ("numero", "reason"),
    [
        ("", "le numéro de facture est obligatoire"),
        ("X" * 21, "dépasse 20 caractères (21)"),
        ("FAC.2026", "caractères refusés par le portail (« . »)"),
        ("20260316", "est la date du jour"),
    ],
)
def test_numbers_the_portal_refuses_come_with_a_french_reason(numero: str, reason: str) -> None:
    problem = numero_is_valid(numero, TODAY)

    assert problem is not None and reason in problem


def test_example_plans_load_and_say_the_same_thing() -> None:
    from_csv = load(ROOT / "examples" / "plan-exemple.csv")
    from_json = load(ROOT / "examples" / "plan-exemple.json")

    assert (ROOT / "examples" / "plan-exemple.csv").read_bytes().startswith(codecs.BOM_UTF8)
    assert len(from_csv) == len(from_json) == 4
    for a, b in zip(from_csv, from_json, strict=True):
        assert {**a.__dict__, "source_line": 0} == {**b.__dict__, "source_line": 0}


# -- the three kinds of work: rejected, suspended, to recycle ---------------------------------

SIRET = "110 000 007 00010"


def test_a_plan_mixing_the_three_kinds_loads_each_row_as_its_kind(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "b.png").write_bytes(b"\x89PNG")
    header = "numero_rejete;nouveau_numero;statut;piece_jointe;commentaire;siret_destinataire"
    rows = [
        "FAC-1;FAC-1-R;Rejetée;;;",
        "FAC-2;;Suspendue;a.pdf | b.png;Pièces demandées;",
        f"FAC-3;;À recycler;;Bon destinataire;{SIRET}",
        "FAC-4;;;a.pdf;;",  # no statut: attachments only → suspended
    ]
    path = write(tmp_path, ("\r\n".join([header, *rows]) + "\r\n").encode())

    rejected, suspended, recycled, inferred = load(path).corrections

    assert (rejected.kind, rejected.nouveau_numero) == (Kind.REJECTED, "FAC-1-R")
    assert suspended.kind is Kind.SUSPENDED and suspended.nouveau_numero == ""
    assert [p.name for p in suspended.pieces_jointes] == ["a.pdf", "b.png"]
    assert suspended.commentaire == "Pièces demandées"
    assert (recycled.kind, recycled.siret_destinataire) == (Kind.TO_RECYCLE, "11000000700010")
    assert inferred.kind is Kind.SUSPENDED


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            {"statut": "Suspendue", "nouveau_numero": "FAC-9"},
            ("nouveau_numero", "pas de nouveau numéro pour une facture « Suspendue »"),
        ),
        (
            {"statut": "Suspendue", "commentaire": "x", "montant_ht": "10"},
            ("montant_ht", "ne s'applique pas à une facture suspendue"),
        ),
        (
            {"statut": "Suspendue"},
            ("piece_jointe", "une facture suspendue se complète par au moins une pièce jointe"),
        ),
        (
            {"statut": "À recycler"},
            ("siret_destinataire", "une facture à recycler demande un nouveau SIRET"),
        ),
        (
            {"statut": "À recycler", "code_service": "FIN", "piece_jointe": "a.pdf"},
            ("piece_jointe", "ne s'applique pas à une facture à recycler"),
        ),
        (
            {"statut": "Brouillon", "nouveau_numero": "FAC-9"},
            ("statut", "statut « Brouillon » : le robot traite les factures"),
        ),
    ],
)
def test_a_row_that_does_not_fit_its_kind_is_refused_saying_why(
    tmp_path: Path, row: dict[str, str], expected: tuple[str, str]
) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4")
    path = csv_plan(tmp_path, {"numero_rejete": "FAC-1", "nouveau_numero": "", **row})

    found = [(i.column, i.message) for i in issues_of(path)]

    assert any(c == expected[0] and m.startswith(expected[1]) for c, m in found), found
