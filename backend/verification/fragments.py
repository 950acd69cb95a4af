"""C2PA in fragmented MP4 (a stream's init segment + one media segment), read with c2pa's fragment reader.

A stream carries its manifest in the init segment; each media segment is covered by the init's BMFF hash
(a Merkle tree over the fragments). The init alone therefore reads as `assertion.bmffHash.mismatch`: only
init + a fragment says whether that fragment is the signed one. The caller uploads both as one file, the
init segment followed by the media segment (what a player fetched, back to back); this module splits it at
the first top-level `styp` or `moof` box and hands the two halves to `c2pa.Reader.with_fragment`.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

import c2pa

from backend.domain_errors import InvalidInput
from backend.manifest_data import ManifestData
from backend.verification.provenance import Provenance, ProvenanceReader, error_kind, summarise
from backend.verification.verdict import decide

MAX_BYTES = 64 * 1024 * 1024
_FRAGMENT_STARTS = (b"styp", b"moof")


def split(data: bytes) -> int:
    """Where the media segment starts: the offset of the first top-level `styp`/`moof` after a `moov`."""
    offset, seen_moov = 0, False
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            if offset + 16 > len(data):
                break
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        if size < 8 or offset + size > len(data):
            break
        if kind in _FRAGMENT_STARTS:
            if not seen_moov:
                break
            return offset
        seen_moov = seen_moov or kind == b"moov"
        offset += size
    raise InvalidInput("not_fragmented_mp4", "upload a stream's init segment (ftyp + moov) followed by one media "
                       "segment (styp/moof + mdat) as one `file`")


def read(reader: ProvenanceReader, data: bytes) -> Provenance:
    """c2pa's state and failure codes for init + fragment uploaded back to back."""
    cut = split(data)
    return read_parts(reader, data[:cut], data[cut:])


def read_parts(reader: ProvenanceReader, init: bytes, fragment: bytes) -> Provenance:
    """One fragment under its init segment (the same shape as a whole-file read). Also the stream
    monitor's check (backend/streams/fragments.py)."""
    try:
        with c2pa.Reader("video/mp4", io.BytesIO(init), context=reader.context) as r:
            r.with_fragment("video/mp4", io.BytesIO(init), io.BytesIO(fragment))
            state = r.get_validation_state()
            results = r.get_validation_results() or {}
            try:
                active = r.get_active_manifest()
            except KeyError:
                active = None
    except c2pa.C2paError as exc:
        return Provenance(None, error=error_kind(exc), error_message=str(exc)[:300])
    failures = (results.get("activeManifest") or {}).get("failure") or []
    codes = sorted({str(f.get("code")) for f in failures if f.get("code")})
    if active is None and state != "Invalid":
        return Provenance(None, codes, error="Other", error_message="the manifest store has no active manifest")
    return Provenance(state, codes, active)


def verify(reader: ProvenanceReader, data: ManifestData, path: Path) -> dict[str, Any]:
    """The answer of POST /v1/verify/fragment: the signature verdict of this fragment under its init."""
    if path.stat().st_size > MAX_BYTES:
        raise InvalidInput("fragment_too_large", f"init + fragment must be at most {MAX_BYTES} bytes")
    body = path.read_bytes()
    prov = read(reader, body)
    summary = summarise(prov.manifest)
    return {
        "verdict": decide(prov, summary, data).value,
        "c2pa_state": prov.state,
        "failure_codes": prov.failure_codes,
        "error": prov.error,
        "manifest": summary,
        "init_bytes": split(body),
        "fragment_bytes": len(body) - split(body),
    }
