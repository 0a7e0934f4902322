"""Realistic, reproducible data for the sandbox (docs/portal.md, « What the sandbox adds for
testing »).

:func:`seed` **resets the store first**, then creates a directory of 12 public structures
(one inactive, one inactive service, every kind of requirement), one supplier structure with
two bank accounts and its user, 16 invoices covering every status of docs/portal.md
« Statuses » (drafts,
processed rejections, an acknowledged suspension…) and exactly ``rejected`` rejected invoices
not yet acknowledged — with ``suspended`` = 0, the only ones the rejection window lists.
``suspended`` adds that many suspended invoices not yet acknowledged (listed by the window
too) and ``recycle`` that many invoices « À recycler », with realistic motives
(``_seed_data.SUSPENSION_MOTIVES``, ``RECYCLING_MOTIVES``); they are drawn from a random
stream of their own, so the other invoices stay the same whatever their number (only the
numbering, in deposit order, moves). Invoices rejected for an
amount (MONTANTTOTAL_ERR, CALCUL_ERR, TX_TVA_ERR) have one line, so that correcting the
« montant HT » is unambiguous. Every rejected invoice passes the entry form's rules once given
a new number, so the robot can reissue it.

The same arguments give the same data: every draw comes from ``random.Random(random_seed)``
and instants are derived from ``today`` (default: today in France), not from the clock.
:func:`seed_bulk` adds many invoices fast (benchmarks, timing tests).

**Several accounts** (``accounts`` > 1, an accounting firm driving many suppliers): account 1
is exactly the single account above (``user_email``, same data whatever ``accounts``);
account k (k ≥ 2) is ``user_email`` with ``+k`` before the ``@``
(:func:`sandbox.settings.account_email`), same password and second factor, with a supplier
structure of its own (SIRET, name, two bank accounts) and invoices of its own: the same 16
others and ``rejected``, ``suspended`` and ``recycle`` pending ones, drawn from streams of its
own (``"<random_seed>:compte-k"``, ``"<random_seed>:compte-k:suivi"``) and created after
account 1's, so account 1's ids do not move. Every account numbers its invoices from the
same ``FAC-AAAA-NNNNN`` start: the same number exists in several accounts, as the portal
allows (a number is unique per supplier structure), and a robot must never mix them up.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from stdnum import iban, luhn

from sandbox import _seed_data as data
from sandbox._passwords import hash_password
from sandbox._seed_invoices import InvoiceFactory
from sandbox.fmt import PARIS, paris_today
from sandbox.model import BankAccount, Invoice, Service, Status, Structure, Supplier
from sandbox.settings import ACCOUNTS_MAX, account_email
from sandbox.store import Store

#: Statuses of the other seeded invoices, with how many days ago they were deposited.
_OTHERS: tuple[tuple[Status, int, int], ...] = (
    (Status.BROUILLON, 1, 1),
    (Status.BROUILLON, 2, 2),
    (Status.DEPOSEE, 1, 1),
    (Status.EN_COURS_ACHEMINEMENT, 1, 1),
    (Status.MISE_A_DISPOSITION, 2, 10),
    (Status.MISE_A_DISPOSITION, 3, 20),
    (Status.A_RECYCLER, 5, 15),
    (Status.SUSPENDUE, 4, 12),
    (Status.COMPLETEE, 15, 30),
    (Status.REJETEE, 20, 40),
    (Status.REJETEE, 40, 60),
    (Status.SERVICE_FAIT, 15, 30),
    (Status.MANDATEE, 30, 45),
    (Status.MISE_A_DISPOSITION_COMPTABLE, 35, 50),
    (Status.COMPTABILISEE, 45, 70),
    (Status.MISE_EN_PAIEMENT, 60, 120),
)
_BULK_STATUSES = (
    (Status.MISE_EN_PAIEMENT, 30),
    (Status.MANDATEE, 10),
    (Status.COMPTABILISEE, 10),
    (Status.MISE_A_DISPOSITION, 15),
    (Status.SERVICE_FAIT, 5),
    (Status.REJETEE, 10),
    (Status.SUSPENDUE, 8),
    (Status.A_RECYCLER, 7),
    (Status.BROUILLON, 5),
)


@dataclass(frozen=True)
class AccountSeed:
    """What :func:`seed` created for one account (``number`` 1 is the ``user_email`` one)."""

    number: int
    user_email: str
    supplier: Supplier
    rejected_numbers: tuple[str, ...]  # the rejections not yet acknowledged, by number
    numbers: dict[Status, tuple[str, ...]]  # every seeded invoice number, by status
    #: the suspensions (not acknowledged) and recyclings asked for, by number
    suspended_numbers: tuple[str, ...] = ()
    recycle_numbers: tuple[str, ...] = ()

    @property
    def supplier_id(self) -> int:
        return self.supplier.id


@dataclass(frozen=True)
class SeedInfo:
    """What :func:`seed` created; the fields before ``accounts`` are account 1's."""

    supplier_id: int
    user_email: str
    rejected_numbers: tuple[str, ...]  # the rejections not yet acknowledged, by number
    structures: tuple[Structure, ...]
    supplier: Supplier
    numbers: dict[Status, tuple[str, ...]]  # every seeded invoice number, by status
    #: the suspensions (not acknowledged) and recyclings asked for, by number
    suspended_numbers: tuple[str, ...] = ()
    recycle_numbers: tuple[str, ...] = ()
    #: every account, account 1 first
    accounts: tuple[AccountSeed, ...] = ()


