"""``chorus-robot suivi RUN_DIR``: where the invoices a run sent stand on the portal now.

Read-only on the portal. For every transaction of the run that ended « Terminée », the invoice
to follow is the new invoice (``nouveau_numero``) of a rejected one, the same invoice
(``numero_rejete``) of a suspended one or one to recycle. Each is looked up in « Rechercher »
(:mod:`scenarios.follow`); then, in the run folder:

1. ``suivi.csv`` is written as a French spreadsheet writes it (``;``, UTF-8 with BOM, CRLF);
2. a ``suivi`` event is appended to ``events.jsonl`` (hash-chained);
3. ``report.html`` is rendered again, with its « Suivi » section;
4. secrets are swept and ``manifest.json`` written again, last (as :mod:`robot.run.bundle`
   does at a run's end), so that ``chorus-robot audit verify RUN_DIR`` still passes.

The bundle is checked intact before anything is written: sealing again never blesses a
folder altered since. When the portal fails nothing is written at all.

Exit codes: 0 every invoice followed was received (« Mise à disposition du destinataire » or
a later status, « Complétée ») or is still on its way (« Déposée », « En cours
d'acheminement »: not a failure, to follow again later); 1 one was sent back again
(« Rejetée », « Suspendue », « À recycler ») or cannot be found — a person must act; 2 the
folder is refused (not a run folder, unknown to the journal, unfinished, altered): nothing
touched; 3 the portal failed: the folder is left as it was.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from robot.audit.events import EventLog
from robot.audit.manifest import is_signed, signer_fingerprint, verify_bundle
from robot.audit.report import FollowUpEntry, FollowUpSection, RunFacts, render_report
from robot.audit.rundir import REPORT_NAME, RunDir
from robot.audit.scan import find_secrets, redact_tree
from robot.browser.launch import settings_for
from robot.browser.session import WorkSession
from robot.cli.common import console, err_console
from robot.config import Config
from robot.errors import (
    EXIT_BUSINESS,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_SYSTEM,
    Refused,
    first_line,
)
from robot.logs import configure_logging
from robot.portal import PortalTarget, open_portal
from robot.run.bundle import invoice_section, robot_version, seal_manifest
from robot.run.journal import RunRow, TransactionRow, journal_target, open_journal
from robot.run.outcomes import RunResult, TransactionOutcome, outcomes_from_journal
from robot.run.states import State
from robot.run.summary import totals
from robot.secrets import registered
from robot.timezone import PARIS
from scenarios.follow import EXPORT_FROM, FollowUp, Listed, Verdict, follow_invoice, listed_invoices
from scenarios.model import Kind, ScenarioError, SessionLost

#: The columns of ``suivi.csv``, in order.
COLUMNS = ("numero", "numero_origine", "nature", "statut", "motif", "commentaire", "verifie_le")
#: Characters that make a spreadsheet read a cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TONES = {
    Verdict.RECEIVED: "ok",
    Verdict.ON_ITS_WAY: "waiting",
    Verdict.SENT_BACK: "attention",
    Verdict.TO_CHECK: "attention",
}
_STYLES = {
    Verdict.RECEIVED: "green",
    Verdict.ON_ITS_WAY: "cyan",
    Verdict.SENT_BACK: "yellow",
    Verdict.TO_CHECK: "yellow",
}


@dataclass(frozen=True)
class Target:
    """An invoice to follow: its number, the plan row's invoice and the work's nature."""

    numero: str
    numero_origine: str
    kind: Kind


@dataclass(frozen=True)
class Followed:
    """An invoice followed: what the portal showed, and when (Paris time)."""

    target: Target
    seen: FollowUp
    checked_at: datetime

    @property
    def verdict(self) -> Verdict:
        return self.seen.verdict


# -- pure parts -----------------------------------------------------------------------------


def targets(transactions: Iterable[TransactionRow]) -> list[Target]:
    """The invoices to follow: one per transaction ended « Terminée », in the journal's order.

    Rejected (``nature`` « rejetee », or none: plans written before the other kinds): the new
    invoice. Suspended or to recycle: the same invoice, same number.
    """
    found = []
    for row in transactions:
        if row.state is not State.DONE:
            continue
        kind = Kind(row.correction.get("nature") or Kind.REJECTED.value)
        numero = row.nouveau_numero if kind is Kind.REJECTED else row.numero_rejete
        if numero:
            found.append(Target(numero=numero, numero_origine=row.numero_rejete, kind=kind))
    return found


def exit_code(followed: Sequence[Followed]) -> int:
    """1 when an invoice was sent back again or cannot be found (a person must act), else 0:
    received, or still on its way (« Déposée », « En cours d'acheminement »), is no failure."""
    return EXIT_BUSINESS if any(f.verdict.needs_a_person for f in followed) else EXIT_OK


def _cell(text: str) -> str:
    # Motives and comments are typed by the public client: never let them run as a formula.
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def csv_row(followed: Followed) -> dict[str, str]:
    """One line of ``suivi.csv`` (column → text)."""
    return {
        "numero": followed.target.numero,
        "numero_origine": followed.target.numero_origine,
        "nature": followed.target.kind.label,
        "statut": followed.seen.statut,
        "motif": _cell(followed.seen.motif),
        "commentaire": _cell(followed.seen.commentaire),
        "verifie_le": followed.checked_at.astimezone(PARIS).isoformat(timespec="seconds"),
    }


def write_suivi_csv(path: Path, followed: Sequence[Followed]) -> Path:
    """Write ``suivi.csv`` as a French spreadsheet writes it: ``;``, UTF-8 with BOM, CRLF.

    Written beside the target then renamed: a crash never leaves half a file.
    """
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS, delimiter=";", lineterminator="\r\n")
        writer.writeheader()
        for item in followed:
            writer.writerow(csv_row(item))
    temporary.replace(path)
    return path


