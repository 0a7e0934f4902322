"""``chorus-robot check-portal`` and the run's preflight: a changed label is detected (exit 3,
named, a screenshot kept), a moved or restyled screen is tolerated, nothing is changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_support import RobotCli, write_plan
from playwright.sync_api import Page
from portal_support import log_in

from pages import InvoicePage, RejectionWindow, SearchPage, SynthesePage
from robot.cli.check import render_table
from sandbox.server import RunningSandbox
from scenarios import PortalChanged, PortalError
from scenarios.preflight import assert_portal_matches, check_portal, mismatches


def _state(sandbox: RunningSandbox) -> list[tuple[Any, ...]]:
    return sorted(
        (i["numero"], i["statut"], i["acquittee"], i["rejet_traite"], len(i["historique"]))
        for i in sandbox.invoices()
    )


def _screenshots(out_dir: Path) -> list[Path]:
    return sorted(out_dir.glob("check-portal-*/*.png"))


def test_check_portal_on_a_matching_portal_prints_the_table_exits_0_and_changes_nothing(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli
) -> None:
    before = _state(fresh_sandbox)

    result = robot_cli("check-portal")

    assert result.exit_code == 0, result.output
    assert "Vérification du portail" in result.output and "0 écart(s)" in result.output
    for name in ("Traiter le rejet", "Colonne « Numéro de facture »", "Bloc « Références »"):
        assert name in result.output
    assert "NON" not in result.output
    assert _screenshots(result.out_dir) == []
    assert _state(fresh_sandbox) == before
    assert fresh_sandbox.options.password not in result.output


def test_check_portal_names_a_renamed_label_exits_3_and_keeps_a_screenshot(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli
) -> None:
    fresh_sandbox.set_faults(label_renames={"Traiter le rejet": "Traiter"})

    result = robot_cli("check-portal")

    assert result.exit_code == 3, result.output
    assert "Synthèse : « Traiter le rejet » introuvable" in result.output
    assert "1 écart(s)" in result.output
    [shot] = _screenshots(result.out_dir)
    assert "synthese" in shot.name and shot.stat().st_size > 1000
    assert shot.name in result.output and str(shot.parent) in result.output


def test_check_portal_reports_a_refused_login_without_showing_the_password(
    robot_cli: RobotCli,
) -> None:
    result = robot_cli("check-portal", CHORUS_PASSWORD="Pas-le-bon-mot-de-passe")

    assert result.exit_code == 3, result.output
    assert "Connexion : connexion refusée ou impossible" in result.output
    assert "Identifiant ou mot de passe incorrect" in result.output
    assert "Pas-le-bon-mot-de-passe" not in result.output


def test_check_portal_tolerates_moved_columns_moved_blocks_and_changed_ids(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli
) -> None:
    fresh_sandbox.set_faults(reorder=True, layout_drift=True)

    result = robot_cli("check-portal")

    assert result.exit_code == 0, result.output
    assert "0 écart(s)" in result.output


@pytest.mark.parametrize(
    ("label", "renamed"),
    [
        ("Traiter le rejet", "Traiter"),
        ("Statut", "État"),  # a Select2 list's label
        ("Aller à la page suivante du tableau", "Suivant"),  # a pagination button's title
    ],
)
def test_run_refuses_a_portal_whose_label_changed_and_acknowledges_nothing(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path, label: str, renamed: str
) -> None:
    # Passes once the runner calls scenarios.preflight.assert_portal_matches right after login.
    numero = next(i["numero"] for i in fresh_sandbox.invoices("REJETEE") if not i["acquittee"])
    plan = write_plan(tmp_path / "plan.csv", [{"numero_rejete": numero, "nouveau_numero": "D-1"}])
    fresh_sandbox.set_faults(label_renames={label: renamed})
    before = _state(fresh_sandbox)

    result = robot_cli("run", "--plan", str(plan), CHORUS_MAX_RETRIES="0")

    assert result.exit_code == 3, result.output
    assert f"« {label} » introuvable" in result.output
    assert _state(fresh_sandbox) == before


@pytest.mark.e2e
def test_preflight_raises_a_portal_error_naming_each_removed_label(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    fresh_sandbox.set_faults(label_removals=["Numéro d'engagement", "Acquittée"])

    with pytest.raises(PortalChanged) as caught:
        assert_portal_matches(page, fresh_sandbox.url)

    message = str(caught.value)
    assert "\n" not in message  # the runner reports the first line of the error
    assert "Saisir une facture : « Numéro d'engagement » introuvable" in message
    assert "Synthèse : Colonne « Acquittée » introuvable" in message
    assert "Consultation de la facture : « Rejet › Acquittée » introuvable" in message
    rows = check_portal(page, fresh_sandbox.url)
    assert len(mismatches(rows)) == sum(1 for row in rows if not row.found) >= 3
    assert render_table(rows).row_count == len(rows)


@pytest.mark.e2e
def test_preflight_checks_the_labels_the_page_objects_declare_they_read(
    page: Page, fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in(page, fresh_sandbox)
    rows = check_portal(page, fresh_sandbox.url)
    checked = {(row.page, row.element) for row in rows}
    assert mismatches(rows) == []
    for screen, columns in (
        ("Fenêtre « Factures rejetées ou suspendues »", RejectionWindow.COLUMNS),
        ("Synthèse", SynthesePage.COLUMNS),
        ("Rechercher › résultats", SearchPage.COLUMNS),
    ):
        assert {(screen, f"Colonne « {header} »") for header in columns} <= checked
    invoice = {element for screen, element in checked if screen == "Consultation de la facture"}
    assert {f"Informations › {label}" for label in InvoicePage.INFO_FIELDS} <= invoice
    assert {f"Lignes › Colonne « {header} »" for header in InvoicePage.LINE_COLUMNS} <= invoice
    assert {f"Historique › Colonne « {h} »" for h in InvoicePage.HISTORY_COLUMNS} <= invoice
    # Labels read into the same field are alternatives: one row for them.
    fields = set(InvoicePage.REJECTION_FIELDS.values())
    assert (
        len({e for e in invoice if e.startswith("Rejet › ")})
        == len(fields)
        < len(InvoicePage.REJECTION_FIELDS)
    )

    # A label a page object starts reading is checked from then on, without another list.
    monkeypatch.setattr(SynthesePage, "COLUMNS", {**SynthesePage.COLUMNS, "Échéance": "echeance"})
    monkeypatch.setattr(
        InvoicePage, "INFO_FIELDS", {**InvoicePage.INFO_FIELDS, "Date d'échéance": "echeance"}
    )
    assert mismatches(check_portal(page, fresh_sandbox.url)) == [
        "Synthèse : Colonne « Échéance » introuvable",
        "Consultation de la facture : « Informations › Date d'échéance » introuvable",
    ]


def test_preflight_on_a_portal_in_maintenance_is_a_portal_error_the_run_retries(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    fresh_sandbox.set_faults(maintenance=True)

    with pytest.raises(PortalError) as caught:
        assert_portal_matches(page, fresh_sandbox.url)

    assert not isinstance(caught.value, PortalChanged)  # not a change: retried, not fatal
    assert "Maintenance en cours" in str(caught.value)


def test_preflight_when_the_session_ends_is_retried_not_a_change(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    assert fresh_sandbox.admin("POST", "sessions/expire").status_code == 200

    with pytest.raises(PortalError) as caught:  # SessionLost, or the refusal of a stale form
        assert_portal_matches(page, fresh_sandbox.url)

    assert not isinstance(caught.value, PortalChanged)


def test_the_preflight_opens_the_completion_and_recycling_forms_without_submitting(
    fresh_sandbox: RunningSandbox, page: Page
) -> None:
    fresh_sandbox.reset(seed_recycle=1)  # the fixed seed holds an acknowledged suspension
    before = _state(fresh_sandbox)
    log_in(page, fresh_sandbox)

    rows = check_portal(page, fresh_sandbox.url)

    screens = {row.page for row in rows}
    assert {"Compléter une facture", "Recycler une facture"} <= screens, screens
    for screen in ("Compléter une facture", "Recycler une facture"):
        checked = [row for row in rows if row.page == screen]
        assert len(checked) >= 2 and all(row.found for row in checked), checked
    assert mismatches(rows) == []
    assert _state(fresh_sandbox) == before  # opened, never submitted
