"""What an accountant works from: ``resultats.csv``, the next action per invoice, the new
invoice's link and totals, the correction field by field; one time convention (ISO 8601 with
its offset) in run.log, summary.json, the events and the report; ASCII screenshot names; the
business failures logged at WARNING."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from loguru import logger

from robot.audit.events import EventLog
from robot.audit.report import InvoiceSection, RunFacts, ShotCaption, format_time, render_report
from robot.browser.recording import Recorder, ScreenshotNote, read_screenshot_notes, safe_name
from robot.config import Config
from robot.logs import configure_logging
from robot.portal import PortalTarget
from robot.run.bundle import finalize_bundle, invoice_section
from robot.run.identity import RunIdentity
from robot.run.outcomes import RunResult, TransactionOutcome
from robot.run.results import (
    field_changes,
    new_invoice_amounts,
    new_invoice_url,
    next_action,
    result_rows,
    write_results_csv,
)
from robot.run.states import State
from robot.run.summary import summary_dict
from robot.secrets import Secret
from robot.timezone import PARIS
from scenarios import Kind, Outcome, Step, StepResult

WINTER = datetime(2026, 11, 30, 17, 3, 12, 345000, tzinfo=PARIS)
SUMMER = datetime(2026, 7, 14, 10, 0, 0, tzinfo=PARIS)
LINK = "https://portail.exemple/factures-emises/factures/812"
OFFSET = re.compile(r"(Z|[+-]\d\d:\d\d)$")


def _reissued(**after: object) -> TransactionOutcome:
    return TransactionOutcome(
        numero_rejete="F-1",
        nouveau_numero="F-1-R",
        state=State.DONE,
        message="Facture F-1-R émise.",
        steps=[
            StepResult(Step.ACKNOWLEDGE, Outcome.DONE),
            StepResult(Step.PROCESS, Outcome.DONE),
            StepResult(
                Step.REISSUE,
                Outcome.DONE,
                "Facture F-1-R émise.",
                before={"montant_ht": "812.40"},
                after={"url": LINK, "montant_ht": "812.40", "montant_ttc": "974.88", **after},
            ),
        ],
        correction={"nature": "rejetee", "montant_ht": "812.40", "taux_tva": "20"},
    )


def _failed(message: str) -> TransactionOutcome:
    return TransactionOutcome("F-2", "F-2-R", State.BUSINESS_FAILURE, message=message)


def test_results_csv_is_a_french_spreadsheet(tmp_path: Path) -> None:
    result = RunResult("r", tmp_path, "https://x", False, WINTER, transactions=[_reissued()])
    path = write_results_csv(result_rows(result, resume="…", account="a@b.fr"), tmp_path / "r.csv")

    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM a French Excel needs to read UTF-8
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == (
        "Facture;Nature;Résultat;À faire;Nouveau numéro;Lien de la nouvelle facture;"
        "Montant HT;TVA;Montant TTC;Message;Compte"
    )
    cells = lines[1].split(";")
    assert cells[:3] == ["F-1", "Rejetée", "Terminée"]
    assert cells[4:] == [
        "F-1-R", LINK, "812,40", "162,48", "974,88", "Facture F-1-R émise.", "a@b.fr",
    ]  # fmt: skip
    assert lines[2] == ""  # CRLF after the last line too


def test_a_cell_is_never_read_as_a_formula(tmp_path: Path) -> None:
    result = RunResult("r", tmp_path, "https://x", False, WINTER, transactions=[_failed("=1+1")])
    [_, row] = result_rows(result, resume="…")
    assert row[9] == "'=1+1"


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (_reissued(), "Suivre son acheminement"),
        (TransactionOutcome("F", "", State.WOULD_DO), "relancer le plan sans --dry-run"),
        (_failed("Le portail refuse : SIRET inconnu."), "corriger la ligne du plan"),
        (_failed("Un brouillon porte déjà le numéro F-R"), "Supprimer sur le portail le brouillon"),
        (TransactionOutcome("F", "F-R", State.NOT_REJECTED), "Vérifier le numéro de facture"),
        (TransactionOutcome("F", "F-R", State.PENDING), "chorus-robot run --resume runs/x"),
    ],
)
def test_each_result_says_what_a_person_must_do_next(
    outcome: TransactionOutcome, expected: str
) -> None:
    assert expected in next_action(outcome, resume="chorus-robot run --resume runs/x")


def test_the_new_invoice_link_and_totals_come_from_the_reissue_step() -> None:
    outcome = _reissued()
    assert new_invoice_url(outcome) == LINK
    assert new_invoice_amounts(outcome).shown() == {
        "Montant HT": "812,40\xa0€",
        "TVA": "162,48\xa0€",
        "Montant TTC": "974,88\xa0€",
    }


def test_a_dry_run_shows_the_totals_it_would_send() -> None:
    outcome = TransactionOutcome(
        "F-1",
        "F-1-R",
        State.WOULD_DO,
        steps=[
            StepResult(
                Step.REISSUE,
                Outcome.WOULD_DO,
                before={"montant_ht": "1000.00", "taux_tva": ["5.5"]},
            )
        ],
    )
    amounts = new_invoice_amounts(outcome)
    assert (str(amounts.ht), str(amounts.tva), str(amounts.ttc)) == ("1000.00", "55.00", "1055.00")
    assert new_invoice_url(outcome) == ""  # nothing was sent


def test_old_and_new_values_come_from_the_reissue_step_content() -> None:
    before = {
        "contenu": {
            "Date de facture": "2026-11-02",
            "Numéro d'engagement": "EJ-1",
            "Lignes": ["1 × Audit à 812,40 €"],
            "Montant HT": "1000.00",
        }
    }
    after = {
        "url": LINK,
        "contenu": {
            "Date de facture": "2026-11-30",
            "Numéro d'engagement": "EJ-1",
            "Lignes": ["1 × Audit à 812,40 €"],
            "Montant HT": "812.40",
            "TVA": "162,48 €",
            "Montant TTC": "974,88 €",
        },
    }
    outcome = TransactionOutcome(
        "F-1",
        "F-1-R",
        State.DONE,
        steps=[StepResult(Step.REISSUE, Outcome.DONE, before=before, after=after)],
        correction={"nature": "rejetee", "montant_ht": "812.40", "commentaire": "Rectificative"},
    )
    rows = {c.label: (c.old, c.new, c.changed) for c in field_changes(outcome)}
    assert list(rows)[-1] == "Commentaire"  # what the content does not show, from the plan
    assert rows["Commentaire"] == ("", "Rectificative", None)
    assert rows["Date de facture"] == ("02/11/2026", "30/11/2026", True)
    assert rows["Numéro d'engagement"] == ("EJ-1", "EJ-1", False)
    assert rows["Montant HT"] == ("1\u202f000,00\xa0€", "812,40\xa0€", True)
    assert rows["TVA"] == ("", "162,48\xa0€", None)  # not read before
    assert new_invoice_amounts(outcome).shown()["Montant TTC"] == "974,88\xa0€"


def test_without_content_the_plan_correction_is_shown_with_french_labels() -> None:
    changes = field_changes(_reissued())
    assert [(c.label, c.new, c.changed) for c in changes] == [
        ("Montant HT", "812,40\xa0€", None),
        ("Taux de TVA", "20\xa0%", None),
    ]


def test_a_recycled_invoice_leaves_out_the_fields_that_did_not_change() -> None:
    outcome = TransactionOutcome(
        "F-3",
        "",
        State.DONE,
        kind=Kind.TO_RECYCLE,
        steps=[
            StepResult(
                Step.RECYCLE,
                Outcome.DONE,
                before={"siret_destinataire": "11111111111111", "code_service": "DAF"},
                after={"siret_destinataire": "22222222222222", "code_service": "DAF"},
            )
        ],
        correction={"siret_destinataire": "22222222222222", "code_service": "DAF"},
    )
    assert [(c.label, c.old, c.new, c.changed) for c in field_changes(outcome)] == [
        ("SIRET du destinataire", "11111111111111", "22222222222222", True)
    ]


def test_screenshot_names_are_ascii() -> None:
    assert safe_name("Confirmer et envoyer-après") == "Confirmer_et_envoyer-apres"
    assert safe_name("Compléter-avant") == "Completer-avant"
    assert safe_name("cœur") == "coeur"


class _FakePage:
    """What the recorder asks of a page: its address, and a screenshot written to a file."""

    url = "https://portail.exemple/factures-emises/saisir"

    def __init__(self) -> None:
        self.full_pages: list[bool] = []

    def screenshot(self, *, path: str, full_page: bool = False, **_options: object) -> bytes:
        self.full_pages.append(full_page)
        Path(path).write_bytes(b"jpeg")
        return b"jpeg"


def test_the_recorder_names_screenshots_in_ascii_and_writes_each_down(tmp_path: Path) -> None:
    page = _FakePage()
    (tmp_path / "screenshots").mkdir()
    earlier = tmp_path / "screenshots" / "F-1-001-Confirmer_et_envoyer-avant-page-entiere.jpg"
    earlier.write_bytes(b"an attempt before a resume")
    recorder = Recorder(tmp_path, trace="on")
    recorder.begin("F-1")

    recorder.witness(page, "Confirmer et envoyer", "avant")  # type: ignore[arg-type]
    recorder.witness(page, "Confirmer et envoyer", "après")  # type: ignore[arg-type]

    names = sorted(p.name for p in (tmp_path / "screenshots").iterdir())
    assert earlier.read_bytes() == b"an attempt before a resume"  # its number is skipped
    assert names == [
        "F-1-001-Confirmer_et_envoyer-avant-page-entiere.jpg",
        "F-1-002-Confirmer_et_envoyer-avant-page-entiere.jpg",
        "F-1-003-Confirmer_et_envoyer-avant.jpg",
        "F-1-004-Confirmer_et_envoyer-apres.jpg",
    ]
    assert page.full_pages == [True, False, False]
    notes = read_screenshot_notes(tmp_path)
    assert [(n.moment, n.full_page, n.url) for n in notes.values()] == [
        ("avant", True, page.url),
        ("avant", False, page.url),
        ("après", False, page.url),
    ]


# -- one time convention --------------------------------------------------------------------
@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "run.log"
    configure_logging(path)
    yield path
    logger.remove()


def test_a_log_line_starts_with_paris_time_and_its_offset(log_file: Path) -> None:
    logger.info("bonjour")
    line = log_file.read_text(encoding="utf-8").splitlines()[0]
    instant = line.split(" | ")[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", instant), line
    moment = datetime.fromisoformat(instant)
    assert moment.utcoffset() == moment.astimezone(PARIS).utcoffset()


def test_summary_and_events_carry_their_offset(tmp_path: Path) -> None:
    result = RunResult("r", tmp_path, "https://x", False, WINTER, ended_at=SUMMER)
    summary = summary_dict(result)
    assert summary["started_at"] == "2026-11-30T17:03:12.345+01:00"
    assert summary["ended_at"] == "2026-07-14T10:00:00.000+02:00"
    event = EventLog(tmp_path / "events.jsonl").append({"type": "test"})
    assert OFFSET.search(event["time"]), event["time"]


def test_the_report_gives_the_offset_of_each_date() -> None:
    assert format_time(WINTER, offset=True) == "30/11/2026 17:03:12 (UTC+01:00)"
    assert format_time(SUMMER, offset=True) == "14/07/2026 10:00:00 (UTC+02:00)"
    # A time of the same offset as the one the report announces is shown without it.
    assert format_time(WINTER, reference="UTC+01:00") == "30/11/2026 17:03:12"
    assert format_time(SUMMER, reference="UTC+01:00") == "14/07/2026 10:00:00 (UTC+02:00)"


def test_screenshots_are_captioned_with_time_click_and_address(tmp_path: Path) -> None:
    shot = tmp_path / "screenshots" / "F-1-001-Acquitter-avant-page-entiere.jpg"
    shot.parent.mkdir()
    shot.write_bytes(b"jpeg")
    EventLog(tmp_path / "events.jsonl").append(
        {
            "type": "screenshot",
            "invoice": "F-1",
            "file": "screenshots/" + shot.name,
            "action": "Acquitter",
            "moment": "avant",
            "url": "https://portail.exemple/factures/7",
            "full_page": True,
            "taken_at": WINTER.isoformat(),
        }
    )
    notes = read_screenshot_notes(tmp_path)
    note = notes["screenshots/" + shot.name]
    assert note == ScreenshotNote(
        "screenshots/" + shot.name,
        "F-1",
        "Acquitter",
        "avant",
        "https://portail.exemple/factures/7",
        WINTER,
        full_page=True,
    )
    outcome = TransactionOutcome("F-1", "", State.DONE, screenshots=[shot], shots={shot.name: note})
    section = invoice_section(tmp_path, outcome)
    assert section.captions == {
        "screenshots/" + shot.name: ShotCaption(
            "Avant « Acquitter » — page entière", WINTER, "https://portail.exemple/factures/7"
        )
    }
    facts = RunFacts("r", "http://127.0.0.1:8000", "a@b.fr", WINTER, WINTER, "1", False, {}, 0)
    html = render_report(tmp_path, facts, [section]).read_text(encoding="utf-8")
    assert "Avant « Acquitter » — page entière, le 30/11/2026 17:03:12 (UTC+01:00)" in html
    assert "https://portail.exemple/factures/7" in html
    assert "Bac à sable" in html  # a portal on this machine is no real portal


def test_the_report_shows_old_and_new_values_and_the_new_invoice_link(tmp_path: Path) -> None:
    section = InvoiceSection(
        numero_rejete="F-1",
        nouveau_numero="F-1-R",
        motif="Montant erroné",
        commentaire="",
        correction={},
        outcome_label="Terminée",
        outcome_state="done",
        message="",
        changes=field_changes(_reissued()),
        new_invoice_url=LINK,
        amounts=new_invoice_amounts(_reissued()).shown(),
    )
    facts = RunFacts("r", "https://chorus-pro.gouv.fr", "a", WINTER, WINTER, "1", False, {}, 0)
    html = render_report(tmp_path, facts, [section]).read_text(encoding="utf-8")
    assert '<th scope="col">Ancienne valeur</th>' in html
    assert f'<a href="{LINK}">' in html
    assert "974,88\xa0€" in html
    assert "Bac à sable" not in html
    assert "Heures en heure de Paris (UTC+01:00)" in html


# -- who and what; business failures at WARNING ---------------------------------------------
def test_the_bundle_records_who_and_logs_business_failures_as_warnings(tmp_path: Path) -> None:
    run_dir = tmp_path / "20261130-170312-a1b2"
    run_dir.mkdir()
    configure_logging(run_dir / "run.log")
    identity = RunIdentity(("a@b.fr",), "compta", "hote", "0.1.0", "ab" * 32, False)
    result = RunResult(
        run_dir.name,
        run_dir,
        "https://chorus-pro.gouv.fr",
        False,
        WINTER,
        ended_at=WINTER,
        transactions=[_reissued(), _failed("Le portail refuse : SIRET inconnu.")],
        identity=identity,
    )
    portal = PortalTarget("https://chorus-pro.gouv.fr", "a@b.fr", Secret("x" * 12), None, False)

    finalize_bundle(run_dir, result, Config(output_dir=tmp_path), portal)

    warning = [
        line for line in (run_dir / "run.log").read_text("utf-8").splitlines() if "F-2" in line
    ]
    assert warning and " | WARNING | " in warning[0]
    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    assert {k: summary[k] for k in identity.as_record()} == {
        "accounts": ["a@b.fr"],
        "os_user": "compta",
        "host": "hote",
        "robot_version": "0.1.0",
        "plan_sha256": "ab" * 32,
        "sandbox": False,
    }
    report = (run_dir / "report.html").read_text("utf-8")
    assert "Empreinte SHA-256 du plan" in report
    manifest = json.loads((run_dir / "manifest.json").read_text("utf-8"))
    assert "resultats.csv" in json.dumps(manifest)  # sealed with the rest


def test_run_identity_is_sandbox_for_a_local_portal() -> None:
    here = RunIdentity.here(("a@b.fr",), "0" * 64, "http://localhost:8000", embedded=False)
    assert here.sandbox and here.os_user and here.host
    assert not RunIdentity.here((), "", "https://chorus-pro.gouv.fr", embedded=False).sandbox
    assert RunIdentity.here((), "", "https://chorus-pro.gouv.fr", embedded=True).sandbox