def conclusion(followed: Sequence[Followed]) -> str:
    """One French sentence: what the follow-up found, as the report and the table say it."""
    if not followed:
        return "Aucune facture envoyée par ce run : rien à suivre."
    counts = {verdict: 0 for verdict in Verdict}
    for item in followed:
        counts[item.verdict] += 1
    parts = [f"{len(followed)} facture(s) suivie(s)"]
    words = {
        Verdict.RECEIVED: "reçue(s) par le destinataire",
        Verdict.ON_ITS_WAY: "en cours d'acheminement (pas un échec, à suivre de nouveau)",
        Verdict.SENT_BACK: "renvoyée(s) par le destinataire : à traiter",
        Verdict.TO_CHECK: "à vérifier par une personne",
    }
    parts += [f"{counts[v]} {words[v]}" for v in Verdict if counts[v]]
    return " · ".join(parts)


def problem_line(item: Followed) -> str:
    """What a person must know about an invoice that needs one (French)."""
    numero, origine = item.target.numero, item.target.numero_origine
    source = f" (issue de {origine})" if origine != numero else ""
    if not item.seen.found:
        return f"La facture {numero}{source} est introuvable sur le portail : à vérifier."
    if item.verdict is Verdict.TO_CHECK:
        return f"La facture {numero}{source} est « {item.seen.statut} » : à vérifier."
    line = (
        f"La facture {numero}{source} est de nouveau « {item.seen.statut} » — nouveau motif : "
        f"« {item.seen.motif or 'non précisé'} »"
    )
    if item.seen.commentaire:
        line += f", commentaire : « {item.seen.commentaire} »"
    return line + "."


def render_table(run_id: str, followed: Sequence[Followed]) -> Table:
    table = Table(title=f"Suivi des factures envoyées par le run {run_id}")
    for column in ("Facture suivie", "Facture d'origine", "Nature", "Statut sur le portail"):
        table.add_column(column)
    table.add_column("Suivi")
    table.add_column("Motif", overflow="fold", max_width=40)
    table.add_column("Commentaire", overflow="fold", max_width=40)
    for item in followed:
        style = _STYLES[item.verdict]
        table.add_row(
            escape(item.target.numero),
            escape(item.target.numero_origine),
            item.target.kind.label,
            escape(item.seen.statut or "introuvable"),
            f"[{style}]{escape(item.verdict.label)}[/{style}]",
            escape(item.seen.motif or "—"),
            escape(item.seen.commentaire or "—"),
        )
    return table


# -- the command ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _RunRecord:
    run_dir: RunDir
    run: RunRow
    transactions: list[TransactionRow]
    outcomes: list[TransactionOutcome]


def _audit_key(config: Config) -> bytes | None:
    return config.audit_key.reveal().encode() if config.audit_key else None


