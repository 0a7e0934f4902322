"""« Compléter » and « Recycler » through HTTP: buttons, forms, every message, statuses,
history, the admin interface's recycle and seed options, faults and the session guard."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.model import Structure
from sandbox.server import PortalClient, RunningSandbox, csrf_token, start_sandbox
from sandbox.settings import SandboxOptions
from sandbox.store import Store

INVOICE = "/factures-emises/factures/{id}"
SUMMARY = "Le formulaire contient des erreurs"
NOTHING = "Ajoutez au moins une pièce jointe ou un commentaire."
UNCHANGED = "Modifiez au moins le SIRET du destinataire, le code service ou le numéro d'engagement."


def _text(response: httpx.Response) -> str:
    return html.unescape(response.text)


def _flashes(response: httpx.Response, role: str) -> list[str]:
    block = re.search(rf'<div role="{role}"[^>]*>(.*?)</div>', response.text, re.S)
    if block is None:
        return []
    return [html.unescape(p) for p in re.findall(r"<p>(.*?)</p>", block.group(1))]


def _summary(response: httpx.Response) -> list[str]:
    block = re.search(r"data-error-summary.*?<ul>(.*?)</ul>", response.text, re.S)
    if block is None:
        return []
    return [html.unescape(m) for m in re.findall(r"<li><a [^>]*>(.*?)</a></li>", block.group(1))]


def _buttons(response: httpx.Response) -> list[str]:
    return [html.unescape(b) for b in re.findall(r"<button[^>]*>([^<]*)</button>", response.text)]


def _seeded(sandbox: RunningSandbox, suspended: int = 2, recycle: int = 2) -> dict[str, Any]:
    return sandbox.reset(seed_suspended=suspended, seed_recycle=recycle)


def _page(client: PortalClient, invoice: dict[str, Any], suffix: str = "") -> httpx.Response:
    return client.get(INVOICE.format(id=invoice["id"]) + suffix)


def _acknowledge(client: PortalClient, invoice: dict[str, Any]) -> None:
    page = _page(client, invoice)
    done = client.post(
        INVOICE.format(id=invoice["id"]) + "/acquitter", data={"csrf": csrf_token(page.text)}
    )
    assert _flashes(done, "status") == [f"La facture {invoice['numero']} a été acquittée."]


def _complete(
    client: PortalClient,
    invoice: dict[str, Any],
    commentaire: str = "",
    files: list[tuple[str, bytes]] | None = None,
) -> httpx.Response:
    form = _page(client, invoice, "/completer")
    parts = [
        ("pieces_jointes", (name, data, "application/octet-stream")) for name, data in files or []
    ]
    return client.post(
        INVOICE.format(id=invoice["id"]) + "/completer",
        data={"csrf": csrf_token(form.text), "commentaire": commentaire},
        files=parts or [("pieces_jointes", ("", b"", "application/octet-stream"))],
    )


def _recycle(client: PortalClient, invoice: dict[str, Any], **values: str) -> httpx.Response:
    form = _page(client, invoice, "/recycler")
    data = {
        "csrf": csrf_token(form.text),
        "siret_destinataire": invoice["siret_destinataire"],
        "code_service": invoice["code_service"],
        "numero_engagement": invoice["numero_engagement"],
        "commentaire": "",
    }
    data.update(values)
    return client.post(INVOICE.format(id=invoice["id"]) + "/recycler", data=data)


def _structure(client: PortalClient, siret: str) -> dict[str, Any]:
    """The structure as the entry form's lookup gives it."""
    found: dict[str, Any] = client.get(f"/api/structures/{siret}").json()
    return found


def _directory(sandbox: RunningSandbox) -> list[Structure]:
    """The sandbox's directory of public structures, read from its database."""
    store = Store(sandbox.options.db_path)
    try:
        return store.list_structures()
    finally:
        store.close()


def _other(directory: list[Structure], exigence: str, than: str) -> Structure:
    """An active structure requiring ``exigence``, other than the SIRET ``than``."""
    return next(s for s in directory if s.exigence == exigence and s.active and s.siret != than)


# -- « Compléter » ---------------------------------------------------------------------------