def make_siret(rng: random.Random, prefix: str) -> str:
    """A random SIRET that passes the Luhn checks of its SIREN and of the whole number."""
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(8 - len(prefix)))
    siren = body + luhn.calc_check_digit(body)
    start = siren + "".join(str(rng.randrange(10)) for _ in range(4))
    return start + luhn.calc_check_digit(start)


def make_iban(rng: random.Random, bank: str, branch: str) -> str:
    """A French IBAN with a valid RIB key and check digits, in groups of four."""
    account = "".join(str(rng.randrange(10)) for _ in range(11))
    key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
    bban = f"{bank}{branch}{account}{key:02d}"
    compact = f"FR{iban.calc_check_digits('FR00' + bban)}{bban}"
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def seed(
    store: Store,
    *,
    rejected: int,
    suspended: int = 0,
    recycle: int = 0,
    random_seed: int = 42,
    user_email: str,
    password: str,
    otp: bool = False,
    today: date | None = None,
    accounts: int = 1,
) -> SeedInfo:
    """Reset the store and fill it (see the module docstring)."""
    if min(rejected, suspended, recycle) < 0:
        raise ValueError("rejected, suspended and recycle must be >= 0")
    if not 1 <= accounts <= ACCOUNTS_MAX:
        raise ValueError(f"accounts must be between 1 and {ACCOUNTS_MAX}")
    today = today or paris_today()
    rng = random.Random(random_seed)
    store.reset()
    structures = _structures(rng)
    for structure in structures:
        store.add_structure(structure)
    siret = make_siret(rng, "8")
    supplier = _add_supplier(store, rng, siret, data.SUPPLIER_NAME)
    password_hash = hash_password(password)  # once: every account has the same password
    store.add_user(
        user_email,
        password,
        supplier.id,
        otp=otp,
        nom=data.SUPPLIER_USER_NAME,
        password_hash=password_hash,
    )
    invoices, first_asked = _invoices(
        rng,
        f"{random_seed}:suivi",
        supplier,
        data.SUPPLIER_USER_NAME,
        structures,
        today,
        (rejected, suspended, recycle),
    )
    first = rng.randint(20, 80)
    created = [_import(store, 1, user_email, supplier, invoices, first_asked, today, first)]

    sirets = {siret, *(s.siret for s in structures)}
    for number in range(2, accounts + 1):
        account_rng = random.Random(f"{random_seed}:compte-{number}")
        name, user_name = _other_supplier(number)
        siret = make_siret(account_rng, "8")
        while siret in sirets:  # pragma: no cover - astronomically unlikely
            siret = make_siret(account_rng, "8")
        sirets.add(siret)
        other = _add_supplier(store, account_rng, siret, name)
        email = account_email(user_email, number)
        store.add_user(
            email, password, other.id, otp=otp, nom=user_name, password_hash=password_hash
        )
        invoices, first_asked = _invoices(
            account_rng,
            f"{random_seed}:compte-{number}:suivi",
            other,
            user_name,
            structures,
            today,
            (rejected, suspended, recycle),
        )
        created.append(_import(store, number, email, other, invoices, first_asked, today, first))

    main = created[0]
    return SeedInfo(
        supplier_id=main.supplier_id,
        user_email=user_email,
        rejected_numbers=main.rejected_numbers,
        structures=tuple(structures),
        supplier=main.supplier,
        numbers=main.numbers,
        suspended_numbers=main.suspended_numbers,
        recycle_numbers=main.recycle_numbers,
        accounts=tuple(created),
    )


