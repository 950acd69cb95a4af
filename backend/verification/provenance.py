"""Reads C2PA provenance with c2pa-python and summarises it; c2pa's own state and codes pass through."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import c2pa

from backend.media import NO_C2PA_REASON, c2pa_embeds

# c2pa-python's typed errors → the error kinds expected.json names.
_ERROR_KINDS: tuple[tuple[type[Exception], str], ...] = (
    (c2pa.C2paError.ManifestNotFound, "ManifestNotFound"),
    (c2pa.C2paError.NotSupported, "NotSupported"),
    (c2pa.C2paError.RemoteManifest, "Remote"),
)


@dataclass
class Provenance:
    state: str | None  # Trusted, Valid, Invalid, or None when nothing could be read
    failure_codes: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    error: str | None = None  # ManifestNotFound, NotSupported, Remote, Other
    error_message: str | None = None
    remote_url: str | None = None
    embeddable: bool = True  # False: the format cannot carry a C2PA manifest at all (Matroska, Ogg)

    @property
    def found(self) -> bool:
        return self.state is not None


class ProvenanceReader:
    def __init__(self, trust_anchors_pem: str) -> None:
        self.settings_dict = {
            "verify": {"verify_trust": True, "remote_manifest_fetch": False, "ocsp_fetch": False},
            "trust": {"trust_anchors": trust_anchors_pem},
        }
        self._context: c2pa.Context | None = None  # built once for these settings
        self._context_pid = 0
        self._context_lock = threading.Lock()

    @property
    def context(self) -> c2pa.Context:
        """The c2pa Context every read shares (c2pa guards a shared Context across concurrent readers).

        Built on first use in each process: a native handle made before a fork is not usable after it."""
        with self._context_lock:
            if self._context is None or self._context_pid != os.getpid():
                with c2pa.Settings.from_dict(self.settings_dict) as settings:
                    self._context = c2pa.Context(settings)
                self._context_pid = os.getpid()
            return self._context

    def read_store(self, path: Path, mime: str) -> dict[str, Any] | None:
        """The whole manifest store as c2pa reports it (every manifest by label, `active_manifest`), for the
        provenance chain; None when there is none or it cannot be read."""
        if not c2pa_embeds(mime):
            return None
        try:
            with path.open("rb") as fh, c2pa.Reader(mime, fh, context=self.context) as reader:
                store = json.loads(reader.json())
        except (c2pa.C2paError, ValueError):
            return None
        return store if isinstance(store, dict) and isinstance(store.get("manifests"), dict) else None

    def read(self, path: Path, mime: str) -> Provenance:
        if not c2pa_embeds(mime):
            return Provenance(None, error="NotSupported", error_message=NO_C2PA_REASON, embeddable=False)
        try:
            with path.open("rb") as fh, c2pa.Reader(mime, fh, context=self.context) as reader:
                state = reader.get_validation_state()
                results = reader.get_validation_results() or {}
                remote = reader.get_remote_url()
                try:
                    active = reader.get_active_manifest()
                except KeyError:  # a damaged store may name an active manifest it does not hold
                    active = None
        except c2pa.C2paError as exc:
            return Provenance(None, error=error_kind(exc), error_message=str(exc)[:300])
        failures = (results.get("activeManifest") or {}).get("failure") or []
        codes = sorted({str(f.get("code")) for f in failures if f.get("code")})
        if active is None and state != "Invalid":
            # Nothing to vouch for: never "signed" without the manifest that says by whom and what.
            return Provenance(None, codes, error="Other", error_message="the manifest store has no active manifest")
        return Provenance(state, codes, active, remote_url=remote)


def error_kind(exc: Exception) -> str:
    for error_type, kind in _ERROR_KINDS:
        if isinstance(exc, error_type):
            return kind
    return "Other"


def summarise(manifest: dict[str, Any] | None) -> dict[str, Any] | None:
    """The parts of an active manifest a person reads: who signed, when, what made it, the labels."""
    if not manifest:
        return None
    sig = manifest.get("signature_info") or {}
    summary: dict[str, Any] = {
        "label": manifest.get("label"),
        "title": manifest.get("title"),
        "issuer": sig.get("issuer"),
        "common_name": sig.get("common_name"),
        "signed_at": sig.get("time"),
        "claim_generator": _generator_name(manifest.get("claim_generator_info")),
        "generator": None,
        "digital_source_type": None,
        "aigc": None,
        "publisher": None,
        "content_id": None,
    }
    for assertion in manifest.get("assertions") or []:
        label = str(assertion.get("label", ""))
        data = assertion.get("data") or {}
        if label.startswith("c2pa.actions"):
            for action in data.get("actions") or []:
                if action.get("action") == "c2pa.created" or summary["digital_source_type"] is None:
                    summary["digital_source_type"] = action.get("digitalSourceType") or summary[
                        "digital_source_type"
                    ]
                    agent = action.get("softwareAgent")
                    if agent:
                        summary["generator"] = _generator_name([agent]) if isinstance(agent, dict) else str(agent)
        elif label == "cn.tc260.aigc" and isinstance(data, dict):
            summary["aigc"] = data.get("AIGC")
            if isinstance(summary["aigc"], dict):
                summary["content_id"] = summary["aigc"].get("ProduceID")
        elif label == "cn.avlabel.publisher" and isinstance(data, dict):
            summary["publisher"] = data.get("name")
    plain: dict[str, Any] = json.loads(json.dumps(summary, default=str))
    return plain


def _generator_name(info: Any) -> str | None:
    if isinstance(info, list) and info and isinstance(info[0], dict):
        first = info[0]
        return " ".join(str(first[k]) for k in ("name", "version") if first.get(k))
    return None
