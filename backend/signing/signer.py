"""The c2pa signer: wraps a SigningIdentity's callback, so the key can live in a KMS or HSM."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
# c2pa streams in 8 KiB reads and writes, each a Python callback; a 1 MiB buffer turns them into memory
# copies instead of system calls (about 18 % of the raw sign of a 200 MB MP4, bench/results/signing_core.md).
IO_BUFFER = 1 << 20


class ManifestSigner:
    def __init__(self, identity: SigningIdentity, context: Callable[[], c2pa.Context] | None = None) -> None:
        self.identity = identity
        # The readers' c2pa Context (trust anchors, no remote fetch): an ingredient's own manifest is then
        # judged against the same trust list as every verify, and a hostile upload's remote URL is not fetched.
        self.context = context

    @contextmanager
    def _signer(self) -> Iterator[c2pa.Signer]:
        signer = c2pa.Signer.from_callback(
            self.identity.sign, _ALGS[self.identity.alg], self.identity.chain_pem.decode(), None
        )
        try:
            yield signer
        finally:
            signer.close()

    def sign_file(self, manifest: dict[str, Any], mime: str, src: Path, dst: Path,
                  parent: tuple[dict[str, Any], Path] | None = None) -> bytes:
        """Embed and sign `manifest` into a copy of `src`; returns the manifest bytes c2pa produced.

        `parent`: (ingredient JSON, file) added as the `parentOf` ingredient, its own manifest store included."""
        context = self.context() if self.context else None
        with self._signer() as signer, c2pa.Builder(manifest, context=context) as builder, \
                src.open("rb", buffering=IO_BUFFER) as fin, dst.open("w+b", buffering=IO_BUFFER) as fout:
            if parent is not None:
                with parent[1].open("rb") as ingredient:
                    builder.add_ingredient({**parent[0], "relationship": "parentOf"}, mime, ingredient)
            manifest_bytes: bytes = builder.sign(signer, mime, fin, fout)
            return manifest_bytes
