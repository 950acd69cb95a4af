"""Signing identities: the development CA made at first run, PEM keys, and callback signers.

The private key never leaves a `KeySigner`; c2pa only sees a callback, so a KMS or HSM can stand in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from backend.private_files import private_dir, write_private

log = logging.getLogger(__name__)

DEV_CA_NAME = "avlabel DEVELOPMENT root CA - not for production"
DEV_SIGNER_NAME = "avlabel DEVELOPMENT signer - not for production"
# c2pa accepts end-entity certificates for these purposes only.
C2PA_EKUS = {
    ExtendedKeyUsageOID.EMAIL_PROTECTION,
    x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36"),  # id-kp-documentSigning
    ExtendedKeyUsageOID.TIME_STAMPING,
    ExtendedKeyUsageOID.OCSP_SIGNING,
}


class SigningIdentityError(Exception):
    """The configured key or certificate cannot be used to sign C2PA manifests."""


SignCallback = Callable[[bytes], bytes]


@dataclass
class SigningIdentity:
    """What c2pa needs to sign: an algorithm, a PEM chain and a callback holding the key."""

    alg: str  # c2pa name: es256, es384, ps256, ed25519
    chain_pem: bytes
    sign: SignCallback
    key_id: str
    issuer: str
    not_after: dt.datetime
    trust_anchors_pem: bytes = b""
    development: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def leaf(self) -> x509.Certificate:
        return x509.load_pem_x509_certificates(self.chain_pem)[0]


def _alg_for(key: PrivateKeyTypes) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise SigningIdentityError(f"unsupported key type {type(key).__name__}")


def key_callback(key: PrivateKeyTypes) -> SignCallback:
    """A signing callback over a local key; c2pa wants DER-encoded ECDSA signatures."""

    def sign(data: bytes) -> bytes:
        if isinstance(key, ec.EllipticCurvePrivateKey):
            digest = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[key.curve.key_size]
            return key.sign(data, ec.ECDSA(digest))
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(
                data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
            )
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        raise SigningIdentityError("unsupported key type")

    return sign


def key_id(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()[:16]


def validate_chain(key: PrivateKeyTypes, chain: list[x509.Certificate], now: dt.datetime) -> None:
    """Refuse, with a clear message, what c2pa would reject later at signing or verification time."""
    if not chain:
        raise SigningIdentityError("certificate chain is empty")
    leaf = chain[0]
    pub = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    leaf_pub = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if pub != leaf_pub:
        raise SigningIdentityError("private key does not match the signing certificate")
    if now < leaf.not_valid_before_utc:
        raise SigningIdentityError(f"signing certificate is not valid before {leaf.not_valid_before_utc}")
    if now > leaf.not_valid_after_utc:
        raise SigningIdentityError(f"signing certificate expired on {leaf.not_valid_after_utc}")
    try:
        bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
        if bc.ca:
            raise SigningIdentityError("signing certificate is a CA certificate; c2pa needs an end-entity one")
    except x509.ExtensionNotFound:
        pass
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise SigningIdentityError("signing certificate has no extended key usage; c2pa requires one") from exc
    if not C2PA_EKUS & set(eku):
        raise SigningIdentityError(
            "signing certificate's extended key usage is not one c2pa accepts "
            "(emailProtection, documentSigning, timeStamping or OCSPSigning)"
        )
    try:
        ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        if not ku.digital_signature:
            raise SigningIdentityError("signing certificate's key usage lacks digitalSignature")
    except x509.ExtensionNotFound:
        pass
    if leaf.issuer == leaf.subject:
        raise SigningIdentityError("signing certificate is self-signed; c2pa needs one issued by a CA")
    if len(chain) < 2:
        raise SigningIdentityError("certificate chain must include the issuing CA certificate after the leaf")


def load_pem_identity(
    key_path: Path, chain_path: Path, trust_anchors_pem: bytes = b"", password: bytes | None = None
) -> SigningIdentity:
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=password)
        chain = x509.load_pem_x509_certificates(chain_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SigningIdentityError(f"cannot load signing key or certificate: {exc}") from exc
    return identity_from_key(key, chain, trust_anchors_pem)


def identity_from_key(
    key: PrivateKeyTypes, chain: list[x509.Certificate], trust_anchors_pem: bytes = b"", development: bool = False
) -> SigningIdentity:
    validate_chain(key, chain, dt.datetime.now(dt.UTC))
    leaf = chain[0]
    org = leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    cn = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    issuer = str((org or cn)[0].value) if (org or cn) else leaf.subject.rfc4514_string()
    return SigningIdentity(
        alg=_alg_for(key),
        chain_pem=b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain),
        sign=key_callback(key),
        key_id=key_id(leaf),
        issuer=issuer,
        not_after=leaf.not_valid_after_utc,
        trust_anchors_pem=trust_anchors_pem,
        development=development,
    )


def _name(common_name: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_ca(common_name: str, org: str, days: int = 3650) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = _name(common_name, org)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_signer_cert(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    org: str,
    days: int = 825,
    not_before: dt.datetime | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, org))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _write_private(path: Path, key: PrivateKeyTypes) -> None:
    write_private(path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def ensure_dev_identity(keys_dir: Path) -> SigningIdentity:
    """Load the development identity from `keys_dir`, creating the CA and signer on first run.

    Earlier signer certificates stay under `keys_dir/retired/` after rotation; the CA is the trust anchor,
    so media signed with them still verifies.
    """
    private_dir(keys_dir)
    ca_key_path, ca_cert_path = keys_dir / "dev-ca.key.pem", keys_dir / "dev-ca.cert.pem"
    key_path, chain_path = keys_dir / "dev-signer.key.pem", keys_dir / "dev-signer.chain.pem"
    if not ca_cert_path.exists():
        ca_key, ca_cert = make_ca(DEV_CA_NAME, "avlabel development")
        _write_private(ca_key_path, ca_key)
        ca_cert_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        log.warning("created a development CA in %s (development credentials, not for production)", keys_dir)
    if not key_path.exists():
        rotate_dev_signer(keys_dir)
    anchors = ca_cert_path.read_bytes()
    ident = load_pem_identity(key_path, chain_path, trust_anchors_pem=anchors)
    ident.development = True
    return ident


def rotate_dev_signer(keys_dir: Path) -> None:
    """Issue a fresh development signer certificate from the development CA, retiring the old one."""
    ca_key = serialization.load_pem_private_key((keys_dir / "dev-ca.key.pem").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate((keys_dir / "dev-ca.cert.pem").read_bytes())
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key_path, chain_path = keys_dir / "dev-signer.key.pem", keys_dir / "dev-signer.chain.pem"
    if chain_path.exists():
        retired = keys_dir / "retired"
        retired.mkdir(exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        chain_path.rename(retired / f"dev-signer-{stamp}.chain.pem")
        key_path.unlink(missing_ok=True)
    key, cert = issue_signer_cert(ca_key, ca_cert, DEV_SIGNER_NAME, "avlabel development")
    _write_private(key_path, key)
    chain_path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