def test_a_suspension_is_acknowledged_first_then_offers_completer(
    fresh_sandbox: RunningSandbox,
) -> None:
    seeded = _seeded(fresh_sandbox)
    invoice = fresh_sandbox.invoice(seeded["suspended"][0])
    with fresh_sandbox.http_client() as client:
        before = _page(client, invoice)
        opened = _page(client, invoice, "/completer")
        posted = _complete(client, invoice, "Voici le PV.")
        _acknowledge(client, invoice)
        after = _page(client, invoice)
        form = _page(client, invoice, "/completer")

    assert "Acquitter" in _buttons(before) and "Compléter" not in _buttons(before)
    assert re.search(r'aria-labelledby="[^"]+">\s*<h2[^>]*>Suspension</h2>', before.text)
    assert invoice["motif"] in _text(before)
    refusal = f"La facture {invoice['numero']} doit être acquittée avant d'être complétée."
    for refused in (opened, posted):
        assert refused.url.path == INVOICE.format(id=invoice["id"])
        assert _flashes(refused, "alert") == [refusal]
    assert "Compléter" in _buttons(after) and "Acquitter" not in _buttons(after)
    assert f"Compléter la facture {invoice['numero']}</h2>" in _text(form)
    for label in ("Pièces jointes</legend>", "Ajouter des pièces jointes</label>"):
        assert label in _text(form)
    assert "Commentaire</label>" in _text(form) and "Valider" in _buttons(form)
    held = fresh_sandbox.invoice(invoice["numero"])
    assert held["statut"] == "SUSPENDUE" and held["commentaire"] == ""
    assert [h["action"] for h in held["historique"]] == [
        "DEPOT",
        "SUSPENSION",
        "ACQUITTEMENT_SUSPENSION",
    ]


def test_completing_with_a_file_and_a_comment_makes_the_invoice_complete(
    fresh_sandbox: RunningSandbox,
) -> None:
    seeded = _seeded(fresh_sandbox)
    invoice = fresh_sandbox.invoice(seeded["suspended"][0])
    count = len(fresh_sandbox.invoices())
    with fresh_sandbox.http_client() as client:
        _acknowledge(client, invoice)
        done = _complete(client, invoice, "Le PV signé est joint.", [("PV-signe.pdf", b"%PDF-1")])
        synthese = _text(client.get("/factures-emises/synthese?taille=50"))
        again = _complete(client, invoice, "Encore")

    assert done.url.path == INVOICE.format(id=invoice["id"])
    assert _flashes(done, "status") == [f"La facture {invoice['numero']} a été complétée."]
    page = _text(done)
    assert "Complétée" in page and "PV-signe.pdf" in page and "Le PV signé est joint." in page
    assert "Compléter" not in _buttons(done) and "Suspension</h2>" not in page
    held = fresh_sandbox.invoice(invoice["numero"])
    assert held["statut"] == "COMPLETEE" and held["commentaire"] == "Le PV signé est joint."
    assert held["pieces_jointes"] == [{"nom": "PV-signe.pdf", "taille": 6}]
    assert [h["action"] for h in held["historique"]] == [
        "DEPOT",
        "SUSPENSION",
        "ACQUITTEMENT_SUSPENSION",
    ]
    assert (held["numero"], held["siret_destinataire"], held["montant_ttc"]) == (
        invoice["numero"],
        invoice["siret_destinataire"],
        invoice["montant_ttc"],
    )
    assert len(fresh_sandbox.invoices()) == count  # no new invoice
    assert invoice["numero"] not in synthese
    assert _flashes(again, "alert") == [f"La facture {invoice['numero']} n'est pas suspendue."]


def test_a_comment_alone_or_a_file_alone_is_enough(fresh_sandbox: RunningSandbox) -> None:
    seeded = _seeded(fresh_sandbox)
    first, second = (fresh_sandbox.invoice(n) for n in seeded["suspended"])
    with fresh_sandbox.http_client() as client:
        _acknowledge(client, first)
        _acknowledge(client, second)
        commented = _complete(client, first, "Pièce envoyée par courrier.")
        attached = _complete(client, second, "", [("attestation.odt", b"odt")])
    assert "a été complétée." in _flashes(commented, "status")[0]
    assert "a été complétée." in _flashes(attached, "status")[0]
    one, two = (fresh_sandbox.invoice(i["numero"]) for i in (first, second))
    assert (one["statut"], one["pieces_jointes"], one["commentaire"]) == (
        "COMPLETEE",
        [],
        "Pièce envoyée par courrier.",
    )
    assert (two["statut"], two["commentaire"]) == ("COMPLETEE", "")
    assert [p["nom"] for p in two["pieces_jointes"]] == ["attestation.odt"]


