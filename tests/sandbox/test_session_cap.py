"""The session cap per account (``max_sessions_per_account``) and ``/_admin/stats``: live
sessions now and their peak since the last reset, per account."""

from __future__ import annotations

import html
from pathlib import Path

import httpx

from sandbox.security import Session, SessionStore
from sandbox.server import PortalClient, RunningSandbox, csrf_token, last_code, start_sandbox
from sandbox.settings import SandboxOptions

CAP = "Nombre maximal de sessions simultanées atteint pour ce compte."


def _login(sandbox: RunningSandbox, email: str | None = None) -> tuple[PortalClient, str]:
    """A client that typed the login form: where it landed, and the alert text if any."""
    client = sandbox.http_client(login=False)
    form = client.get("/connexion")
    page = client.post(
        "/connexion",
        data={
            "csrf": csrf_token(form.text),
            "identifiant": email or sandbox.options.user,
            "mot_de_passe": sandbox.options.password,
        },
    )
    return client, html.unescape(page.text) if page.url.path == "/connexion" else page.url.path


def _logout(client: PortalClient) -> None:
    home = client.get("/accueil")
    page = client.post("/deconnexion", data={"csrf": csrf_token(home.text)})
    assert page.url.path == "/"


def _counts(sandbox: RunningSandbox, email: str) -> tuple[int, int]:
    account = sandbox.stats()["comptes"][email]
    return account["sessions"], account["pic_sessions"]


