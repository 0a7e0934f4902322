"""Several supplier accounts (``--accounts``): each its own structure, invoices and view of the
portal; ``compte`` in the admin interface and ``?compte=`` when a number is in several."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from stdnum import iban
from stdnum.fr import siret

from sandbox.fmt import PARIS
from sandbox.model import Status
from sandbox.seed import seed, seed_bulk
from sandbox.server import PortalClient, RunningSandbox, csrf_token, option_env, start_sandbox
from sandbox.settings import OptionError, SandboxOptions, account_email, account_emails
from sandbox.store import Store

TODAY = date(2026, 11, 27)
USER = "fournisseur@exemple.fr"
EMAIL = "comptable@exemple-fournisseur.fr"  # the default --user
PASSWORD = "Demo-Chorus-2026"
FORM = "/factures-emises/saisir"
DUPLICATE = (
    "Vous avez déjà déposé une demande de paiement avec ce numéro de facture pour cette structure"
)
INVOICE_LINK = re.compile(r'href="/factures-emises/factures/(\d+)"')


@pytest.fixture
def three(fresh_sandbox: RunningSandbox) -> Iterator[tuple[RunningSandbox, dict[str, Any]]]:
    """The test sandbox with three accounts: 3 rejections, 1 suspension, 2 to recycle each."""
    summary = fresh_sandbox.reset(seed=3, seed_suspended=1, seed_recycle=2, accounts=3)
    yield fresh_sandbox, summary


def _ids(page: httpx.Response) -> set[int]:
    return {int(found) for found in INVOICE_LINK.findall(page.text)}


def _by_account(sandbox: RunningSandbox, number: int) -> list[dict[str, Any]]:
    return sandbox.invoices(compte=sandbox.account(number))


# --- identifiants ---------------------------------------------------------------------------


def test_account_k_is_the_user_with_plus_k_before_the_at() -> None:
    assert account_email(USER, 1) == USER
    assert account_email(USER, 2) == "fournisseur+2@exemple.fr"
    assert account_email("a.b+x@cabinet.fr", 12) == "a.b+x+12@cabinet.fr"
    assert account_emails(USER, 3) == [
        USER,
        "fournisseur+2@exemple.fr",
        "fournisseur+3@exemple.fr",
    ]
    with pytest.raises(ValueError):
        account_email(USER, 0)


def test_the_options_take_the_number_of_accounts_and_the_session_cap() -> None:
    defaults = SandboxOptions()
    assert defaults.accounts == 1 and defaults.max_sessions_per_account == 0
    env = {"CHORUS_SANDBOX_ACCOUNTS": "4", "CHORUS_SANDBOX_MAX_SESSIONS_PER_ACCOUNT": "2"}
    options = SandboxOptions.from_env(env)
    assert options.accounts == 4 and options.max_sessions_per_account == 2
    assert SandboxOptions.from_env(env, accounts=6).accounts == 6  # the caller wins
    exported = option_env(options)
    assert exported["CHORUS_SANDBOX_ACCOUNTS"] == "4"
    assert exported["CHORUS_SANDBOX_MAX_SESSIONS_PER_ACCOUNT"] == "2"
    with pytest.raises(OptionError, match="--accounts doit être comprise entre 1 et 500"):
        SandboxOptions(accounts=0)
    with pytest.raises(OptionError, match="--accounts doit être comprise entre 1 et 500"):
        SandboxOptions(accounts=501)
    with pytest.raises(OptionError, match="--max-sessions-per-account ne peut pas être négative"):
        SandboxOptions(max_sessions_per_account=-1)
    with pytest.raises(OptionError, match="CHORUS_SANDBOX_ACCOUNTS"):
        SandboxOptions.from_env({"CHORUS_SANDBOX_ACCOUNTS": "trois"})


# --- the seed -------------------------------------------------------------------------------


@pytest.fixture
def store() -> Iterator[Store]:
    db = Store(":memory:")
    yield db
    db.close()


def _snapshot(store: Store, supplier_id: int) -> list[Any]:
    """One account's invoices as stored (ids included), its structure and its user."""
    supplier = store.get_supplier(supplier_id)
    users = [(u.email, u.supplier_id, u.otp, u.nom) for u in store.list_users()]
    return [store.list_all(supplier_id=supplier_id), supplier, users[0]]


