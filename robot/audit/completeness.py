"""Is the bundle the *whole* run? What the hash chain cannot tell.

The chain of ``events.jsonl`` proves no line was removed *inside* it; dropping its tail (the
last invoice's events and ``run_end``) and writing the manifest again leaves a chain that
verifies. These checks compare the bundle's files with one another instead:

- ``events.jsonl`` starts with ``run_start`` (or ``run_resume``) and its last event is
  ``run_end`` — but for the ``suivi`` events that ``chorus-robot suivi`` appends after the
  run has ended;
- every invoice of ``summary.json`` in a final state has a ``transaction_end`` event with that
  state (an invoice left « pending » by a stop has none yet), and no other invoice has one;
- the run's exit code and id agree between ``summary.json`` and ``events.jsonl``;
- ``summary.json``'s totals count its invoices; ``report.html`` shows the same invoices and
  the same totals;
- every file the report links (screenshots, traces, videos) and every trace named by an
  invoice's last ``transaction_end`` exists.

Problems are French sentences naming the file and the invoice. A signature makes the whole
bundle trustworthy; these checks make a *truncated* one visible even unsigned.
"""

from __future__ import annotations

import json
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from robot.audit.events import read_events
from robot.audit.report import STATE_LABELS
from robot.audit.rundir import EVENTS_NAME, REPORT_NAME, SUMMARY_NAME, TRACES_DIR

RUN_OPENINGS = ("run_start", "run_resume")
#: Events allowed after the last ``run_end``: written by ``chorus-robot suivi``.
AFTER_RUN = ("suivi",)
#: Transaction states without a ``transaction_end`` (not carried, or carried again later).
UNFINISHED = ("pending", "claimed")


def completeness_problems(run_dir: Path) -> list[str]:
    """Everything missing or disagreeing between events, summary and report, in French."""
    problems: list[str] = []
    events = _events(run_dir, problems)
    summary = _summary(run_dir, problems)
    if summary is not None:
        problems.extend(_summary_problems(summary))
        if events:
            problems.extend(_events_vs_summary(run_dir, events, summary))
    report = run_dir / REPORT_NAME
    if not report.is_file():
        problems.append(f"{REPORT_NAME} absent")
    else:
        seen = _ReportReader.read(report)
        problems.extend(_link_problems(run_dir, seen.links))
        if summary is not None:
            problems.extend(_report_vs_summary(seen, summary))
    return problems


def _events(run_dir: Path, problems: list[str]) -> list[dict[str, Any]]:
    if not (run_dir / EVENTS_NAME).is_file():
        problems.append(f"{EVENTS_NAME} absent : le journal d'événements du run manque")
        return []
    events = read_events(run_dir / EVENTS_NAME)
    if not events:
        problems.append(f"{EVENTS_NAME} vide : aucun événement du run")
        return []
    first = events[0].get("type")
    if first not in RUN_OPENINGS:
        problems.append(
            f"{EVENTS_NAME} incomplet : le premier événement est « {first} », ni « run_start » "
            "ni « run_resume » (début du run supprimé ?)"
        )
    run = [e for e in events if e.get("type") not in AFTER_RUN]
    last = run[-1] if run else events[-1]
    if last.get("type") != "run_end":
        invoice = f" (facture {last['invoice']})" if last.get("invoice") else ""
        problems.append(
            f"{EVENTS_NAME} incomplet : le dernier événement est « {last.get('type')} »"
            f"{invoice}, pas « run_end » (fin du run supprimée ?)"
        )
    return events


def _summary(run_dir: Path, problems: list[str]) -> dict[str, Any] | None:
    path = run_dir / SUMMARY_NAME
    if not path.is_file():
        problems.append(f"{SUMMARY_NAME} absent : le résumé du run manque")
        return None
    try:
        summary = json.loads(path.read_bytes())
    except ValueError:
        problems.append(f"{SUMMARY_NAME} illisible (JSON invalide)")
        return None
    if not isinstance(summary, dict) or not isinstance(summary.get("transactions"), list):
        problems.append(f"{SUMMARY_NAME} illisible (liste des factures absente)")
        return None
    if not all(
        isinstance(t, dict) and isinstance(t.get("numero_rejete"), str)
        for t in summary["transactions"]
    ):
        problems.append(f"{SUMMARY_NAME} illisible (facture sans numéro)")
        return None
    return summary


def _states(summary: dict[str, Any]) -> dict[str, str]:
    return {t["numero_rejete"]: str(t.get("state")) for t in summary["transactions"]}


def _summary_problems(summary: dict[str, Any]) -> list[str]:
    totals = summary.get("totals")
    if not isinstance(totals, dict):
        return [f"{SUMMARY_NAME} : totaux absents"]
    counted = Counter(str(t.get("state")) for t in summary["transactions"])
    problems = []
    for state in sorted(set(counted) | set(totals)):
        if totals.get(state, 0) != counted.get(state, 0):
            problems.append(
                f"{SUMMARY_NAME} incohérent : total « {state} » = {totals.get(state, 0)}, "
                f"mais {counted.get(state, 0)} facture(s) dans cet état"
            )
    return problems