@pytest.mark.parametrize(
    ("commentaire", "files", "messages"),
    [
        pytest.param("  ", [], [NOTHING], id="ni-fichier-ni-commentaire"),
        pytest.param(
            "Voir pièce",
            [("programme.exe", b"MZ")],
            ["Le format du fichier programme.exe n'est pas autorisé."],
            id="extension",
        ),
        pytest.param(
            "",
            [("sans-extension", b"1")],
            ["Le format du fichier sans-extension n'est pas autorisé."],
            id="sans-extension",
        ),
        pytest.param(
            "",
            [("gros.pdf", b"0" * (10 * 1024 * 1024 + 1))],
            ["Le fichier gros.pdf dépasse 10 Mo."],
            id="plus-de-10-mo",
        ),
        pytest.param(
            "Voir pièce",
            [("p" * 47 + ".pdf", b"1")],
            [f"Le nom du fichier {'p' * 47}.pdf dépasse 50 caractères."],
            id="nom-trop-long",
        ),
    ],
)
def test_a_refused_completion_comes_back_with_its_message_and_changes_nothing(
    fresh_sandbox: RunningSandbox,
    commentaire: str,
    files: list[tuple[str, bytes]],
    messages: list[str],
) -> None:
    seeded = _seeded(fresh_sandbox, recycle=0)
    invoice = fresh_sandbox.invoice(seeded["suspended"][0])
    with fresh_sandbox.http_client() as client:
        _acknowledge(client, invoice)
        before = fresh_sandbox.invoice(invoice["numero"])
        refused = _complete(client, invoice, commentaire, files)

    assert refused.url.path == INVOICE.format(id=invoice["id"]) + "/completer"
    assert SUMMARY in _text(refused) and _summary(refused) == messages
    assert re.search(r'name="pieces_jointes" aria-invalid="true"', refused.text)
    assert f">{commentaire}</textarea>" in _text(refused)  # what was typed is kept
    assert fresh_sandbox.invoice(invoice["numero"]) == before


def test_completer_is_refused_for_an_invoice_that_is_not_suspended(
    fresh_sandbox: RunningSandbox,
) -> None:
    delivered = fresh_sandbox.invoices(status="MISE_A_DISPOSITION")[0]
    with fresh_sandbox.http_client() as client:
        page = _page(client, delivered)
        opened = _page(client, delivered, "/completer")
        posted = client.post(
            INVOICE.format(id=delivered["id"]) + "/completer",
            data={"csrf": csrf_token(page.text), "commentaire": "x"},
        )
    assert "Compléter" not in _buttons(page) and "Recycler" not in _buttons(page)
    for refused in (opened, posted):
        assert _flashes(refused, "alert") == [
            f"La facture {delivered['numero']} n'est pas suspendue."
        ]
    assert fresh_sandbox.invoice(delivered["numero"]) == delivered


# -- « Recycler » ----------------------------------------------------------------------------


def test_an_invoice_to_recycle_shows_its_motive_and_offers_recycler(
    fresh_sandbox: RunningSandbox,
) -> None:
    seeded = _seeded(fresh_sandbox)
    invoice = fresh_sandbox.invoice(seeded["recycle"][0])
    with fresh_sandbox.http_client() as client:
        page = _page(client, invoice)
        form = _page(client, invoice, "/recycler")
        structure = _structure(client, invoice["siret_destinataire"])

    text = _text(page)
    assert "Recycler" in _buttons(page) and "Acquitter" not in _buttons(page)
    block = re.search(r"<h2[^>]*>Recyclage</h2>(.*?)</section>", text, re.S)
    assert block is not None
    terms = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block.group(1))
    assert [t for t, _ in terms] == ["Motif", "Commentaire", "Date de la demande"]
    assert terms[0][1] == invoice["motif"]
    assert invoice["motif"] in ("Erreur de destinataire", "Code service erroné")
    assert terms[1][1] == (invoice["commentaire_motif"] or "—")
    shown = _text(form)
    assert f"Recycler la facture {invoice['numero']}</h2>" in shown
    assert f'name="siret_destinataire" value="{invoice["siret_destinataire"]}"' in shown
    assert f'name="numero_engagement" value="{invoice["numero_engagement"]}"' in shown
    assert "data-siret" in shown and "data-service-select" in shown
    for service in structure["services"]:
        assert f'<option value="{service["code"]}"' in shown
    if invoice["code_service"]:
        assert f'<option value="{invoice["code_service"]}" selected>' in shown
    assert "Valider" in _buttons(form) and "Commentaire</label>" in shown