def test_account_one_is_the_single_account_whatever_the_number_of_accounts(
    store: Store,
) -> None:
    kwargs: dict[str, Any] = dict(
        rejected=4, suspended=2, recycle=1, user_email=USER, password=PASSWORD, today=TODAY
    )
    single = seed(store, **kwargs)
    alone = _snapshot(store, single.supplier_id)
    count = store.count_invoices()
    several = seed(store, **kwargs, accounts=4)
    assert _snapshot(store, several.supplier_id) == alone
    assert several.rejected_numbers == single.rejected_numbers
    assert several.suspended_numbers == single.suspended_numbers
    assert several.numbers == single.numbers
    assert store.count_invoices() == 4 * count
    assert [a.user_email for a in several.accounts] == account_emails(USER, 4)
    assert single.accounts[0].user_email == USER and len(single.accounts) == 1


#: The default seed's data (12 rejections, 3 suspensions, 2 to recycle, random seed 42, on
#: 27/11/2026), as the seed made it before several accounts existed: account 1 must stay
#: exactly that, byte for byte, whatever ``accounts``.
SINGLE_ACCOUNT_FINGERPRINT = "b27104bd34c61862951573ece6f2ab2334779a04cdb1b597f59fb9a50a7c202e"


def _fingerprint(store: Store, supplier_id: int) -> str:
    user = store.get_user(EMAIL)
    assert user is not None
    parts = [
        repr(store.list_structures()),
        repr(store.get_supplier(supplier_id)),
        repr([(user.email, user.supplier_id, user.otp, user.nom)]),
        repr([i for i in store.list_all() if i.supplier_id == supplier_id]),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@pytest.mark.parametrize("accounts", [None, 1, 3])
def test_the_default_seed_is_byte_for_byte_what_it_was(store: Store, accounts: int | None) -> None:
    extra: dict[str, Any] = {} if accounts is None else {"accounts": accounts}
    info = seed(
        store,
        rejected=12,
        suspended=3,
        recycle=2,
        random_seed=42,
        user_email=EMAIL,
        password=PASSWORD,
        today=TODAY,
        **extra,
    )
    assert info.supplier_id == 1
    assert _fingerprint(store, info.supplier_id) == SINGLE_ACCOUNT_FINGERPRINT
    assert len(store.list_users()) == (accounts or 1)


def test_each_account_has_its_own_structure_bank_accounts_and_pending_invoices(
    store: Store,
) -> None:
    info = seed(
        store,
        rejected=3,
        suspended=2,
        recycle=1,
        user_email=USER,
        password=PASSWORD,
        today=TODAY,
        accounts=3,
    )
    suppliers = [a.supplier for a in info.accounts]
    assert len({s.id for s in suppliers}) == 3
    assert len({s.siret for s in suppliers}) == 3 and all(
        siret.is_valid(s.siret) for s in suppliers
    )
    assert not {s.siret for s in suppliers} & {s.siret for s in info.structures}
    assert len({s.nom for s in suppliers}) == 3
    ibans = [c.iban for s in suppliers for c in s.comptes]
    assert len(ibans) == 6 and len(set(ibans)) == 6 and all(iban.is_valid(i) for i in ibans)
    users = store.list_users()
    assert [(u.email, u.supplier_id) for u in users] == [
        (a.user_email, a.supplier_id) for a in info.accounts
    ]
    assert len({u.nom for u in users}) == 3
    assert all(store.check_password(u, PASSWORD) for u in users)
    for account in info.accounts:
        mine = store.list_all(supplier_id=account.supplier_id)
        numbers = [i.numero for i in mine]
        assert len(numbers) == len(set(numbers)), "numbers are unique within a structure"
        pending = store.pending_window(account.supplier_id)
        assert sum(i.statut is Status.REJETEE for i in pending) == 3
        assert sum(i.statut is Status.SUSPENDUE for i in pending) == 2
        assert sorted(i.numero for i in pending if i.statut is Status.REJETEE) == list(
            account.rejected_numbers
        )
        assert len(account.recycle_numbers) == 1
        assert {i.compte_id for i in mine} <= {c.id for c in account.supplier.comptes}
    # Every account numbers from the same start: the same numbers, different invoices.
    first, second = (store.list_all(supplier_id=a.supplier_id) for a in info.accounts[:2])
    assert {i.numero for i in first} == {i.numero for i in second}
    assert {i.id for i in first}.isdisjoint({i.id for i in second})
    assert [i.montant_ttc for i in first] != [i.montant_ttc for i in second]


def test_bulk_invoices_of_another_account_are_its_own(store: Store) -> None:
    info = seed(store, rejected=0, user_email=USER, password=PASSWORD, today=TODAY, accounts=2)
    second = info.accounts[1]
    before = store.count_invoices(info.supplier_id)
    assert seed_bulk(store, second.supplier_id, 30, today=TODAY) == 30
    assert store.count_invoices(info.supplier_id) == before
    bulk = [i for i in store.list_all(supplier_id=second.supplier_id) if i.numero[:4] == "LOT-"]
    names = {u.supplier_id: u.nom for u in store.list_users()}
    assert len(bulk) == 30 and names[second.supplier_id] != names[info.supplier_id]
    assert {i.historique[0].utilisateur for i in bulk} == {names[second.supplier_id]}
    assert {i.compte_id for i in bulk} <= {c.id for c in second.supplier.comptes}


# --- over HTTP: logging in, and what each account sees ----------------------------------------


def test_the_reset_seeds_every_account_and_each_logs_in_with_its_own_address(
    three: tuple[RunningSandbox, dict[str, Any]],
) -> None:
    sandbox, summary = three
    comptes = summary["comptes"]
    assert [c["compte"] for c in comptes] == [sandbox.account(k) for k in (1, 2, 3)]
    assert comptes[1]["compte"] == account_email(sandbox.options.user, 2)
    assert summary["user"] == sandbox.options.user and summary["rejected"] == comptes[0]["rejected"]
    assert len({c["siret"] for c in comptes}) == 3 and len({c["nom"] for c in comptes}) == 3
    assert all(len(c["rejected"]) == 3 and len(c["suspended"]) == 1 for c in comptes)
    assert all(len(c["recycle"]) == 2 for c in comptes)
    assert summary["invoices"] == 3 * len(_by_account(sandbox, 1)) == 3 * (16 + 3 + 1 + 2)
    for number, compte in enumerate(comptes, start=1):
        with sandbox.http_client(email=sandbox.account(number)) as client:
            home = client.get("/accueil").text
            entry = html.unescape(client.get(FORM).text)
        assert sandbox.account(number) in home
        assert compte["nom"] in entry and compte["siret"] in entry
        for other in comptes:
            if other is not compte:
                assert other["nom"] not in entry and other["siret"] not in entry
    with sandbox.http_client(login=False) as client:
        form = client.get("/connexion")
        beyond = client.post(
            "/connexion",
            data={
                "csrf": csrf_token(form.text),
                "identifiant": sandbox.account(4),
                "mot_de_passe": sandbox.options.password,
            },
        )
    assert beyond.url.path == "/connexion"
    assert "Identifiant ou mot de passe incorrect." in beyond.text


def test_each_account_sees_only_its_own_invoices_in_every_list(
    three: tuple[RunningSandbox, dict[str, Any]],
) -> None:
    sandbox, _ = three
    mine = _by_account(sandbox, 2)
    theirs = _by_account(sandbox, 1)
    window = {
        i["id"] for i in mine if i["statut"] in ("REJETEE", "SUSPENDUE") and not i["acquittee"]
    }
    in_synthese = {
        i["id"]
        for i in mine
        if i["statut"] in ("BROUILLON", "SUSPENDUE", "A_RECYCLER")
        or (i["statut"] == "REJETEE" and not i["rejet_traite"])
    }
    target = next(i for i in theirs if i["numero"] in {i["numero"] for i in mine})
    with sandbox.http_client(email=sandbox.account(2)) as client:
        home = client.get("/accueil")
        synthese = client.get("/factures-emises/synthese?taille=50")
        everything = client.get("/factures-emises/rechercher?taille=50")
        by_number = client.get(
            "/factures-emises/rechercher",
            params={"listeResultats.critere.numero": target["numero"]},
        )
    assert len(window) == 4 and _ids(home) == window
    assert _ids(synthese) == in_synthese
    assert _ids(everything) == {i["id"] for i in mine}
    assert f"{len(mine)} facture(s)" in everything.text
    # Account 1's number exists in account 2 too: the search finds account 2's only.
    same_number = {i["id"] for i in mine if i["numero"] == target["numero"]}
    assert len(same_number) == 1 and _ids(by_number) == same_number
    assert target["id"] not in _ids(by_number)


def test_an_account_cannot_open_or_act_on_another_accounts_invoice(
    three: tuple[RunningSandbox, dict[str, Any]],
) -> None:
    sandbox, summary = three
    first = summary["comptes"][0]
    rejected = sandbox.invoice(first["rejected"][0], compte=sandbox.account(1))
    suspended = sandbox.invoice(first["suspended"][0], compte=sandbox.account(1))
    recycle = sandbox.invoice(first["recycle"][0], compte=sandbox.account(1))
    path = f"/factures-emises/factures/{rejected['id']}"
    with sandbox.http_client(email=sandbox.account(1)) as owner:
        assert owner.get(path).status_code == 200
        owner.post(path + "/acquitter", data={"csrf": csrf_token(owner.get(path).text)})
    assert sandbox.invoice(rejected["numero"], compte=sandbox.account(1))["acquittee"] is True
    with sandbox.http_client(email=sandbox.account(2)) as intruder:
        page = intruder.get(path)
        token = csrf_token(intruder.get("/accueil").text)
        acknowledge = intruder.post(
            f"/factures-emises/factures/{suspended['id']}/acquitter", data={"csrf": token}
        )
        window = intruder.post(
            "/accueil/fenetre",
            data={"csrf": token, "action": "acquitter", "ids": str(suspended["id"])},
        )
        process = intruder.post(
            "/factures-emises/synthese/traiter", data={"csrf": token, "ids": str(rejected["id"])}
        )
        forms = [
            intruder.get(f"/factures-emises/factures/{recycle['id']}/recycler"),
            intruder.get(f"/factures-emises/factures/{suspended['id']}/completer"),
        ]
    assert page.status_code == 404
    assert "Page introuvable" in page.text
    assert f"Facture {rejected['id']} introuvable." in html.unescape(page.text)
    assert first["nom"] not in html.unescape(page.text)
    assert acknowledge.status_code == 404
    assert f"Facture {suspended['id']} introuvable." in html.unescape(window.text)
    assert f"Facture {rejected['id']} introuvable." in html.unescape(process.text)
    assert [form.status_code for form in forms] == [404, 404]
    assert sandbox.invoice(rejected["numero"], compte=sandbox.account(1))["rejet_traite"] is False
    untouched = sandbox.invoice(suspended["numero"], compte=sandbox.account(1))
    assert untouched["acquittee"] is False and untouched["statut"] == "SUSPENDUE"


def _send(client: PortalClient, sandbox: RunningSandbox, numero: str) -> httpx.Response:
    """« Valider et envoyer » a valid invoice to a recipient of the seed."""
    source = sandbox.invoices(status="REJETEE")[0]
    page = client.get(FORM).text
    account = re.search(
        r'name="compte_id"[^>]*>\s*<option value="">[^<]*</option><option value="(\d+)"', page
    )
    assert account is not None
    return client.post(
        FORM,
        data={
            "csrf": csrf_token(page),
            "cadre": "A1",
            "siret_destinataire": source["siret_destinataire"],
            "code_service": source["code_service"],
            "compte_id": account.group(1),
            "type_facture": "FACTURE",
            "numero": numero,
            "date_facture": datetime.now(PARIS).date().isoformat(),
            "devise": "EUR",
            "type_tva": "TVA_SUR_DEBIT",
            "mode_paiement": "VIREMENT",
            "numero_engagement": source["numero_engagement"],
            "ligne-1-reference": "REF-1",
            "ligne-1-designation": "Prestation de conseil",
            "ligne-1-quantite": "2",
            "ligne-1-unite": "jour",
            "ligne-1-prix_unitaire_ht": "100,50",
            "ligne-1-remise": "",
            "ligne-1-taux_tva": "20",
            "total_ht": "201.00",
            "total_tva": "40.20",
            "total_ttc": "241.20",
            "action": "envoyer",
        },
    )


def test_a_number_is_unique_per_supplier_structure_not_across_accounts(
    three: tuple[RunningSandbox, dict[str, Any]],
) -> None:
    sandbox, _ = three
    with sandbox.http_client(email=sandbox.account(1)) as client:
        first = _send(client, sandbox, "CABINET-2026-1")
    with sandbox.http_client(email=sandbox.account(2)) as client:
        second = _send(client, sandbox, "CABINET-2026-1")
        again = _send(client, sandbox, "CABINET-2026-1")
    sent = "La facture CABINET-2026-1 a été validée"
    assert sent in html.unescape(first.text) and sent in html.unescape(second.text)
    assert again.url.path == FORM and DUPLICATE in html.unescape(again.text)
    ones = [sandbox.invoice("CABINET-2026-1", compte=sandbox.account(k)) for k in (1, 2)]
    assert [i["compte"] for i in ones] == [sandbox.account(1), sandbox.account(2)]
    assert ones[0]["id"] != ones[1]["id"]
    assert ones[0]["supplier_id"] != ones[1]["supplier_id"]


# --- the admin interface ---------------------------------------------------------------------


def test_every_admin_record_names_its_account(fresh_sandbox: RunningSandbox) -> None:
    records = fresh_sandbox.invoices()
    assert records and {r["compte"] for r in records} == {fresh_sandbox.options.user}
    numero = records[0]["numero"]
    assert fresh_sandbox.invoice(numero)["compte"] == fresh_sandbox.options.user
    fresh_sandbox.reset(accounts=2)
    records = fresh_sandbox.invoices()
    owners = {r["compte"] for r in records}
    assert owners == {fresh_sandbox.account(1), fresh_sandbox.account(2)}
    second = fresh_sandbox.invoices(compte=fresh_sandbox.account(2))
    assert second and {r["compte"] for r in second} == {fresh_sandbox.account(2)}
    assert len(second) * 2 == len(records)
    rejected = fresh_sandbox.invoices("REJETEE", compte=fresh_sandbox.account(2))
    assert {r["statut"] for r in rejected} == {"REJETEE"}
    assert {r["id"] for r in rejected} < {r["id"] for r in second}


def test_a_number_in_several_accounts_needs_compte_in_the_admin_interface(
    three: tuple[RunningSandbox, dict[str, Any]],
) -> None:
    sandbox, summary = three
    numero = summary["comptes"][1]["rejected"][0]  # account 2's, present in every account
    ambiguous = sandbox.admin("GET", f"invoices/{numero}")
    assert ambiguous.status_code == 409
    message = ambiguous.json()["erreur"]
    assert f"Le numéro {numero} existe dans plusieurs comptes" in message
    assert "précisez le compte avec ?compte=" in message and sandbox.account(2) in message
    chosen = sandbox.invoice(numero, compte=sandbox.account(2))
    assert chosen["compte"] == sandbox.account(2) and chosen["statut"] == "REJETEE"
    other = sandbox.invoice(numero, compte=sandbox.account(3))
    assert other["compte"] == sandbox.account(3) and other["id"] != chosen["id"]
    # A « + » left unencoded reads as a space: taken back as the « + » it was.
    raw = sandbox.admin("GET", f"invoices/{numero}?compte={sandbox.account(2)}")
    assert raw.status_code == 200 and raw.json()["id"] == chosen["id"]
    unknown = sandbox.admin("GET", f"invoices/{numero}?compte=personne%40exemple.fr")
    assert unknown.status_code == 404
    assert unknown.json()["erreur"] == "Compte inconnu : personne@exemple.fr."
    assert sandbox.admin("GET", "invoices?compte=personne%40exemple.fr").status_code == 404
    # The public client's actions take the same ?compte=.
    target = sandbox.invoices("MISE_A_DISPOSITION", compte=sandbox.account(3))[0]["numero"]
    before = [sandbox.invoice(target, compte=sandbox.account(k)) for k in (1, 2)]
    path = f"invoices/{target}/reject"
    refused = sandbox.admin("POST", path, json={"motif": "DOUBLON"})
    assert refused.status_code == 409
    compte = sandbox.account(3).replace("+", "%2B")
    done = sandbox.admin("POST", f"{path}?compte={compte}", json={"motif": "DOUBLON"})
    assert done.status_code == 200
    assert done.json()["statut"] == "REJETEE" and done.json()["compte"] == sandbox.account(3)
    assert [sandbox.invoice(target, compte=sandbox.account(k)) for k in (1, 2)] == before


def test_the_admin_reset_checks_the_number_of_accounts(fresh_sandbox: RunningSandbox) -> None:
    for bad in (0, 501, "beaucoup"):
        answer = fresh_sandbox.admin("POST", "reset", json={"accounts": bad})
        assert answer.status_code == 422, bad
        assert answer.json()["erreur"] == "Paramètres de réinitialisation invalides."
    summary = fresh_sandbox.reset()  # without it: the start options, one account
    assert [c["compte"] for c in summary["comptes"]] == [fresh_sandbox.options.user]


def test_a_sandbox_started_with_several_accounts_seeds_them(tmp_path: Path) -> None:
    options = SandboxOptions(data_dir=tmp_path, seed=1, accounts=2, user=USER)
    with start_sandbox(options) as sandbox:
        assert {r["compte"] for r in sandbox.invoices()} == {USER, "fournisseur+2@exemple.fr"}
        with sandbox.http_client(email="fournisseur+2@exemple.fr") as client:
            assert "fournisseur+2@exemple.fr" in client.get("/accueil").text


def test_the_command_line_server_seeds_the_accounts_and_announces_them(tmp_path: Path) -> None:
    options = SandboxOptions(
        data_dir=tmp_path, seed=1, accounts=2, max_sessions_per_account=1, user=USER
    )
    with start_sandbox(options, mode="process") as sandbox:  # options as CHORUS_SANDBOX_*
        log = (tmp_path / "sandbox-server.log").read_text(encoding="utf-8")
        stats = sandbox.stats()
    assert (
        "2 comptes fournisseurs, de fournisseur@exemple.fr à fournisseur+2@exemple.fr "
        "(même mot de passe)." in log
    )
    assert list(stats["comptes"]) == [USER, "fournisseur+2@exemple.fr"]
    assert stats["max_sessions_per_account"] == 1
