"""Measuring a burned-in label on rendered pixels: the plate is where the output differs from the source,
the ink is the bright text on it, and each glyph is a run of inked columns."""

from __future__ import annotations

import numpy as np

INK_LEVEL = 128  # the middle of the anti-aliased edge: white text on a near-black plate
SPLIT_LEVEL = 80  # glyphs are told apart where not even their faint edge reaches (the plate is ≤ 55)


def _luma(picture: np.ndarray) -> np.ndarray:
    return picture.astype(np.int16) if picture.ndim == 2 else picture.astype(np.int16).mean(axis=2)


def plate_box(before: np.ndarray, after: np.ndarray) -> tuple[slice, slice] | None:
    """The label plate's rows and columns, or None when there is none.

    `before`/`after` are H×W luma (or H×W×3 RGB) arrays of the source and the labelled picture.
    """
    b, a = _luma(before), _luma(after)
    changed = np.abs(a - b) > 40
    if changed.sum() < 50:
        return None
    # The plate: the rows and columns where most pixels changed (an invisible watermark or re-encoding
    # changes a few pixels anywhere; the plate changes most of its own, or at least its ink over a dark source).
    row_counts, col_counts = changed.sum(axis=1), changed.sum(axis=0)
    rows = np.where(row_counts >= 0.2 * row_counts.max())[0]
    cols = np.where(col_counts >= 0.2 * col_counts.max())[0]
    y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    # A lossy encoder rings on the row or column next to the plate's edge: an edge line that is mostly
    # bright is the picture, not the plate (the plate's own border lines are its dark padding).
    while y1 - y0 > 2 and np.median(a[y0, x0:x1]) > SPLIT_LEVEL:
        y0 += 1
    while y1 - y0 > 2 and np.median(a[y1 - 1, x0:x1]) > SPLIT_LEVEL:
        y1 -= 1
    while x1 - x0 > 2 and np.median(a[y0:y1, x0]) > SPLIT_LEVEL:
        x0 += 1
    while x1 - x0 > 2 and np.median(a[y0:y1, x1 - 1]) > SPLIT_LEVEL:
        x1 -= 1
    return slice(int(y0), int(y1)), slice(int(x0), int(x1))


def glyph_ink_heights(before: np.ndarray, after: np.ndarray, min_gap: int = 1) -> list[int]:
    """Ink heights (pixels) of the glyphs on the plate, left to right; [] when there is no plate."""
    box = plate_box(before, after)
    if box is None:
        return []
    plate = _luma(after)[box]
    ink = plate >= INK_LEVEL  # on the dark plate, anything bright is the text
    inked_cols = (plate >= SPLIT_LEVEL).any(axis=0)
    heights: list[int] = []
    start: int | None = None
    gap = 0
    for x, on in enumerate([*inked_cols.tolist(), False]):
        if on:
            start = x if start is None else start
            gap = 0
            continue
        if start is None:
            continue
        gap += 1
        if gap >= min_gap:
            part = ink[:, start:x - gap + 1]
            r = np.where(part.any(axis=1))[0]
            if part.sum() > 10:  # not a stray speck of a re-encoded edge
                heights.append(int(r.max() - r.min() + 1))
            start, gap = None, 0
    return heights
