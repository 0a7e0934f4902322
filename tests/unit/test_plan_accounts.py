"""The plan's ``compte`` column: read, checked, matched against the known accounts, and
written by the template when the work list spans several accounts."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from robot.accounts import Account, Accounts
from robot.plan import (
    ALL_COLUMNS,
    COLUMNS,
    Plan,
    PlanError,
    PlanIssue,
    check_accounts,
    load_plan,
    write_plan_template,
)
from robot.secrets import Secret
from scenarios.model import Correction, Rejection

TODAY = date(2026, 3, 16)
LOGIN = "comptable@exemple-fournisseur.fr"
CLIENT_A = "comptable@client-a.fr"
CLIENT_B = "comptable@client-b.fr"


def account(identifiant: str) -> Account:
    return Account(identifiant, Secret(f"mdp-{identifiant}"), None, 2)


def csv_plan(tmp_path: Path, *rows: Mapping[str, str]) -> Path:
    columns = list(dict.fromkeys(name for row in rows for name in row))
    lines = [";".join(columns)] + [";".join(row.get(c, "") for c in columns) for row in rows]
    path = tmp_path / "plan.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def load(path: Path) -> Plan:
    return load_plan(path, today=TODAY)


def brief(issues: list[PlanIssue]) -> list[tuple[int, str, str]]:
    return [(i.line, i.column, i.message) for i in issues]


def plan_issues(path: Path) -> list[tuple[int, str, str]]:
    with pytest.raises(PlanError) as caught:
        load(path)
    return brief(caught.value.issues)


def account_issues(plan: Plan, accounts: Accounts) -> list[tuple[int, str, str]]:
    with pytest.raises(PlanError) as caught:
        check_accounts(plan, accounts)
    return brief(caught.value.issues)


def row(numero: str, compte: str = "", nouveau: str = "") -> dict[str, str]:
    return {"compte": compte, "numero_rejete": numero, "nouveau_numero": nouveau or f"{numero}-R"}


# -- reading the column ----------------------------------------------------------------------


def test_the_compte_column_is_read_as_written_empty_meaning_the_default(tmp_path: Path) -> None:
    plan = load(csv_plan(tmp_path, row("FAC-1", CLIENT_A), row("FAC-2"), row("FAC-3", "A@b.FR")))

    assert [c.compte for c in plan] == [CLIENT_A, "", "A@b.FR"]


def test_the_compte_key_is_read_from_json_too(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(
        json.dumps(
            [
                {"Compte": CLIENT_A, "numero_rejete": "FAC-1", "nouveau_numero": "FAC-1-R"},
                {"numero_rejete": "FAC-2", "nouveau_numero": "FAC-2-R", "compte": None},
            ]
        )
    )

    assert [c.compte for c in load(path)] == [CLIENT_A, ""]


def test_a_compte_that_is_no_address_is_refused_on_its_line(tmp_path: Path) -> None:
    path = csv_plan(tmp_path, row("FAC-1", CLIENT_A), row("FAC-2", "client-b"))

    assert plan_issues(path) == [
        (
            3,
            "compte",
            "« client-b » n'est pas un identifiant de compte (l'adresse électronique de "
            "connexion au portail est attendue ; vide = le compte CHORUS_LOGIN)",
        )
    ]


def test_a_misspelt_compte_column_gets_a_suggestion(tmp_path: Path) -> None:
    path = csv_plan(
        tmp_path, {"comptes": CLIENT_A, "numero_rejete": "F-1", "nouveau_numero": "F-2"}
    )

    assert plan_issues(path) == [
        (1, "comptes", "colonne inconnue « comptes » (vouliez-vous dire « compte » ?)")
    ]


def test_the_account_is_not_a_field_of_the_invoice(tmp_path: Path) -> None:
    correction = Correction("FAC-1", "FAC-1-R", montant_ht=Decimal("10.00"), compte=CLIENT_A)

    assert correction.overrides() == {"montant_ht": Decimal("10.00")}


def test_plan_accounts_lists_each_named_account_once_in_file_order(tmp_path: Path) -> None:
    plan = load(
        csv_plan(
            tmp_path,
            row("FAC-1", CLIENT_B),
            row("FAC-2"),
            row("FAC-3", CLIENT_A),
            row("FAC-4", CLIENT_B.upper()),
        )
    )

    assert plan.accounts() == [CLIENT_B, CLIENT_A]


# -- one number under two accounts -------------------------------------------------------------


def test_the_same_rejected_number_under_two_accounts_is_allowed(tmp_path: Path) -> None:
    plan = load(
        csv_plan(
            tmp_path,
            row("FAC-1", CLIENT_A, "FAC-1-A"),
            row("FAC-1", CLIENT_B, "FAC-1-B"),
            row("FAC-1", "", "FAC-1-D"),
        )
    )

    assert [(c.compte, c.numero_rejete) for c in plan] == [
        (CLIENT_A, "FAC-1"),
        (CLIENT_B, "FAC-1"),
        ("", "FAC-1"),
    ]


def test_the_same_rejected_number_twice_under_one_account_is_refused(tmp_path: Path) -> None:
    path = csv_plan(
        tmp_path, row("FAC-1", CLIENT_A, "FAC-1-A"), row("fac-1", CLIENT_A.upper(), "FAC-1-B")
    )

    assert plan_issues(path) == [
        (3, "numero_rejete", "numéro rejeté « fac-1 » en double (lignes 2 et 3)")
    ]


def test_a_new_number_stays_unique_across_accounts(tmp_path: Path) -> None:
    # Two logins may share one supplier's numbering: a new number is never reused.
    path = csv_plan(tmp_path, row("FAC-1", CLIENT_A, "NEW-1"), row("FAC-1", CLIENT_B, "NEW-1"))

    assert plan_issues(path) == [
        (3, "nouveau_numero", "nouveau numéro « NEW-1 » en double (lignes 2 et 3)")
    ]


# -- check_accounts ------------------------------------------------------------------------------


def test_a_plan_whose_accounts_are_all_known_passes(tmp_path: Path) -> None:
    plan = load(csv_plan(tmp_path, row("FAC-1", CLIENT_A.upper()), row("FAC-2")))

    check_accounts(plan, Accounts((account(CLIENT_A),), default=account(LOGIN)))


def test_each_row_naming_an_unknown_account_is_listed(tmp_path: Path) -> None:
    plan = load(
        csv_plan(
            tmp_path,
            row("FAC-1", CLIENT_A),
            row("FAC-2", "inconnu@client-c.fr"),
            row("FAC-3", "comptable@client-bb.fr"),
        )
    )
    accounts = Accounts((account(CLIENT_A), account(CLIENT_B)), default=account(LOGIN))

    known = f"{LOGIN}, {CLIENT_A}, {CLIENT_B}"
    assert account_issues(plan, accounts) == [
        (
            3,
            "compte",
            f"compte inconnu : inconnu@client-c.fr n'est pas dans CHORUS_ACCOUNTS "
            f"(comptes connus : {known})",
        ),
        (
            4,
            "compte",
            f"compte inconnu : comptable@client-bb.fr n'est pas dans CHORUS_ACCOUNTS "
            f"(comptes connus : {known}) ; vouliez-vous dire {CLIENT_B} ?",
        ),
    ]


def test_an_empty_compte_without_a_default_account_is_refused(tmp_path: Path) -> None:
    plan = load(csv_plan(tmp_path, row("FAC-1"), row("FAC-2", CLIENT_A), row("FAC-3")))

    issues = account_issues(plan, Accounts((account(CLIENT_A),)))

    assert issues == [
        (2, "compte", "compte vide et CHORUS_LOGIN non défini"),
        (4, "compte", "compte vide et CHORUS_LOGIN non défini"),
    ]


def test_issues_name_the_plan_file_line_invoice_and_column(tmp_path: Path) -> None:
    path = csv_plan(tmp_path, row("FAC-1", "x@y.fr"))

    with pytest.raises(PlanError) as caught:
        check_accounts(load(path), Accounts())

    assert str(caught.value) == (
        f"{path} ligne 2 (facture FAC-1), colonne compte : compte inconnu : x@y.fr n'est pas "
        "dans CHORUS_ACCOUNTS (comptes connus : aucun)"
    )


def test_a_long_list_of_known_accounts_is_cut_short(tmp_path: Path) -> None:
    many = Accounts(tuple(account(f"client{i:02d}@cabinet.fr") for i in range(25)))

    ((_, _, message),) = account_issues(load(csv_plan(tmp_path, row("F-1", "x@y.fr"))), many)

    assert message.endswith("client09@cabinet.fr, … (25 en tout))")


def test_an_empty_compte_and_chorus_login_written_out_are_one_account(tmp_path: Path) -> None:
    plan = load(csv_plan(tmp_path, row("FAC-1", "", "FAC-1-A"), row("FAC-1", LOGIN, "FAC-1-B")))

    assert account_issues(plan, Accounts(default=account(LOGIN))) == [
        (
            3,
            "numero_rejete",
            f"numéro rejeté « FAC-1 » en double (lignes 2 et 3) : même compte, {LOGIN}",
        )
    ]


# -- the template ----------------------------------------------------------------------------


REJECTIONS = [
    Rejection(numero="FAC-1", motif="Autre", montant_ttc=Decimal("99.90")),
    Rejection(numero="FAC-1", motif="Autre", montant_ttc=Decimal("12.00")),
]


def test_a_template_without_accounts_has_no_compte_column(tmp_path: Path) -> None:
    path = tmp_path / "modele.csv"

    write_plan_template(REJECTIONS[:1], path)

    header = path.read_bytes()[len(codecs.BOM_UTF8) :].split(b"\r\n")[0].decode()
    assert header.split(";") == list(COLUMNS) and "compte" not in header


def test_a_template_for_several_accounts_starts_with_compte_and_loads_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "modele.csv"

    write_plan_template(REJECTIONS, path, accounts=[CLIENT_A, CLIENT_B])

    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig")), delimiter=";"))
    assert list(rows[0]) == list(ALL_COLUMNS) and ALL_COLUMNS[0] == "compte"
    assert [(r["compte"], r["numero_rejete"]) for r in rows] == [
        (CLIENT_A, "FAC-1"),
        (CLIENT_B, "FAC-1"),
    ]
    for index, filled in enumerate(rows, start=1):
        filled["nouveau_numero"] = f"FAC-1-R{index}"
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.DictWriter(stream, ALL_COLUMNS, delimiter=";", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    plan = load(path)
    assert plan.accounts() == [CLIENT_A, CLIENT_B]
    check_accounts(plan, Accounts((account(CLIENT_A), account(CLIENT_B))))


def test_a_json_template_for_several_accounts_names_each_rows_account(tmp_path: Path) -> None:
    path = tmp_path / "modele.json"

    write_plan_template(REJECTIONS, path, accounts=[CLIENT_A, CLIENT_B])

    rows = json.loads(path.read_text("utf-8"))["corrections"]
    assert [(r["compte"], r["numero_rejete"]) for r in rows] == [
        (CLIENT_A, "FAC-1"),
        (CLIENT_B, "FAC-1"),
    ]
    assert next(iter(rows[0])) == "compte"


def test_a_template_needs_one_account_per_rejection(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="un compte par facture"):
        write_plan_template(REJECTIONS, tmp_path / "modele.csv", accounts=[CLIENT_A])
