"""A proof an auditor can trust: who sealed the bundle (Ed25519), that it is the whole run,
and when it existed (RFC 3161). Each forgery the auditor found must fail ``audit verify``,
naming its cause; bundles are built with the project's own functions, no browser."""

from __future__ import annotations

import json
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_support import (
    LocalTsa,
    amount,
    drop_tail,
    follow_up,
    forge_amount,
    local_tsa,
    make_bundle,
    make_tsa_keys,
    openssl_available,
)
from click.testing import Result
from typer.testing import CliRunner

from robot.audit import SigningKeyError, TimestampError, generate_key_pair
from robot.audit.manifest import _content_sha256, _serialise, read_manifest, write_manifest
from robot.audit.signing import PRIVATE_KEY_NAME, PUBLIC_KEY_NAME
from robot.audit.timestamp import TOKEN_NAME, request_timestamp
from robot.cli.audit import audit_app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_hmac_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHORUS_AUDIT_KEY", raising=False)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cles") / "robot"
    generate_key_pair(folder)
    return folder


@pytest.fixture(scope="module")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cles") / "faussaire"
    generate_key_pair(folder)
    return folder


@pytest.fixture
def signed(tmp_path: Path, keys: Path) -> Path:
    return make_bundle(tmp_path, signing_key=keys / PRIVATE_KEY_NAME)


def verify(run_dir: Path, *args: str | Path) -> Result:
    return runner.invoke(audit_app, ["verify", str(run_dir), *map(str, args)])


def _rewrite_manifest_field(run_dir: Path, name: str, value: object) -> None:
    """A forger's edit of one field, content hash and layout redone with the project's own
    functions: only the signature can tell."""
    manifest = read_manifest(run_dir)
    manifest[name] = value
    manifest["content_sha256"] = _content_sha256(manifest)
    (run_dir / "manifest.json").write_bytes(_serialise(manifest))


# -- signature ------------------------------------------------------------------------------


def test_a_signed_bundle_passes_with_the_signers_public_key(signed: Path, keys: Path) -> None:
    result = verify(signed, "--public-key", keys / PUBLIC_KEY_NAME, "--strict")
    assert result.exit_code == 0, result.output
    assert f"Dossier d'audit intact : {signed}" in result.output
    fingerprint = read_manifest(signed)["signer"]["public_key_sha256"]
    assert f"Signature Ed25519 vérifiée avec la clé publique {keys / PUBLIC_KEY_NAME}" in (
        result.output
    )
    assert fingerprint in result.output


def test_a_signed_bundle_without_public_key_says_the_signer_is_not_authenticated(
    signed: Path,
) -> None:
    result = verify(signed)
    assert result.exit_code == 0, result.output
    assert "cohérente avec l'empreinte du manifeste" in result.output
    assert "signataire NON AUTHENTIFIÉ" in result.output
    strict = verify(signed, "--strict")
    assert strict.exit_code == 1
    assert "signataire non authentifié : --strict exige --public-key FICHIER" in strict.output


def test_an_unsigned_bundle_says_so_and_fails_only_with_strict(tmp_path: Path) -> None:
    run_dir = make_bundle(tmp_path)
    result = verify(run_dir)
    assert result.exit_code == 0, result.output
    assert "NON SIGNÉ : rien ne prouve qui a écrit ce dossier" in result.output
    strict = verify(run_dir, "--strict")
    assert strict.exit_code == 1
    assert "Dossier d'audit altéré : 1 problème(s)" in strict.output
    assert "NON SIGNÉ : --strict exige une signature" in strict.output


def test_an_edited_amount_with_the_chain_and_an_unsigned_manifest_rebuilt_fails(
    signed: Path, keys: Path
) -> None:
    forge_amount(signed, "F2026-002", amount(1), "99.00")
    write_manifest(signed)  # the forger has no private key: the manifest is unsigned

    plain = verify(signed)
    assert plain.exit_code == 0  # the files agree with each other…
    assert "NON SIGNÉ" in plain.output  # …and the output says what that is worth
    strict = verify(signed, "--strict")
    assert strict.exit_code == 1
    assert "NON SIGNÉ : --strict exige une signature" in strict.output
    authenticated = verify(signed, "--public-key", keys / PUBLIC_KEY_NAME)
    assert authenticated.exit_code == 1
    assert "n'est pas signé par une clé Ed25519" in authenticated.output


