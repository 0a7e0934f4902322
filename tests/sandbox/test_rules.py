"""The entry form's rules: every message of SCREENS.md, drafts, duplicates, totals, formats."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from sandbox import fmt
from sandbox.model import (
    BankAccount,
    CleanInvoiceData,
    Draft,
    Line,
    Service,
    Structure,
    Supplier,
    User,
    totals,
)
from sandbox.rules import validate_attachment, validate_attachments, validate_draft
from sandbox.seed import make_siret
from sandbox.store import Store

TODAY = date(2026, 11, 27)
MB = 1024 * 1024


def _siret(n: int) -> str:
    return make_siret(random.Random(n), "21")


SIRETS = {
    name: _siret(i)
    for i, name in enumerate(("aucune", "service", "engagement", "both", "either", "inactive"))
}
UNKNOWN_SIRET = _siret(99)


@pytest.fixture
def store() -> Iterator[Store]:
    db = Store(":memory:")
    services = (Service("SERV-FIN", "Service financier"), Service("ANCIEN", "Ancien", False))
    for name, exigence in (
        ("aucune", "aucune"),
        ("service", "service"),
        ("engagement", "engagement"),
        ("both", "service_et_engagement"),
        ("either", "service_ou_engagement"),
        ("inactive", "aucune"),
    ):
        structure = Structure(SIRETS[name], f"Structure {name}", name != "inactive", exigence)
        db.add_structure(replace(structure, services=services))
    db.add_supplier(Supplier(0, _siret(50), "Fournisseur SARL", ()))
    db.add_supplier(Supplier(0, _siret(51), "Autre SARL", ()))
    yield db
    db.close()


@pytest.fixture
def supplier(store: Store) -> Supplier:
    found = store.get_supplier(1)
    assert found is not None
    return replace(found, comptes=(BankAccount(7, "Compte principal", "FR76…", "BNPAFRPPXXX"),))


def line(**changes: str) -> dict[str, str]:
    base = {
        "reference": "ART-1",
        "designation": "Prestation de développement",
        "quantite": "3",
        "unite": "jour",
        "prix_unitaire_ht": "620,00",
        "remise": "",
        "taux_tva": "20",
    }
    return {**base, **changes}


def draft(**changes: Any) -> Draft:
    base = Draft(
        cadre="A1",
        siret_destinataire=SIRETS["aucune"],
        code_service="",
        compte_id="7",
        type_facture="FACTURE",
        numero="FAC-2026-00100",
        date_facture="2026-11-20",
        devise="EUR",
        type_tva="TVA_SUR_DEBIT",
        mode_paiement="VIREMENT",
        lignes=[line()],
    )
    return replace(base, **changes)


def check(
    store: Store, supplier: Supplier, value: Draft, *, sending: bool = True, today: date = TODAY
) -> tuple[dict[str, list[str]], Any]:
    return validate_draft(value, store=store, supplier=supplier, today=today, sending=sending)


# -- accepted drafts ---------------------------------------------------------------------------


def test_a_complete_draft_gives_clean_data(store: Store, supplier: Supplier) -> None:
    errors, data = check(store, supplier, draft(total_ht="1860,00", total_ttc="2 232,00"))

    assert errors == {}
    assert data is not None
    assert data.numero == "FAC-2026-00100" and data.nom_destinataire == "Structure aucune"
    assert data.compte_id == 7 and data.date_facture == date(2026, 11, 20)
    assert data.lignes == (
        Line(
            "ART-1",
            "Prestation de développement",
            Decimal(3),
            "jour",
            Decimal("620.00"),
            Decimal(0),
            Decimal(20),
        ),
    )
    assert totals(data.lignes) == (Decimal("1860.00"), Decimal("372.00"), Decimal("2232.00"))


def test_decimal_comma_spaces_labels_and_french_dates_are_accepted(
    store: Store, supplier: Supplier
) -> None:
    value = draft(
        date_facture="20/11/2026",
        type_tva="TVA sur les encaissements",
        mode_paiement="Chèque",
        compte_id="",
        lignes=[line(quantite="1,5", prix_unitaire_ht="1 234,56", remise="0,5", taux_tva="5,5 %")],
    )

    errors, data = check(store, supplier, value)

    assert errors == {}
    assert data.type_tva == "TVA_SUR_ENCAISSEMENT" and data.mode_paiement == "CHEQUE"
    assert data.date_facture == date(2026, 11, 20)
    assert data.lignes[0].montant_ht == Decimal("1851.34")  # 1.5 × 1234.56 − 0.50
    assert data.lignes[0].taux_tva == Decimal("5.5")


def test_blank_rows_are_ignored_and_errors_keep_the_row_number(
    store: Store, supplier: Supplier
) -> None:
    blank = {name: "" for name in line()} | {"taux_tva": "20"}
    value = draft(lignes=[line(), blank, line(designation=" ")])

    errors, data = check(store, supplier, value)

    assert errors == {"ligne-3-designation": ["Ligne 3 : la désignation est obligatoire."]}
    assert data is None


def test_a_structure_that_requires_both_reports_both_fields(
    store: Store, supplier: Supplier
) -> None:
    errors, _ = check(store, supplier, draft(siret_destinataire=SIRETS["both"]))

    assert errors == {
        "code_service": ["Le code service est obligatoire pour cette structure."],
        "numero_engagement": ["Le numéro d'engagement est obligatoire pour cette structure."],
    }


@pytest.mark.parametrize(
    ("name", "code", "engagement"),
    [
        ("service", "SERV-FIN", ""),
        ("engagement", "", "1300012345"),
        ("both", "SERV-FIN", "BC-2026-0001"),
        ("either", "SERV-FIN", ""),
        ("either", "", "BC-2026-0001"),
        ("aucune", "", ""),
    ],
)
def test_requirements_of_the_structure_are_satisfied(
    store: Store, supplier: Supplier, name: str, code: str, engagement: str
) -> None:
    value = draft(siret_destinataire=SIRETS[name], code_service=code, numero_engagement=engagement)

    errors, data = check(store, supplier, value)

    assert errors == {} and data is not None


# -- every message of SCREENS.md -----------------------------------------------------------------

BIG = bytes(10 * MB + 1)
TEN = bytes(10 * MB)
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("numero-empty", {"numero": " "}, "numero", "Le numéro de facture est obligatoire."),
    (
        "numero-long",
        {"numero": "F" * 21},
        "numero",
        "Le numéro de facture ne doit pas dépasser 20 caractères.",
    ),
    (
        "numero-chars",
        {"numero": "FAC 2026#1"},
        "numero",
        "Le numéro de facture ne peut contenir que des lettres, des chiffres et les caractères "
        "- _ / +",
    ),
    (
        "numero-today-aaaammjj",
        {"numero": "20261127"},
        "numero",
        "Le numéro de facture ne peut pas être la date du jour.",
    ),
    (
        "numero-today-jjmmaaaa",
        {"numero": "27112026"},
        "numero",
        "Le numéro de facture ne peut pas être la date du jour.",
    ),
    (
        "siret-empty",
        {"siret_destinataire": ""},
        "siret_destinataire",
        "Le SIRET du destinataire est obligatoire.",
    ),
    (
        "siret-short",
        {"siret_destinataire": "1234567890"},
        "siret_destinataire",
        "Le SIRET du destinataire est invalide.",
    ),
    (
        "siret-luhn",
        {"siret_destinataire": "12345678901234"},
        "siret_destinataire",
        "Le SIRET du destinataire est invalide.",
    ),
    (
        "siret-unknown",
        {"siret_destinataire": UNKNOWN_SIRET},
        "siret_destinataire",
        "Aucune structure publique ne correspond à ce SIRET.",
    ),
    (
        "siret-inactive",
        {"siret_destinataire": SIRETS["inactive"]},
        "siret_destinataire",
        "La structure destinataire n'est pas active.",
    ),
    (
        "service-missing",
        {"siret_destinataire": SIRETS["service"]},
        "code_service",
        "Le code service est obligatoire pour cette structure.",
    ),
    (
        "service-unknown",
        {"code_service": "NOPE"},
        "code_service",
        "Ce code service n'existe pas pour cette structure.",
    ),
    (
        "service-inactive",
        {"code_service": "ANCIEN"},
        "code_service",
        "Ce code service n'existe pas pour cette structure.",
    ),
    (
        "engagement-missing",
        {"siret_destinataire": SIRETS["engagement"]},
        "numero_engagement",
        "Le numéro d'engagement est obligatoire pour cette structure.",
    ),
    (
        "either-missing",
        {"siret_destinataire": SIRETS["either"]},
        "code_service",
        "Cette structure exige un code service ou un numéro d'engagement.",
    ),
    (
        "engagement-long",
        {"numero_engagement": "E" * 51},
        "numero_engagement",
        "Le numéro d'engagement ne doit pas dépasser 50 caractères.",
    ),
    ("date-missing", {"date_facture": ""}, "date_facture", "La date de facture est obligatoire."),
    (
        "date-invalid",
        {"date_facture": "31/02/2026"},
        "date_facture",
        "La date de facture est obligatoire.",
    ),
    (
        "date-future",
        {"date_facture": "2026-11-28"},
        "date_facture",
        "La date de facture ne peut pas être postérieure à la date du jour.",
    ),
    ("no-line", {"lignes": []}, "lignes", "La facture doit comporter au moins une ligne."),
    (
        "line-designation",
        {"lignes": [line(designation="")]},
        "ligne-1-designation",
        "Ligne 1 : la désignation est obligatoire.",
    ),
    (
        "line-quantity-zero",
        {"lignes": [line(quantite="0")]},
        "ligne-1-quantite",
        "Ligne 1 : la quantité doit être un nombre positif.",
    ),
    (
        "line-quantity-text",
        {"lignes": [line(), line(quantite="deux")]},
        "ligne-2-quantite",
        "Ligne 2 : la quantité doit être un nombre positif.",
    ),
    (
        "line-price-decimals",
        {"lignes": [line(prix_unitaire_ht="12,345")]},
        "ligne-1-prix_unitaire_ht",
        "Ligne 1 : le prix unitaire doit avoir au plus 2 décimales.",
    ),
    (
        "line-price-negative",
        {"lignes": [line(prix_unitaire_ht="-5")]},
        "ligne-1-prix_unitaire_ht",
        "Ligne 1 : le prix unitaire doit être un nombre positif ou nul.",
    ),
    (
        "line-discount-decimals",
        {"lignes": [line(remise="1.001")]},
        "ligne-1-remise",
        "Ligne 1 : la remise doit avoir au plus 2 décimales.",
    ),
    (
        "line-discount-too-big",
        {"lignes": [line(remise="5000")]},
        "ligne-1-remise",
        "Ligne 1 : la remise ne peut pas dépasser le montant de la ligne.",
    ),
    (
        "line-rate",
        {"lignes": [line(taux_tva="7")]},
        "ligne-1-taux_tva",
        "Ligne 1 : le taux de TVA n'est pas valide.",
    ),
    (
        "totals",
        {"total_ht": "1860,00", "total_tva": "372,01"},
        "totaux",
        "Les montants ne correspondent pas aux lignes de la facture.",
    ),
    (
        "totals-garbage",
        {"total_ttc": "beaucoup"},
        "totaux",
        "Les montants ne correspondent pas aux lignes de la facture.",
    ),
    (
        "avoir-origin",
        {"type_facture": "AVOIR"},
        "numero_facture_origine",
        "Le numéro de la facture d'origine est obligatoire pour un avoir.",
    ),
    (
        "attachment-name",
        {"pieces_jointes": [("n" * 47 + ".pdf", b"%PDF")]},
        "pieces_jointes",
        f"Le nom du fichier {'n' * 47}.pdf dépasse 50 caractères.",
    ),
    (
        "attachment-size",
        {"pieces_jointes": [("gros.pdf", BIG)]},
        "pieces_jointes",
        "Le fichier gros.pdf dépasse 10 Mo.",
    ),
    (
        "attachment-format",
        {"pieces_jointes": [("script.exe", b"MZ")]},
        "pieces_jointes",
        "Le format du fichier script.exe n'est pas autorisé.",
    ),
    (
        "attachment-total",
        {"pieces_jointes": [(f"annexe-{i}.pdf", TEN) for i in range(13)]},
        "pieces_jointes",
        "La taille totale des pièces jointes dépasse 120 Mo.",
    ),
    ("cadre", {"cadre": "A7"}, "cadre", "Le cadre de facturation n'est pas valide."),
    (
        "bank-account-foreign",
        {"compte_id": "99"},
        "compte_id",
        "Ces coordonnées bancaires ne sont pas celles de votre structure.",
    ),
    (
        "bank-account-missing",
        {"compte_id": ""},
        "compte_id",
        "Les coordonnées bancaires sont obligatoires pour un paiement par virement.",
    ),
    ("type", {"type_facture": "Devis"}, "type_facture", "Le type de facture n'est pas valide."),
    ("tva", {"type_tva": "TVA_MAGIQUE"}, "type_tva", "Le type de TVA n'est pas valide."),
    ("mode", {"mode_paiement": "Troc"}, "mode_paiement", "Le mode de paiement n'est pas valide."),
    ("devise", {"devise": "USD"}, "devise", "La devise n'est pas valide."),
]


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_rule_reports_its_message_next_to_its_field(
    store: Store, supplier: Supplier, changes: dict[str, Any], key: str, message: str
) -> None:
    errors, data = check(store, supplier, draft(**changes))

    assert data is None
    assert errors == {key: [message]}


def test_every_error_is_reported_at_once(store: Store, supplier: Supplier) -> None:
    value = draft(numero="", siret_destinataire="", date_facture="", lignes=[])

    errors, _ = check(store, supplier, value)

    assert list(errors) == ["siret_destinataire", "numero", "date_facture", "lignes"]


# -- duplicates -----------------------------------------------------------------------------------


def _deposit(store: Store, supplier_id: int, numero: str, when: datetime, send: bool) -> None:
    account = User("agent@exemple.fr", "x", supplier_id)
    item = Line("", "Prestation", Decimal(1), "", Decimal(100), Decimal(0), Decimal(20))
    data = CleanInvoiceData(numero=numero, siret_destinataire=SIRETS["aucune"], lignes=(item,))
    store.create_invoice(supplier_id, data, account, send=send, now=when)


def test_a_number_already_sent_this_year_is_a_duplicate(store: Store, supplier: Supplier) -> None:
    _deposit(store, 1, "FAC-DUP-1", datetime(2026, 1, 5, 9, tzinfo=fmt.PARIS), send=True)

    errors, _ = check(store, supplier, draft(numero="fac-dup-1"))

    assert errors == {
        "numero": [
            "Vous avez déjà déposé une demande de paiement avec ce numéro de facture "
            "pour cette structure"
        ]
    }


@pytest.mark.parametrize(
    ("supplier_id", "deposited", "send"),
    [
        (1, datetime(2025, 12, 31, 23, 30, tzinfo=fmt.PARIS), True),  # previous year
        (2, datetime(2026, 3, 1, 10, tzinfo=fmt.PARIS), True),  # another supplier
        (1, datetime(2026, 3, 1, 10, tzinfo=fmt.PARIS), False),  # only a draft
    ],
    ids=["previous-year", "other-supplier", "draft"],
)
def test_the_same_number_is_accepted_when_it_is_no_duplicate(
    store: Store, supplier: Supplier, supplier_id: int, deposited: datetime, send: bool
) -> None:
    _deposit(store, supplier_id, "FAC-DUP-2", deposited, send=send)

    errors, data = check(store, supplier, draft(numero="FAC-DUP-2"))

    assert errors == {} and data is not None


def test_saving_a_draft_skips_the_duplicate_check(store: Store, supplier: Supplier) -> None:
    _deposit(store, 1, "FAC-DUP-3", datetime(2026, 6, 1, 10, tzinfo=fmt.PARIS), send=True)

    errors, data = check(store, supplier, draft(numero="FAC-DUP-3"), sending=False)

    assert errors == {} and data is not None


# -- drafts (« Enregistrer ») ------------------------------------------------------------------


def test_a_draft_needs_only_a_well_formed_number(store: Store, supplier: Supplier) -> None:
    errors, data = check(store, supplier, Draft(numero="BR-1"), sending=False)

    assert errors == {}
    assert data is not None and data.numero == "BR-1" and data.lignes == ()
    assert (data.cadre, data.type_facture, data.devise) == ("A1", "FACTURE", "EUR")


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"numero": ""}, "numero"),
        ({"numero": "20261127"}, "numero"),
        ({"siret_destinataire": "123"}, "siret_destinataire"),
        ({"date_facture": "demain"}, "date_facture"),
        ({"lignes": [{"designation": "x", "quantite": "-2"}]}, "ligne-1-quantite"),
        ({"pieces_jointes": [("virus.exe", b"")]}, "pieces_jointes"),
    ],
)
def test_a_draft_still_refuses_what_cannot_be_stored(
    store: Store, supplier: Supplier, changes: dict[str, Any], key: str
) -> None:
    errors, data = check(store, supplier, replace(Draft(numero="BR-2"), **changes), sending=False)

    assert data is None and list(errors) == [key]


def test_a_draft_may_name_an_unknown_structure_and_leave_lines_incomplete(
    store: Store, supplier: Supplier
) -> None:
    value = Draft(
        numero="BR-3",
        siret_destinataire=UNKNOWN_SIRET,
        lignes=[{"designation": "À compléter", "quantite": "", "prix_unitaire_ht": ""}],
    )

    errors, data = check(store, supplier, value, sending=False)

    assert errors == {}
    assert data.siret_destinataire == UNKNOWN_SIRET and data.nom_destinataire == ""
    assert data.lignes[0].quantite == 0 and data.lignes[0].taux_tva == 20


# -- attachments, totals, formatting --------------------------------------------------------------


def test_attachment_rules_accept_allowed_files_and_report_every_fault() -> None:
    assert validate_attachment("Facture.PDF", b"%PDF") == []
    assert validate_attachment("C:\\fakepath\\releve.xlsx", b"x") == []
    assert validate_attachment("sans-extension", b"x") == [
        "Le format du fichier sans-extension n'est pas autorisé."
    ]
    long_name = "a" * 48 + ".exe"
    assert validate_attachment(long_name, bytes(10 * MB + 1)) == [
        f"Le nom du fichier {long_name} dépasse 50 caractères.",
        f"Le format du fichier {long_name} n'est pas autorisé.",
        f"Le fichier {long_name} dépasse 10 Mo.",
    ]
    assert validate_attachments([(f"p{i}.pdf", TEN) for i in range(12)]) == []


def test_totals_compute_vat_per_rate_on_the_sum_of_its_lines() -> None:
    def item(ht: str, rate: str) -> Line:
        return Line("", "x", Decimal(1), "", Decimal(ht), Decimal(0), Decimal(rate))

    lines = [item("0.05", "10")] * 3 + [item("100.00", "20"), item("19.99", "5.5")]

    ht, tva, ttc = totals(lines)

    # 10 %: 0.15 → 0.015 → 0.02 (per line it would be 3 × 0.01); 20 %: 20.00; 5.5 %: 1.09945 → 1.10
    assert (ht, tva, ttc) == (Decimal("120.14"), Decimal("21.12"), Decimal("141.26"))


def test_french_formatting_of_money_rates_dates_and_sizes() -> None:
    assert fmt.money(Decimal("1234.5")) == "1\u202f234,50 €"
    assert fmt.money(Decimal("-1234567.885")) == "-1\u202f234\u202f567,89 €"
    assert fmt.money(Decimal("0")) == "0,00 €" and fmt.money(None) == "—"
    assert (fmt.rate(Decimal("5.5")), fmt.rate(Decimal("20.0"))) == ("5,5 %", "20 %")
    summer = datetime(2026, 7, 14, 10, 5, tzinfo=UTC)
    assert fmt.datetime_fr(summer) == "14/07/2026 12:05"
    assert fmt.date_fr(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "01/01/2027"
    assert fmt.date_fr(date(2026, 3, 9)) == "09/03/2026" and fmt.date_fr(None) == "—"
    assert (fmt.text(""), fmt.yes_no(True), fmt.yes_no(False)) == ("—", "Oui", "Non")
    assert fmt.file_size(512) == "512 octets" and fmt.file_size(int(1.5 * MB)) == "1,5 Mo"
