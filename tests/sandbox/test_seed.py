"""The seed: reproducible, realistic, valid data that the robot can work on."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from stdnum import iban
from stdnum.fr import siret

from sandbox.fmt import PARIS
from sandbox.model import MOTIFS, Draft, Invoice, Status
from sandbox.rules import validate_draft
from sandbox.seed import SeedInfo, seed, seed_bulk
from sandbox.store import Store

TODAY = date(2026, 11, 27)
EMAIL = "comptable@exemple-fournisseur.fr"
PASSWORD = "Demo-Chorus-2026"
AMOUNT_MOTIVES = {MOTIFS[code] for code in ("MONTANTTOTAL_ERR", "CALCUL_ERR", "TX_TVA_ERR")}


@pytest.fixture
def store() -> Iterator[Store]:
    db = Store(":memory:")
    yield db
    db.close()


def run(store: Store, rejected: int = 12, random_seed: int = 42) -> SeedInfo:
    return seed(
        store,
        rejected=rejected,
        random_seed=random_seed,
        user_email=EMAIL,
        password=PASSWORD,
        today=TODAY,
    )


def pending(store: Store, info: SeedInfo) -> list[Invoice]:
    return store.pending_window(info.supplier_id)


def as_draft(invoice: Invoice, numero: str) -> Draft:
    """The entry form filled in as the robot does: the rejected invoice's data, a new number."""
    return Draft(
        cadre=invoice.cadre,
        siret_destinataire=invoice.siret_destinataire,
        code_service=invoice.code_service,
        compte_id=str(invoice.compte_id or ""),
        type_facture=invoice.type_facture,
        numero=numero,
        date_facture=invoice.date_facture.isoformat() if invoice.date_facture else "",
        devise=invoice.devise,
        type_tva=invoice.type_tva,
        mode_paiement=invoice.mode_paiement,
        numero_engagement=invoice.numero_engagement,
        numero_marche=invoice.numero_marche,
        numero_facture_origine=invoice.numero_facture_origine,
        commentaire=invoice.commentaire,
        lignes=[
            {
                "reference": line.reference,
                "designation": line.designation,
                "quantite": str(line.quantite),
                "unite": line.unite,
                "prix_unitaire_ht": str(line.prix_unitaire_ht).replace(".", ","),
                "remise": str(line.remise),
                "taux_tva": str(line.taux_tva),
            }
            for line in invoice.lignes
        ],
        total_ht=str(invoice.montant_ht),
        total_tva=str(invoice.montant_tva),
        total_ttc=str(invoice.montant_ttc),
    )


def test_the_same_arguments_give_the_same_data() -> None:
    first, second = Store(":memory:"), Store(":memory:")

    info_1, info_2 = run(first), run(second)

    assert info_1 == info_2
    assert first.list_all() == second.list_all()
    assert first.list_structures() == second.list_structures()


def test_another_random_seed_gives_other_data(store: Store) -> None:
    other = Store(":memory:")

    info_1, info_2 = run(store, random_seed=1), run(other, random_seed=2)

    assert [s.siret for s in info_1.structures] != [s.siret for s in info_2.structures]
    assert store.list_all() != other.list_all()


def test_sirets_and_ibans_are_valid(store: Store) -> None:
    info = run(store)

    numbers = [s.siret for s in info.structures] + [info.supplier.siret]
    assert all(siret.is_valid(number) for number in numbers), numbers
    assert len(set(numbers)) == len(numbers)
    assert len(info.supplier.comptes) == 2
    assert all(iban.is_valid(c.iban) and c.iban.startswith("FR76") for c in info.supplier.comptes)


def test_the_directory_has_every_requirement_an_inactive_structure_and_service(
    store: Store,
) -> None:
    info = run(store)

    structures = store.list_structures()
    assert len(structures) == 12 and set(structures) == set(info.structures)
    assert {s.exigence for s in structures} == {
        "aucune",
        "service",
        "engagement",
        "service_et_engagement",
        "service_ou_engagement",
    }
    assert [s.active for s in structures].count(False) == 1
    assert sum(not service.active for s in structures for service in s.services) == 1
    assert all(1 <= len(s.services) <= 4 for s in structures)


