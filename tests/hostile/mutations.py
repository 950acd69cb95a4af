"""Hypothesis strategies that damage real media: bit flips, overwrites, truncations, deletions, splices of
other files, and hostile integers written over header fields (sizes, counts, offsets)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hypothesis import strategies as st

INTERESTING = (0, 1, 7, 8, 0x7F, 0xFF, 0x100, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE,
               0xFFFFFFFF)


@dataclass(frozen=True)
class Op:
    kind: str
    pos: float  # relative position in the file, so one op fits files of any size
    arg: int = 0
    data: bytes = b""
    other: int = 0
    other_pos: float = 0.0

    def apply(self, blob: bytearray, corpus: list[tuple[str, bytes]]) -> bytearray:
        if not blob:
            return blob
        at = min(int(self.pos * len(blob)), len(blob) - 1)
        if self.kind == "flip":
            blob[at] ^= 1 << (self.arg % 8)
        elif self.kind == "overwrite":
            blob[at:at + len(self.data)] = self.data
        elif self.kind == "truncate":
            del blob[at:]
        elif self.kind == "delete":
            del blob[at:at + self.arg]
        elif self.kind == "duplicate":
            blob[at:at] = blob[at:at + self.arg]
        elif self.kind == "splice":
            other = corpus[self.other % len(corpus)][1]
            start = int(self.other_pos * len(other))
            blob[at:at] = other[start:start + self.arg]
        elif self.kind == "header_int":
            # Sizes and counts live near the start of most containers (and of each box or chunk).
            at = min(int(self.pos * min(len(blob), 256)), max(0, len(blob) - 4))
            fmt = ">I" if self.arg % 2 == 0 else "<I"
            blob[at:at + 4] = struct.pack(fmt, INTERESTING[self.arg // 2 % len(INTERESTING)])
        return blob


positions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
ops = st.one_of(
    st.builds(Op, st.just("flip"), positions, st.integers(0, 7)),
    st.builds(Op, st.just("overwrite"), positions, data=st.binary(min_size=1, max_size=64)),
    st.builds(Op, st.just("truncate"), positions),
    st.builds(Op, st.just("delete"), positions, st.integers(1, 4096)),
    st.builds(Op, st.just("duplicate"), positions, st.integers(1, 4096)),
    st.builds(Op, st.just("splice"), positions, st.integers(1, 8192), other=st.integers(0, 1000),
              other_pos=positions),
    st.builds(Op, st.just("header_int"), positions, st.integers(0, 2 * len(INTERESTING) - 1)),
)


steps = st.lists(ops, min_size=1, max_size=4)
seeds = st.integers(min_value=0, max_value=10**6)


def damage(corpus: list[tuple[str, bytes]], seed: int, plan: list[Op]) -> tuple[str, bytes]:
    """Corpus file number `seed` (modulo its size) after the planned mutations: (a description, the bytes).

    Strategies draw only plain values (given arguments), so nothing is drawn inside the test body and every
    case replays exactly from its arguments.
    """
    name, original = corpus[seed % len(corpus)]
    blob = bytearray(original)
    for op in plan:
        blob = op.apply(blob, corpus)
    return f"{name} <- {[op.kind for op in plan]}", bytes(blob)
