"""``report.html``: the French report an auditor reads offline.

Self-contained (inline CSS, no script, no remote resource); screenshots, traces and videos are
linked by their paths relative to the run folder. Every value shown goes through
:func:`robot.secrets.redact` and Jinja2's HTML escaping.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from robot.audit.rundir import REPORT_NAME
from robot.secrets import redact
from robot.timezone import PARIS

_TEMPLATES = Path(__file__).parent / "templates"

#: Transaction states (journal) → French labels, for the totals.
STATE_LABELS: dict[str, str] = {
    "done": "Traitées",
    "already_done": "Déjà traitées",
    "would_do": "À traiter (simulation)",
    "business_failure": "À examiner par une personne",
    "not_rejected": "Non rejetées sur le portail",
    "system_failure": "Échec technique",
    "pending": "Non terminées",
}

#: Exit codes (robot/errors.py, docs/architecture.md « Errors and exit codes ») → French.
EXIT_LABELS: dict[int, str] = {
    0: "toutes les factures ont été traitées",
    1: "certaines factures demandent l'intervention d'une personne",
    2: "refusé avant de commencer (rien n'a été modifié)",
    3: "échec technique que les nouvelles tentatives n'ont pas surmonté",
    4: "un autre run détenait le verrou",
}


@dataclass(frozen=True)
class TimelineEntry:
    """One step of an invoice's timeline."""

    time: datetime | str
    step_label: str
    outcome_label: str
    message: str = ""


@dataclass(frozen=True)
class RunFacts:
    """What the report says about the run as a whole."""

    run_id: str
    portal_url: str
    account: str
    started_at: datetime | None
    ended_at: datetime | None
    version: str
    dry_run: bool
    totals: dict[str, int]
    exit_code: int | None


@dataclass(frozen=True)
class InvoiceSection:
    """One invoice of the plan as the report shows it (``kind_label``: « Rejetée »,
    « Suspendue » or « À recycler », the work it asked for)."""

    numero_rejete: str
    nouveau_numero: str
    motif: str
    commentaire: str
    correction: dict[str, str]
    outcome_label: str
    outcome_state: str
    message: str
    timeline: list[TimelineEntry] = field(default_factory=list)
    screenshots: list[str] = field(default_factory=list)
    trace: str | None = None
    video: str | None = None
    kind_label: str = "Rejetée"


@dataclass(frozen=True)
class FollowUpEntry:
    """One invoice of the « Suivi » section (``chorus-robot suivi``): the invoice followed,
    the plan row's invoice it comes from, the work's nature, the portal's status now, what
    that status means (``verdict_label``; ``tone``: "ok" received, "waiting" on its way,
    "attention" a person must act), and the motive and comment when it was sent back."""

    numero: str
    numero_origine: str
    nature: str
    statut: str
    verdict_label: str
    tone: str = "ok"
    motif: str = ""
    commentaire: str = ""
    checked_at: datetime | str | None = None


@dataclass(frozen=True)
class FollowUpSection:
    """The « Suivi » section: where the invoices the run sent stand on the portal."""

    checked_at: datetime
    portal_url: str
    entries: list[FollowUpEntry] = field(default_factory=list)
    conclusion: str = ""


#: A follow-up entry's tone → the badge class it is shown with.
FOLLOW_UP_CLASSES: dict[str, str] = {
    "ok": "done",
    "waiting": "would_do",
    "attention": "business_failure",
}


def format_time(value: datetime | str | None) -> str:
    """« 27/11/2026 10:30:05 » in Paris time; ISO strings are parsed; "—" for None."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    else:
        moment = value
    if moment.tzinfo is None:
        # A naive instant is taken as Paris time rather than guessed as UTC.
        moment = moment.replace(tzinfo=PARIS)
    return moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S")


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None or start.tzinfo is None or end.tzinfo is None:
        return "—"
    seconds = max(0, round((end - start).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return (
        f"{hours} h {minutes:02d} min {seconds:02d} s"
        if hours
        else f"{minutes} min {seconds:02d} s"
    )


def anchor(numero: str, taken: set[str]) -> str:
    """An HTML id for an invoice section, unique within ``taken`` (which it joins)."""
    base = "facture-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", numero).strip("-") or "sans-numero")
    candidate, index = base, 2
    while candidate in taken:
        candidate, index = f"{base}-{index}", index + 1
    taken.add(candidate)
    return candidate


def _href(relative: str) -> str:
    """A relative link to a file of the run folder (forward slashes, spaces escaped)."""
    return PurePosixPath(relative.replace(os.sep, "/")).as_posix().replace(" ", "%20")


def _finalize(value: Any) -> Any:
    # Every {{ expression }} passes here before escaping: secrets never reach the page.
    if value is None:
        return ""
    return redact(value) if isinstance(value, str) else value


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(["html"]),
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = format_time
    env.filters["href"] = _href
    env.filters["shell"] = shlex.quote
    return env


def _screenshot_alt(numero: str, relative: str, index: int) -> str:
    stem = PurePosixPath(relative).stem.replace("_", " ").replace("-", " ")
    return f"Capture d'écran {index} de la facture {numero} : {stem}"


def render_report(
    run_dir: Path,
    facts: RunFacts,
    invoices: list[InvoiceSection],
    follow_up: FollowUpSection | None = None,
) -> Path:
    """Write ``run_dir/report.html`` and return its path (with the « Suivi » section when
    ``follow_up`` is given)."""
    taken: set[str] = set()
    sections = [
        {
            "invoice": invoice,
            "anchor": anchor(invoice.numero_rejete, taken),
            "state_class": re.sub(r"[^a-z_-]+", "-", invoice.outcome_state.lower()),
            "screenshots": [
                (shot, _screenshot_alt(invoice.numero_rejete, shot, index))
                for index, shot in enumerate(invoice.screenshots, start=1)
            ],
        }
        for invoice in invoices
    ]
    totals = [(STATE_LABELS.get(state, state), count) for state, count in facts.totals.items()]
    html = (
        _environment()
        .get_template(REPORT_NAME)
        .render(
            facts=facts,
            sections=sections,
            totals=totals,
            total=sum(facts.totals.values()),
            duration=_duration(facts.started_at, facts.ended_at),
            exit_label=EXIT_LABELS.get(facts.exit_code, "") if facts.exit_code is not None else "",
            generated_at=datetime.now(PARIS),
            follow_up=follow_up,
            follow_up_classes=FOLLOW_UP_CLASSES,
        )
    )
    target = run_dir / REPORT_NAME
    temporary = run_dir / f".{REPORT_NAME}.tmp"
    temporary.write_text(html, encoding="utf-8")
    os.replace(temporary, target)
    return target