def _events_vs_summary(
    run_dir: Path, events: list[dict[str, Any]], summary: dict[str, Any]
) -> list[str]:
    problems: list[str] = []
    ends: dict[str, dict[str, Any]] = {}  # invoice → its last transaction_end
    for event in events:
        if event.get("type") == "transaction_end" and isinstance(event.get("invoice"), str):
            ends[event["invoice"]] = event
    states = _states(summary)
    for numero, state in states.items():
        end = ends.get(numero)
        if end is None:
            if state not in UNFINISHED:
                problems.append(
                    f"facture {numero} : dans {SUMMARY_NAME} (« {state} ») mais sans événement "
                    f"transaction_end dans {EVENTS_NAME} (événements supprimés ?)"
                )
            continue
        if state not in UNFINISHED and end.get("state") != state:
            problems.append(
                f"facture {numero} : état « {state} » dans {SUMMARY_NAME}, "
                f"« {end.get('state')} » dans {EVENTS_NAME}"
            )
        for name in end.get("traces") or []:
            if not (run_dir / TRACES_DIR / str(name)).is_file():
                problems.append(
                    f"facture {numero} : trace {TRACES_DIR}/{name} introuvable "
                    f"(citée par {EVENTS_NAME})"
                )
    for numero in sorted(ends.keys() - states.keys()):
        problems.append(
            f"facture {numero} : dans {EVENTS_NAME} mais absente de {SUMMARY_NAME} "
            "(résumé modifié ?)"
        )
    run_ends = [e for e in events if e.get("type") == "run_end"]
    if run_ends and run_ends[-1].get("exit_code") != summary.get("exit_code"):
        problems.append(
            f"code de sortie {summary.get('exit_code')} dans {SUMMARY_NAME}, "
            f"{run_ends[-1].get('exit_code')} dans le dernier run_end de {EVENTS_NAME}"
        )
    run_ids = {e.get("run_id") for e in events if e.get("type") in RUN_OPENINGS}
    if run_ids and summary.get("run_id") not in run_ids:
        problems.append(
            f"identifiant du run « {summary.get('run_id')} » dans {SUMMARY_NAME}, "
            f"« {', '.join(sorted(str(r) for r in run_ids))} » dans {EVENTS_NAME}"
        )
    return problems


class _ReportReader(HTMLParser):
    """What the report shows: invoice headings, the « Bilan » table, linked files."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.invoices: list[str] = []
        self.totals: dict[str, str] = {}
        self.links: list[str] = []
        self._in_bilan = False
        self._heading: list[str] | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    @classmethod
    def read(cls, path: Path) -> _ReportReader:
        reader = cls()
        reader.feed(path.read_text(encoding="utf-8", errors="replace"))
        reader.close()
        return reader

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("href", "src"):
            if values.get(name):
                self.links.append(str(values[name]))
        if tag == "section":
            self._in_bilan = values.get("id") == "bilan"
        elif tag == "h2":
            self._heading = []
        elif tag == "tr" and self._in_bilan:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._in_bilan = False
        elif tag == "h2" and self._heading is not None:
            text = " ".join("".join(self._heading).split())
            if text.startswith("Facture "):
                self.invoices.append(text.removeprefix("Facture "))
            self._heading = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if len(self._row) == 2 and self._row[1].isdigit():
                self.totals[self._row[0]] = self._row[1]
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _link_problems(run_dir: Path, links: list[str]) -> list[str]:
    problems = []
    for link in dict.fromkeys(links):
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or not parts.path:
            continue  # an anchor (#…) or an outside address: not a file of the bundle
        relative = PurePosixPath(unquote(parts.path))
        if relative.is_absolute() or ".." in relative.parts:
            problems.append(f"{REPORT_NAME} cite un fichier hors du dossier : {relative}")
        elif not (run_dir / relative).is_file():
            problems.append(f"fichier cité par {REPORT_NAME} introuvable : {relative}")
    return problems


def _report_vs_summary(seen: _ReportReader, summary: dict[str, Any]) -> list[str]:
    problems = []
    listed = [t["numero_rejete"] for t in summary["transactions"]]
    for numero in sorted(set(listed) - set(seen.invoices)):
        problems.append(f"facture {numero} : dans {SUMMARY_NAME} mais absente de {REPORT_NAME}")
    for numero in sorted(set(seen.invoices) - set(listed)):
        problems.append(f"facture {numero} : dans {REPORT_NAME} mais absente de {SUMMARY_NAME}")
    expected = {
        STATE_LABELS.get(state, state): str(count)
        for state, count in Counter(str(t.get("state")) for t in summary["transactions"]).items()
    }
    expected["Total"] = str(len(listed))
    for label in sorted(set(expected) | set(seen.totals)):
        if seen.totals.get(label, "0") != expected.get(label, "0"):
            problems.append(
                f"{REPORT_NAME} : bilan « {label} » = {seen.totals.get(label, '0')}, "
                f"{SUMMARY_NAME} en compte {expected.get(label, '0')}"
            )
    return problems
