"""GET /verify/{content_id}: a human-readable verification page linked from the plugin's details panel.

Every value comes from the registry or a manifest, so every value is escaped; the page carries no script.
"""

from __future__ import annotations

import html
import json

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'"
STATE_TEXT = {
    "signed_synthetic": "Signed: AI-generated content · 已签名：本内容由人工智能生成",
    "signed_not_synthetic": "Signed content credentials · 内容来源已验证",
    "pending_label": "Transmission paused until labelled · 该内容待标识，暂停传播",
    "blocked": "This content has been removed · 该内容已停止传播",
    "refuted": "This content has been refuted · 该内容已被辟谣",
}


def _row(name: str, value: object) -> str:
    shown = "—" if value in (None, "") else str(value)
    return f"<tr><th scope=row>{html.escape(name)}</th><td>{html.escape(shown)}</td></tr>"


async def verify_page(request: Request) -> Response:
    services = request.app.state.services
    content_id = request.path_params["content_id"][:64]
    body = await services.labels.get(content_id)
    headers = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}
    if body is None:
        page = f"<h1>Unknown content</h1><p>No registered content has the id {html.escape(content_id)}.</p>"
        return HTMLResponse(_layout("Unknown content", page), status_code=404, headers=headers)
    doc = json.loads(body)
    state = str(doc.get("state"))
    rows = [
        _row("Content id", doc.get("content_id")),
        _row("State", STATE_TEXT.get(state, state)),
        _row("Issuer", doc.get("issuer")),
        _row("Publisher", doc.get("publisher")),
        _row("Generator", doc.get("generator")),
        _row("Digital source type", doc.get("digital_source_type")),
        _row("Signed at", doc.get("signed_at")),
        _row("Signature", doc.get("signature")),
        _row("Updated at", doc.get("updated_at")),
    ]
    refutation = doc.get("refutation") or {}
    if refutation:
        rows.append(_row("Refutation", f"{refutation.get('zh', '')} / {refutation.get('en', '')}"))
        rows.append(_row("Correction", refutation.get("url")))
    block = doc.get("block") or {}
    if block:
        rows.append(_row("Notice", f"{block.get('zh', '')} / {block.get('en', '')}"))
        rows.append(_row("Reason", block.get("reason")))
    page = (
        f"<h1>Content credentials · 内容凭证</h1><table>{''.join(rows)}</table>"
        "<p>Check a file yourself: <code>POST /v1/verify</code> with the file, or "
        "<code>avlabel verify FILE</code>.</p>"
    )
    return HTMLResponse(_layout("Content credentials", page), headers=headers)


def _layout(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=zh><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)} · avlabel</title><style>"
        "body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#111}"
        "th{text-align:left;padding:.3rem 1rem .3rem 0;vertical-align:top;white-space:nowrap}"
        "td{word-break:break-word}</style></head>"
        f"<body>{body}</body></html>"
    )


def routes() -> list[Route]:
    return [Route("/verify/{content_id}", verify_page, methods=["GET"])]