def _followable(config: Config, folder: Path) -> _RunRecord:
    """The run of ``folder`` as the journal records it, or :class:`~robot.errors.Refused`."""
    run_dir = RunDir(folder.resolve())
    if not run_dir.plan_copies():
        raise Refused([f"{folder} : ce n'est pas le dossier d'un run (plan absent)"])
    journal = open_journal(config)
    try:
        recorded = journal.run(run_dir.run_id)
        if recorded is None:
            raise Refused([f"{folder} : run inconnu du journal {journal_target(config)}"])
        if recorded.ended_at is None:
            raise Refused(
                [
                    f"{folder} : run inachevé (ou en cours) ; reprenez-le d'abord avec "
                    f"« chorus-robot run --resume {folder} »"
                ]
            )
        rows = journal.transactions(run_dir.run_id)
        outcomes = outcomes_from_journal(journal, run_dir.run_id, run_dir.root)
    finally:
        journal.close()
    key = _audit_key(config)
    if key is None and is_signed(run_dir.root):
        raise Refused(
            [
                f"{folder} : dossier d'audit signé ; définissez CHORUS_AUDIT_KEY (la clé du run) "
                "pour qu'il soit signé de nouveau"
            ]
        )
    if config.audit_signing_key is None and signer_fingerprint(run_dir.root):
        raise Refused(
            [
                f"{folder} : dossier d'audit signé par une clé Ed25519 ; définissez "
                "CHORUS_AUDIT_SIGNING_KEY (la clé privée du run) pour qu'il soit signé de nouveau"
            ]
        )
    problems = verify_bundle(run_dir.root, key=key)
    if problems:
        raise Refused(
            [f"{folder} : dossier d'audit altéré, il ne sera pas scellé de nouveau", *problems]
        )
    return _RunRecord(run_dir, recorded, rows, outcomes)


def _follow_all(config: Config, portal: PortalTarget, wanted: Sequence[Target]) -> list[Followed]:
    """Log in, follow every invoice (read-only), log out."""
    followed = []
    with WorkSession(
        portal, settings_for(config), requests_per_min=portal.requests_per_min(config)
    ) as session:
        try:
            listed: Listed | None = None
            if len(wanted) >= EXPORT_FROM:  # every invoice read from one « Exporter »
                listed = _once_more_if_lost(session, listed_invoices)
            for target in wanted:
                follow = partial(follow_invoice, numero=target.numero, listed=listed)
                seen = _once_more_if_lost(session, follow)
                logger.info("Suivi de {} : « {} »", target.numero, seen.statut or "introuvable")
                followed.append(Followed(target, seen, datetime.now(PARIS)))
        finally:
            session.logout()
    return followed


_T = TypeVar("_T")


def _once_more_if_lost(session: WorkSession, read: Callable[[Page], _T]) -> _T:
    """``read(page)``; when the portal ended the session, once more, logged in again."""
    try:
        return read(session.page)
    except SessionLost:
        session.login()
        return read(session.page)


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _entry(item: Followed) -> FollowUpEntry:
    return FollowUpEntry(
        numero=item.target.numero,
        numero_origine=item.target.numero_origine,
        nature=item.target.kind.label,
        statut=item.seen.statut or "introuvable",
        verdict_label=item.verdict.label,
        tone=_TONES[item.verdict],
        motif=item.seen.motif,
        commentaire=item.seen.commentaire,
        checked_at=item.checked_at,
    )


def _render_report(portal: PortalTarget, record: _RunRecord, followed: Sequence[Followed]) -> None:
    """``report.html`` again, from the journal, with the « Suivi » section."""
    root = record.run_dir.root
    run = record.run
    started = _instant(run.started_at) or datetime.now(PARIS)
    result = RunResult(
        run_id=run.id,
        run_dir=root,
        portal_url=run.portal_url,
        dry_run=run.dry_run,
        started_at=started,
        ended_at=_instant(run.ended_at),
        transactions=record.outcomes,
    )
    facts = RunFacts(
        run_id=run.id,
        portal_url=run.portal_url,
        account=portal.identifiant,
        started_at=result.started_at,
        ended_at=result.ended_at,
        version=robot_version(),
        dry_run=run.dry_run,
        totals=totals(result),
        exit_code=run.exit_code,
    )
    follow_up = FollowUpSection(
        checked_at=max((f.checked_at for f in followed), default=datetime.now(PARIS)),
        portal_url=portal.url,
        entries=[_entry(item) for item in followed],
        conclusion=conclusion(followed),
    )
    # The same invoice sections as at the run's end (robot.run.bundle), rebuilt from the journal.
    sections = [invoice_section(root, t) for t in record.outcomes]
    render_report(root, facts, sections, follow_up)


