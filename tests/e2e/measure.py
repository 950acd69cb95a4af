"""Measurements on the rendered page shared by the browser tests."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page


def video_tag(content_id: str, width: int = 640, height: int = 360, extra: str = "") -> str:
    return (f'<video id="v" src="/media/{content_id}.mp4" width="{width}" height="{height}" muted controls '
            f'playsinline preload="auto" data-avlabel="{content_id}" {extra}></video>')


def visible(page: Page, sel: str, part: str) -> bool:
    return bool(page.evaluate("([s, p]) => window.__vis(window.__avl(s).q(p))", [sel, part]))


def text_metrics(page: Page, sel: str, part: str) -> dict[str, Any]:
    """Rendered text height (the glyph line box of the text node), font size, colours, and the media box."""
    result: dict[str, Any] = page.evaluate(
        """([s, p]) => {
          const {media, q} = window.__avl(s);
          const el = q(p);
          const range = document.createRange();
          range.selectNodeContents(el);
          const line = Array.from(range.getClientRects()).reduce((m, r) => Math.max(m, r.height), 0);
          const cs = getComputedStyle(el);
          const m = media.getBoundingClientRect();
          return {fontSize: parseFloat(cs.fontSize), lineHeight: line, color: cs.color,
                  background: cs.backgroundColor, mediaW: m.width, mediaH: m.height};
        }""",
        [sel, part],
    )
    return result


def luminance(css: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+(?:\.\d+)?", css)[:3])

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast(fg: str, bg: str) -> float:
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def assert_legible(m: dict[str, Any]) -> None:
    need = max(14.0, 0.05 * min(m["mediaW"], m["mediaH"]))
    assert m["fontSize"] >= need - 0.01, m
    assert m["lineHeight"] >= need - 0.01, m
    assert "rgba" not in m["background"] or m["background"].endswith(", 1)"), "label background must be opaque"
    assert contrast(m["color"], m["background"]) >= 4.5, m


def deep_focus(page: Page) -> str:
    """The focused element, looking into shadow roots: tag, class and, for buttons, their text."""
    return str(page.evaluate("""() => { let a = document.activeElement;
        const rootOf = (el) => el.shadowRoot || (window.__roots && window.__roots.get(el));
        while (a && rootOf(a) && rootOf(a).activeElement) a = rootOf(a).activeElement;
        if (!a) return '';
        return a.tagName.toLowerCase() + (a.className ? '.' + a.className : '')
          + (a.tagName === 'BUTTON' ? '|' + a.textContent : ''); }"""))