def test_the_login_past_the_cap_is_refused_with_the_alert_until_a_logout(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.reset(accounts=2)
    assert fresh_sandbox.set_faults(max_sessions_per_account=2)["max_sessions_per_account"] == 2
    first, where = _login(fresh_sandbox)
    assert where == "/accueil"
    second, where = _login(fresh_sandbox)
    assert where == "/accueil"
    third, refused = _login(fresh_sandbox)
    assert CAP in refused and 'role="alert"' in refused
    assert 'name="identifiant"' in refused  # the login form, as the page object reads it
    # The cap is per account: the other account logs in.
    other, where = _login(fresh_sandbox, fresh_sandbox.account(2))
    assert where == "/accueil"
    # The sessions already open carry on.
    assert first.get("/factures-emises/synthese").url.path == "/factures-emises/synthese"
    _logout(first)
    again, where = _login(fresh_sandbox)
    assert where == "/accueil"
    fourth, refused = _login(fresh_sandbox)
    assert CAP in refused
    assert _counts(fresh_sandbox, fresh_sandbox.options.user) == (2, 2)
    assert _counts(fresh_sandbox, fresh_sandbox.account(2)) == (1, 1)
    for client in (first, second, third, other, again, fourth):
        client.close()


def test_a_refused_login_neither_counts_as_a_failure_nor_sends_a_code(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.reset(otp=True)
    fresh_sandbox.set_faults(max_sessions_per_account=1)
    with fresh_sandbox.http_client() as holder:  # types the code from the Maildir
        assert holder.get("/accueil").url.path == "/accueil"
        mails = len(list((fresh_sandbox.maildir / "new").glob("*.eml")))
        refusals = []
        for _ in range(6):  # more than the 5 failures that would lock the account
            client, refused = _login(fresh_sandbox)
            client.close()
            refusals.append(refused)
        assert all(CAP in text for text in refusals)
        assert len(list((fresh_sandbox.maildir / "new").glob("*.eml"))) == mails
        _logout(holder)
    with fresh_sandbox.http_client() as client:  # not locked: the slot is free again
        assert client.get("/accueil").url.path == "/accueil"


def test_two_logins_waiting_for_their_code_cannot_both_take_the_last_slot(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.reset(otp=True)
    fresh_sandbox.set_faults(max_sessions_per_account=1)
    first, where = _login(fresh_sandbox)
    first_code = last_code(fresh_sandbox.maildir)
    second, also = _login(fresh_sandbox)
    second_code = last_code(fresh_sandbox.maildir)
    assert where == also == "/connexion/code"  # nobody is logged in yet: both may go on
    page = first.get("/connexion/code")
    done = first.post("/connexion/code", data={"csrf": csrf_token(page.text), "code": first_code})
    assert done.url.path == "/accueil"
    page = second.get("/connexion/code")
    late = second.post("/connexion/code", data={"csrf": csrf_token(page.text), "code": second_code})
    assert late.url.path == "/connexion" and CAP in html.unescape(late.text)
    assert _counts(fresh_sandbox, fresh_sandbox.options.user) == (1, 1)
    first.close()
    second.close()


def test_the_stats_keep_the_peak_of_live_sessions_since_the_reset(
    fresh_sandbox: RunningSandbox,
) -> None:
    user = fresh_sandbox.options.user
    fresh_sandbox.reset(accounts=3)
    stats = fresh_sandbox.stats()
    assert stats["max_sessions_per_account"] == 0
    assert stats["comptes"] == {
        fresh_sandbox.account(k): {"sessions": 0, "pic_sessions": 0} for k in (1, 2, 3)
    }
    clients = [fresh_sandbox.http_client() for _ in range(3)]  # no cap by default
    assert _counts(fresh_sandbox, user) == (3, 3)
    for client in clients[:2]:
        _logout(client)
    assert _counts(fresh_sandbox, user) == (1, 3)
    with fresh_sandbox.http_client(email=fresh_sandbox.account(3)):
        assert _counts(fresh_sandbox, fresh_sandbox.account(3)) == (1, 1)
    assert _counts(fresh_sandbox, fresh_sandbox.account(2)) == (0, 0)
    # Ended by the admin interface: freed, the peak stays.
    assert fresh_sandbox.admin("POST", "sessions/expire").status_code == 200
    assert _counts(fresh_sandbox, user) == (0, 3)
    fresh_sandbox.reset(accounts=3)
    assert _counts(fresh_sandbox, user) == (0, 0)
    for client in clients:
        client.close()


def test_with_a_cap_the_peak_never_exceeds_it(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.set_faults(max_sessions_per_account=2)
    attempts = [_login(fresh_sandbox) for _ in range(5)]
    landed = [where for _, where in attempts]
    assert landed[:2] == ["/accueil", "/accueil"]
    assert all(CAP in where for where in landed[2:])
    assert _counts(fresh_sandbox, fresh_sandbox.options.user) == (2, 2)
    for client, _ in attempts:
        client.close()


def test_a_session_ended_by_its_request_limit_frees_its_slot(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.set_faults(max_sessions_per_account=1, session_max_requests=3)
    first, where = _login(fresh_sandbox)  # the home page: one page served
    assert where == "/accueil"
    _, refused = _login(fresh_sandbox)
    assert CAP in refused
    first.get("/facturation")
    first.get("/factures-emises/synthese")  # the third page: the session can serve no more
    assert _counts(fresh_sandbox, fresh_sandbox.options.user) == (0, 1)
    second, where = _login(fresh_sandbox)
    assert where == "/accueil"
    assert first.get("/accueil").url.path == "/connexion"  # ended indeed
    first.close()
    second.close()


def test_the_knob_is_checked_like_the_others(fresh_sandbox: RunningSandbox) -> None:
    for bad in (-1, 1.5, True, "2"):
        answer = fresh_sandbox.admin("POST", "faults", json={"max_sessions_per_account": bad})
        assert answer.status_code == 422, bad
    answer = fresh_sandbox.admin("POST", "faults", json={"max_sessions_per_account": 1.5})
    assert answer.json()["erreur"] == "max_sessions_per_account doit être un entier."
    assert fresh_sandbox.set_faults(max_sessions_per_account=3)["max_sessions_per_account"] == 3
    assert fresh_sandbox.set_faults()["max_sessions_per_account"] == 0  # « no fault »


def test_the_start_option_sets_the_cap(tmp_path: Path) -> None:
    options = SandboxOptions(data_dir=tmp_path, seed=1, max_sessions_per_account=1)
    with start_sandbox(options) as sandbox:
        assert sandbox.admin("GET", "faults").json()["max_sessions_per_account"] == 1
        with sandbox.http_client():
            _, refused = _login(sandbox)
        assert CAP in refused
        assert sandbox.stats()["comptes"][sandbox.options.user]["pic_sessions"] == 1


def test_idle_sessions_free_their_slot_and_the_count_is_atomic() -> None:
    now = [100.0]
    store = SessionStore(clock=lambda: now[0])

    def admit(email: str, limit: int, idle_s: float = 0) -> Session | None:
        return store.admit(store.new(), email, 1, limit=limit, idle_s=idle_s)

    first = admit("Agent@Exemple.fr", limit=1, idle_s=60)
    assert first is not None and first.logged_in and first.email == "Agent@Exemple.fr"
    assert admit("agent@exemple.fr", limit=1, idle_s=60) is None  # case-insensitive
    assert store.live_counts(idle_s=60) == {"agent@exemple.fr": 1}
    now[0] += 61  # idle longer than the knob: expired, its browser has not come back yet
    assert store.live_counts(idle_s=60) == {}
    second = admit("agent@exemple.fr", limit=1, idle_s=60)
    assert second is not None
    assert store.get(first.sid, idle_s=60) == (None, True)
    assert store.peaks() == {"agent@exemple.fr": 1}
    # A login from a session already logged in replaces it: it does not count against itself.
    again = store.admit(second, "agent@exemple.fr", 1, limit=1)
    assert again is not None and again.sid != second.sid
    assert store.get(second.sid) == (None, True)
    assert store.live_counts() == {"agent@exemple.fr": 1}
    # Without a cap, every login passes; the peak follows.
    assert all(admit("agent@exemple.fr", limit=0) is not None for _ in range(3))
    assert store.peaks() == {"agent@exemple.fr": 4}
    store.clear()
    assert store.peaks() == {} and store.live_counts() == {}


def test_the_stats_need_the_admin_token(fresh_sandbox: RunningSandbox) -> None:
    assert httpx.get(fresh_sandbox.url + "/_admin/stats").status_code == 401
    assert fresh_sandbox.admin("GET", "stats").status_code == 200
