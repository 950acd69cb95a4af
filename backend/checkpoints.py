"""Signed checkpoints of the audit chain: what makes a rewrite by a database writer evident.

The hash chain alone proves nothing to someone who can rewrite every row and recompute every hash.
A checkpoint is the service's signing key (the C2PA signer, backend/signing/keys.py) over
(seq, head hash, entry count, time, reason); a database writer does not hold that key. Checkpoints are
written in the appending transaction every `audit_checkpoint_every` entries, at every export and right
after every retention prune; they are published in the export bundle and at GET /v1/audit/checkpoints,
so auditors can keep copies outside the database. Verification needs only the public certificate.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import Connection, Engine, func, select, text

from backend.signing.keys import SigningIdentity
from backend.store.schema import audit_checkpoints, audit_log

KIND = "avlabel-audit-checkpoint/1"
_PEM = Encoding.PEM
_PG_AUDIT_LOCK = 0x61766C61  # the audit writer's lock (backend/audit.py): the head cannot move meanwhile


@dataclass(frozen=True)
class Signer:
    identity: SigningIdentity
    every: int


# Which signer belongs to which database engine; set up by Services.open, so appends made through that
# engine checkpoint themselves (several apps in one process keep their own).
_SIGNERS: weakref.WeakKeyDictionary[Engine, Signer] = weakref.WeakKeyDictionary()


def register(engine: Engine, identity: SigningIdentity, every: int) -> None:
    _SIGNERS[engine] = Signer(identity, every)


def payload(seq: int, head_hash: str, entry_count: int, at: dt.datetime, reason: str, key_id: str) -> bytes:
    body = {"kind": KIND, "seq": seq, "head_hash": head_hash, "entry_count": entry_count,
            "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"), "reason": reason, "key_id": key_id}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def write(conn: Connection, identity: SigningIdentity, reason: str) -> dict[str, Any] | None:
    """Sign the current head (None for an empty log). Runs inside the caller's transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    head = conn.execute(select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).first()
    if head is None:
        return None
    count = int(conn.execute(select(func.count()).select_from(audit_log).where(audit_log.c.seq <= head.seq))
                .scalar() or 0)
    at = dt.datetime.now(dt.UTC)
    signed = payload(int(head.seq), str(head.hash), count, at, reason, identity.key_id)
    row = {"seq": int(head.seq), "head_hash": str(head.hash), "entry_count": count, "at": at, "reason": reason,
           "payload": signed.decode(), "signature": base64.b64encode(identity.sign(signed)).decode(),
           "alg": identity.alg, "cert_pem": identity.leaf.public_bytes(_PEM).decode()}
    conn.execute(audit_checkpoints.insert().values(**row))
    return view(row)


def after_append(conn: Connection, seq: int) -> None:
    """Called by audit.append: a checkpoint once `every` entries have passed since the last one."""
    signer = _SIGNERS.get(conn.engine)
    if signer is None:
        return  # a tool without the signing key (e.g. `accounts set-password`): the next append catches up
    last = conn.execute(select(func.max(audit_checkpoints.c.seq))).scalar()
    if seq - int(last or 0) >= signer.every:
        write(conn, signer.identity, "interval")


def view(row: Any) -> dict[str, Any]:
    data: dict[str, Any] = dict(row) if isinstance(row, dict) else dict(row._mapping)
    at: dt.datetime = data["at"]
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return {"seq": int(data["seq"]), "head_hash": data["head_hash"], "entry_count": int(data["entry_count"]),
            "at": at.isoformat(), "reason": data["reason"], "payload": data["payload"],
            "signature": data["signature"], "alg": data["alg"], "cert_pem": data["cert_pem"]}


def all_checkpoints(conn: Connection) -> list[dict[str, Any]]:
    return [view(r) for r in conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq,
                                                                             audit_checkpoints.c.id))]


# --- verification: needs only certificates -----------------------------------------------------------


def trust_of(identity: SigningIdentity) -> list[x509.Certificate]:
    """The certificates a checkpoint may be signed under: this signer, and the CAs it trusts (so
    checkpoints made before a key rotation still verify)."""
    anchors = x509.load_pem_x509_certificates(identity.trust_anchors_pem) if identity.trust_anchors_pem else []
    return [identity.leaf, *x509.load_pem_x509_certificates(identity.chain_pem)[1:], *anchors]


def trusted_cert(cert_pem: str, trust: Sequence[x509.Certificate]) -> x509.Certificate | None:
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except ValueError:
        return None
    for anchor in trust:
        if cert == anchor:
            return cert
        try:
            cert.verify_directly_issued_by(anchor)
            return cert
        except (ValueError, TypeError, InvalidSignature):
            continue
    return None


def signature_ok(cert: x509.Certificate, data: bytes, signature_b64: str) -> bool:
    try:
        sig = base64.b64decode(signature_b64, validate=True)
        key = cert.public_key()
        if isinstance(key, ec.EllipticCurvePublicKey):
            digest = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[key.curve.key_size]
            key.verify(sig, data, ec.ECDSA(digest))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(sig, data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(sig, data)
        else:
            return False
    except (InvalidSignature, ValueError, KeyError):
        return False
    return True


def genuine(checkpoint: dict[str, Any], trust: Sequence[x509.Certificate]) -> bool:
    """Signed under a trusted certificate, and the columns say what the signed bytes say."""
    cert = trusted_cert(str(checkpoint.get("cert_pem", "")), trust)
    data = str(checkpoint.get("payload", "")).encode()
    if cert is None or not signature_ok(cert, data, str(checkpoint.get("signature", ""))):
        return False
    try:
        body = json.loads(data)
    except ValueError:
        return False
    return bool(body.get("kind") == KIND and body.get("seq") == checkpoint.get("seq")
                and body.get("head_hash") == checkpoint.get("head_hash")
                and body.get("entry_count") == checkpoint.get("entry_count")
                and body.get("reason") == checkpoint.get("reason"))
