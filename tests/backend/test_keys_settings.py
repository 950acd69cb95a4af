"""Signing identities and settings refuse what would fail later, with a clear message."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from backend.settings import load_settings
from backend.signing.keys import SigningIdentityError, identity_from_key, issue_signer_cert, make_ca
from tests import media_factory
from tests.conftest import Server, base_env


def test_key_must_match_certificate() -> None:
    ca_key, ca = make_ca("Test CA", "t")
    _, leaf = issue_signer_cert(ca_key, ca, "signer", "t")
    with pytest.raises(SigningIdentityError, match="does not match"):
        identity_from_key(ec.generate_private_key(ec.SECP256R1()), [leaf, ca])


def test_expired_and_future_certificates_are_refused() -> None:
    ca_key, ca = make_ca("Test CA", "t")
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    key, leaf = issue_signer_cert(ca_key, ca, "signer", "t", days=1, not_before=old)
    with pytest.raises(SigningIdentityError, match="expired"):
        identity_from_key(key, [leaf, ca])
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    key, leaf = issue_signer_cert(ca_key, ca, "signer", "t", not_before=future)
    with pytest.raises(SigningIdentityError, match="not valid before"):
        identity_from_key(key, [leaf, ca])


def test_c2pa_certificate_profile_is_checked() -> None:
    ca_key, ca = make_ca("Test CA", "t")
    with pytest.raises(SigningIdentityError, match="CA certificate"):
        identity_from_key(ca_key, [ca])
    key, leaf = issue_signer_cert(ca_key, ca, "signer", "t")
    with pytest.raises(SigningIdentityError, match="issuing CA"):
        identity_from_key(key, [leaf])
    assert identity_from_key(key, [leaf, ca]).alg == "es256"


def test_production_refuses_placeholder_secrets(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        load_settings(environment="production", data_dir=tmp_path)
    with pytest.raises(ValidationError, match="SIGNING_KEY"):
        load_settings(environment="production", data_dir=tmp_path, secret_key="x" * 40)
    assert load_settings(data_dir=tmp_path).environment == "development"


def test_config_file_is_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "avlabel.json"
    cfg.write_text(json.dumps({"label_cache_seconds": 7, "verify_rate_per_minute": 9}))
    monkeypatch.setenv("AVLABEL_VERIFY_RATE_PER_MINUTE", "11")
    settings = load_settings(cfg, data_dir=tmp_path)
    assert settings.label_cache_seconds == 7
    assert settings.verify_rate_per_minute == 11


@pytest.mark.server
def test_service_refuses_a_mismatched_production_key(tmp_path: Path) -> None:
    ca_key, ca = make_ca("Test CA", "t")
    _, leaf = issue_signer_cert(ca_key, ca, "signer", "t")
    from cryptography.hazmat.primitives import serialization

    other = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "k.pem").write_bytes(other.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    (tmp_path / "c.pem").write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, ca)))
    srv = Server(tmp_path / "d", base_env(tmp_path / "d", AVLABEL_SIGNING_KEY=str(tmp_path / "k.pem"),
                                           AVLABEL_SIGNING_CHAIN=str(tmp_path / "c.pem")))
    result = srv.cli("keys", "show", check=False)
    assert result.returncode != 0
    assert "Error: cannot use the signing identity: private key does not match" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.server
def test_rotation_keeps_old_media_verifiable(tmp_path: Path) -> None:
    srv = Server(tmp_path / "rot", base_env(tmp_path / "rot"))
    src = media_factory.png(tmp_path / "r.png", seed=40)
    srv.cli("sign", str(src), "-o", str(tmp_path / "old.png"), "--generator", "g 1")
    before = json.loads(srv.cli("keys", "show").stdout)
    srv.cli("keys", "rotate")
    after = json.loads(srv.cli("keys", "show").stdout)
    assert before["key_id"] != after["key_id"]
    srv.cli("sign", str(src), "-o", str(tmp_path / "new.png"), "--generator", "g 1")
    for name in ("old.png", "new.png"):
        assert json.loads(srv.cli("verify", str(tmp_path / name)).stdout)["verdict"] == "signed_synthetic"
