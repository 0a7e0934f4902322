"""Three origins: the option, the command line, the process mode, and the pieces underneath
(authorization codes, back-channel logout, the request counter's ``/cpp/api``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sandbox import cli
from sandbox.faults import request_kind
from sandbox.security import AuthorizationCodes, SessionStore
from sandbox.server import option_env, start_sandbox
from sandbox.settings import OptionError, SandboxOptions

ROOT = Path(__file__).resolve().parents[2]
SECURITY_TEXT = "Des contraintes de sécurité empêchent d'accéder à la page demandée."


def test_the_option_takes_one_or_three_origins_and_refuses_the_rest(tmp_path: Path) -> None:
    assert SandboxOptions(data_dir=tmp_path).origins == 1
    assert SandboxOptions(data_dir=tmp_path, origins=3).origins == 3
    with pytest.raises(OptionError, match="L'option --origines doit valoir 1 ou 3"):
        SandboxOptions(data_dir=tmp_path, origins=2)
    with pytest.raises(OptionError, match="Port invalide"):
        SandboxOptions(data_dir=tmp_path, origins=3, cpp_port=70000)


def test_the_environment_carries_the_origins_and_their_ports(tmp_path: Path) -> None:
    options = SandboxOptions(data_dir=tmp_path, origins=3, port=8001, idp_port=8002, cpp_port=8003)
    env = option_env(options)
    assert env["CHORUS_SANDBOX_ORIGINS"] == "3"
    assert env["CHORUS_SANDBOX_IDP_PORT"] == "8002"
    assert env["CHORUS_SANDBOX_CPP_PORT"] == "8003"
    again = SandboxOptions.from_env(env)
    assert (again.origins, again.port, again.idp_port, again.cpp_port) == (3, 8001, 8002, 8003)


def test_the_command_line_refuses_another_number_of_origins_in_french() -> None:
    result = CliRunner().invoke(cli.app, ["serve", "--origines", "2"], prog_name="chorus-sandbox")
    assert result.exit_code == 2
    assert "L'option --origines doit valoir 1 ou 3 (reçu : 2)." in result.output
    shown = CliRunner().invoke(cli.app, ["serve", "--help"], prog_name="chorus-sandbox")
    assert "--origines" in shown.output


def test_serve_with_three_origins_prints_the_shells_address_first(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--origines", "3", "--data", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "CHORUS_SANDBOX_SEED": "2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        ready = re.search(r"prêt : (http://127\.0\.0\.1:\d+) —", lines[0])
        assert ready is not None, lines
        shell = ready.group(1)
        idp = re.search(r"Fournisseur d'identité : (http://\S+)", lines[1])
        cpp = re.search(r"Application de facturation : (http://\S+)/cpp/", lines[2])
        assert idp is not None and cpp is not None, lines
        assert len({shell, idp.group(1), cpp.group(1)}) == 3
        assert httpx.get(shell + "/health", timeout=10).json()["status"] == "ok"
        public = httpx.get(shell + "/", timeout=10)
        assert public.status_code == 200 and "Se connecter" in public.text
        direct = httpx.get(cpp.group(1) + "/cpp/facturation", timeout=10)
        assert direct.status_code == 403 and SECURITY_TEXT in direct.text.replace("&#39;", "'")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_process_mode_starts_the_three_origins(tmp_path: Path) -> None:
    options = SandboxOptions(data_dir=tmp_path, seed=2, origins=3)
    with start_sandbox(options, mode="process") as running:
        assert running.process is not None
        assert running.url == running.origins["portail"]
        assert len(set(running.origins.values())) == 3
        assert running.options.idp_port and running.options.cpp_port
        with running.http_client() as client:
            page = client.get("/factures-emises/synthese")
            assert str(page.url) == running.origins["cpp"] + "/cpp/factures-emises/synthese"
        assert running.stats()["sessions_par_origine"]["cpp"] == 1


# -- the pieces underneath ------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_authorization_code_serves_once_its_client_and_address_within_a_minute() -> None:
    clock = Clock()
    codes = AuthorizationCodes(clock)
    store = SessionStore()
    session = store.admit(store.new(), "a@exemple.fr", 7)
    assert session is not None
    code = codes.issue("chorus-cpp", "http://c/cpp/oidc/retour", session)
    grant = codes.redeem(code, "chorus-cpp", "http://c/cpp/oidc/retour")
    assert grant is not None and (grant.email, grant.supplier_id) == ("a@exemple.fr", 7)
    assert grant.idp_sid == session.sid
    assert codes.redeem(code, "chorus-cpp", "http://c/cpp/oidc/retour") is None  # spent
    other = codes.issue("chorus-cpp", "http://c/cpp/oidc/retour", session)
    assert codes.redeem(other, "chorus-portail", "http://c/cpp/oidc/retour") is None
    late = codes.issue("chorus-cpp", "http://c/cpp/oidc/retour", session)
    clock.now += 61
    assert codes.redeem(late, "chorus-cpp", "http://c/cpp/oidc/retour") is None
    assert session.sid not in repr(grant)


def test_a_back_channel_logout_ends_only_the_sessions_born_from_that_login() -> None:
    store = SessionStore()
    mine = store.admit(store.new(), "a@exemple.fr", 7)
    theirs = store.admit(store.new(), "a@exemple.fr", 7)
    assert mine is not None and theirs is not None
    mine.idp_sid, theirs.idp_sid = "idp-1", "idp-2"
    assert store.drop_born_of("idp-1") == 1
    assert store.get(mine.sid) == (None, True)
    assert store.get(theirs.sid)[0] is theirs


def test_the_invoicing_applications_api_counts_as_xhr() -> None:
    assert request_kind("/cpp/api/structures/1", []) == "xhr"
    assert request_kind("/api/structures/1", []) == "xhr"
    assert request_kind("/cpp/factures-emises/synthese", []) == "documents"
    assert request_kind("/cpp/factures-emises/synthese", [(b"x-fragment", b"1")]) == "xhr"