def _add_supplier(store: Store, rng: random.Random, siret: str, name: str) -> Supplier:
    """A supplier structure with its two bank accounts (IBANs drawn from ``rng``)."""
    comptes = tuple(
        BankAccount(0, libelle, make_iban(rng, bank, branch), bic)
        for libelle, bank, branch, bic in data.BANK_ACCOUNTS
    )
    supplier = store.get_supplier(store.add_supplier(Supplier(0, siret, name, comptes)))
    assert supplier is not None
    return supplier


def _other_supplier(number: int) -> tuple[str, str]:
    """The name of account ``number``'s (≥ 2) supplier structure and of its user."""
    index = number - 2
    name, user_name = data.OTHER_SUPPLIERS[index % len(data.OTHER_SUPPLIERS)]
    if index >= len(data.OTHER_SUPPLIERS):
        name = f"{name} - établissement {number}"
    return name, user_name


def _invoices(
    rng: random.Random,
    follow_up_stream: str,
    supplier: Supplier,
    user_name: str,
    structures: list[Structure],
    today: date,
    counts: tuple[int, int, int],
) -> tuple[list[Invoice], int]:
    """One account's invoices, not numbered yet: the 16 others, ``rejected`` pending
    rejections, then the suspensions and recyclings asked for (from ``follow_up_stream``);
    with the index of the first of the latter."""
    rejected, suspended, recycle = counts
    factory = InvoiceFactory(rng, supplier, user_name, structures)
    invoices = [
        factory.other(status, _at(today, rng.randint(low, high), rng))
        for status, low, high in _OTHERS
    ]
    for i in range(rejected):
        motive = data.REJECTION_MOTIVES[i % len(data.REJECTION_MOTIVES)]
        invoices.append(factory.pending_rejection(motive, _at(today, 1 + i * 6 // rejected, rng)))
    asked = _follow_ups(
        supplier, user_name, structures, follow_up_stream, today, suspended, recycle
    )
    first_asked = len(invoices)
    invoices.extend(asked)
    return invoices, first_asked


def _import(
    store: Store,
    number: int,
    email: str,
    supplier: Supplier,
    invoices: list[Invoice],
    first_asked: int,
    today: date,
    first: int,
) -> AccountSeed:
    """Number one account's invoices (from ``first``), store them, say what was created."""
    invoices, sources = _numbered(invoices, today.year, first=first)
    store.import_invoices(invoices)
    numbers: dict[Status, list[str]] = {}
    for invoice in invoices:
        numbers.setdefault(invoice.statut, []).append(invoice.numero)
    pending = [i for i in invoices if i.statut is Status.REJETEE and not i.acquittee]
    added = [i for i, source in zip(invoices, sources, strict=True) if source >= first_asked]
    return AccountSeed(
        number=number,
        user_email=email,
        supplier=supplier,
        rejected_numbers=tuple(sorted(i.numero for i in pending)),
        numbers={status: tuple(values) for status, values in numbers.items()},
        suspended_numbers=tuple(sorted(i.numero for i in added if i.statut is Status.SUSPENDUE)),
        recycle_numbers=tuple(sorted(i.numero for i in added if i.statut is Status.A_RECYCLER)),
    )


def seed_bulk(
    store: Store, supplier_id: int, n: int, random_seed: int = 42, *, today: date | None = None
) -> int:
    """Add ``n`` invoices of mixed statuses over the last year (numbers ``LOT-AAAA-000001``…)
    in one transaction; none is left to acknowledge. Needs the directory (run :func:`seed`
    first). Returns how many were added."""
    supplier = store.get_supplier(supplier_id)
    structures = [s for s in store.list_structures() if s.active]
    if supplier is None or not structures:
        raise ValueError("seed_bulk needs a seeded store (supplier and directory)")
    today = today or paris_today()
    rng = random.Random(random_seed)
    names = {user.supplier_id: user.nom for user in reversed(store.list_users())}
    user_name = names.get(supplier_id) or data.SUPPLIER_USER_NAME  # its account's user
    factory = InvoiceFactory(rng, supplier, user_name, structures)
    statuses = [status for status, _ in _BULK_STATUSES]
    weights = [weight for _, weight in _BULK_STATUSES]
    invoices = []
    for i, status in enumerate(rng.choices(statuses, weights, k=n), start=1):
        invoice = factory.other(status, _at(today, rng.randint(1, 365), rng), lines=1)
        invoices.append(replace(invoice, numero=f"LOT-{today.year}-{i:06d}"))
    store.import_invoices(invoices)
    return n


def _structures(rng: random.Random) -> list[Structure]:
    seen: set[str] = set()
    structures = []
    for prefix, nom, exigence, active, services in data.STRUCTURES:
        siret = make_siret(rng, prefix)
        while siret in seen:  # pragma: no cover - astronomically unlikely
            siret = make_siret(rng, prefix)
        seen.add(siret)
        structures.append(
            Structure(siret, nom, active, exigence, tuple(Service(*s) for s in services))
        )
    return structures


def _at(today: date, days_ago: int, rng: random.Random) -> datetime:
    """A working-hours instant ``days_ago`` days before ``today`` (France), 08:00–11:59."""
    day = today - timedelta(days=days_ago)
    return datetime.combine(day, time(rng.randint(8, 11), rng.randrange(60)), tzinfo=PARIS)


def _numbered(invoices: list[Invoice], year: int, first: int) -> tuple[list[Invoice], list[int]]:
    """The invoices sorted in deposit order (drafts last: they are the latest work) and
    numbered FAC-AAAA-NNNNN in that order; with, for each, its index in ``invoices``."""

    def order(index: int) -> datetime:
        invoice = invoices[index]
        return invoice.date_depot or invoice.historique[0].date + timedelta(days=365)

    sources = sorted(range(len(invoices)), key=order)
    numbered = [
        replace(invoices[source], numero=f"FAC-{year}-{first + i:05d}")
        for i, source in enumerate(sources)
    ]
    return numbered, sources


def _follow_ups(
    supplier: Supplier,
    user_name: str,
    structures: list[Structure],
    stream: str,
    today: date,
    suspended: int,
    recycle: int,
) -> list[Invoice]:
    """``suspended`` suspensions not yet acknowledged, then ``recycle`` invoices « À
    recycler », deposited within the last week (acknowledging is not compulsory yet), drawn
    from a stream of their own (``stream``, e.g. ``"42:suivi"``) so that the rest of the seed
    does not depend on them."""
    rng = random.Random(stream)
    factory = InvoiceFactory(rng, supplier, user_name, structures)
    asked: list[Invoice] = []
    for i in range(suspended):
        motive, comments = data.SUSPENSION_MOTIVES[i % len(data.SUSPENSION_MOTIVES)]
        deposit = _at(today, 1 + i * 6 // suspended, rng)
        asked.append(factory.pending_suspension(motive, rng.choice(comments), deposit))
    for i in range(recycle):
        motive, comments = data.RECYCLING_MOTIVES[i % len(data.RECYCLING_MOTIVES)]
        deposit = _at(today, 1 + i * 6 // recycle, rng)
        asked.append(factory.pending_recycling(motive, rng.choice(comments), deposit))
    return asked
