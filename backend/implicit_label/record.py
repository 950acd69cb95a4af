"""The Annex E record itself: its seven keys, the values' character set, one record per file, and the
service's signature in `ReservedCode2`.

Character rule enforced on write (and reported on read): every value is 0-256 characters of ASCII letters,
digits and `. _ - : / + =` (no spaces, no CJK: use the producer's code, not its name).
Signature: ECDSA P-256 / SHA-256 (DER), base64url without padding, in `ReservedCode2`, over the canonical
form of the other six fields: the UTF-8 of compact JSON with the keys in annex order, separators `,` `:`.
Check it with `verify_signature(record, cert_pem)`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

KEYS = ("Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator", "PropagateID",
        "ReservedCode2")
SIGNED_KEYS = KEYS[:-1]
LABELS = ("1", "2", "3")
VALUE = re.compile(r"[A-Za-z0-9._:/+=\-]{0,256}")
MAX_RECORD_BYTES = 4096

Status = Literal["present", "non_compliant", "absent"]


class MisplacedRecord(Exception):
    """A reader found an AIGC record only outside the format's standard place (e.g. an MP4 `uuid` box)."""


class RecordError(ValueError):
    """A record the writer refuses (the annex's rules), or a format it cannot place one in."""


@dataclass
class Reading:
    status: Status
    record: dict[str, str] | None = None
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"status": self.status, "record": self.record, "reasons": self.reasons}


def build_record(label: str, producer: str, produce_id: str, propagator: str = "", propagate_id: str = "",
                 reserved1: str = "") -> dict[str, str]:
    record = {"Label": label, "ContentProducer": producer, "ProduceID": produce_id, "ReservedCode1": reserved1,
              "ContentPropagator": propagator, "PropagateID": propagate_id, "ReservedCode2": ""}
    check_for_write(record)
    return record


def problems(record: object) -> list[str]:
    """What is wrong with `record` under the annex; empty when compliant."""
    if not isinstance(record, dict):
        return ["the AIGC value is not a JSON object"]
    reasons: list[str] = []
    missing = [k for k in KEYS if k not in record]
    extra = [str(k) for k in record if k not in KEYS]
    if missing:
        reasons.append(f"missing keys: {', '.join(missing)}")
    if extra:
        reasons.append(f"keys not in the annex (misspelt?): {', '.join(extra[:10])}")
    label = record.get("Label")
    if "Label" in record and label not in LABELS:
        reasons.append(f"Label must be the string \"1\", \"2\" or \"3\", not {json.dumps(label)[:40]}")
    for key in KEYS:
        value = record.get(key)
        if key in record and key != "Label" and not isinstance(value, str):
            reasons.append(f"{key} must be a string")
        elif isinstance(value, str) and not VALUE.fullmatch(value):
            reasons.append(f"{key} has characters outside the annex set (ASCII letters, digits, . _ - : / + =) "
                           "or is over 256 characters")
    return reasons


def check_for_write(record: dict[str, str]) -> None:
    reasons = problems(record)
    if reasons:
        raise RecordError("; ".join(reasons))


def canonical(record: dict[str, str]) -> bytes:
    return json.dumps({k: record.get(k, "") for k in SIGNED_KEYS}, separators=(",", ":")).encode()


def encode(record: dict[str, str]) -> str:
    """The record as written into files: compact JSON in annex key order."""
    return json.dumps({k: record[k] for k in KEYS}, separators=(",", ":"))


def sign_record(record: dict[str, str], sign: Callable[[bytes], bytes]) -> dict[str, str]:
    """A copy of `record` with `ReservedCode2` set to the signature over the other fields.

    `sign` is `SigningIdentity.sign` (DER ECDSA for es256 keys)."""
    signed = dict(record)
    signed["ReservedCode2"] = base64.urlsafe_b64encode(sign(canonical(record))).rstrip(b"=").decode()
    check_for_write(signed)
    return signed


def verify_signature(record: dict[str, str], cert_pem: bytes) -> bool:
    """True when `ReservedCode2` is the leaf certificate's ECDSA signature over the other six fields."""
    sig_text = record.get("ReservedCode2", "")
    if not isinstance(sig_text, str) or not sig_text:
        return False
    try:
        sig = base64.urlsafe_b64decode(sig_text + "=" * (-len(sig_text) % 4))
        key = x509.load_pem_x509_certificates(cert_pem)[0].public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return False
        key.verify(sig, canonical(record), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_records(found: Sequence[str | bytes]) -> Reading:
    """The values found in a file's AIGC places (one per record) as a typed reading."""
    if not found:
        return Reading("absent")
    reasons: list[str] = []
    if len(found) > 1:
        reasons.append(f"{len(found)} AIGC records in the file; the annex allows exactly one")
    raw = found[0]
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_RECORD_BYTES:
        return Reading("non_compliant", None, [*reasons, f"the record is {size} bytes, over {MAX_RECORD_BYTES}"])
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return Reading("non_compliant", None, [*reasons, "the AIGC value is not JSON"])
    reasons += problems(value)
    record = {str(k): v if isinstance(v, str) else json.dumps(v)[:256] for k, v in value.items()} \
        if isinstance(value, dict) else None
    return Reading("non_compliant" if reasons else "present", record, reasons)