def test_an_edited_amount_signed_again_with_another_key_fails_with_the_public_key(
    signed: Path, keys: Path, other_keys: Path
) -> None:
    forge_amount(signed, "F2026-001", amount(0), "1.00")
    write_manifest(signed, signing_key=other_keys / PRIVATE_KEY_NAME)
    result = verify(signed, "--public-key", keys / PUBLIC_KEY_NAME)
    assert result.exit_code == 1
    assert "signé par une autre clé" in result.output


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created_at", "2026-01-01T00:00:00Z"),
        ("format", "chorus-robot-manifest/0"),
        ("algorithm", "sha1"),
    ],
)
def test_any_edited_field_of_a_signed_manifest_fails_even_without_public_key(
    signed: Path, keys: Path, field: str, value: str
) -> None:
    _rewrite_manifest_field(signed, field, value)
    for extra in ((), ("--public-key", keys / PUBLIC_KEY_NAME)):
        result = verify(signed, *extra)
        assert result.exit_code == 1, result.output
        assert "signature Ed25519 invalide : un champ de manifest.json a été modifié" in (
            result.output
        )


def test_a_signer_swapped_for_another_key_is_named(
    signed: Path, keys: Path, other_keys: Path
) -> None:
    forged = make_bundle(signed.parent / "autre", signing_key=other_keys / PRIVATE_KEY_NAME)
    _rewrite_manifest_field(signed, "signer", read_manifest(forged)["signer"])
    result = verify(signed, "--public-key", keys / PUBLIC_KEY_NAME)
    assert result.exit_code == 1
    assert "signé par une autre clé" in result.output
    assert "signature Ed25519 invalide" in verify(signed).output


def test_a_wrong_public_key_fails(signed: Path, other_keys: Path) -> None:
    result = verify(signed, "--public-key", other_keys / PUBLIC_KEY_NAME)
    assert result.exit_code == 1
    assert "signé par une autre clé : empreinte du manifeste" in result.output


def test_an_unreadable_public_key_exits_two(signed: Path, tmp_path: Path) -> None:
    (tmp_path / "pas-une-cle.pem").write_text("bonjour", encoding="utf-8")
    result = verify(signed, "--public-key", tmp_path / "pas-une-cle.pem")
    assert result.exit_code == 2
    assert "clé publique illisible" in result.output


def test_an_old_hmac_bundle_still_verifies_with_chorus_audit_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = make_bundle(tmp_path, key=b"cle-symetrique")
    assert "signer" not in read_manifest(run_dir)
    assert "Signature HMAC présente mais non vérifiée" in verify(run_dir).output
    monkeypatch.setenv("CHORUS_AUDIT_KEY", "cle-symetrique")
    result = verify(run_dir, "--strict")
    assert result.exit_code == 0, result.output
    assert "Signature vérifiée avec la clé CHORUS_AUDIT_KEY" in result.output
    monkeypatch.setenv("CHORUS_AUDIT_KEY", "autre-cle")
    assert "signature invalide (clé différente" in verify(run_dir).output


