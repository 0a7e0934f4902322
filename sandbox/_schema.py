"""SQLite schema of the sandbox store and the conversions between rows and records.

Instants are stored as fixed-width UTC ISO strings so that text order is time order; money
and quantities as decimal strings (never REAL). ``in_synthese`` is a generated column, so the
work list can never disagree with the status, and it is indexed with the deposit date.
``routing_since`` is when the routing of a recycled invoice started again (NULL otherwise:
routing then counts from the deposit). Columns added after a database was first created are
added to it when it is opened (:data:`ADDED_COLUMNS`). ``totp`` holds the authenticator
enrolments made through the admin interface (a NULL secret: unenrolled, over the server's
``--totp-secret``), ``totp_uses`` the periods whose code each account logged in with (no code
is accepted twice); a reset empties both.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sandbox.model import Action, Attachment, HistoryItem, Invoice, Line, Status

SCHEMA = """
CREATE TABLE IF NOT EXISTS suppliers (
    id INTEGER PRIMARY KEY,
    siret TEXT NOT NULL,
    nom TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bank_accounts (
    id INTEGER PRIMARY KEY,
    supplier_id INTEGER NOT NULL,
    libelle TEXT NOT NULL,
    iban TEXT NOT NULL,
    bic TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bank_accounts_supplier ON bank_accounts(supplier_id);
CREATE TABLE IF NOT EXISTS users (
    email TEXT PRIMARY KEY COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    supplier_id INTEGER NOT NULL,
    otp INTEGER NOT NULL,
    nom TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS structures (
    siret TEXT PRIMARY KEY,
    nom TEXT NOT NULL,
    active INTEGER NOT NULL,
    exigence TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS services (
    siret TEXT NOT NULL,
    code TEXT NOT NULL,
    nom TEXT NOT NULL,
    active INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (siret, code)
);
CREATE TABLE IF NOT EXISTS invoices (
    id INTEGER PRIMARY KEY,
    supplier_id INTEGER NOT NULL,
    numero TEXT NOT NULL,
    numero_key TEXT NOT NULL,
    statut TEXT NOT NULL,
    type_facture TEXT NOT NULL,
    cadre TEXT NOT NULL,
    date_facture TEXT,
    date_depot TEXT,
    created_at TEXT NOT NULL,
    siret_destinataire TEXT NOT NULL,
    nom_destinataire TEXT NOT NULL,
    destinataire_key TEXT NOT NULL,
    code_service TEXT NOT NULL,
    numero_engagement TEXT NOT NULL,
    numero_marche TEXT NOT NULL,
    numero_facture_origine TEXT NOT NULL,
    devise TEXT NOT NULL,
    type_tva TEXT NOT NULL,
    mode_paiement TEXT NOT NULL,
    compte_id INTEGER,
    commentaire TEXT NOT NULL,
    montant_ht TEXT NOT NULL,
    montant_tva TEXT NOT NULL,
    montant_ttc TEXT NOT NULL,
    motif TEXT NOT NULL DEFAULT '',
    commentaire_motif TEXT NOT NULL DEFAULT '',
    date_motif TEXT,
    acquittee INTEGER NOT NULL DEFAULT 0,
    rejet_traite INTEGER NOT NULL DEFAULT 0,
    auto_route INTEGER NOT NULL DEFAULT 0,
    routing_since TEXT,
    in_synthese INTEGER GENERATED ALWAYS AS (
        statut IN ('BROUILLON', 'SUSPENDUE', 'A_RECYCLER')
        OR (statut = 'REJETEE' AND rejet_traite = 0)
    ) VIRTUAL
);
CREATE INDEX IF NOT EXISTS invoices_synthese
    ON invoices(supplier_id, in_synthese, date_depot DESC, id DESC);
CREATE INDEX IF NOT EXISTS invoices_depot ON invoices(supplier_id, date_depot DESC, id DESC);
CREATE INDEX IF NOT EXISTS invoices_numero ON invoices(supplier_id, numero_key);
CREATE INDEX IF NOT EXISTS invoices_statut
    ON invoices(statut, supplier_id, date_depot DESC, id DESC);
CREATE TABLE IF NOT EXISTS lines (
    invoice_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    reference TEXT NOT NULL,
    designation TEXT NOT NULL,
    quantite TEXT NOT NULL,
    unite TEXT NOT NULL,
    prix_unitaire_ht TEXT NOT NULL,
    remise TEXT NOT NULL,
    taux_tva TEXT NOT NULL,
    PRIMARY KEY (invoice_id, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attachments (
    invoice_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    nom TEXT NOT NULL,
    taille INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    data BLOB,
    PRIMARY KEY (invoice_id, position)
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL,
    action TEXT NOT NULL,
    date TEXT NOT NULL,
    utilisateur TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_invoice ON history(invoice_id, id);
CREATE TABLE IF NOT EXISTS totp (
    email TEXT PRIMARY KEY COLLATE NOCASE,
    secret TEXT
);
CREATE TABLE IF NOT EXISTS totp_uses (
    email TEXT NOT NULL COLLATE NOCASE,
    step INTEGER NOT NULL,
    PRIMARY KEY (email, step)
);
"""

#: Columns added to ``invoices`` since its first version: (name, SQL type), added by
#: :func:`upgrade` to a database created before them (a data folder kept across versions).
ADDED_COLUMNS: tuple[tuple[str, str], ...] = (("routing_since", "TEXT"),)


def upgrade(conn: sqlite3.Connection) -> None:
    """Add the columns of :data:`ADDED_COLUMNS` that an older database lacks."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(invoices)")}
    for name, kind in ADDED_COLUMNS:
        if name not in present:
            conn.execute(f"ALTER TABLE invoices ADD COLUMN {name} {kind}")


TABLES = (
    "totp_uses",
    "totp",
    "history",
    "attachments",
    "lines",
    "invoices",
    "services",
    "structures",
    "users",
    "bank_accounts",
    "suppliers",
)

#: Columns written when an invoice is inserted, in the order of :func:`invoice_row`.
INVOICE_COLUMNS = (
    "id",
    "supplier_id",
    "numero",
    "numero_key",
    "statut",
    "type_facture",
    "cadre",
    "date_facture",
    "date_depot",
    "created_at",
    "siret_destinataire",
    "nom_destinataire",
    "destinataire_key",
    "code_service",
    "numero_engagement",
    "numero_marche",
    "numero_facture_origine",
    "devise",
    "type_tva",
    "mode_paiement",
    "compte_id",
    "commentaire",
    "montant_ht",
    "montant_tva",
    "montant_ttc",
    "motif",
    "commentaire_motif",
    "date_motif",
    "acquittee",
    "rejet_traite",
    "auto_route",
)
INSERT_INVOICE = (
    f"INSERT INTO invoices ({', '.join(INVOICE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in INVOICE_COLUMNS)})"
)
INSERT_LINE = "INSERT INTO lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_ATTACHMENT = "INSERT INTO attachments VALUES (?, ?, ?, ?, ?, ?)"
INSERT_HISTORY = "INSERT INTO history (invoice_id, action, date, utilisateur) VALUES (?, ?, ?, ?)"


def search_key(value: str) -> str:
    """Case- and accent-insensitive form of a text, for searches (« Sèvres » → « sevres »)."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def instant_text(value: datetime) -> str:
    """A timezone-aware instant as fixed-width UTC text (text order = time order)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: instants must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def parse_instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def parse_day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def invoice_row(
    invoice: Invoice, invoice_id: int, created_at: datetime, auto_route: bool
) -> tuple[Any, ...]:
    """The ``invoices`` row of a record, in :data:`INVOICE_COLUMNS` order."""
    return (
        invoice_id,
        invoice.supplier_id,
        invoice.numero,
        search_key(invoice.numero),
        str(invoice.statut),
        invoice.type_facture,
        invoice.cadre,
        invoice.date_facture.isoformat() if invoice.date_facture else None,
        instant_text(invoice.date_depot) if invoice.date_depot else None,
        instant_text(created_at),
        invoice.siret_destinataire,
        invoice.nom_destinataire,
        search_key(invoice.nom_destinataire),
        invoice.code_service,
        invoice.numero_engagement,
        invoice.numero_marche,
        invoice.numero_facture_origine,
        invoice.devise,
        invoice.type_tva,
        invoice.mode_paiement,
        invoice.compte_id,
        invoice.commentaire,
        str(invoice.montant_ht),
        str(invoice.montant_tva),
        str(invoice.montant_ttc),
        invoice.motif,
        invoice.commentaire_motif,
        instant_text(invoice.date_motif) if invoice.date_motif else None,
        int(invoice.acquittee),
        int(invoice.rejet_traite),
        int(auto_route),
    )


def line_rows(invoice_id: int, lines: Iterable[Line]) -> list[tuple[Any, ...]]:
    return [
        (
            invoice_id,
            position,
            line.reference,
            line.designation,
            str(line.quantite),
            line.unite,
            str(line.prix_unitaire_ht),
            str(line.remise),
            str(line.taux_tva),
        )
        for position, line in enumerate(lines, start=1)
    ]


def history_rows(invoice_id: int, items: Iterable[HistoryItem]) -> list[tuple[Any, ...]]:
    return [
        (invoice_id, str(item.action), instant_text(item.date), item.utilisateur) for item in items
    ]


_CHUNK = 500


def load_invoices(conn: sqlite3.Connection, ids: Sequence[int]) -> list[Invoice]:
    """Full records (lines, attachments, history) of these invoices, in the order of ``ids``."""
    if not ids:
        return []
    if len(ids) > _CHUNK:  # stay well under SQLite's limit on bound parameters
        return [
            invoice
            for start in range(0, len(ids), _CHUNK)
            for invoice in load_invoices(conn, ids[start : start + _CHUNK])
        ]
    marks = ", ".join("?" for _ in ids)
    params = tuple(ids)
    rows = {
        row["id"]: row
        for row in conn.execute(f"SELECT * FROM invoices WHERE id IN ({marks})", params)
    }
    lines: dict[int, list[Line]] = defaultdict(list)
    for row in conn.execute(
        f"SELECT * FROM lines WHERE invoice_id IN ({marks}) ORDER BY invoice_id, position", params
    ):
        lines[row["invoice_id"]].append(
            Line(
                reference=row["reference"],
                designation=row["designation"],
                quantite=Decimal(row["quantite"]),
                unite=row["unite"],
                prix_unitaire_ht=Decimal(row["prix_unitaire_ht"]),
                remise=Decimal(row["remise"]),
                taux_tva=Decimal(row["taux_tva"]),
            )
        )
    attachments: dict[int, list[Attachment]] = defaultdict(list)
    for row in conn.execute(
        "SELECT invoice_id, nom, taille, sha256 FROM attachments "
        f"WHERE invoice_id IN ({marks}) ORDER BY invoice_id, position",
        params,
    ):
        attachments[row["invoice_id"]].append(Attachment(row["nom"], row["taille"], row["sha256"]))
    history: dict[int, list[HistoryItem]] = defaultdict(list)
    for row in conn.execute(
        f"SELECT * FROM history WHERE invoice_id IN ({marks}) ORDER BY invoice_id, id", params
    ):
        when = parse_instant(row["date"])
        assert when is not None
        history[row["invoice_id"]].append(
            HistoryItem(Action(row["action"]), when, row["utilisateur"])
        )
    return [_invoice(rows[i], lines[i], attachments[i], history[i]) for i in ids if i in rows]


def _invoice(
    row: sqlite3.Row,
    lines: list[Line],
    attachments: list[Attachment],
    history: list[HistoryItem],
) -> Invoice:
    return Invoice(
        id=row["id"],
        supplier_id=row["supplier_id"],
        numero=row["numero"],
        statut=Status(row["statut"]),
        type_facture=row["type_facture"],
        cadre=row["cadre"],
        date_facture=parse_day(row["date_facture"]),
        date_depot=parse_instant(row["date_depot"]),
        siret_destinataire=row["siret_destinataire"],
        nom_destinataire=row["nom_destinataire"],
        code_service=row["code_service"],
        numero_engagement=row["numero_engagement"],
        numero_marche=row["numero_marche"],
        numero_facture_origine=row["numero_facture_origine"],
        devise=row["devise"],
        type_tva=row["type_tva"],
        mode_paiement=row["mode_paiement"],
        compte_id=row["compte_id"],
        commentaire=row["commentaire"],
        lignes=tuple(lines),
        pieces_jointes=tuple(attachments),
        montant_ht=Decimal(row["montant_ht"]),
        montant_tva=Decimal(row["montant_tva"]),
        montant_ttc=Decimal(row["montant_ttc"]),
        motif=row["motif"],
        commentaire_motif=row["commentaire_motif"],
        date_motif=parse_instant(row["date_motif"]),
        acquittee=bool(row["acquittee"]),
        rejet_traite=bool(row["rejet_traite"]),
        historique=tuple(history),
    )
