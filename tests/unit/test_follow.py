"""The pure parts of ``chorus-robot suivi``: which invoices a run sent, what a portal status
means (the exit code), ``suivi.csv`` as a French spreadsheet writes it, the report's
« Suivi » section."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from robot.audit.report import FollowUpEntry, FollowUpSection, RunFacts, render_report
from robot.cli.suivi import (
    COLUMNS,
    Followed,
    Target,
    conclusion,
    exit_code,
    problem_line,
    targets,
    write_suivi_csv,
)
from robot.run.journal import TransactionRow
from robot.run.states import State
from scenarios.follow import FollowUp, Verdict, verdict
from scenarios.model import Kind

#: Every status of docs/portal.md « Statuses » and what it means for the supplier.
PORTAL_STATUSES = {
    "Brouillon": Verdict.TO_CHECK,
    "Déposée": Verdict.ON_ITS_WAY,
    "En cours d'acheminement": Verdict.ON_ITS_WAY,
    "Mise à disposition du destinataire": Verdict.RECEIVED,
    "À recycler": Verdict.SENT_BACK,
    "Suspendue": Verdict.SENT_BACK,
    "Complétée": Verdict.RECEIVED,
    "Rejetée": Verdict.SENT_BACK,
    "Service fait": Verdict.RECEIVED,
    "Mandatée": Verdict.RECEIVED,
    "Mise à disposition du comptable": Verdict.RECEIVED,
    "Comptabilisée": Verdict.RECEIVED,
    "Mise en paiement": Verdict.RECEIVED,
}
WINTER = datetime(2026, 11, 30, 9, 15, 7, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("statut", "expected"), PORTAL_STATUSES.items())
def test_each_portal_status_has_its_verdict(statut: str, expected: Verdict) -> None:
    assert verdict(statut) is expected


@pytest.mark.parametrize(
    ("statut", "expected"),
    [
        ("  mise à disposition du destinataire ", Verdict.RECEIVED),
        ("REJETÉE", Verdict.SENT_BACK),
        ("", Verdict.TO_CHECK),  # not found
        ("Archivée", Verdict.TO_CHECK),  # a status the robot does not know
    ],
)
def test_verdict_ignores_case_and_spaces_and_unknown_is_to_check(
    statut: str, expected: Verdict
) -> None:
    assert verdict(statut) is expected


def _followed(statut: str, *, motif: str = "", commentaire: str = "", **target: Any) -> Followed:
    fields = {"numero": "NEW-1", "numero_origine": "OLD-1", "kind": Kind.REJECTED, **target}
    return Followed(
        Target(**fields), FollowUp(fields["numero"], statut, motif, commentaire), WINTER
    )


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        ([], 0),
        (["Mise à disposition du destinataire", "Complétée", "Mise en paiement"], 0),
        # Still on its way: not a failure, to follow again later.
        (["Déposée", "En cours d'acheminement", "Service fait"], 0),
        (["Mise à disposition du destinataire", "Rejetée"], 1),
        (["Suspendue"], 1),
        (["À recycler", "Déposée"], 1),
        (["Mandatée", ""], 1),  # one invoice cannot be found
        (["Brouillon"], 1),
    ],
)
def test_exit_code_is_1_only_when_a_person_must_act(statuses: list[str], code: int) -> None:
    assert exit_code([_followed(s) for s in statuses]) == code


def _row(
    numero: str, nouveau: str, state: State, correction: dict[str, Any], id_: int = 1
) -> TransactionRow:
    return TransactionRow(
        id=id_,
        numero_rejete=numero,
        nouveau_numero=nouveau,
        correction=correction,
        state=state,
        message="",
        new_invoice_status="",
    )


def test_targets_are_the_new_invoice_of_a_rejected_one_and_the_same_for_the_others() -> None:
    rows = [
        _row("R-1", "N-1", State.DONE, {"nature": "rejetee", "montant_ht": "10,00"}),
        _row("R-2", "N-2", State.DONE, {}),  # a plan written before the other kinds
        _row("S-1", "", State.DONE, {"nature": "suspendue"}),
        _row("A-1", "", State.DONE, {"nature": "a_recycler"}),
        _row("R-3", "N-3", State.BUSINESS_FAILURE, {"nature": "rejetee"}),
        _row("R-4", "N-4", State.NOT_REJECTED, {}),
        _row("R-5", "N-5", State.PENDING, {}),
        _row("R-6", "N-6", State.WOULD_DO, {}),
    ]

    assert targets(rows) == [
        Target("N-1", "R-1", Kind.REJECTED),
        Target("N-2", "R-2", Kind.REJECTED),
        Target("S-1", "S-1", Kind.SUSPENDED),
        Target("A-1", "A-1", Kind.TO_RECYCLE),
    ]


def _read_csv(path: Path) -> tuple[bytes, list[dict[str, str]]]:
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    return raw, list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


def test_suivi_csv_is_written_as_a_french_spreadsheet_writes_it(tmp_path: Path) -> None:
    followed = [
        _followed(
            "Rejetée",
            motif="Taux de TVA erroné",
            commentaire='Ligne 1 ; taux "réduit"\nà 10 %',
        ),
        _followed("Complétée", numero="S-1", numero_origine="S-1", kind=Kind.SUSPENDED),
        Followed(
            Target("A-1", "A-1", Kind.TO_RECYCLE),
            FollowUp("A-1", "Mise à disposition du destinataire"),
            SUMMER,
        ),
    ]

    path = write_suivi_csv(tmp_path / "suivi.csv", followed)

    raw, rows = _read_csv(path)
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.split(b"\r\n")[0] == ";".join(COLUMNS).encode("utf-8-sig")
    assert raw.endswith(b"\r\n")
    assert [r["numero"] for r in rows] == ["NEW-1", "S-1", "A-1"]
    assert rows[0] == {
        "numero": "NEW-1",
        "numero_origine": "OLD-1",
        "nature": "Rejetée",
        "statut": "Rejetée",
        "motif": "Taux de TVA erroné",
        "commentaire": 'Ligne 1 ; taux "réduit"\nà 10 %',
        "verifie_le": "2026-11-30T10:15:07+01:00",  # Paris time, winter offset
    }
    assert (rows[1]["nature"], rows[1]["statut"]) == ("Suspendue", "Complétée")
    assert (rows[2]["nature"], rows[2]["verifie_le"]) == ("À recycler", "2026-07-01T10:00:00+02:00")
    assert not list(tmp_path.glob(".*.tmp"))


def test_suivi_csv_never_lets_a_motive_or_comment_run_as_a_formula(tmp_path: Path) -> None:
    followed = [_followed("Rejetée", motif='=HYPERLINK("x")', commentaire="@SUM(A1)")]

    _, rows = _read_csv(write_suivi_csv(tmp_path / "suivi.csv", followed))

    assert rows[0]["motif"] == '\'=HYPERLINK("x")'
    assert rows[0]["commentaire"] == "'@SUM(A1)"


def test_conclusion_and_problem_lines_are_french_and_name_the_invoice() -> None:
    followed = [
        _followed("Rejetée", motif="Montant total erroné", commentaire="Voir ligne 2"),
        _followed("Déposée", numero="NEW-2"),
        _followed("", numero="NEW-3"),
        _followed("Suspendue", numero="S-1", numero_origine="S-1", kind=Kind.SUSPENDED),
    ]

    assert conclusion(followed) == (
        "4 facture(s) suivie(s) · 1 en cours d'acheminement (pas un échec, à suivre de "
        "nouveau) · 2 renvoyée(s) par le destinataire : à traiter · 1 à vérifier par une "
        "personne"
    )
    assert problem_line(followed[0]) == (
        "La facture NEW-1 (issue de OLD-1) est de nouveau « Rejetée » — nouveau motif : "
        "« Montant total erroné », commentaire : « Voir ligne 2 »."
    )
    assert problem_line(followed[2]) == (
        "La facture NEW-3 (issue de OLD-1) est introuvable sur le portail : à vérifier."
    )
    assert problem_line(followed[3]) == (
        "La facture S-1 est de nouveau « Suspendue » — nouveau motif : « non précisé »."
    )


def _facts() -> RunFacts:
    return RunFacts(
        run_id="20261130-101500-ab12",
        portal_url="http://127.0.0.1:8000",
        account="fournisseur@example.fr",
        started_at=WINTER,
        ended_at=WINTER,
        version="test",
        dry_run=False,
        totals={"done": 2},
        exit_code=0,
    )


def test_report_shows_the_follow_up_section_only_when_given(tmp_path: Path) -> None:
    plain = render_report(tmp_path, _facts(), []).read_text("utf-8")
    assert 'id="suivi"' not in plain and "<h2>Suivi</h2>" not in plain

    follow_up = FollowUpSection(
        checked_at=WINTER,
        portal_url="http://127.0.0.1:8000",
        entries=[
            FollowUpEntry(
                "NEW-1", "OLD-1", "Rejetée", "Rejetée", "Renvoyée : à traiter",
                tone="attention", motif="Taux de TVA erroné", commentaire="<b>10 %</b>",
                checked_at=WINTER,
            ),
            FollowUpEntry(
                "NEW-2", "OLD-2", "Rejetée", "Mise à disposition du destinataire", "Reçue",
                checked_at=WINTER,
            ),
        ],
        conclusion="2 facture(s) suivie(s)",
    )  # fmt: skip
    html = render_report(tmp_path, _facts(), [], follow_up).read_text("utf-8")

    start = html.index('<section id="suivi">')
    section = html[start : html.index("</section>", start)]
    assert "<h2>Suivi</h2>" in section and "2 facture(s) suivie(s)" in section
    for text in ("NEW-1", "OLD-1", "NEW-2", "OLD-2", "Taux de TVA erroné", "30/11/2026 10:15:07"):
        assert text in section
    assert "&lt;b&gt;10 %&lt;/b&gt;" in section and "<b>10 %</b>" not in section
    assert 'class="badge state-business_failure">Renvoyée : à traiter' in section
    assert 'class="badge state-done">Reçue' in section
