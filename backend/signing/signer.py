"""The c2pa signer: wraps a SigningIdentity's callback, so the key can live in a KMS or HSM."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import c2pa

from backend.signing.keys import SigningIdentity

_ALGS = {
    "es256": c2pa.C2paSigningAlg.ES256,
    "es384": c2pa.C2paSigningAlg.ES384,
    "es512": c2pa.C2paSigningAlg.ES512,
    "ps256": c2pa.C2paSigningAlg.PS256,
    "ed25519": c2pa.C2paSigningAlg.ED25519,
}


class ManifestSigner:
    def __init__(self, identity: SigningIdentity) -> None:
        self.identity = identity

    @contextmanager
    def _signer(self) -> Iterator[c2pa.Signer]:
        signer = c2pa.Signer.from_callback(
            self.identity.sign, _ALGS[self.identity.alg], self.identity.chain_pem.decode(), None
        )
        try:
            yield signer
        finally:
            signer.close()

    def sign_file(self, manifest: dict[str, Any], mime: str, src: Path, dst: Path) -> bytes:
        """Embed and sign `manifest` into a copy of `src`; returns the manifest bytes c2pa produced."""
        with self._signer() as signer, c2pa.Builder(manifest) as builder, src.open("rb") as fin, dst.open(
            "w+b"
        ) as fout:
            manifest_bytes: bytes = builder.sign(signer, mime, fin, fout)
            return manifest_bytes
