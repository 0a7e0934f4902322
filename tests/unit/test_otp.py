"""One-time-code sources (robot/otp/sources.py): Maildir (real .eml files), command, terminal
prompt."""

from __future__ import annotations

import io
import os
import shlex
import shutil
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from robot import secrets as robot_secrets
from robot.otp import (
    CommandOtp,
    MaildirOtp,
    OtpError,
    PromptOtp,
    make_otp_source,
)

DATA = Path(__file__).parent / "data" / "otp"
PARIS = ZoneInfo("Europe/Paris")
RECIPIENT = "comptable@exemple-fournisseur.fr"
#: The login form was submitted at 10:00:00 (Paris); codes sent from then on are ours.
SINCE = datetime(2026, 11, 27, 10, 0, 0, tzinfo=PARIS)


def deliver(maildir: Path, sample: str, *, folder: str = "new", name: str | None = None) -> Path:
    """Copy a sample .eml into the Maildir as a mail server would (unique file name)."""
    target = maildir / folder / (name or f"1796202005.M{abs(hash(sample)) % 10**6}P7.sandbox")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DATA / sample, target)
    return target


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    root = tmp_path / "maildir"
    for folder in ("new", "cur", "tmp"):
        (root / folder).mkdir(parents=True)
    return root


def test_maildir_gives_the_code_of_the_message_sent_after_login(maildir: Path) -> None:
    deliver(maildir, "code-recent.eml")

    code = MaildirOtp(maildir, timeout_s=2).get_code(since=SINCE, recipient=RECIPIENT)

    assert code == "482913"


def test_maildir_prefers_the_newest_code_and_ignores_old_foreign_and_unrelated_mail(
    maildir: Path,
) -> None:
    for sample in (
        "code-yesterday.eml",
        "code-other-recipient.eml",
        "rejection-notice.eml",
        "code-recent.eml",
        "code-newer.eml",
    ):
        deliver(maildir, sample)

    code = MaildirOtp(maildir, timeout_s=2).get_code(since=SINCE, recipient=RECIPIENT)

    assert code == "654321"


def test_maildir_matches_the_recipient_whatever_its_case_and_display_name(maildir: Path) -> None:
    deliver(maildir, "code-newer.eml")  # To: "Service comptable" <Comptable@Exemple-…>

    source = MaildirOtp(maildir, timeout_s=2)

    assert source.get_code(since=SINCE, recipient="COMPTABLE@exemple-fournisseur.FR") == "654321"


def test_maildir_marks_the_message_seen_so_a_code_is_never_used_twice(maildir: Path) -> None:
    delivered = deliver(maildir, "code-recent.eml", name="1796202005.M1P7.sandbox")
    source = MaildirOtp(maildir, timeout_s=0.4)

    assert source.get_code(since=SINCE, recipient=RECIPIENT) == "482913"
    assert not delivered.exists()
    assert (maildir / "cur" / "1796202005.M1P7.sandbox:2,S").is_file()
    with pytest.raises(OtpError, match="Aucun code de vérification reçu"):
        source.get_code(since=SINCE, recipient=RECIPIENT)


def test_maildir_uses_an_unseen_message_already_moved_to_cur(maildir: Path) -> None:
    deliver(maildir, "code-recent.eml", folder="cur", name="1796202005.M2P7.sandbox:2,")

    code = MaildirOtp(maildir, timeout_s=2).get_code(since=SINCE, recipient=RECIPIENT)

    assert code == "482913"
    assert (maildir / "cur" / "1796202005.M2P7.sandbox:2,S").is_file()


def test_maildir_skips_messages_already_seen(maildir: Path) -> None:
    deliver(maildir, "code-recent.eml", folder="cur", name="1796202005.M3P7.sandbox:2,S")

    with pytest.raises(OtpError):
        MaildirOtp(maildir, timeout_s=0.3).get_code(since=SINCE, recipient=RECIPIENT)


def test_maildir_ignores_a_code_sent_before_the_login(maildir: Path) -> None:
    deliver(maildir, "code-yesterday.eml")

    with pytest.raises(OtpError) as caught:
        MaildirOtp(maildir, timeout_s=0.3).get_code(since=SINCE, recipient=RECIPIENT)

    assert RECIPIENT in str(caught.value)
    assert "111111" not in str(caught.value)


def test_maildir_accepts_a_message_dated_a_few_seconds_before_since(maildir: Path) -> None:
    deliver(maildir, "code-recent.eml")  # dated 10:00:05
    since = SINCE.replace(second=9)  # the mail server's clock is 4 s behind ours

    assert MaildirOtp(maildir, timeout_s=1).get_code(since=since, recipient=RECIPIENT) == "482913"


@pytest.mark.parametrize(
    "date_header",
    [b"X-Old-Date:", b"Date: pas une date\nX-Old-Date:"],
    ids=["no-date", "unreadable-date"],
)
def test_maildir_dates_a_message_without_a_readable_date_by_its_file_time(
    maildir: Path, date_header: bytes
) -> None:
    raw = (DATA / "code-recent.eml").read_bytes().replace(b"Date:", date_header, 1)
    old = maildir / "new" / "1796202005.M4P7.sandbox"
    old.write_bytes(raw)
    yesterday = (SINCE - timedelta(days=1)).timestamp()
    os.utime(old, (yesterday, yesterday))
    source = MaildirOtp(maildir, timeout_s=0.3)

    with pytest.raises(OtpError, match="Aucun code de vérification reçu"):
        source.get_code(since=SINCE, recipient=RECIPIENT)

    arrived = (SINCE + timedelta(seconds=30)).timestamp()
    os.utime(old, (arrived, arrived))
    assert source.get_code(since=SINCE, recipient=RECIPIENT) == "482913"


