"""The end-of-run e-mail: a French summary in the body, ``resultats.csv`` attached.

Sent through ``CHORUS_SMTP_URL`` — ``smtp://`` with STARTTLS (required: a server that does
not offer it gets nothing) or ``smtps://`` (TLS from the start) — to ``CHORUS_NOTIFY_EMAIL``;
the server's certificate is always checked (``CHORUS_SMTP_CAFILE`` for a private authority).
The password (``CHORUS_SMTP_PASSWORD``) is a secret: typed to the server, never logged.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from robot.audit.report import EXIT_LABELS, STATE_LABELS, format_time, is_sandbox_url
from robot.audit.rundir import RunDir
from robot.config import Config, SmtpServer, email_addresses

#: How long the SMTP server may take to answer, in seconds.
TIMEOUT_S = 30.0
#: At most this many invoices needing a person are listed in the body (all are in the CSV).
LISTED = 30
#: The states of summary.json that need a person, or a resume.
_ATTENTION = ("business_failure", "not_rejected", "pending", "claimed", "system_failure")


def subject(summary: dict[str, Any]) -> str:
    """« chorus-robot — run 20261130-170312-a1b2 : 3 terminée(s), 1 à vérifier »."""
    totals: dict[str, int] = summary.get("totals") or {}
    parts = [f"{n} {STATE_LABELS.get(state, state).lower()}" for state, n in totals.items()]
    prefix = "".join(
        tag
        for tag, applies in (
            ("[Bac à sable] ", _on_sandbox(summary)),
            ("[Simulation] ", bool(summary.get("dry_run"))),
        )
        if applies
    )
    counted = f" : {', '.join(parts)}" if parts else ""
    return f"{prefix}chorus-robot — run {summary.get('run_id', '?')}{counted}"


def _on_sandbox(summary: dict[str, Any]) -> bool:
    if "sandbox" in summary:
        return bool(summary["sandbox"])
    return is_sandbox_url(str(summary.get("portal_url", "")))


def body(summary: dict[str, Any], run_dir: Path) -> str:
    """The French text of the e-mail: the run, its totals, the invoices a person must see."""
    code = summary.get("exit_code")
    lines = [
        "Bonjour,",
        "",
        f"Le run {summary.get('run_id', '?')} de chorus-robot est terminé.",
        "",
        f"Portail : {summary.get('portal_url', '?')}"
        + (" (bac à sable, aucune facture réelle)" if _on_sandbox(summary) else ""),
        "Mode : " + ("simulation (rien n'a été modifié)" if summary.get("dry_run") else "réel"),
        f"Début : {format_time(summary.get('started_at'), offset=True)}",
        f"Fin : {format_time(summary.get('ended_at'), offset=True)}",
        f"Code de sortie : {code}"
        + (f" ({EXIT_LABELS[code]})" if isinstance(code, int) and code in EXIT_LABELS else ""),
        "",
        "Bilan :",
    ]
    totals: dict[str, int] = summary.get("totals") or {}
    lines += [f"  - {STATE_LABELS.get(state, state)} : {n}" for state, n in totals.items()]
    if not totals:
        lines.append("  - aucune facture")
    attention = [t for t in summary.get("transactions") or [] if t.get("state") in _ATTENTION]
    if attention:
        lines += ["", "À regarder :"]
        for t in attention[:LISTED]:
            message = " ".join(str(t.get("message") or "").split())
            lines.append(f"  - {t.get('numero_rejete')} : {message or t.get('state')}")
        if len(attention) > LISTED:
            lines.append(f"  … et {len(attention) - LISTED} autre(s) : voir le fichier joint.")
    lines += [
        "",
        "Le détail, facture par facture (ce qu'il reste à faire, le nouveau numéro, le lien de "
        "la nouvelle facture, les montants), est dans le fichier joint resultats.csv.",
        f"Dossier du run (rapport d'audit report.html) : {run_dir}",
        "",
        "-- ",
        "chorus-robot",
    ]
    return "\n".join(lines) + "\n"


def build_message(config: Config, summary: dict[str, Any], run_dir: Path) -> EmailMessage:
    """The e-mail, ``resultats.csv`` attached when the run folder has it."""
    server = config.smtp_url
    assert server is not None and config.notify_email is not None  # checked by the caller
    sender = config.smtp_from or server.user or ""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(email_addresses(config.notify_email))
    message["Subject"] = subject(summary)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body(summary, run_dir))
    results = RunDir(run_dir).results
    if results.is_file():
        message.add_attachment(
            results.read_bytes(), maintype="text", subtype="csv", filename=results.name
        )
    return message


def send(config: Config, message: EmailMessage) -> None:
    """Send ``message`` through the configured server, over TLS only; raises on failure."""
    server: SmtpServer | None = config.smtp_url
    assert server is not None
    context = ssl.create_default_context(
        cafile=str(config.smtp_cafile) if config.smtp_cafile else None
    )
    client: smtplib.SMTP
    if server.implicit_tls:
        client = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT_S, context=context)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_S)
    with client:
        if not server.implicit_tls:
            client.ehlo()
            client.starttls(context=context)  # SMTPNotSupportedError when not offered
            client.ehlo()
        if server.user:
            password = config.smtp_password.reveal() if config.smtp_password else ""
            client.login(server.user, password)
        client.send_message(message)