def test_an_ed25519_bundle_checked_with_chorus_audit_key_says_the_hmac_is_absent(
    signed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHORUS_AUDIT_KEY", "cle-symetrique")
    result = verify(signed)
    assert result.exit_code == 1
    assert "signature HMAC absente : CHORUS_AUDIT_KEY est défini" in result.output


def test_the_private_key_is_written_nowhere_in_the_bundle(signed: Path, keys: Path) -> None:
    pem = (keys / PRIVATE_KEY_NAME).read_bytes()
    body = b"".join(pem.splitlines()[1:-1])  # the base64 of the key, without the armour
    for path in signed.rglob("*"):
        if path.is_file():
            assert body not in path.read_bytes(), path


def test_an_unreadable_signing_key_writes_no_manifest(tmp_path: Path) -> None:
    run_dir = make_bundle(tmp_path)
    (run_dir / "manifest.json").unlink()
    (tmp_path / "cle.pem").write_text("-----BEGIN PRIVATE KEY-----\nxx\n", encoding="utf-8")
    with pytest.raises(SigningKeyError, match="clé privée de signature illisible"):
        write_manifest(run_dir, signing_key=tmp_path / "cle.pem")
    with pytest.raises(SigningKeyError, match="introuvable"):
        write_manifest(run_dir, signing_key=tmp_path / "absente.pem")
    assert not (run_dir / "manifest.json").exists()


# -- keygen ---------------------------------------------------------------------------------


def test_keygen_writes_a_private_key_only_its_owner_reads_and_prints_the_fingerprint(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "cles"
    result = runner.invoke(audit_app, ["keygen", str(folder)])
    assert result.exit_code == 0, result.output
    mode = stat.S_IMODE((folder / PRIVATE_KEY_NAME).stat().st_mode)
    assert mode == 0o600
    assert (folder / PUBLIC_KEY_NAME).read_text().startswith("-----BEGIN PUBLIC KEY-----")
    run_dir = make_bundle(tmp_path, signing_key=folder / PRIVATE_KEY_NAME)
    fingerprint = read_manifest(run_dir)["signer"]["public_key_sha256"]
    assert f"Empreinte : {fingerprint}" in result.output
    assert "PRIVATE KEY" not in result.output


def test_keygen_refuses_to_overwrite_a_key(tmp_path: Path) -> None:
    folder = tmp_path / "cles"
    assert runner.invoke(audit_app, ["keygen", str(folder)]).exit_code == 0
    before = (folder / PRIVATE_KEY_NAME).read_bytes()
    result = runner.invoke(audit_app, ["keygen", str(folder)])
    assert result.exit_code == 2
    assert "déjà présent, rien n'a été écrasé" in result.output
    assert (folder / PRIVATE_KEY_NAME).read_bytes() == before


# -- completeness ---------------------------------------------------------------------------


def test_a_dropped_tail_with_the_chain_and_manifest_rebuilt_fails(signed: Path, keys: Path) -> None:
    drop_tail(signed, "F2026-002")
    write_manifest(signed)
    result = verify(signed)
    assert result.exit_code == 1
    assert (
        "events.jsonl incomplet : le dernier événement est « transaction_end » "
        "(facture F2026-001), pas « run_end » (fin du run supprimée ?)"
    ) in result.output
    assert (
        "facture F2026-002 : dans summary.json (« done ») mais sans événement "
        "transaction_end dans events.jsonl"
    ) in result.output


def test_a_dropped_tail_fails_even_signed_again_by_the_robots_own_key(
    signed: Path, keys: Path
) -> None:
    drop_tail(signed, "F2026-002")
    write_manifest(signed, signing_key=keys / PRIVATE_KEY_NAME)
    result = verify(signed, "--public-key", keys / PUBLIC_KEY_NAME)
    assert result.exit_code == 1
    assert "pas « run_end »" in result.output


def test_an_invoice_removed_from_the_summary_and_the_report_is_named(signed: Path) -> None:
    summary = json.loads((signed / "summary.json").read_text("utf-8"))
    summary["transactions"] = summary["transactions"][:1]
    summary["totals"] = {"done": 1}
    (signed / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    write_manifest(signed)
    result = verify(signed)
    assert result.exit_code == 1
    assert "facture F2026-002 : dans events.jsonl mais absente de summary.json" in result.output
    assert "report.html : bilan « Traitées » = 2, summary.json en compte 1" in result.output


def test_a_missing_screenshot_listed_in_the_report_is_named(signed: Path) -> None:
    shot = next((signed / "screenshots").glob("F2026-001-*.jpg"))
    shot.unlink()
    write_manifest(signed)
    result = verify(signed)
    assert result.exit_code == 1
    assert f"fichier cité par report.html introuvable : screenshots/{shot.name}" in result.output


def test_a_bundle_sealed_again_by_suivi_keeps_verifying(signed: Path, keys: Path) -> None:
    follow_up(signed, signing_key=keys / PRIVATE_KEY_NAME)
    result = verify(signed, "--public-key", keys / PUBLIC_KEY_NAME, "--strict")
    assert result.exit_code == 0, result.output
    assert "Complet" in result.output


# -- timestamp ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    # The TSA is made with « openssl ts » (Debian's openssl, on every machine with
    # ca-certificates): missing, the timestamp tests fail here rather than prove nothing.
    assert openssl_available(), "openssl introuvable : installez le paquet Debian openssl"
    with local_tsa(tmp_path_factory.mktemp("tsa")) as running:
        yield running


@pytest.fixture
def stamped(tmp_path: Path, keys: Path, tsa: LocalTsa) -> Path:
    return make_bundle(tmp_path, signing_key=keys / PRIVATE_KEY_NAME, tsa_url=tsa.url)


def test_a_timestamp_round_trip_verifies_with_the_authoritys_certificate(
    stamped: Path, keys: Path, tsa: LocalTsa
) -> None:
    assert (stamped / TOKEN_NAME).is_file()
    assert read_manifest(stamped)["timestamp"]["file"] == TOKEN_NAME
    result = verify(stamped, "--public-key", keys / PUBLIC_KEY_NAME, "--tsa-cert", tsa.ca)
    assert result.exit_code == 0, result.output
    assert f"Horodatage RFC 3161 vérifié avec le certificat {tsa.ca}" in result.output
    imprint_only = verify(stamped)
    assert imprint_only.exit_code == 0, imprint_only.output
    assert (
        "son empreinte est celle du manifeste, mais la signature de l'autorité n'est PAS vérifiée"
    ) in imprint_only.output


def test_a_token_of_another_manifest_fails(stamped: Path, tsa: LocalTsa) -> None:
    manifest = (stamped / "manifest.json").read_bytes()
    (stamped / TOKEN_NAME).write_bytes(request_timestamp(manifest + b" ", tsa.url))
    for extra in ((), ("--tsa-cert", tsa.ca)):
        result = verify(stamped, *extra)
        assert result.exit_code == 1, result.output
        assert "manifest.tsr : le jeton horodate une autre version de manifest.json" in (
            result.output
        )


def test_a_tampered_token_fails_with_the_authoritys_certificate(
    stamped: Path, tsa: LocalTsa
) -> None:
    token = bytearray((stamped / TOKEN_NAME).read_bytes())
    # One letter of the authority's name changed: the imprint still matches the manifest, so
    # only the check with the authority's certificate can see it.
    at = bytes(token).rindex(b"Horodatage de test") + 3
    token[at] ^= 0x01
    (stamped / TOKEN_NAME).write_bytes(bytes(token))
    assert verify(stamped).exit_code == 0  # imprint only: the output says it proves little
    result = verify(stamped, "--tsa-cert", tsa.ca)
    assert result.exit_code == 1
    assert "manifest.tsr : signature de l'autorité d'horodatage non reconnue" in result.output


def test_a_token_from_another_authority_fails_with_the_expected_certificate(
    stamped: Path, tmp_path: Path
) -> None:
    other_ca = make_tsa_keys(tmp_path / "autre-tsa", "Autre autorite")
    result = verify(stamped, "--tsa-cert", other_ca)
    assert result.exit_code == 1
    assert "signature de l'autorité d'horodatage non reconnue" in result.output


def test_a_removed_token_is_named(stamped: Path) -> None:
    (stamped / TOKEN_NAME).unlink()
    result = verify(stamped)
    assert result.exit_code == 1
    assert "manifest.tsr absent alors que manifest.json annonce un horodatage" in result.output


def test_sealing_again_without_authority_removes_the_stale_token(stamped: Path, keys: Path) -> None:
    follow_up(stamped, signing_key=keys / PRIVATE_KEY_NAME)
    assert not (stamped / TOKEN_NAME).exists()
    result = verify(stamped, "--strict", "--public-key", keys / PUBLIC_KEY_NAME)
    assert result.exit_code == 0, result.output
    assert "Non horodaté" in result.output


def test_an_unreachable_authority_leaves_a_signed_bundle_without_timestamp(
    tmp_path: Path, keys: Path
) -> None:
    with socket.socket() as probe:  # a free port, closed again: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TimestampError, match="autorité d'horodatage injoignable") as failure:
        make_bundle(
            tmp_path,
            signing_key=keys / PRIVATE_KEY_NAME,
            tsa_url=f"http://utilisateur:motdepasse@127.0.0.1:{port}/tsa",
        )
    assert "motdepasse" not in str(failure.value)
    run_dir = next(tmp_path.iterdir())
    assert "timestamp" not in read_manifest(run_dir)
    result = verify(run_dir, "--public-key", keys / PUBLIC_KEY_NAME, "--strict")
    assert result.exit_code == 0, result.output
    assert "Non horodaté" in result.output