def test_every_status_of_the_portal_is_present(store: Store) -> None:
    info = run(store)

    assert set(info.numbers) == set(Status)
    assert {i.statut for i in store.list_all()} == set(Status)
    processed = [i for i in store.list_all(Status.REJETEE) if i.rejet_traite]
    assert len(processed) == 2 and all(i.acquittee for i in processed)
    assert len(info.numbers[Status.BROUILLON]) == 2


@pytest.mark.parametrize("rejected", [0, 1, 5, 12, 30])
def test_exactly_the_requested_rejections_wait_in_the_window(store: Store, rejected: int) -> None:
    info = run(store, rejected=rejected)

    window = pending(store, info)

    assert sorted(i.numero for i in window) == list(info.rejected_numbers)
    assert len(window) == rejected
    assert all(i.statut is Status.REJETEE for i in window)
    assert all(re.fullmatch(r"FAC-2026-\d{5}", n) for n in info.rejected_numbers)
    assert store.count_invoices() == 16 + rejected


def test_rejections_are_recent_and_carry_varied_motives(store: Store) -> None:
    info = run(store, rejected=12)

    window = pending(store, info)

    days = {(TODAY - i.date_depot.astimezone(PARIS).date()).days for i in window}  # type: ignore[union-attr]
    assert days <= set(range(1, 7)) and len(days) == 6
    assert all(i.date_motif is not None and i.date_depot < i.date_motif for i in window)  # type: ignore[operator]
    assert all(i.date_motif.astimezone(PARIS).date() < TODAY for i in window)  # type: ignore[union-attr]
    assert len({i.motif for i in window}) == 12
    assert all(i.motif in MOTIFS.values() for i in window)
    assert sum(bool(i.commentaire_motif) for i in window) >= 6
    assert all(
        [h.utilisateur for h in i.historique] == ["Camille Durand", i.nom_destinataire]
        for i in window
    )


def test_rejections_about_amounts_have_exactly_one_line(store: Store) -> None:
    info = run(store, rejected=30)

    window = pending(store, info)

    by_amount = [i for i in window if i.motif in AMOUNT_MOTIVES]
    assert len(by_amount) >= 6
    assert all(len(i.lignes) == 1 for i in by_amount)
    assert Counter(len(i.lignes) for i in window if i not in by_amount).keys() <= {1, 2, 3}
    assert any(len(i.lignes) > 1 for i in window)


def test_every_pending_rejection_can_be_reissued_under_a_new_number(store: Store) -> None:
    info = run(store, rejected=24)
    supplier = store.get_supplier(info.supplier_id)
    assert supplier is not None

    for n, invoice in enumerate(pending(store, info)):
        errors, data = validate_draft(
            as_draft(invoice, f"FAC-2026-9{n:04d}"),
            store=store,
            supplier=supplier,
            today=TODAY,
            sending=True,
        )
        assert errors == {}, (invoice.numero, errors)
        assert data is not None and data.lignes == invoice.lignes


def test_seeding_again_replaces_the_data_instead_of_adding_to_it(store: Store) -> None:
    run(store, rejected=4)
    count = store.count_invoices()

    info = run(store, rejected=4)

    assert store.count_invoices() == count
    assert len(store.list_structures()) == 12
    assert info.supplier_id == 1


def test_the_seeded_account_logs_in_with_its_password(store: Store) -> None:
    seed(store, rejected=1, user_email=EMAIL, password=PASSWORD, otp=True, today=TODAY)

    account = store.get_user(EMAIL)

    assert account is not None and account.otp and account.nom == "Camille Durand"
    assert store.check_password(account, PASSWORD)
    assert not store.check_password(account, "mauvais")


def test_seed_bulk_adds_unique_numbers_and_nothing_to_acknowledge(store: Store) -> None:
    info = run(store, rejected=2)

    added = seed_bulk(store, info.supplier_id, 500, random_seed=7, today=TODAY)

    assert added == 500 and store.count_invoices() == 16 + 2 + 500
    bulk = [i for i in store.list_all() if i.numero.startswith("LOT-")]
    assert len({i.numero for i in bulk}) == 500
    assert len(pending(store, info)) == 2
    assert len({i.statut for i in bulk}) >= 8
    oldest = min(i.date_depot for i in bulk if i.date_depot is not None)
    assert oldest.astimezone(PARIS).date() >= TODAY - timedelta(days=365)


def test_seed_bulk_needs_a_seeded_store(store: Store) -> None:
    with pytest.raises(ValueError):
        seed_bulk(store, 1, 10)