def test_recycling_to_a_new_recipient_keeps_the_invoice_and_routes_it_again(
    fresh_sandbox: RunningSandbox,
) -> None:
    seeded = _seeded(fresh_sandbox)
    invoice = fresh_sandbox.invoice(seeded["recycle"][0])
    count = len(fresh_sandbox.invoices())
    target = _other(_directory(fresh_sandbox), "service", invoice["siret_destinataire"])
    code = target.active_services[0].code
    with fresh_sandbox.http_client() as client:
        done = _recycle(
            client,
            invoice,
            siret_destinataire=target.siret,
            code_service=code,
            numero_engagement="",
            commentaire="Transmise au bon service.",
        )
        synthese = _text(client.get("/factures-emises/synthese?taille=50"))
        again = _recycle(client, invoice, siret_destinataire=invoice["siret_destinataire"])

    assert done.url.path == INVOICE.format(id=invoice["id"])
    assert _flashes(done, "status") == [f"La facture {invoice['numero']} a été recyclée."]
    assert target.siret in _text(done) and target.nom in _text(done)
    held = fresh_sandbox.invoice(invoice["numero"])
    assert held["statut"] in ("DEPOSEE", "MISE_A_DISPOSITION")
    assert (held["siret_destinataire"], held["nom_destinataire"]) == (target.siret, target.nom)
    assert (held["code_service"], held["numero_engagement"]) == (code, "")
    assert held["commentaire"] == "Transmise au bon service."
    assert (held["numero"], held["date_depot"], held["historique"]) == (
        invoice["numero"],
        invoice["date_depot"],
        invoice["historique"],
    )
    assert len(fresh_sandbox.invoices()) == count  # no new invoice
    assert invoice["numero"] not in synthese
    assert _flashes(again, "alert") == [f"La facture {invoice['numero']} n'est pas à recycler."]
    deadline = time.monotonic() + 10  # the test sandbox routes after 0.5 s
    while held["statut"] != "MISE_A_DISPOSITION" and time.monotonic() < deadline:
        held = fresh_sandbox.invoice(invoice["numero"])
    assert held["statut"] == "MISE_A_DISPOSITION"


def test_a_recycled_invoice_is_deposee_until_routed(tmp_path: Path) -> None:
    options = SandboxOptions(data_dir=tmp_path, seed_recycle=1, acheminement_s=3600)
    with start_sandbox(options) as sandbox:
        invoice = sandbox.invoices(status="A_RECYCLER")[0]
        with sandbox.http_client() as client:
            done = _recycle(client, invoice, numero_engagement="ENG-2026-42")
        held = sandbox.invoice(invoice["numero"])
    assert held["statut"] == "DEPOSEE" and held["numero_engagement"] == "ENG-2026-42"
    assert re.search(r"<dt>Statut</dt><dd>Déposée</dd>", _text(done))