def test_maildir_waits_for_a_message_that_arrives_later(maildir: Path) -> None:
    arrival = threading.Timer(0.3, deliver, args=(maildir, "code-recent.eml"))
    arrival.start()
    try:
        code = MaildirOtp(maildir, timeout_s=10).get_code(since=SINCE, recipient=RECIPIENT)
    finally:
        arrival.cancel()
        arrival.join()

    assert code == "482913"


def test_maildir_waits_for_the_maildir_itself_to_be_created(tmp_path: Path) -> None:
    missing = tmp_path / "pas-encore-cree"

    with pytest.raises(OtpError, match="pas-encore-cree"):
        MaildirOtp(missing, timeout_s=0.3).get_code(since=SINCE, recipient=RECIPIENT)


def test_maildir_registers_the_code_as_a_secret(maildir: Path) -> None:
    deliver(maildir, "code-recent.eml")

    code = MaildirOtp(maildir, timeout_s=2).get_code(since=SINCE, recipient=RECIPIENT)

    assert code in robot_secrets.registered()
    assert robot_secrets.redact(f"code {code} saisi") == "code ******** saisi"


def python_command(script: str) -> str:
    return shlex.join([sys.executable, "-c", script])


def test_command_gives_the_six_digits_it_prints() -> None:
    source = CommandOtp(python_command("print('Votre code de vérification est : 907614')"))

    assert source.get_code(since=SINCE, recipient=RECIPIENT) == "907614"
    assert "907614" in robot_secrets.registered()


def test_command_receives_the_recipient_and_since_in_its_environment() -> None:
    script = (
        "import os; assert os.environ['OTP_RECIPIENT'] == 'comptable@exemple-fournisseur.fr'; "
        "assert os.environ['OTP_SINCE'].startswith('2026-11-27T10:00:00'); print(246801)"
    )

    assert CommandOtp(python_command(script)).get_code(since=SINCE, recipient=RECIPIENT) == "246801"


def test_command_without_a_code_in_its_output_is_an_error() -> None:
    source = CommandOtp(python_command("print('pas de code : 12345 ni 1234567')"))

    with pytest.raises(OtpError, match="ne contient pas de code à 6 chiffres"):
        source.get_code(since=SINCE, recipient=RECIPIENT)


def test_command_failure_does_not_quote_its_output() -> None:
    source = CommandOtp(python_command("print('jeton-secret-xyz'); raise SystemExit(3)"))

    with pytest.raises(OtpError, match="code de sortie 3") as caught:
        source.get_code(since=SINCE, recipient=RECIPIENT)

    assert "jeton-secret-xyz" not in str(caught.value)


def test_command_that_does_not_exist_is_an_error() -> None:
    with pytest.raises(OtpError, match="introuvable"):
        CommandOtp("commande-otp-inexistante --x").get_code(since=SINCE, recipient=RECIPIENT)


def test_command_that_hangs_is_stopped_at_its_timeout() -> None:
    source = CommandOtp(python_command("import threading; threading.Event().wait(30)"), 0.5)

    with pytest.raises(OtpError, match=r"n'a pas donné de code en 0\.5 s"):
        source.get_code(since=SINCE, recipient=RECIPIENT)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_prompt_refuses_when_stdin_is_not_a_terminal() -> None:
    source = PromptOtp(stdin=io.StringIO("123456\n"), stdout=io.StringIO())

    with pytest.raises(OtpError, match="pas un terminal"):
        source.get_code(since=SINCE, recipient=RECIPIENT)


def test_prompt_asks_again_until_six_digits_are_typed() -> None:
    shown = io.StringIO()
    source = PromptOtp(stdin=FakeTerminal("12ab\n 135 792\n"), stdout=shown)

    assert source.get_code(since=SINCE, recipient=RECIPIENT) == "135792"
    assert shown.getvalue().count("Code de vérification envoyé à " + RECIPIENT) == 2
    assert "exactement 6 chiffres" in shown.getvalue()


def test_prompt_gives_up_when_the_terminal_closes() -> None:
    source = PromptOtp(stdin=FakeTerminal(""), stdout=io.StringIO())

    with pytest.raises(OtpError, match="Aucun code de vérification valide"):
        source.get_code(since=SINCE, recipient=RECIPIENT)


def test_make_otp_source_understands_every_spec(tmp_path: Path) -> None:
    assert make_otp_source("none", default_maildir=tmp_path) is None
    assert isinstance(make_otp_source("prompt", default_maildir=None), PromptOtp)
    auto = make_otp_source("maildir:auto", default_maildir=tmp_path)
    assert isinstance(auto, MaildirOtp) and auto.path == tmp_path
    explicit = make_otp_source(f"maildir:{tmp_path / 'boite'}", default_maildir=None)
    assert isinstance(explicit, MaildirOtp) and explicit.path == tmp_path / "boite"
    command = make_otp_source(
        "command:lire-code --compte 'Service comptable'", default_maildir=None
    )
    assert isinstance(command, CommandOtp)
    assert command.args == ["lire-code", "--compte", "Service comptable"]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("pigeon", "source « pigeon » inconnue"),
        ("maildir:", "chemin du Maildir manquant"),
        ("command:", "commande manquante"),
        ("command:lire 'code", "mal formée"),
        ("maildir:auto", "bac à sable intégré"),
    ],
)
def test_make_otp_source_refuses_a_bad_spec_in_french(spec: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        make_otp_source(spec, default_maildir=None)
