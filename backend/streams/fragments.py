"""C2PA on fragmented MP4 streams: the manifest sits in the init segment, and each fragment is checked
against it with c2pa's fragment reader, through `verification/fragments.read` (the same reading
`POST /v1/verify/fragment` answers with)."""

from __future__ import annotations

from typing import Any

from backend.domain_errors import InvalidInput
from backend.verification import fragments
from backend.verification.provenance import ProvenanceReader, summarise


def verify_fragment(reader: ProvenanceReader, init: bytes, fragment: bytes) -> dict[str, Any]:
    """What a person reads about one fragment: the state (Trusted, Valid, Invalid, or None when the init
    segment carries no manifest), the failure codes, and who signed. The reading itself is the one
    `POST /v1/verify/fragment` uses (backend/verification/fragments.py)."""
    try:
        prov = fragments.read_parts(reader, init, fragment)
    except InvalidInput as exc:
        return {"state": None, "error": exc.code, "message": exc.message}
    if prov.state is None:
        return {"state": None, "error": prov.error, "message": prov.error_message}
    summary = summarise(prov.manifest) or {}
    return {"state": prov.state, "failure_codes": list(prov.failure_codes),
            "issuer": summary.get("issuer"), "common_name": summary.get("common_name"),
            "signed_at": summary.get("signed_at"), "claim_generator": summary.get("claim_generator")}
