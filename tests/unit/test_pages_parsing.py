"""The page objects' parsers of what the portal displays, French style."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from pages import (
    HistoryEntry,
    InvoiceLine,
    InvoicePage,
    InvoiceRecord,
    RejectionWindow,
    SearchPage,
    SearchRow,
    SynthesePage,
    SyntheseRow,
    WindowRow,
)
from pages._options import Option, find_option
from pages._parse import (
    ParseError,
    clean,
    format_decimal,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_money,
    parse_yes_no,
)
from pages._table import TableRow, table_rows
from pages.errors import ElementMissing
from pages.search import rows_from_export

PARIS = ZoneInfo("Europe/Paris")


def test_money_with_narrow_no_break_space_thousands_is_a_decimal() -> None:
    assert parse_money("1\u202f234,50 €") == Decimal("1234.50")


def test_money_with_no_break_space_before_euro_sign_is_a_decimal() -> None:
    assert parse_money("12\u00a0345\u00a0678,09\u00a0€") == Decimal("12345678.09")


def test_money_with_ordinary_spaces_is_a_decimal() -> None:
    assert parse_money("1 000 000,00 €") == Decimal("1000000.00")


def test_negative_money_keeps_its_sign() -> None:
    assert parse_money("-1\u202f234,50 €") == Decimal("-1234.50")
    assert parse_money("\u221212,00 €") == Decimal("-12.00")


def test_money_always_has_two_places() -> None:
    assert str(parse_money("7 €")) == "7.00"


def test_empty_money_dash_is_none() -> None:
    assert parse_money("—") is None
    assert parse_money("  ") is None


def test_unreadable_money_raises_parse_error_quoting_it() -> None:
    with pytest.raises(ParseError, match="douze"):
        parse_money("douze euros")


def test_vat_rate_with_decimal_comma_is_a_decimal() -> None:
    assert parse_decimal("5,5 %") == Decimal("5.5")
    assert parse_decimal("20 %") == Decimal("20")


def test_date_in_french_order_is_a_date() -> None:
    assert parse_date("26/11/2026") == date(2026, 11, 26)


def test_date_time_is_aware_in_europe_paris() -> None:
    moment = parse_datetime("26/11/2026 14:05")
    assert moment == datetime(2026, 11, 26, 14, 5, tzinfo=PARIS)
    assert moment is not None and moment.utcoffset() is not None


def test_summer_date_time_has_the_summer_offset() -> None:
    moment = parse_datetime("01/07/2026 09:30")
    assert moment is not None and moment.isoformat() == "2026-07-01T09:30:00+02:00"


def test_bare_date_as_date_time_is_midnight_in_paris() -> None:
    assert parse_datetime("26/11/2026") == datetime(2026, 11, 26, tzinfo=PARIS)


def test_date_of_a_date_time_keeps_the_day() -> None:
    assert parse_date("26/11/2026 23:59") == date(2026, 11, 26)


def test_impossible_date_raises_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_date("31/02/2026")


def test_iso_date_is_not_taken_for_a_french_one() -> None:
    with pytest.raises(ParseError):
        parse_date("2026-11-26")


def test_empty_date_is_none() -> None:
    assert parse_date("—") is None
    assert parse_datetime("") is None


def test_oui_non_are_booleans() -> None:
    assert parse_yes_no("Oui") is True
    assert parse_yes_no(" non ") is False
    assert parse_yes_no("—") is None


def test_clean_collapses_every_kind_of_space() -> None:
    assert clean("  Ville\u00a0de\u202fLyon \n ") == "Ville de Lyon"


def test_decimal_for_the_form_uses_a_comma_and_no_exponent() -> None:
    assert format_decimal(Decimal("5.5")) == "5,5"
    assert format_decimal(Decimal("1E+1")) == "10"


def test_option_is_found_by_its_code_before_a_longer_code_sharing_the_prefix() -> None:
    choices = [Option("SERV10", "SERV10 - Achats"), Option("SERV1", "SERV1 - Direction")]
    assert find_option(choices, "SERV1") == Option("SERV1", "SERV1 - Direction")


def test_option_is_found_from_a_displayed_code_and_name() -> None:
    choices = [Option("A1", "A1 - Dépôt par un fournisseur d'une facture")]
    assert find_option(choices, "A1 - Dépôt par un fournisseur d'une facture") == choices[0]
    assert find_option([Option("ACH", "ACH - Achats")], "ACH - Ancien nom") == Option(
        "ACH", "ACH - Achats"
    )


def test_unknown_option_is_none() -> None:
    assert find_option([Option("20", "20 %")], "7") is None


DECLARED = [
    pytest.param(SynthesePage.COLUMNS, SyntheseRow, id="Synthèse"),
    pytest.param(SearchPage.COLUMNS, SearchRow, id="Rechercher"),
    pytest.param(RejectionWindow.COLUMNS, WindowRow, id="Fenêtre"),
    pytest.param(InvoicePage.INFO_FIELDS, InvoiceRecord, id="Informations"),
    pytest.param(InvoicePage.REJECTION_FIELDS, InvoiceRecord, id="Rejet"),
    pytest.param(InvoicePage.LINE_COLUMNS, InvoiceLine, id="Lignes"),
    pytest.param(InvoicePage.HISTORY_COLUMNS, HistoryEntry, id="Historique"),
]


@pytest.mark.parametrize(("declared", "record"), DECLARED)
def test_every_declared_label_is_read_into_a_field_of_its_record(
    declared: Mapping[str, str], record: type
) -> None:
    fields = {field.name for field in dataclasses.fields(record)}
    assert declared and set(declared.values()) <= fields
    assert all(label == clean(label) for label in declared)  # as the page shows it


@pytest.mark.parametrize(("declared", "record"), DECLARED[:3] + DECLARED[5:])
def test_each_column_read_fills_its_own_field(declared: Mapping[str, str], record: type) -> None:
    assert len(set(declared.values())) == len(declared)


def test_declarations_cannot_be_changed_by_their_readers() -> None:
    with pytest.raises(TypeError):
        SynthesePage.COLUMNS["Échéance"] = "echeance"  # type: ignore[index]


def test_a_table_row_is_read_by_the_declared_columns_whatever_their_order() -> None:
    data = {
        "headers": ["Sélection", "Statut", "Numéro de facture", "Montant TTC", "Destinataire"],
        "rows": [{"cells": ["", "Rejetée", " F-1 ", "1\u202f200,00 €", "—"], "href": "/f/1"}],
    }
    [row] = table_rows(data)
    cells = row.fields(SearchPage.COLUMNS)
    assert cells == {
        "numero": "F-1",
        "date_depot": "",  # a column the page does not show
        "destinataire": "",  # « — »
        "montant_ttc": "1 200,00 €",
        "statut": "Rejetée",
    }
    assert TableRow({}, "").fields(SearchPage.COLUMNS) == dict.fromkeys(cells, "")


def test_the_export_file_is_read_by_its_headers_in_any_order() -> None:
    text = (
        "\ufeffStatut;Numéro de facture;Montant TTC;Destinataire;Date de dépôt;Autre\r\n"
        "Rejetée;F-1;1\u202f234,50 €;Mairie de Lyon;03/02/2026 10:15;x\r\n"
        "\r\n"
        "Mise à disposition du destinataire;F-2;12,00 €;—;04/02/2026 09:00;y\r\n"
    ).lstrip("\ufeff")
    rows = rows_from_export(text)
    assert [(r.numero, r.statut, r.montant_ttc, r.destinataire, r.href) for r in rows] == [
        ("F-1", "Rejetée", Decimal("1234.50"), "Mairie de Lyon", ""),
        ("F-2", "Mise à disposition du destinataire", Decimal("12.00"), "", ""),
    ]
    assert rows[0].deposited_at is not None


def test_an_export_file_without_a_column_read_is_refused_naming_it() -> None:
    with pytest.raises(ElementMissing, match="Montant TTC"):
        rows_from_export("Numéro de facture;Date de dépôt;Destinataire;Statut\r\nF-1;;;\r\n")
