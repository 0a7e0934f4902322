"""Authenticator codes (robot/otp/totp.py): computed against pyotp at a fixed time, the wait
near a period's end computed (never slept), no code twice, and the configuration's and the
accounts file's refusals, none of which shows the secret."""

from __future__ import annotations

import os
import pickle
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner

from robot import secrets as robot_secrets
from robot.accounts import load_accounts
from robot.cli import app
from robot.config import Config, ConfigError, load_config
from robot.otp import (
    TotpOtp,
    TotpSpec,
    bind_totp,
    check_otp_spec,
    check_totp_secret,
    make_otp_source,
)
from robot.otp.totp import PERIOD_S, StepLedger
from robot.secrets import Secret

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
OTHER_SECRET = "KRUGKIDROVUWG2ZAMJZG653OEBTG66BA"
BAD_SECRET = "Pas-du-base32-1890!"
#: 10:00:10 on 27 November 2026 (UTC): 10 s into a period.
T0 = datetime(2026, 11, 27, 10, 0, 10, tzinfo=UTC).timestamp()
NOW = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
LOGIN = "comptable@exemple-fournisseur.fr"


class FakeTime:
    """A clock that only moves when the source waits: the waits are recorded, not slept."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def source(clock: FakeTime, ledger: StepLedger | None = None, secret: str = SECRET) -> TotpOtp:
    return TotpOtp(Secret(secret), clock=clock, wait=clock.wait, ledger=ledger or StepLedger(None))


def expected(at: float, secret: str = SECRET) -> str:
    return pyotp.TOTP(secret).at(at)


# -- codes -----------------------------------------------------------------------------------


def test_code_is_the_authenticator_code_of_the_current_period() -> None:
    clock = FakeTime(T0)

    code = source(clock).get_code(since=NOW, recipient=LOGIN)

    assert code == expected(T0)
    assert clock.waits == []


def test_code_near_the_end_of_a_period_waits_for_the_next_one() -> None:
    period_end = (T0 // PERIOD_S + 1) * PERIOD_S
    clock = FakeTime(period_end - 2.5)

    code = source(clock).get_code(since=NOW, recipient=LOGIN)

    assert clock.waits == [pytest.approx(2.5)]
    assert code == expected(period_end)
    assert code != expected(period_end - 2.5)


def test_code_with_just_the_margin_left_is_typed_at_once() -> None:
    period_end = (T0 // PERIOD_S + 1) * PERIOD_S
    clock = FakeTime(period_end - 3.0)

    code = source(clock).get_code(since=NOW, recipient=LOGIN)

    assert clock.waits == []
    assert code == expected(period_end - 3.0)


def test_relogin_within_the_same_period_waits_for_the_next_code() -> None:
    clock = FakeTime(T0)
    otp = source(clock)
    first = otp.get_code(since=NOW, recipient=LOGIN)
    clock.now += 5  # logged out and back in, same period

    second = otp.get_code(since=NOW, recipient=LOGIN)

    next_period = (T0 // PERIOD_S + 1) * PERIOD_S
    assert clock.waits == [pytest.approx(next_period - (T0 + 5))]
    assert second == expected(next_period) and second != first


def test_two_sources_of_one_secret_on_one_machine_never_use_the_same_period(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "registre"
    clock = FakeTime(T0)
    # Two ledgers on one folder: what two robot processes of the machine share.
    first = source(clock, StepLedger(folder)).get_code(since=NOW, recipient=LOGIN)
    second = source(clock, StepLedger(folder)).get_code(since=NOW, recipient=LOGIN)

    assert first != second
    assert len(clock.waits) == 1
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700)
    assert SECRET not in "".join(p.name + p.read_text() for p in folder.iterdir())


def test_another_secret_does_not_wait_for_the_first_ones_period(tmp_path: Path) -> None:
    ledger = StepLedger(tmp_path / "registre")
    clock = FakeTime(T0)
    source(clock, ledger).get_code(since=NOW, recipient=LOGIN)

    code = source(clock, ledger, OTHER_SECRET).get_code(since=NOW, recipient=LOGIN)

    assert clock.waits == [] and code == expected(T0, OTHER_SECRET)


def test_a_ledger_folder_open_to_others_is_not_trusted(tmp_path: Path) -> None:
    folder = tmp_path / "registre"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    clock = FakeTime(T0)

    source(clock, StepLedger(folder)).get_code(since=NOW, recipient=LOGIN)

    assert list(folder.iterdir()) == []  # nothing written there; the process still remembers


def test_a_period_recorded_far_ahead_is_not_waited_for(tmp_path: Path) -> None:
    folder = tmp_path / "registre"
    clock = FakeTime(T0)
    source(clock, StepLedger(folder)).get_code(since=NOW, recipient=LOGIN)
    [file] = folder.iterdir()
    file.write_text(str(int(T0 // PERIOD_S) + 10_000))  # a clock once set years ahead

    later = FakeTime(T0 + 3 * PERIOD_S)
    code = source(later, StepLedger(folder)).get_code(since=NOW, recipient=LOGIN)

    assert later.waits == [] and code == expected(T0 + 3 * PERIOD_S)


def test_secret_written_in_groups_and_lower_case_gives_the_same_codes() -> None:
    grouped = " ".join(SECRET[i : i + 4] for i in range(0, len(SECRET), 4)).lower()

    code = source(FakeTime(T0), secret=grouped).get_code(since=NOW, recipient=LOGIN)

    assert code == expected(T0)


def test_every_code_and_the_secret_are_registered_for_redaction() -> None:
    code = source(FakeTime(T0)).get_code(since=NOW, recipient=LOGIN)

    assert code in robot_secrets.registered()
    assert SECRET in robot_secrets.registered()
    assert robot_secrets.redact(f"code {code} secret {SECRET}") == "code ******** secret ********"


# -- the source's description ----------------------------------------------------------------


def test_totp_is_a_known_source_and_needs_its_secret() -> None:
    assert check_otp_spec("totp") is None and check_otp_spec(" TOTP ") is None
    with pytest.raises(ValueError, match="CHORUS_OTP_TOTP_SECRET"):
        make_otp_source("totp", default_maildir=None)


def test_bound_spec_gives_a_totp_source_and_never_shows_its_secret() -> None:
    spec = bind_totp("totp", Secret(SECRET))

    otp = make_otp_source(spec, default_maildir=None)

    assert isinstance(otp, TotpOtp)
    assert spec == "totp" and repr(spec) == "'totp'" and f"{spec}" == "totp"
    assert SECRET not in repr(otp) and SECRET not in repr(spec)
    assert bind_totp("prompt", Secret(SECRET)) == "prompt"


def test_bound_spec_keeps_its_secret_in_a_worker_process() -> None:
    spec = pickle.loads(pickle.dumps(bind_totp("totp", Secret(SECRET))))

    assert isinstance(spec, TotpSpec) and spec.secret.reveal() == SECRET


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "vide"),
        (BAD_SECRET, "base32"),
        ("JBSWY3DPE", "tronqué"),
        ("JBSWY3DPEHPK3PXPJ", "tronqué"),
        ("JBSWY3DP", "trop court"),
    ],
)
def test_malformed_secret_is_refused_without_being_quoted(raw: str, reason: str) -> None:
    problem = check_totp_secret(raw)

    assert problem is not None and reason in problem
    assert not raw or raw not in problem


# -- configuration ---------------------------------------------------------------------------


def problems(environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(environ, dotenv=None)
    return list(caught.value.problems)


def test_configuration_binds_the_secret_to_the_totp_source() -> None:
    config = load_config(
        {"CHORUS_OTP_SOURCE": "totp", "CHORUS_OTP_TOTP_SECRET": SECRET}, dotenv=None
    )

    assert isinstance(config.otp_source, TotpSpec)
    assert config.otp_source.secret.reveal() == SECRET
    assert config.describe()["CHORUS_OTP_TOTP_SECRET"] == "********"
    assert SECRET not in repr(config)
    assert isinstance(pickle.loads(pickle.dumps(config)).otp_source, TotpSpec)


def test_totp_without_its_secret_is_a_configuration_problem() -> None:
    [problem] = problems({"CHORUS_OTP_SOURCE": "totp"})

    assert problem.startswith("CHORUS_OTP_TOTP_SECRET : obligatoire")


def test_malformed_secret_is_a_configuration_problem_that_never_shows_it() -> None:
    [problem] = problems({"CHORUS_OTP_SOURCE": "totp", "CHORUS_OTP_TOTP_SECRET": BAD_SECRET})

    assert problem.startswith("CHORUS_OTP_TOTP_SECRET : ") and "base32" in problem
    assert BAD_SECRET not in problem
    assert BAD_SECRET in robot_secrets.registered()  # registered as soon as it was read


def test_secret_without_the_totp_source_is_refused() -> None:
    [problem] = problems({"CHORUS_OTP_SOURCE": "prompt", "CHORUS_OTP_TOTP_SECRET": SECRET})

    assert "sans usage" in problem and SECRET not in problem


def test_run_refuses_a_malformed_secret_with_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("CHORUS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    plan = tmp_path / "plan.csv"
    plan.write_text("numero_rejete;nouveau_numero\r\nF-1;F-2\r\n", encoding="utf-8")
    env = {
        "CHORUS_OTP_SOURCE": "totp",
        "CHORUS_OTP_TOTP_SECRET": BAD_SECRET,
        "CHORUS_OUTPUT_DIR": str(tmp_path / "runs"),
    }

    result = CliRunner().invoke(app, ["run", "--plan", str(plan)], env=env, terminal_width=200)

    assert result.exit_code == 2, result.output
    assert "CHORUS_OTP_TOTP_SECRET" in result.output
    assert BAD_SECRET not in result.output


# -- the accounts file -----------------------------------------------------------------------


def write_accounts(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "comptes.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def account_problems(path: Path, **fields: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_accounts(Config(accounts_file=path, **fields))  # type: ignore[arg-type]
    return list(caught.value.problems)


def test_account_with_its_own_secret_gets_a_bound_totp_source(tmp_path: Path) -> None:
    path = write_accounts(
        tmp_path,
        "[[compte]]\nidentifiant = 'a@client-a.fr'\nmot_de_passe = 'Mot-de-passe-A-7391'\n"
        f"otp_source = 'totp'\notp_totp_secret = '{OTHER_SECRET}'\n",
    )

    [account] = load_accounts(Config(accounts_file=path))

    assert isinstance(account.otp_source, TotpSpec)
    assert account.otp_source.secret.reveal() == OTHER_SECRET
    assert OTHER_SECRET not in repr(account)
    assert isinstance(make_otp_source(account.otp_source, default_maildir=None), TotpOtp)
    in_a_worker = pickle.loads(pickle.dumps(account))  # what a fleet worker receives
    assert isinstance(in_a_worker.otp_source, TotpSpec) and in_a_worker == account


def test_account_secret_makes_a_readable_file_a_problem(tmp_path: Path) -> None:
    path = write_accounts(
        tmp_path,
        "[[compte]]\nidentifiant = 'a@client-a.fr'\nmot_de_passe_commande = 'echo X-Y-Z-1234'\n"
        f"otp_source = 'totp'\notp_totp_secret = '{OTHER_SECRET}'\n",
        mode=0o644,
    )

    [problem] = account_problems(path)

    assert "chmod 600" in problem and "644" in problem and "authentification" in problem
    assert OTHER_SECRET not in problem


def test_account_totp_source_without_its_secret_is_refused(tmp_path: Path) -> None:
    path = write_accounts(
        tmp_path,
        "[[compte]]\nidentifiant = 'a@client-a.fr'\nmot_de_passe = 'Mot-de-passe-A-7391'\n"
        "otp_source = 'totp'\n",
    )

    [problem] = account_problems(path)

    assert "otp_totp_secret : obligatoire" in problem and "(a@client-a.fr)" in problem


def test_account_inheriting_totp_needs_its_own_secret_unless_it_is_the_default(
    tmp_path: Path,
) -> None:
    path = write_accounts(
        tmp_path,
        f"[[compte]]\nidentifiant = '{LOGIN}'\nmot_de_passe = 'Mot-de-passe-L-0042'\n\n"
        "[[compte]]\nidentifiant = 'b@client-b.fr'\nmot_de_passe = 'Mot-de-passe-B-2846'\n",
    )
    fields = {
        "login": LOGIN,
        "otp_source": "totp",
        "otp_totp_secret": Secret(SECRET),
    }

    [problem] = account_problems(path, **fields)

    assert "(b@client-b.fr), otp_totp_secret : obligatoire" in problem
    assert SECRET not in problem


def test_account_malformed_or_useless_secret_is_refused_without_being_shown(
    tmp_path: Path,
) -> None:
    path = write_accounts(
        tmp_path,
        "[[compte]]\nidentifiant = 'a@client-a.fr'\nmot_de_passe = 'Mot-de-passe-A-7391'\n"
        f"otp_source = 'totp'\notp_totp_secret = '{BAD_SECRET}'\n\n"
        "[[compte]]\nidentifiant = 'b@client-b.fr'\nmot_de_passe = 'Mot-de-passe-B-2846'\n"
        f"otp_source = 'prompt'\notp_totp_secret = '{OTHER_SECRET}'\n",
    )

    first, second = account_problems(path)

    assert "(a@client-a.fr), otp_totp_secret : " in first and "base32" in first
    assert "(b@client-b.fr), otp_totp_secret : sans usage" in second
    text = first + second
    assert BAD_SECRET not in text and OTHER_SECRET not in text