def _seal_again(
    config: Config, portal: PortalTarget, record: _RunRecord, followed: Sequence[Followed]
) -> list[str]:
    """Write ``suivi.csv``, the ``suivi`` event and the report; sweep secrets; write the
    manifest last (the order of :func:`robot.run.bundle.finalize_bundle`). Secret hits."""
    run_dir = record.run_dir
    write_suivi_csv(run_dir.suivi, followed)
    EventLog(run_dir.events).append(
        {
            "type": "suivi",
            "worker": "main",
            "run_id": run_dir.run_id,
            "portal": portal.url,
            "exit_code": exit_code(followed),
            "invoices": [
                {
                    "numero": item.target.numero,
                    "numero_origine": item.target.numero_origine,
                    "nature": item.target.kind.value,
                    "statut": item.seen.statut,
                    "suivi": item.verdict.value,
                    "motif": item.seen.motif,
                    "commentaire": item.seen.commentaire,
                    "verifie_le": item.checked_at,
                }
                for item in followed
            ],
        }
    )
    _render_report(portal, record, followed)
    secrets = registered()
    redact_tree(run_dir.root, secrets)
    hits = find_secrets(run_dir.root, secrets)
    seal_manifest(run_dir.root, config)
    return hits


def _refuse(problems: list[str]) -> int:
    err_console.print("[bold red]Suivi impossible[/bold red] (rien n'a été lu ni modifié) :")
    for problem in problems:
        err_console.print(f"  • {problem}", markup=False, highlight=False, soft_wrap=True)
    return EXIT_REFUSED


def follow_run(
    config: Config, folder: Path, *, verbose: bool = False, out: Console = console
) -> int:
    """The command: follow the invoices the run of ``folder`` sent; return the exit code."""
    configure_logging(None, verbose=verbose)
    try:
        record = _followable(config, folder)
    except Refused as exc:
        return _refuse(exc.problems)
    run_id = record.run_dir.run_id
    wanted = targets(record.transactions)
    if not wanted:
        what = "run en simulation" if record.run.dry_run else "aucune transaction « Terminée »"
        out.print(f"Run {run_id} : {what}, aucune facture envoyée à suivre. Rien n'a été modifié.")
        return EXIT_OK
    portal = open_portal(config)
    try:
        out.print(f"Suivi du run {run_id} sur {portal.url} : {len(wanted)} facture(s).")
        try:
            followed = _follow_all(config, portal, wanted)
        except (ScenarioError, PlaywrightError) as exc:
            logger.error("Suivi impossible : {}", first_line(exc))
            err_console.print(
                f"[red]Suivi impossible, le portail a échoué : {escape(first_line(exc))}[/red]",
                highlight=False,
            )
            err_console.print(f"Dossier du run inchangé : {record.run_dir.root}", highlight=False)
            return EXIT_SYSTEM
        hits = _seal_again(config, portal, record, followed)
    finally:
        portal.close()
    out.print(render_table(run_id, followed))
    out.print(conclusion(followed))
    for item in followed:
        if item.verdict.needs_a_person:
            out.print(f"[yellow]{escape(problem_line(item))}[/yellow]", soft_wrap=True)
    if any(item.verdict is Verdict.ON_ITS_WAY for item in followed):
        out.print(
            "« Déposée » ou « En cours d'acheminement » : la facture est en route, ce n'est pas "
            f"un échec ; relancez « chorus-robot suivi {record.run_dir.root} » plus tard.",
            soft_wrap=True,
        )
    if hits:
        err_console.print(
            "[red]Attention : des valeurs secrètes restent dans le dossier du run :[/red] "
            + ", ".join(hits)
        )
    out.print(
        f"Suivi écrit dans {record.run_dir.suivi} ; rapport {record.run_dir.root / REPORT_NAME} "
        "mis à jour ; dossier d'audit scellé de nouveau.",
        soft_wrap=True,
        highlight=False,
    )
    return exit_code(followed)
