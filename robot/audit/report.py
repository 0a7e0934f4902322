"""``report.html``: the French report an auditor reads offline.

Self-contained (inline CSS, no script, no remote resource); screenshots, traces and videos are
linked by their paths relative to the run folder. Every value shown goes through
:func:`robot.secrets.redact` and Jinja2's HTML escaping.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

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
    "ignored": "Ignorées (action=ignorer)",
    "business_failure": "À examiner par une personne",
    "not_rejected": "Non rejetées sur le portail",
    "system_failure": "Échec technique",
    "pending": "Non terminées",
    "claimed": "Interrompues",
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
    """What the report says about the run as a whole: what it did, who ran it and with what
    (``os_user``, ``host``, ``plan_sha256``: empty when not known), and whether the portal was
    a sandbox (``sandbox`` None: told from ``portal_url``, see :func:`is_sandbox_url`)."""

    run_id: str
    portal_url: str
    account: str
    started_at: datetime | None
    ended_at: datetime | None
    version: str
    dry_run: bool
    totals: dict[str, int]
    exit_code: int | None
    os_user: str = ""
    host: str = ""
    plan_sha256: str = ""
    sandbox: bool | None = None

    @property
    def on_sandbox(self) -> bool:
        return is_sandbox_url(self.portal_url) if self.sandbox is None else self.sandbox


@dataclass(frozen=True)
class FieldChange:
    """One field of an invoice's correction: its French label, its value before (as the
    portal showed it; "" when not read) and after, and whether it changed (None: unknown,
    the value before was not read)."""

    label: str
    old: str
    new: str
    changed: bool | None = None


@dataclass(frozen=True)
class ShotCaption:
    """What a screenshot shows: when, around which click (``what``, in French), where."""

    what: str
    time: datetime | None = None
    url: str = ""


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
    #: Its Playwright traces, in order: those of the batch actions that covered it (« Traiter
    #: le rejet » for several invoices: ``traces/lot-….zip``), then its own (parts first).
    traces: list[str] = field(default_factory=list)
    video: str | None = None
    kind_label: str = "Rejetée"
    #: The portal account the invoice belongs to (empty: the run's one account).
    account: str = ""
    #: Who carried it (``host:pid:worker``), when several machines shared the run.
    machine: str = ""
    #: The correction field by field, old and new values (empty: ``correction`` is shown).
    changes: list[FieldChange] = field(default_factory=list)
    #: The new invoice on the portal (its consultation page), when known.
    new_invoice_url: str = ""
    #: The new invoice's totals (« Montant HT », « TVA », « Montant TTC » → French amount).
    amounts: dict[str, str] = field(default_factory=dict)
    #: Screenshot (path relative to the run folder) → what it shows.
    captions: dict[str, ShotCaption] = field(default_factory=dict)


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


def is_sandbox_url(url: str) -> bool:
    """Whether a portal address is a sandbox: the embedded one (named, not an address), or
    one served from this machine (localhost, 127.0.0.1, ::1) — never the real portal."""
    if not url.startswith(("http://", "https://")):
        return "bac à sable" in url.casefold()
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _instant(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        moment = value
    if moment.tzinfo is None:
        # A naive instant is taken as Paris time rather than guessed as UTC.
        moment = moment.replace(tzinfo=PARIS)
    return moment.astimezone(PARIS)


def utc_offset(value: datetime | str | None) -> str:
    """Paris's offset from UTC at that instant: « UTC+01:00 », « UTC+02:00 » in summer."""
    moment = _instant(value) or datetime.now(PARIS)
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_time(
    value: datetime | str | None, *, offset: bool = False, reference: str | None = None
) -> str:
    """« 27/11/2026 10:30:05 » in Paris time; ISO strings are parsed; "—" for None.

    ``offset``: followed by its offset, « (UTC+01:00) »; ``reference``: the offset the
    report announces (« UTC+01:00 »), shown only for an instant whose offset differs from it
    (a run that crossed a change of summer time)."""
    moment = _instant(value)
    if moment is None:
        return "—" if value is None or value == "" else str(value)
    text = moment.strftime("%d/%m/%Y %H:%M:%S")
    shown = utc_offset(moment)
    if offset or (reference is not None and shown != reference):
        text += f" ({shown})"
    return text


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


def _environment(reference: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(["html"]),
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = lambda value: format_time(value, reference=reference)
    env.filters["when_offset"] = lambda value: format_time(value, offset=True)
    env.filters["href"] = _href
    env.filters["shell"] = shlex.quote
    return env


def _screenshot_alt(numero: str, relative: str, index: int) -> str:
    stem = PurePosixPath(relative).stem.replace("_", " ").replace("-", " ")
    return f"Capture d'écran {index} de la facture {numero} : {stem}"


def _changes(invoice: InvoiceSection) -> list[FieldChange]:
    """The rows of « Correction appliquée »: the changes given, else the correction as is."""
    if invoice.changes:
        return invoice.changes
    return [FieldChange(name, "", value) for name, value in invoice.correction.items()]


def _offsets(facts: RunFacts) -> str:
    """The offset(s) the report's times are in: « UTC+01:00 », or both when the run
    crossed a change of summer time."""
    start = utc_offset(facts.started_at)
    end = utc_offset(facts.ended_at) if facts.ended_at else start
    return start if start == end else f"{start} puis {end}"


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
                (
                    shot,
                    _screenshot_alt(invoice.numero_rejete, shot, index),
                    invoice.captions.get(shot),
                )
                for index, shot in enumerate(invoice.screenshots, start=1)
            ],
            "changes": _changes(invoice),
        }
        for invoice in invoices
    ]
    totals = [(STATE_LABELS.get(state, state), count) for state, count in facts.totals.items()]
    reference = utc_offset(facts.started_at)
    html = (
        _environment(reference)
        .get_template(REPORT_NAME)
        .render(
            facts=facts,
            sections=sections,
            totals=totals,
            total=sum(facts.totals.values()),
            duration=_duration(facts.started_at, facts.ended_at),
            exit_label=EXIT_LABELS.get(facts.exit_code, "") if facts.exit_code is not None else "",
            generated_at=datetime.now(PARIS),
            offsets=_offsets(facts),
            follow_up=follow_up,
            follow_up_classes=FOLLOW_UP_CLASSES,
        )
    )
    target = run_dir / REPORT_NAME
    temporary = run_dir / f".{REPORT_NAME}.tmp"
    temporary.write_text(html, encoding="utf-8")
    os.replace(temporary, target)
    return target