@pytest.mark.parametrize(
    ("change", "messages"),
    [
        pytest.param({}, {"siret_destinataire": [UNCHANGED]}, id="rien-de-change"),
        pytest.param(
            {"siret_destinataire": ""},
            {"siret_destinataire": ["Le SIRET du destinataire est obligatoire."]},
            id="siret-vide",
        ),
        pytest.param(
            {"siret_destinataire": "12345678901234"},
            {"siret_destinataire": ["Le SIRET du destinataire est invalide."]},
            id="siret-invalide",
        ),
        pytest.param(
            {"siret_destinataire": "73282932000074"},
            {"siret_destinataire": ["Aucune structure publique ne correspond à ce SIRET."]},
            id="siret-inconnu",
        ),
        pytest.param(
            {"siret_destinataire": "inactive"},
            {"siret_destinataire": ["La structure destinataire n'est pas active."]},
            id="structure-inactive",
        ),
        pytest.param(
            {"siret_destinataire": "service", "code_service": ""},
            {"code_service": ["Le code service est obligatoire pour cette structure."]},
            id="service-obligatoire",
        ),
        pytest.param(
            {"siret_destinataire": "service", "code_service": "INCONNU"},
            {"code_service": ["Ce code service n'existe pas pour cette structure."]},
            id="service-inconnu",
        ),
        pytest.param(
            {"siret_destinataire": "engagement", "code_service": "", "numero_engagement": ""},
            {"numero_engagement": ["Le numéro d'engagement est obligatoire pour cette structure."]},
            id="engagement-obligatoire",
        ),
        pytest.param(
            {
                "siret_destinataire": "service_ou_engagement",
                "code_service": "",
                "numero_engagement": "",
            },
            {"code_service": ["Cette structure exige un code service ou un numéro d'engagement."]},
            id="service-ou-engagement",
        ),
        pytest.param(
            {"numero_engagement": "E" * 51},
            {"numero_engagement": ["Le numéro d'engagement ne doit pas dépasser 50 caractères."]},
            id="engagement-trop-long",
        ),
    ],
)
def test_a_refused_recycling_comes_back_with_its_message_and_changes_nothing(
    fresh_sandbox: RunningSandbox, change: dict[str, str], messages: dict[str, list[str]]
) -> None:
    seeded = _seeded(fresh_sandbox, suspended=0, recycle=1)
    invoice = fresh_sandbox.invoice(seeded["recycle"][0])
    directory = _directory(fresh_sandbox)
    typed = dict(change)
    kind = typed.get("siret_destinataire", "")
    if kind == "inactive":
        typed["siret_destinataire"] = next(s.siret for s in directory if not s.active)
    elif kind in ("service", "engagement", "service_ou_engagement"):
        typed["siret_destinataire"] = _other(directory, kind, invoice["siret_destinataire"]).siret
    with fresh_sandbox.http_client() as client:
        refused = _recycle(client, invoice, commentaire="Mon commentaire", **typed)

    assert refused.url.path == INVOICE.format(id=invoice["id"]) + "/recycler"
    expected = [m for field in messages.values() for m in field]
    assert SUMMARY in _text(refused) and _summary(refused) == expected
    for field in messages:
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', refused.text), field
    assert ">Mon commentaire</textarea>" in _text(refused)  # what was typed is kept
    assert fresh_sandbox.invoice(invoice["numero"]) == invoice


def test_recycler_is_refused_for_an_invoice_not_to_recycle(fresh_sandbox: RunningSandbox) -> None:
    delivered = fresh_sandbox.invoices(status="MISE_A_DISPOSITION")[0]
    with fresh_sandbox.http_client() as client:
        opened = _page(client, delivered, "/recycler")
        page = _page(client, delivered)
        posted = client.post(
            INVOICE.format(id=delivered["id"]) + "/recycler",
            data={"csrf": csrf_token(page.text), "siret_destinataire": "", "code_service": ""},
        )
    for refused in (opened, posted):
        assert _flashes(refused, "alert") == [
            f"La facture {delivered['numero']} n'est pas à recycler."
        ]
    assert fresh_sandbox.invoice(delivered["numero"]) == delivered


# -- the public client's side and the seed options ----------------------------------------------


