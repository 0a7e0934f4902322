"""The robot on a sandbox built the way the real portal is: the shell (« Se connecter »,
« Accueil »), the identity provider (password, second factor) and the invoicing application
under ``/cpp/`` on three origins, each with its own session cookie (real Chromium).

The robot follows the redirects across the origins, enters the application once at login
(so its session cookie is born in the untraced login context), treats the application's
« contraintes de sécurité » page and the identity provider's form as a lost session, and
leaves no session cookie, code or secret in any file of the run.
"""

from __future__ import annotations

import email
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pyotp
import pytest
from audit_support import texts_of
from cli_support import RobotCli, write_plan
from playwright.sync_api import Page, expect
from portal_support import log_in, suite_options

from pages import LoginRequired, Navigator
from pages._guard import goto
from pages.navigation import forget_urls
from robot.audit import verify_bundle
from sandbox.server import RunningSandbox, start_sandbox

#: The session cookies of the three origins (values must never reach a file of the run).
COOKIES = ("glide_session_store", "KEYCLOAK_SESSION", "AUTH_SESSION_ID", "JSESSIONID")
_COOKIE_VALUE = re.compile(rb"\b(" + b"|".join(c.encode() for c in COOKIES) + rb")=([^;\"\\\s,]+)")


@pytest.fixture(scope="module")
def three_origins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    options = suite_options(tmp_path_factory.mktemp("trois-origines"), origins=3)
    with start_sandbox(options, mode="thread") as running:
        yield running


@pytest.fixture
def fresh_sandbox(three_origins: RunningSandbox) -> RunningSandbox:
    """This module's sandbox in place of the suite's (``robot_env`` and ``robot_cli`` use it)."""
    three_origins.set_faults()
    three_origins.reset()
    forget_urls()
    return three_origins


def _leaks(folder: Path, secrets: list[str]) -> list[str]:
    """Files holding one of ``secrets``, or a session cookie with a value that is not masked."""
    found = []
    for name, data in texts_of(folder):
        found += [f"{name}: secret n° {i}" for i, s in enumerate(secrets) if s.encode() in data]
        found += [
            f"{name}: {m.group(1).decode()}"
            for m in _COOKIE_VALUE.finditer(data)
            if m.group(2) not in (b"********", b"")
        ]
    return found


def _cpp_pages(run_dir: Path) -> int:
    """How many times the run's traces name an address of the invoicing application."""
    return sum(data.count(b"/cpp/factures-emises") for _, data in texts_of(run_dir / "traces"))


def _plan(
    sandbox: RunningSandbox, folder: Path, count: int, prefix: str, **more: str
) -> tuple[Path, list[str]]:
    numbers = [i["numero"] for i in sandbox.invoices("REJETEE") if not i["rejet_traite"]][:count]
    assert len(numbers) == count
    rows = [
        {"numero_rejete": n, "nouveau_numero": f"{prefix}-{k}", **more}
        for k, n in enumerate(numbers)
    ]
    return write_plan(folder / "plan.csv", rows), numbers


def _all_codes(maildir: Path) -> list[str]:
    """Every one-time code the sandbox e-mailed (the robot moves those it used to ``cur/``)."""
    codes = []
    for path in sorted([*(maildir / "new").glob("*"), *(maildir / "cur").glob("*")]):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        codes += re.findall(r"code de vérification est : (\d{6})", text)
    return codes


def _issued(sandbox: RunningSandbox) -> list[str]:
    issued: list[str] = sandbox.admin("GET", "sessions").json()["issued"]
    return issued


