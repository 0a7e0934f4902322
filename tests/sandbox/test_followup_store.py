"""Completing a suspended invoice and recycling one, in the store, the rules and the seed."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from sandbox import _schema
from sandbox._attachments import MAX_FILE, MAX_TOTAL
from sandbox.fmt import PARIS
from sandbox.model import Action, Invoice, Status, Structure
from sandbox.rules import (
    NOTHING_CHANGED,
    NOTHING_TO_COMPLETE,
    validate_completion,
    validate_recycling,
)
from sandbox.seed import SeedInfo, seed
from sandbox.settings import OptionError, SandboxOptions
from sandbox.store import RuleViolation, Store

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=PARIS)
EMAIL = "comptable@exemple-fournisseur.fr"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def store(clock: Clock) -> Iterator[Store]:
    db = Store(":memory:", clock=clock)
    yield db
    db.close()


@pytest.fixture
def info(store: Store) -> SeedInfo:
    return seed(
        store,
        rejected=2,
        suspended=2,
        recycle=2,
        user_email=EMAIL,
        password="Secret-123",
        today=TODAY,
    )


def by_number(store: Store, info: SeedInfo, numero: str) -> Invoice:
    (invoice,) = store.find_invoices(info.supplier_id, numero)
    return invoice


def acknowledged_suspension(store: Store, info: SeedInfo) -> Invoice:
    account = store.get_user(EMAIL)
    assert account is not None
    target = by_number(store, info, info.suspended_numbers[0])
    (done,) = store.acknowledge(info.supplier_id, [target.id], account)
    return done


def structure_requiring(info: SeedInfo, exigence: str, other_than: str = "") -> Structure:
    return next(
        s for s in info.structures if s.exigence == exigence and s.active and s.siret != other_than
    )


# -- the seed ------------------------------------------------------------------------------


def test_seed_adds_the_suspensions_and_recyclings_asked_for_with_realistic_motives(
    store: Store, info: SeedInfo
) -> None:
    assert len(info.suspended_numbers) == 2 and len(info.recycle_numbers) == 2
    suspended = [by_number(store, info, n) for n in info.suspended_numbers]
    recycle = [by_number(store, info, n) for n in info.recycle_numbers]
    assert all(i.statut is Status.SUSPENDUE and not i.acquittee for i in suspended)
    assert {i.motif for i in suspended} == {"Pièce justificative manquante", "Document manquant"}
    assert [h.action for h in suspended[0].historique] == [Action.DEPOT, Action.SUSPENSION]
    assert all(i.statut is Status.A_RECYCLER and i.date_motif is not None for i in recycle)
    assert {i.motif for i in recycle} == {"Erreur de destinataire", "Code service erroné"}
    assert all([h.action for h in i.historique] == [Action.DEPOT] for i in recycle)
    window = {i.numero for i in store.pending_window(info.supplier_id)}
    assert window == set(info.rejected_numbers) | set(info.suspended_numbers)
    synthese = {i.numero for i in store.list_synthese(info.supplier_id, size=50).items}
    assert set(info.suspended_numbers) | set(info.recycle_numbers) <= synthese
    # Besides the 16 invoices of every status and the rejections.
    assert store.count_invoices() == 16 + 2 + 2 + 2
    assert len(info.numbers[Status.SUSPENDUE]) == 3 and len(info.numbers[Status.A_RECYCLER]) == 3


def test_the_other_invoices_do_not_depend_on_the_follow_ups_asked_for(store: Store) -> None:
    def others(suspended: int, recycle: int) -> list[tuple[object, ...]]:
        info = seed(
            store,
            rejected=3,
            suspended=suspended,
            recycle=recycle,
            user_email=EMAIL,
            password="pw",
            today=TODAY,
        )
        asked = set(info.suspended_numbers) | set(info.recycle_numbers)
        assert len(asked) == suspended + recycle
        return sorted(
            (i.date_depot or NOW, i.statut, i.siret_destinataire, i.montant_ttc, i.motif)
            for i in store.list_all()
            if i.numero not in asked
        )

    assert others(0, 0) == others(4, 5)


def test_negative_counts_are_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        seed(store, rejected=1, suspended=-1, user_email=EMAIL, password="pw")
    with pytest.raises(OptionError, match="--seed-recycle"):
        SandboxOptions(seed_recycle=-2)


def test_options_come_from_the_environment() -> None:
    options = SandboxOptions.from_env(
        {"CHORUS_SANDBOX_SEED_SUSPENDED": "3", "CHORUS_SANDBOX_SEED_RECYCLE": "4"}
    )
    assert (options.seed_suspended, options.seed_recycle) == (3, 4)
    assert (SandboxOptions().seed_suspended, SandboxOptions().seed_recycle) == (0, 0)


# -- completing ----------------------------------------------------------------------------


def test_completing_adds_the_files_keeps_the_data_and_logs_no_action(
    store: Store, info: SeedInfo
) -> None:
    before = acknowledged_suspension(store, info)

    done = store.complete(
        info.supplier_id,
        before.id,
        pieces_jointes=[("PV-reception.pdf", b"%PDF-1.4 pv"), ("bon.txt", b"signe")],
        commentaire="  Le PV signé est joint.  ",
    )

    assert done.statut is Status.COMPLETEE and not done.in_synthese
    assert done.numero == before.numero and done.id == before.id
    assert done.historique == before.historique  # a status change, no action
    assert [(a.nom, a.taille) for a in done.pieces_jointes] == [
        ("PV-reception.pdf", 11),
        ("bon.txt", 5),
    ]
    assert done.pieces_jointes[0].sha256 == hashlib.sha256(b"%PDF-1.4 pv").hexdigest()
    assert store.attachment_data(done.id, 2) == b"signe"
    assert done.commentaire == "Le PV signé est joint."
    assert (done.lignes, done.montant_ttc, done.siret_destinataire) == (
        before.lignes,
        before.montant_ttc,
        before.siret_destinataire,
    )
    assert store.count_invoices() == 22


def test_completing_appends_to_the_attachments_and_keeps_a_comment_when_none_is_given(
    store: Store, info: SeedInfo
) -> None:
    target = acknowledged_suspension(store, info)
    store.complete(info.supplier_id, target.id, pieces_jointes=[("a.pdf", b"1")], commentaire="x")
    store.suspend(target.numero, "Document manquant", now=NOW)
    account = store.get_user(EMAIL)
    assert account is not None
    store.acknowledge(info.supplier_id, [target.id], account)

    done = store.complete(info.supplier_id, target.id, pieces_jointes=[("b.pdf", b"22")])

    assert [a.nom for a in done.pieces_jointes] == ["a.pdf", "b.pdf"]
    assert done.commentaire == "x"


def test_completing_needs_a_suspension_acknowledged_first(store: Store, info: SeedInfo) -> None:
    pending = by_number(store, info, info.suspended_numbers[1])
    delivered = by_number(store, info, info.numbers[Status.MISE_A_DISPOSITION][0])

    with pytest.raises(RuleViolation) as unacknowledged:
        store.complete(info.supplier_id, pending.id, pieces_jointes=[], commentaire="x")
    with pytest.raises(RuleViolation) as not_suspended:
        store.complete(info.supplier_id, delivered.id, pieces_jointes=[], commentaire="x")

    assert unacknowledged.value.message == (
        f"La facture {pending.numero} doit être acquittée avant d'être complétée."
    )
    assert not_suspended.value.message == f"La facture {delivered.numero} n'est pas suspendue."
    assert store.get_invoice(pending.id) == pending
    assert store.get_invoice(delivered.id) == delivered


def test_completion_rules_keep_the_attachment_rules_and_need_a_file_or_a_comment() -> None:
    assert validate_completion([], "  ") == ({"pieces_jointes": [NOTHING_TO_COMPLETE]}, None)
    assert validate_completion([("", b"")], "") == ({"pieces_jointes": [NOTHING_TO_COMPLETE]}, None)
    long_name = "x" * 47 + ".pdf"
    errors, done = validate_completion(
        [(long_name, b"1"), ("virus.exe", b"MZ"), ("sans-extension", b"1")], "Commentaire"
    )
    assert done is None
    assert errors == {
        "pieces_jointes": [
            f"Le nom du fichier {long_name} dépasse 50 caractères.",
            "Le format du fichier virus.exe n'est pas autorisé.",
            "Le format du fichier sans-extension n'est pas autorisé.",
        ]
    }
    big = b"0" * (MAX_FILE + 1)
    assert validate_completion([("gros.pdf", big)], "")[0] == {
        "pieces_jointes": ["Le fichier gros.pdf dépasse 10 Mo."]
    }
    almost_full = MAX_TOTAL - 10
    assert validate_completion([("a.pdf", b"0" * 11)], "", already=almost_full)[0] == {
        "pieces_jointes": ["La taille totale des pièces jointes dépasse 120 Mo."]
    }
    errors, done = validate_completion([("C:\\fakepath\\pv.pdf", b"1")], " Voir PV ")
    assert errors == {} and done is not None
    assert done.pieces_jointes == (("pv.pdf", b"1"),) and done.commentaire == "Voir PV"
    assert validate_completion([], "Seulement un commentaire")[1] is not None


# -- recycling -----------------------------------------------------------------------------


def test_recycling_changes_only_the_recipient_and_routes_the_invoice_again(
    store: Store, info: SeedInfo, clock: Clock
) -> None:
    store.acheminement_s = 2.0
    before = by_number(store, info, info.recycle_numbers[0])
    target = structure_requiring(info, "aucune", other_than=before.siret_destinataire)
    clock.now = NOW + timedelta(hours=1)

    done = store.recycle(
        info.supplier_id,
        before.id,
        siret_destinataire=target.siret,
        code_service=target.services[0].code,
        numero_engagement="",
        commentaire="Adressée au bon service.",
    )

    assert done.statut is Status.DEPOSEE and not done.in_synthese
    assert (done.siret_destinataire, done.nom_destinataire) == (target.siret, target.nom)
    assert (done.code_service, done.numero_engagement) == (target.services[0].code, "")
    assert done.commentaire == "Adressée au bon service."
    assert (done.numero, done.date_depot, done.historique) == (
        before.numero,
        before.date_depot,
        before.historique,
    )
    assert (done.lignes, done.montant_ttc) == (before.lignes, before.montant_ttc)
    assert store.count_invoices() == 22
    found = store.search(info.supplier_id, destinataire=target.nom[:12]).items
    assert before.numero in [i.numero for i in found]
    clock.now = NOW + timedelta(hours=1, seconds=1.9)
    assert store.get_invoice(before.id).statut is Status.DEPOSEE  # type: ignore[union-attr]
    clock.now = NOW + timedelta(hours=1, seconds=2)
    routed = store.get_invoice(before.id)
    assert routed is not None and routed.statut is Status.MISE_A_DISPOSITION


def test_recycling_is_refused_for_an_invoice_not_to_recycle(store: Store, info: SeedInfo) -> None:
    delivered = by_number(store, info, info.numbers[Status.MISE_A_DISPOSITION][0])
    with pytest.raises(RuleViolation) as refused:
        store.recycle(
            info.supplier_id,
            delivered.id,
            siret_destinataire=delivered.siret_destinataire,
            code_service="",
            numero_engagement="",
        )
    assert refused.value.message == f"La facture {delivered.numero} n'est pas à recycler."
    assert store.get_invoice(delivered.id) == delivered


def test_asking_for_recycling_sets_the_motive_and_logs_no_action(
    store: Store, info: SeedInfo
) -> None:
    delivered = by_number(store, info, info.numbers[Status.MISE_A_DISPOSITION][0])

    asked = store.ask_recycling(delivered.numero, "DEST_ERR", "Pas chez nous.", now=NOW)

    assert asked.statut is Status.A_RECYCLER and asked.in_synthese and not asked.acquittee
    assert (asked.motif, asked.commentaire_motif) == ("Erreur de destinataire", "Pas chez nous.")
    assert asked.date_motif == NOW and asked.historique == delivered.historique
    with pytest.raises(RuleViolation, match="ne peut pas être mise à recycler depuis le statut"):
        store.ask_recycling(delivered.numero, "DEST_ERR")
    draft = by_number(store, info, info.numbers[Status.BROUILLON][0])
    with pytest.raises(RuleViolation, match="« Brouillon »"):
        store.ask_recycling(draft.numero, "DEST_ERR")


def _recycling_errors(
    store: Store, info: SeedInfo, invoice: Invoice, **typed: str
) -> dict[str, list[str]]:
    values = {
        "siret_destinataire": invoice.siret_destinataire,
        "code_service": invoice.code_service,
        "numero_engagement": invoice.numero_engagement,
        "commentaire": "",
    }
    values.update(typed)
    errors, done = validate_recycling(
        invoice, **values, store=store, supplier=info.supplier, today=TODAY
    )
    assert (done is None) == bool(errors)
    return errors


def test_recycling_rules_are_the_entry_forms_for_the_recipient(
    store: Store, info: SeedInfo
) -> None:
    invoice = by_number(store, info, info.recycle_numbers[0])
    # A structure requiring a service, one of whose services is inactive.
    service = next(
        s
        for s in info.structures
        if s.exigence == "service" and len(s.active_services) < len(s.services)
    )
    assert service.siret != invoice.siret_destinataire
    inactive_code = next(c for c in service.services if not c.active)
    engagement = structure_requiring(info, "engagement", other_than=invoice.siret_destinataire)
    either = structure_requiring(
        info, "service_ou_engagement", other_than=invoice.siret_destinataire
    )
    inactive = next(s for s in info.structures if not s.active)

    def errors(**typed: str) -> dict[str, list[str]]:
        return _recycling_errors(store, info, invoice, **typed)

    assert errors() == {"siret_destinataire": [NOTHING_CHANGED]}
    assert errors(siret_destinataire=" ") == {
        "siret_destinataire": ["Le SIRET du destinataire est obligatoire."]
    }
    assert errors(siret_destinataire="1234") == {
        "siret_destinataire": ["Le SIRET du destinataire est invalide."]
    }
    assert errors(siret_destinataire="73282932000074") == {
        "siret_destinataire": ["Aucune structure publique ne correspond à ce SIRET."]
    }
    assert errors(siret_destinataire=inactive.siret) == {
        "siret_destinataire": ["La structure destinataire n'est pas active."]
    }
    assert errors(siret_destinataire=service.siret, code_service="") == {
        "code_service": ["Le code service est obligatoire pour cette structure."]
    }
    assert errors(siret_destinataire=service.siret, code_service=inactive_code.code) == {
        "code_service": ["Ce code service n'existe pas pour cette structure."]
    }
    assert errors(siret_destinataire=engagement.siret, code_service="", numero_engagement="") == {
        "numero_engagement": ["Le numéro d'engagement est obligatoire pour cette structure."]
    }
    assert errors(siret_destinataire=either.siret, code_service="", numero_engagement="") == {
        "code_service": ["Cette structure exige un code service ou un numéro d'engagement."]
    }
    assert errors(
        siret_destinataire=service.siret, code_service="NOPE", numero_engagement="E" * 51
    ) == {
        "code_service": ["Ce code service n'existe pas pour cette structure."],
        "numero_engagement": ["Le numéro d'engagement ne doit pas dépasser 50 caractères."],
    }
    assert errors(siret_destinataire=service.siret, code_service=service.services[0].code) == {}
    assert errors(numero_engagement=invoice.numero_engagement + "-2") == {}
    spaced = " ".join(invoice.siret_destinataire[i : i + 3] for i in range(0, 14, 3))
    assert errors(siret_destinataire=spaced) == {"siret_destinataire": [NOTHING_CHANGED]}


# -- a data folder kept from before ----------------------------------------------------------


def test_a_database_created_before_recycling_existed_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    old_schema = _schema.SCHEMA.replace("    routing_since TEXT,\n", "")
    assert old_schema != _schema.SCHEMA
    with sqlite3.connect(path) as conn:
        conn.executescript(old_schema)
    conn.close()

    store = Store(path)
    try:
        info = seed(store, rejected=0, recycle=1, user_email=EMAIL, password="pw", today=TODAY)
        invoice = by_number(store, info, info.recycle_numbers[0])
        target = structure_requiring(info, "aucune", other_than=invoice.siret_destinataire)
        store.acheminement_s = 0
        store.recycle(
            info.supplier_id,
            invoice.id,
            siret_destinataire=target.siret,
            code_service="",
            numero_engagement="",
        )
        routed = store.get_invoice(invoice.id)
    finally:
        store.close()
    assert routed is not None and routed.statut is Status.MISE_A_DISPOSITION