def test_admin_sends_an_invoice_back_to_recycle_then_the_supplier_recycles_it(
    fresh_sandbox: RunningSandbox,
) -> None:
    delivered = fresh_sandbox.invoices(status="MISE_A_DISPOSITION")[0]
    answer = fresh_sandbox.admin(
        "POST",
        f"invoices/{delivered['numero']}/recycle",
        json={
            "motif": "CODE_ROUTAGE_ERR",
            "commentaire": "Adresser au service financier.",
            "date": "2026-01-15T09:30:00",
        },
    )
    assert answer.status_code == 200
    asked = answer.json()
    assert (asked["statut"], asked["motif"], asked["commentaire_motif"]) == (
        "A_RECYCLER",
        "Code service erroné",
        "Adresser au service financier.",
    )
    assert asked["date_motif"].startswith("2026-01-15T08:30:00")  # Paris time, stored UTC
    assert asked["historique"] == delivered["historique"]  # no history action for it
    again = fresh_sandbox.admin("POST", f"invoices/{delivered['numero']}/recycle", json={})
    assert again.status_code == 409 and "ne peut pas être mise à recycler" in again.json()["erreur"]
    assert fresh_sandbox.admin("POST", "invoices/INCONNUE-1/recycle", json={}).status_code == 404
    bad_date = fresh_sandbox.admin(
        "POST", f"invoices/{delivered['numero']}/recycle", json={"date": "hier"}
    )
    assert bad_date.status_code == 422

    with fresh_sandbox.http_client() as client:
        synthese = _text(client.get("/factures-emises/synthese?taille=50"))
        done = _recycle(client, asked, numero_engagement="BC-2026-0001")
    assert delivered["numero"] in synthese
    assert _flashes(done, "status") == [f"La facture {delivered['numero']} a été recyclée."]
    assert fresh_sandbox.invoice(delivered["numero"])["numero_engagement"] == "BC-2026-0001"


def test_admin_reset_seeds_the_suspensions_and_recyclings_asked_for(
    fresh_sandbox: RunningSandbox,
) -> None:
    summary = fresh_sandbox.reset(seed=1, seed_suspended=3, seed_recycle=4)
    suspended = fresh_sandbox.invoices(status="SUSPENDUE")
    recycle = fresh_sandbox.invoices(status="A_RECYCLER")

    assert len(summary["rejected"]) == 1
    assert len(summary["suspended"]) == 3 and len(summary["recycle"]) == 4
    pending = {i["numero"] for i in suspended if not i["acquittee"]}
    assert pending == set(summary["suspended"])
    assert set(summary["recycle"]) < {i["numero"] for i in recycle}  # the seed has one more
    motives = {i["motif"] for i in suspended if i["numero"] in pending}
    assert {"Pièce justificative manquante", "Document manquant"} <= motives
    assert {i["motif"] for i in recycle} >= {"Erreur de destinataire", "Code service erroné"}
    with fresh_sandbox.http_client() as client:
        home = _text(client.get("/accueil"))
    assert all(f"Sélectionner la facture {n}" in home for n in pending)  # the window lists them
    bad = fresh_sandbox.admin("POST", "reset", json={"seed_recycle": -1})
    assert bad.status_code == 422
    back = fresh_sandbox.reset()
    assert back["suspended"] == [] and back["recycle"] == []  # the start options


# -- session guard and fault knobs ---------------------------------------------------------------


def test_the_forms_need_a_session_and_follow_the_fault_knobs(
    fresh_sandbox: RunningSandbox,
) -> None:
    seeded = _seeded(fresh_sandbox)
    suspended = fresh_sandbox.invoice(seeded["suspended"][0])
    recycle = fresh_sandbox.invoice(seeded["recycle"][0])
    with fresh_sandbox.http_client(login=False) as anonymous:
        for invoice, suffix in ((suspended, "/completer"), (recycle, "/recycler")):
            assert _page(anonymous, invoice, suffix).url.path == "/connexion"
    with fresh_sandbox.http_client() as client:
        _acknowledge(client, suspended)
        fresh_sandbox.set_faults(label_renames={"Compléter": "Compléter la facture"})
        renamed = _page(client, suspended)
        fresh_sandbox.set_faults(label_removals=["Recycler"])
        removed = _page(client, recycle)
        fresh_sandbox.set_faults(layout_drift=True)
        drifted = _page(client, recycle, "/recycler")
        fresh_sandbox.set_faults(maintenance=True)
        down = _page(client, recycle, "/recycler")
        fresh_sandbox.set_faults()
        fresh_sandbox.admin("POST", "sessions/expire")
        expired = _page(client, suspended, "/completer")
    assert "Compléter la facture" in _buttons(renamed)
    assert "Recycler" not in _buttons(removed)
    assert "Recycler la facture" in _text(drifted) and 'class="entry-form"' not in drifted.text
    assert down.status_code == 503 and "Maintenance en cours" in _text(down)
    assert expired.url.path == "/connexion"
    assert "Votre session a expiré. Veuillez vous reconnecter." in _text(expired)
