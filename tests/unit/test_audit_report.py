"""The French report shows the run and every invoice, offline, with no secret in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from robot.audit.report import (
    InvoiceSection,
    RunFacts,
    TimelineEntry,
    format_time,
    render_report,
)
from robot.secrets import Secret

STARTED = datetime(2026, 11, 27, 9, 30, 0, tzinfo=UTC)
ENDED = datetime(2026, 11, 27, 9, 42, 7, tzinfo=UTC)


@dataclass
class _Page(HTMLParser):
    """What a reader (or a screen reader) gets out of the page."""

    ids: dict[str, str] = field(default_factory=dict)
    headings: list[str] = field(default_factory=list)
    images: list[dict[str, str | None]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    _open: str | None = None

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids[str(values["id"])] = tag
        if tag in ("h2", "code"):
            self._open = tag
            getattr(self, "headings" if tag == "h2" else "codes").append("")
        if tag == "img":
            self.images.append(values)
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        if tag in ("script", "link", "iframe"):
            self.remote.append(tag)
        for name in ("src", "href"):
            if str(values.get(name) or "").startswith(("http:", "https:", "//")):
                self.remote.append(str(values[name]))

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self._open = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open == "h2":
            self.headings[-1] += data
        elif self._open == "code":
            self.codes[-1] += data


def _facts(**changes: object) -> RunFacts:
    values: dict[str, object] = {
        "run_id": "20261127-103000-a1b2",
        "portal_url": "https://chorus-pro.gouv.fr",
        "account": "compta@exemple.fr",
        "started_at": STARTED,
        "ended_at": ENDED,
        "version": "0.1.0",
        "dry_run": False,
        "totals": {"done": 1, "business_failure": 1},
        "exit_code": 1,
    }
    values.update(changes)
    return RunFacts(**values)  # type: ignore[arg-type]


def _invoice(numero: str, **changes: object) -> InvoiceSection:
    values: dict[str, object] = {
        "numero_rejete": numero,
        "nouveau_numero": f"{numero}-R",
        "motif": "Montant erroné",
        "commentaire": "Le montant TTC ne correspond pas à la commande",
        "correction": {"montant_ttc": "1 200,50"},
        "outcome_label": "Traitée",
        "outcome_state": "done",
        "message": "Facture déposée",
        "timeline": [
            TimelineEntry(STARTED, "Acquitter", "fait", "Rejet acquitté"),
            TimelineEntry("2026-11-27T09:31:02.120Z", "Traiter le rejet", "fait", ""),
        ],
        "screenshots": [f"screenshots/{numero}-acknowledge-avant.png"],
        "traces": [f"traces/lot-{numero}.zip", f"traces/{numero}.zip"],
        "video": None,
    }
    values.update(changes)
    return InvoiceSection(**values)  # type: ignore[arg-type]


def _render(tmp_path: Path, invoices: list[InvoiceSection], **facts: object) -> tuple[str, _Page]:
    path = render_report(tmp_path, _facts(**facts), invoices)
    assert path == tmp_path / "report.html"
    html = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(html)
    return html, page


def test_every_invoice_has_an_anchored_section_with_its_heading(tmp_path: Path) -> None:
    numbers = ["F2026-001", "F2026-002", "AV 2026/7"]
    _, page = _render(tmp_path, [_invoice(n) for n in numbers])
    for number in numbers:
        assert f"Facture {number}" in page.headings
    sections = [i for i, tag in page.ids.items() if tag == "section" and i.startswith("facture-")]
    assert len(sections) == 3
    assert {f"#{s}" for s in sections} <= set(page.links)


def test_duplicate_numbers_get_distinct_anchors(tmp_path: Path) -> None:
    _, page = _render(tmp_path, [_invoice("F1"), _invoice("F1")])
    assert "facture-F1" in page.ids and "facture-F1-2" in page.ids


def test_screenshots_are_images_with_alt_text(tmp_path: Path) -> None:
    _, page = _render(tmp_path, [_invoice("F2026-001")])
    assert page.images == [
        {
            "src": "screenshots/F2026-001-acknowledge-avant.png",
            "alt": "Capture d'écran 1 de la facture F2026-001 : F2026 001 acknowledge avant",
            "loading": "lazy",
        }
    ]


def test_each_trace_is_linked_with_the_command_to_replay_it(tmp_path: Path) -> None:
    html, page = _render(tmp_path, [_invoice("F2026-001")])
    # The batch action that covered it (« Traiter le rejet » for several) and its own.
    for trace in ("traces/lot-F2026-001.zip", "traces/F2026-001.zip"):
        assert trace in page.links
        assert f"playwright show-trace {trace}" in page.codes
    assert "Action groupée (« Traiter le rejet » pour plusieurs factures" in html


def test_video_is_linked_when_recorded(tmp_path: Path) -> None:
    _, page = _render(tmp_path, [_invoice("F1", video="videos/worker-1.webm")])
    assert "videos/worker-1.webm" in page.links


def test_report_is_self_contained(tmp_path: Path) -> None:
    html, page = _render(tmp_path, [_invoice("F1")])
    assert page.remote == []
    assert "<style>" in html
    assert '<html lang="fr">' in html


def test_run_facts_and_totals_are_shown_in_french(tmp_path: Path) -> None:
    _, page = _render(tmp_path, [_invoice("F1")])
    text = " ".join(page.text)
    for expected in (
        "https://chorus-pro.gouv.fr",
        "compta@exemple.fr",
        "27/11/2026 10:30:00",  # 09:30 UTC in Paris
        "27/11/2026 10:42:07",
        "12 min 07 s",
        "0.1.0",
        "Traitées",
        "À examiner par une personne",
        "certaines factures demandent l'intervention d'une personne",
        "Montant erroné",
        "montant_ttc",
        "1 200,50",
        "F1-R",
    ):
        assert expected in text, expected


def test_dry_run_is_announced(tmp_path: Path) -> None:
    _, page = _render(tmp_path, [], dry_run=True, totals={"would_do": 0})
    assert any("Simulation" in chunk for chunk in page.text)
    assert any("Aucune facture" in chunk for chunk in page.text)


def test_portal_text_is_escaped_not_interpreted(tmp_path: Path) -> None:
    html, page = _render(tmp_path, [_invoice("F1", motif="<script>alert(1)</script>")])
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert page.remote == []


def test_registered_secrets_are_never_rendered(tmp_path: Path) -> None:
    secret = Secret("Report-secret-91f3")
    html, _ = _render(
        tmp_path,
        [_invoice("F1", message=f"cookie {secret.reveal()}", correction={"x": secret.reveal()})],
        account=f"compta {secret.reveal()}",
    )
    assert secret.reveal() not in html
    assert "cookie ********" in html


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        ("2026-07-14T08:00:00Z", "14/07/2026 10:00:00"),
        (datetime(2026, 1, 5, 8, 0, tzinfo=UTC), "05/01/2026 09:00:00"),
        ("pas une date", "pas une date"),
    ],
)
def test_times_are_shown_in_paris_time(value: datetime | str | None, shown: str) -> None:
    assert format_time(value) == shown
