"""The sandbox store: state machine of a rejection, lists, searches, accounts, speed."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox.fmt import PARIS
from sandbox.model import Action, CleanInvoiceData, Invoice, Line, Status
from sandbox.seed import SeedInfo, seed, seed_bulk
from sandbox.store import (
    NOT_ACKNOWLEDGED,
    NOT_REJECTED,
    NotFound,
    PageResult,
    RuleViolation,
    Store,
)

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
    return seed(store, rejected=3, user_email=EMAIL, password="Secret-123", today=TODAY)


def by_number(store: Store, info: SeedInfo, numero: str) -> Invoice:
    (invoice,) = store.find_invoices(info.supplier_id, numero)
    return invoice


def clean(numero: str, info: SeedInfo, **changes: object) -> CleanInvoiceData:
    structure = next(s for s in info.structures if s.exigence == "aucune" and s.active)
    line = Line("REF", "Prestation", Decimal(2), "jour", Decimal("500.00"), Decimal(0), Decimal(20))
    data = CleanInvoiceData(
        numero=numero,
        siret_destinataire=structure.siret,
        nom_destinataire=structure.nom,
        compte_id=info.supplier.comptes[0].id,
        date_facture=TODAY,
        lignes=(line,),
    )
    return replace(data, **changes)  # type: ignore[arg-type]


def synthese_numbers(store: Store, info: SeedInfo) -> list[str]:
    return [i.numero for i in store.list_synthese(info.supplier_id, page=1, size=50).items]


# -- the rejection's state machine ----------------------------------------------------------


def test_rejected_invoice_leaves_synthese_after_processing(store: Store, info: SeedInfo) -> None:
    account = store.get_user(EMAIL)
    assert account is not None
    numero = info.rejected_numbers[0]
    invoice = by_number(store, info, numero)
    assert numero in synthese_numbers(store, info)

    acknowledged = store.acknowledge(info.supplier_id, [invoice.id], account)
    result = store.process_rejection(info.supplier_id, [invoice.id], account)

    assert [i.numero for i in acknowledged] == [numero]
    assert [i.numero for i in result.processed] == [numero] and result.refused == []
    assert numero not in synthese_numbers(store, info)
    after = by_number(store, info, numero)
    assert after.statut is Status.REJETEE and after.acquittee and after.rejet_traite
    assert [h.action for h in after.historique] == [
        Action.DEPOT,
        Action.REJET,
        Action.ACQUITTEMENT_REJET,
        Action.TRAITEMENT_REJET,
    ]
    assert after.historique[-1].utilisateur == "Camille Durand"
    assert after.historique[-1].date == NOW


def test_processing_an_unacknowledged_rejection_is_refused_and_changes_nothing(
    store: Store, info: SeedInfo
) -> None:
    account = store.get_user(EMAIL)
    assert account is not None
    before = by_number(store, info, info.rejected_numbers[1])

    result = store.process_rejection(info.supplier_id, [before.id], account)

    assert result.processed == []
    assert [(i.numero, reason) for i, reason in result.refused] == [
        (before.numero, NOT_ACKNOWLEDGED)
    ]
    assert by_number(store, info, before.numero) == before


def test_processing_refuses_a_suspended_or_already_processed_invoice_as_not_rejected(
    store: Store, info: SeedInfo
) -> None:
    account = store.get_user(EMAIL)
    assert account is not None
    suspended = by_number(store, info, info.numbers[Status.SUSPENDUE][0])
    processed = next(
        i for i in store.list_all(Status.REJETEE) if i.rejet_traite and i.supplier_id == 1
    )
    pending = by_number(store, info, info.rejected_numbers[0])
    store.acknowledge(info.supplier_id, [pending.id], account)

    result = store.process_rejection(
        info.supplier_id, [suspended.id, pending.id, processed.id, pending.id], account
    )

    assert [i.numero for i in result.processed] == [pending.numero]
    assert [(i.numero, r) for i, r in result.refused] == [
        (suspended.numero, NOT_REJECTED),
        (processed.numero, NOT_REJECTED),
    ]
    assert by_number(store, info, processed.numero).historique == processed.historique


def test_acknowledging_twice_adds_no_history_entry(store: Store, info: SeedInfo) -> None:
    account = store.get_user(EMAIL)
    assert account is not None
    invoice = by_number(store, info, info.rejected_numbers[0])

    first = store.acknowledge(info.supplier_id, [invoice.id], account)
    second = store.acknowledge(info.supplier_id, [invoice.id], account)

    assert len(first) == 1 and second == []
    history = by_number(store, info, invoice.numero).historique
    assert [h.action for h in history].count(Action.ACQUITTEMENT_REJET) == 1


def test_acknowledged_invoices_leave_the_rejection_window(store: Store, info: SeedInfo) -> None:
    account = store.get_user(EMAIL)
    assert account is not None
    window = store.pending_window(info.supplier_id)
    assert sorted(i.numero for i in window) == sorted(info.rejected_numbers)
    rejected_at = [i.date_motif for i in window if i.date_motif is not None]
    assert rejected_at == sorted(rejected_at, reverse=True) and len(rejected_at) == len(window)

    store.acknowledge(info.supplier_id, [window[0].id], account)

    assert [i.numero for i in store.pending_window(info.supplier_id)] == [
        i.numero for i in window[1:]
    ]


def test_acknowledging_a_suspension_logs_acquittement_suspension(
    store: Store, info: SeedInfo
) -> None:
    account = store.get_user(EMAIL)
    assert account is not None
    target = by_number(store, info, info.numbers[Status.MISE_A_DISPOSITION][0])
    store.suspend(target.numero, "Pièce justificative manquante", "Joindre le PV.", now=NOW)
    assert target.numero in [i.numero for i in store.pending_window(info.supplier_id)]

    (done,) = store.acknowledge(info.supplier_id, [target.id], account)

    assert done.statut is Status.SUSPENDUE and done.acquittee
    assert [h.action for h in done.historique][-2:] == [
        Action.SUSPENSION,
        Action.ACQUITTEMENT_SUSPENSION,
    ]
    assert target.numero not in [i.numero for i in store.pending_window(info.supplier_id)]


def test_actions_on_an_unknown_invoice_raise_not_found_and_change_nothing(
    store: Store, info: SeedInfo
) -> None:
    account = store.get_user(EMAIL)
    assert account is not None
    mine = by_number(store, info, info.rejected_numbers[0])

    with pytest.raises(NotFound):
        store.acknowledge(info.supplier_id, [mine.id, 99_999], account)
    with pytest.raises(NotFound):
        store.acknowledge(info.supplier_id + 1, [mine.id], account)
    with pytest.raises(NotFound):
        store.process_rejection(info.supplier_id + 1, [mine.id], account)

    assert by_number(store, info, mine.numero) == mine


def test_concurrent_acknowledgments_log_the_action_once(store: Store, info: SeedInfo) -> None:
    account = store.get_user(EMAIL)
    assert account is not None
    invoice = by_number(store, info, info.rejected_numbers[0])
    results: list[int] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(len(store.acknowledge(info.supplier_id, [invoice.id], account)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [0] * 7 + [1]
    actions = [h.action for h in by_number(store, info, invoice.numero).historique]
    assert actions.count(Action.ACQUITTEMENT_REJET) == 1


# -- the public client's side ---------------------------------------------------------------


def test_reject_sets_the_motive_text_and_logs_the_structure_name(
    store: Store, info: SeedInfo
) -> None:
    target = by_number(store, info, info.numbers[Status.MISE_A_DISPOSITION][0])

    rejected = store.reject(target.numero.lower(), "TX_TVA_ERR", "Taux de 20 % attendu.", now=NOW)

    assert rejected.statut is Status.REJETEE and rejected.statut_label == "Rejetée"
    assert rejected.motif == "Taux de TVA erroné"
    assert rejected.commentaire_motif == "Taux de 20 % attendu."
    assert rejected.date_motif == NOW and not rejected.acquittee and not rejected.rejet_traite
    assert rejected.historique[-1].action is Action.REJET
    assert rejected.historique[-1].utilisateur == target.nom_destinataire
    assert rejected.numero in synthese_numbers(store, info)


def test_reject_accepts_an_id_and_a_free_text_motive(store: Store, info: SeedInfo) -> None:
    target = by_number(store, info, info.numbers[Status.COMPLETEE][0])

    rejected = store.reject(target.id, "Pièce illisible", now=NOW)

    assert rejected.id == target.id and rejected.motif == "Pièce illisible"
    assert rejected.commentaire_motif == ""


@pytest.mark.parametrize("status", [Status.BROUILLON, Status.MISE_EN_PAIEMENT, Status.REJETEE])
def test_reject_refuses_an_invoice_in_a_status_that_cannot_be_rejected(
    store: Store, info: SeedInfo, status: Status
) -> None:
    target = by_number(store, info, info.numbers[status][0])

    with pytest.raises(RuleViolation, match="ne peut pas être rejetée"):
        store.reject(target.numero, "AUTRE", now=NOW)

    assert by_number(store, info, target.numero) == target


def test_reject_needs_a_motive_and_an_existing_invoice(store: Store, info: SeedInfo) -> None:
    with pytest.raises(RuleViolation, match=r"Le motif est obligatoire\."):
        store.reject(info.numbers[Status.MISE_A_DISPOSITION][0], "  ", now=NOW)
    with pytest.raises(NotFound):
        store.reject("FAC-1999-00001", "AUTRE", now=NOW)


def test_suspend_refuses_an_invoice_already_suspended(store: Store, info: SeedInfo) -> None:
    with pytest.raises(RuleViolation, match="ne peut pas être suspendue"):
        store.suspend(info.numbers[Status.SUSPENDUE][0], "AUTRE", now=NOW)


# -- creating invoices ------------------------------------------------------------------------


def test_sent_invoice_is_routed_then_made_available_after_the_delay(
    store: Store, info: SeedInfo, clock: Clock
) -> None:
    account = store.get_user(EMAIL)
    assert account is not None
    store.acheminement_s = 2.0

    sent = store.create_invoice(info.supplier_id, clean("NEW-1", info), account, send=True, now=NOW)

    assert sent.statut is Status.EN_COURS_ACHEMINEMENT and sent.date_depot == NOW
    assert [(h.action, h.utilisateur) for h in sent.historique] == [
        (Action.DEPOT, "Camille Durand")
    ]
    assert (sent.montant_ht, sent.montant_tva, sent.montant_ttc) == (
        Decimal("1000.00"),
        Decimal("200.00"),
        Decimal("1200.00"),
    )
    clock.now = NOW + timedelta(seconds=1.9)
    assert store.get_invoice(sent.id).statut is Status.EN_COURS_ACHEMINEMENT  # type: ignore[union-attr]
    clock.now = NOW + timedelta(seconds=2)
    assert store.get_invoice(sent.id).statut is Status.MISE_A_DISPOSITION  # type: ignore[union-attr]
    seeded = by_number(store, info, info.numbers[Status.EN_COURS_ACHEMINEMENT][0])
    assert seeded.statut is Status.EN_COURS_ACHEMINEMENT  # imported invoices stay put


def test_saved_draft_stays_in_synthese_without_deposit_date(store: Store, info: SeedInfo) -> None:
    account = store.get_user(EMAIL)
    assert account is not None

    draft = store.create_invoice(
        info.supplier_id, clean("BROUILLON-9", info), account, send=False, now=NOW
    )

    assert draft.statut is Status.BROUILLON and draft.date_depot is None
    assert [h.action for h in draft.historique] == [Action.ENREGISTREMENT]
    listed = store.list_synthese(info.supplier_id, page=1, size=50).items
    drafts = [i.numero for i in listed if i.statut is Status.BROUILLON]
    assert [i.numero for i in listed[-3:]] == drafts  # drafts last…
    assert drafts[0] == "BROUILLON-9"  # …newest first


def test_create_invoice_refuses_a_duplicate_number_sent_the_same_year(
    store: Store, info: SeedInfo
) -> None:
    account = store.get_user(EMAIL)
    assert account is not None
    store.create_invoice(info.supplier_id, clean("DUP-1", info), account, send=True, now=NOW)
    count = store.count_invoices()

    with pytest.raises(RuleViolation, match="Vous avez déjà déposé"):
        store.create_invoice(info.supplier_id, clean("dup-1", info), account, send=True, now=NOW)

    assert store.count_invoices() == count
    assert store.has_duplicate(info.supplier_id, "Dup-1", 2026)
    assert not store.has_duplicate(info.supplier_id, "DUP-1", 2025)
    assert not store.has_duplicate(info.supplier_id + 1, "DUP-1", 2026)


def test_attachments_are_kept_with_their_size_and_hash(store: Store, info: SeedInfo) -> None:
    account = store.get_user(EMAIL)
    assert account is not None
    files = (("bon-de-commande.pdf", b"%PDF-1.7 demo"), ("detail.csv", b"a;b\n1;2\n"))

    invoice = store.create_invoice(
        info.supplier_id, clean("PJ-1", info, pieces_jointes=files), account, send=True, now=NOW
    )

    assert [(a.nom, a.taille) for a in invoice.pieces_jointes] == [
        ("bon-de-commande.pdf", 13),
        ("detail.csv", 8),
    ]
    assert invoice.pieces_jointes[1].sha256 == hashlib.sha256(b"a;b\n1;2\n").hexdigest()
    assert store.attachment_data(invoice.id, 1) == b"%PDF-1.7 demo"
    assert store.attachment_data(invoice.id, 3) is None


# -- lists and searches ------------------------------------------------------------------------


def test_synthese_lists_the_work_list_newest_deposit_first_and_drafts_last(
    store: Store, info: SeedInfo
) -> None:
    page = store.list_synthese(info.supplier_id, page=1, size=50)

    expected = {Status.BROUILLON, Status.REJETEE, Status.SUSPENDUE, Status.A_RECYCLER}
    assert {i.statut for i in page.items} == expected
    assert all(not i.rejet_traite for i in page.items)
    deposited = [i.date_depot for i in page.items if i.date_depot is not None]
    assert deposited == sorted(deposited, reverse=True)
    assert [i.statut for i in page.items[-2:]] == [Status.BROUILLON, Status.BROUILLON]
    assert page.total == 3 + 2 + 1 + 1


def test_synthese_pages_are_clamped_and_counted(store: Store, info: SeedInfo) -> None:
    everything = store.list_synthese(info.supplier_id, page=1, size=50).items

    first = store.list_synthese(info.supplier_id, page=0, size=3)
    last = store.list_synthese(info.supplier_id, page=99, size=3)

    assert (first.page, first.pages, first.total, first.size) == (1, 3, 7, 3)
    assert first.items == everything[:3]
    assert (last.page, last.items) == (3, everything[6:])
    with pytest.raises(ValueError):
        store.list_synthese(info.supplier_id, page=1, size=0)


def test_search_by_number_is_exact_and_case_insensitive(store: Store, info: SeedInfo) -> None:
    numero = info.rejected_numbers[0]

    found = store.search(info.supplier_id, numero=f" {numero.lower()} ")
    partial = store.search(info.supplier_id, numero=numero[:-1])

    assert [i.numero for i in found.items] == [numero]
    assert partial.total == 0


def test_search_by_status_recipient_and_dates(store: Store, info: SeedInfo) -> None:
    paid = store.search(info.supplier_id, statut=Status.MISE_EN_PAIEMENT)
    assert [i.numero for i in paid.items] == list(info.numbers[Status.MISE_EN_PAIEMENT])

    target = by_number(store, info, info.rejected_numbers[0])
    by_siret = store.search(info.supplier_id, destinataire=target.siret_destinataire)
    assert by_siret.total >= 1
    assert {i.siret_destinataire for i in by_siret.items} == {target.siret_destinataire}

    by_name = store.search(info.supplier_id, destinataire="HAUT-morvan", size=50)
    accents = store.search(info.supplier_id, destinataire="ministere", size=50)
    assert all("Haut-Morvan" in i.nom_destinataire for i in by_name.items)
    assert all(i.nom_destinataire.startswith("Ministère") for i in accents.items)
    assert by_name.total + accents.total > 0

    day = target.date_depot.astimezone(PARIS).date()  # type: ignore[union-attr]
    on_day = store.search(info.supplier_id, date_from=day, date_to=day, size=50)
    assert target.numero in [i.numero for i in on_day.items]
    assert all(
        i.date_depot is not None and i.date_depot.astimezone(PARIS).date() == day
        for i in on_day.items
    )
    assert store.search(info.supplier_id, date_from=TODAY + timedelta(days=1)).total == 0


def test_search_dates_follow_the_french_calendar(store: Store, info: SeedInfo) -> None:
    account = store.get_user(EMAIL)
    assert account is not None
    just_after_midnight = datetime(2026, 4, 1, 0, 30, tzinfo=PARIS)  # 31/03 22:30 UTC
    store.create_invoice(
        info.supplier_id, clean("MINUIT-1", info), account, send=True, now=just_after_midnight
    )

    april = store.search(info.supplier_id, numero="MINUIT-1", date_from=date(2026, 4, 1))
    march = store.search(info.supplier_id, numero="MINUIT-1", date_to=date(2026, 3, 31))

    assert april.total == 1 and march.total == 0


# -- accounts, persistence, speed --------------------------------------------------------------


def test_password_is_stored_hashed_and_checked(store: Store) -> None:
    created = store.add_user("Agent@Exemple.fr", "Tres-Secret-42", 1, otp=True, nom="Agent")

    found = store.get_user("agent@exemple.fr")

    assert found is not None and found.otp and found.supplier_id == 1
    assert "Tres-Secret-42" not in found.password_hash
    assert "password_hash" not in repr(found) and found.password_hash not in repr(found)
    assert store.check_password(found, "Tres-Secret-42")
    assert not store.check_password(found, "tres-secret-42")
    assert created.email == "Agent@Exemple.fr"
    assert store.get_user("inconnu@exemple.fr") is None


def test_file_store_keeps_its_data_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.sqlite3"
    first = Store(path)
    info = seed(first, rejected=2, user_email=EMAIL, password="pw", today=TODAY)
    first.close()

    second = Store(path)
    try:
        assert sorted(i.numero for i in second.pending_window(info.supplier_id)) == list(
            info.rejected_numbers
        )
        journal = second._conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert journal == "wal"
    finally:
        second.close()


def test_reset_drops_every_record(store: Store, info: SeedInfo) -> None:
    store.reset()

    assert store.count_invoices() == 0
    assert store.list_structures() == []
    assert store.get_user(EMAIL) is None
    assert store.get_supplier(info.supplier_id) is None


def test_lists_of_ten_thousand_invoices_answer_in_under_100_ms(
    store: Store, info: SeedInfo
) -> None:
    seed_bulk(store, info.supplier_id, 10_000, today=TODAY)
    assert store.count_invoices(info.supplier_id) >= 10_000
    queries: dict[str, Callable[[], PageResult]] = {
        "synthese": lambda: store.list_synthese(info.supplier_id, page=40, size=50),
        "numero": lambda: store.search(info.supplier_id, numero="LOT-2026-004242"),
        "statut": lambda: store.search(info.supplier_id, statut=Status.MANDATEE, page=5),
        "nom": lambda: store.search(info.supplier_id, destinataire="université", page=3),
        "dates": lambda: store.search(
            info.supplier_id, date_from=date(2026, 3, 1), date_to=date(2026, 6, 30), size=50
        ),
    }
    for name, query in queries.items():
        start = time.perf_counter()
        result = query()
        elapsed = time.perf_counter() - start
        assert result.total > 0, name
        assert elapsed < 0.1, f"{name}: {elapsed:.3f} s"


def test_instants_come_back_timezone_aware(store: Store, info: SeedInfo) -> None:
    invoice = by_number(store, info, info.rejected_numbers[0])

    assert invoice.date_depot is not None and invoice.date_depot.tzinfo is not None
    assert invoice.date_depot.utcoffset() == timedelta(0)
    assert invoice.date_depot.astimezone(UTC) < NOW