def test_a_plan_runs_through_the_three_origins_with_the_emailed_code_and_sessions_ended_mid_run(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    fresh_sandbox.reset(seed=4, otp=True)
    # The application's sessions end after a few pages: the robot meets the « contraintes de
    # sécurité » page (or a 401 to its scripts) mid-run and must log in again.
    fresh_sandbox.set_faults(session_max_requests=30)
    plan, numbers = _plan(fresh_sandbox, tmp_path, 4, "TRIO")

    result = robot_cli("run", "--plan", str(plan), CHORUS_BATCH_SIZE="2")

    assert result.exit_code == 0, result.output
    assert set(result.states().values()) == {"done"}
    made = [i["numero"] for i in fresh_sandbox.invoices() if i["numero"].startswith("TRIO-")]
    assert sorted(made) == [f"TRIO-{k}" for k in range(len(numbers))]  # each one, once
    run_dir = result.runs()[-1]
    log = (run_dir / "run.log").read_text(encoding="utf-8")
    assert log.count("Connecté au portail") >= 2, "no session was ended mid-run"
    assert _cpp_pages(run_dir) > 0, "the run never reached the /cpp/ application"
    assert verify_bundle(run_dir) == []
    codes = _all_codes(fresh_sandbox.maildir)
    # The new logins went through single sign-on: the identity provider's session lived on.
    assert len(codes) == 1
    secrets = [fresh_sandbox.options.password, *codes, *_issued(fresh_sandbox)]
    assert _leaks(result.out_dir, secrets) == []
    assert fresh_sandbox.options.password not in result.output


def test_a_plan_runs_through_the_three_origins_with_authenticator_codes_under_layout_drift(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli, tmp_path: Path
) -> None:
    user = fresh_sandbox.options.user
    secret = pyotp.random_base32()
    enrolled = fresh_sandbox.admin("POST", "totp", json={"compte": user, "secret": secret})
    assert enrolled.status_code == 200, enrolled.text
    # A rate to choose in each line's Select2 list; every id and class renamed, columns and
    # blocks moved: the widgets' too.
    plan, _ = _plan(fresh_sandbox, tmp_path, 2, "TRIOTOTP", taux_tva="5,5")
    fresh_sandbox.set_faults(layout_drift=True, reorder=True)

    result = robot_cli(
        "run", "--plan", str(plan), CHORUS_OTP_SOURCE="totp", CHORUS_OTP_TOTP_SECRET=secret
    )

    assert result.exit_code == 0, result.output
    assert set(result.states().values()) == {"done"}
    for k in range(2):
        lines = fresh_sandbox.invoice(f"TRIOTOTP-{k}")["lignes"]
        assert {str(line["taux_tva"]) for line in lines} == {"5.5"}
    steps = fresh_sandbox.admin("GET", "totp").json()["comptes"][user]["pas_utilises"]
    assert steps, "the robot did not log in with an authenticator code"
    codes = [pyotp.TOTP(secret).at(step * 30) for step in steps]
    assert list((fresh_sandbox.maildir / "new").glob("*")) == []
    assert _cpp_pages(result.runs()[-1]) > 0
    assert _leaks(result.out_dir, [secret, *_issued(fresh_sandbox)]) == []
    digits = re.compile("|".join(rf"(?<![0-9]){c}(?![0-9])" for c in codes).encode())
    assert [n for n, data in texts_of(result.out_dir) if digits.search(data)] == []


def test_the_demo_goes_through_the_three_origins_of_the_embedded_sandbox(
    robot_cli: RobotCli,
) -> None:
    # No portal configured (empty is unset): the embedded sandbox, as `make demo` runs it,
    # three origins by default.
    unset = dict.fromkeys(
        ("CHORUS_PORTAL_URL", "CHORUS_LOGIN", "CHORUS_PASSWORD", "CHORUS_OTP_SOURCE"), ""
    )
    result = robot_cli("demo", "--factures", "3", **unset)

    assert result.exit_code == 0, result.output
    states = result.states()
    assert states and set(states.values()) == {"done"}
    assert _cpp_pages(result.runs()[-1]) > 0, "the demo never reached the /cpp/ application"
    [started] = [
        line for line in result.output.splitlines() if "Bac à sable Chorus Pro démarré" in line
    ]
    assert "/cpp" not in started  # the address given is the portal's shell


def test_login_crosses_the_three_origins_and_enters_the_application(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    origins = fresh_sandbox.origins
    log_in(page, fresh_sandbox)

    expect(page.get_by_role("heading", name="Accueil", exact=True)).to_be_visible()
    assert page.url.startswith(origins["portail"])
    names = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert {"glide_session_store", "KEYCLOAK_SESSION", "JSESSIONID"} <= set(names)
    assert names["JSESSIONID"]["path"] == "/cpp"
    synthese = Navigator(page, fresh_sandbox.url).synthese()
    assert page.url.startswith(origins["cpp"] + "/cpp/")
    assert synthese.rows()


def test_an_application_address_opened_without_its_session_means_log_in_again(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    Navigator(page, fresh_sandbox.url).synthese()
    address = page.url
    assert fresh_sandbox.admin("POST", "sessions/expire").status_code == 200

    with pytest.raises(LoginRequired, match="session absente"):
        goto(page, address, page.get_by_role("table"), "Synthèse")
    expect(page.get_by_text("Des contraintes de sécurité empêchent")).to_be_visible()

    log_in(page, fresh_sandbox)  # the robot's answer to LoginRequired
    Navigator(page, fresh_sandbox.url).synthese()
    assert page.url.startswith(fresh_sandbox.origins["cpp"])


def test_an_expired_identity_session_is_a_lost_session_and_a_new_login_mends_it(
    page: Page, fresh_sandbox: RunningSandbox
) -> None:
    log_in(page, fresh_sandbox)
    assert fresh_sandbox.admin("POST", "idp/expire").status_code == 200
    assert fresh_sandbox.admin("POST", "sessions/expire").status_code == 200

    # Back to the application: its session is gone, and the identity provider no longer
    # signs the browser in: its form shows, which is « log in again », not a broken screen.
    with pytest.raises(LoginRequired):
        Navigator(page, fresh_sandbox.url).synthese()

    fresh = page.context.browser.new_context()  # the robot logs in again in a new context
    try:
        again = fresh.new_page()
        log_in(again, fresh_sandbox)
        Navigator(again, fresh_sandbox.url).synthese()
        assert again.url.startswith(fresh_sandbox.origins["cpp"] + "/cpp/")
    finally:
        fresh.close()


def test_check_portal_names_the_origins_it_visited(
    fresh_sandbox: RunningSandbox, robot_cli: RobotCli
) -> None:
    result = robot_cli("check-portal")

    assert result.exit_code == 0, result.output
    origins = fresh_sandbox.origins
    assert "Origines visitées (3)" in result.output
    for name in ("portail", "idp", "cpp"):
        assert origins[name] in result.output


def _log_in_twice(sandbox: RunningSandbox, between: list[str]) -> dict[str, Any]:
    """A WorkSession logs in, the admin interface ends ``between``, it logs in again (its
    own process: see ``_sso_login.py``)."""
    with subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).parent / "_sso_login.py"),
            sandbox.url,
            sandbox.options.user,
            sandbox.options.password,
            str(sandbox.maildir),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as driver:
        assert driver.stdout is not None and driver.stdin is not None
        assert driver.stdout.readline().strip() == "connecté"
        for ended in between:
            assert sandbox.admin("POST", ended).status_code == 200
        out, err = driver.communicate("\n", timeout=180)
    assert driver.returncode == 0, err[-2000:]
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    ("ended", "codes_again"),
    [
        (["sessions/expire"], 0),  # the identity provider still knows the browser
        (["idp/expire", "sessions/expire"], 1),  # it does not: the whole login again
    ],
)
def test_a_new_login_goes_through_single_sign_on_while_the_identity_session_lives(
    fresh_sandbox: RunningSandbox, ended: list[str], codes_again: int
) -> None:
    fresh_sandbox.reset(otp=True)

    seen = _log_in_twice(fresh_sandbox, ended)

    assert seen["first"] == 1
    assert seen["again"] == codes_again
    assert seen["synthese"].startswith(fresh_sandbox.origins["cpp"] + "/cpp/")
