"""A case's media that is not in the registry, made a registry entry (`origin=reported`) when a moderator
decides the case, so labels, pauses, blocks and refutations reach players (by URL) and uploads, signings
and verifications (by hash).

When a reporter attached the file (evidence.py), the entry points at that evidence file as its
`stored_path` and takes its sniffed type: the console previews it and a block or refutation fingerprints
it. It is never served publicly: `/media/` and the verify page's thumbnail only read `<data>/media/`.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from backend import audit, registry, registry_urls
from backend.domain_errors import Conflict, InvalidInput
from backend.evidence import Evidence, path_of
from backend.store.schema import cases, reports
from backend.vocabulary import ContentOrigin, Signature


def attached(conn: Connection, case_id: str, sha256: str | None,
             data_dir: Path | None) -> tuple[Evidence, Path] | None:
    """The first file a reporter of this case attached whose hash is the case's, if it is still stored."""
    if not sha256 or data_dir is None:
        return None
    rows = conn.execute(select(reports.c.details).where(reports.c.case_id == case_id, reports.c.sha256 == sha256)
                        .order_by(reports.c.created_at))
    for (details,) in rows:
        found = Evidence.from_details((details or {}).get("evidence"))
        if found is not None and found.sha256 == sha256:
            path = path_of(data_dir, found.name)
            if path is not None:
                return found, path
    return None


def report_file(conn: Connection, case_id: str, report_id: str,
                data_dir: Path) -> tuple[Evidence, Path] | None:
    """The file attached to this report of this case, if there is one and it is still stored."""
    details = conn.execute(select(reports.c.details).where(reports.c.id == report_id,
                                                           reports.c.case_id == case_id)).scalar()
    found = Evidence.from_details((details or {}).get("evidence"))
    path = path_of(data_dir, found.name) if found is not None else None
    return (found, path) if found is not None and path is not None else None


def register(conn: Connection, row: Any, actor: str, now: dt.datetime, data_dir: Path | None = None
             ) -> registry.Content:
    """The case's media as a registry entry: its hash and/or its URL, and the reporter's file when there is
    one. The case now names it."""
    urls: list[registry_urls.HostingUrl] = []
    if row.media_url and str(row.media_url).startswith(("http://", "https://")):
        try:
            urls = registry_urls.parse_all([row.media_url])
        except InvalidInput:
            urls = []
    if not row.sha256 and not urls:
        raise Conflict("no_media_reference",
                       "this case names no media hash or absolute URL to act on; only `dismiss` or account "
                       "actions apply")
    content_id = registry.new_content_id()
    kept = attached(conn, row.id, row.sha256, data_dir)
    mime = kept[0].mime if kept else mimetypes.guess_type(str(row.media_url or ""))[0] or "application/octet-stream"
    registry.insert(conn, registry.NewContent(
        content_id=content_id, sha256=row.sha256 or "", input_sha256=None, publisher_id=None,
        publisher_name="unknown (reported media)", generator="unknown", source_type="", manifest_label=None,
        mime=mime[:100], title=None, issuer=None, key_id=None, stored_path=str(kept[1]) if kept else None,
        signature=Signature.NONE, synthetic=False, tier=None, origin=ContentOrigin.REPORTED,
        evidence={"source": "report", "case_id": row.id, "media_url": row.media_url}), now)
    registry_urls.register(conn, content_id, None, urls, now)
    conn.execute(cases.update().where(cases.c.id == row.id).values(content_id=content_id))
    audit.append(conn, actor, "content.registered_from_case", content_id,
                 {"case_id": row.id, "sha256": row.sha256, "media_url": row.media_url,
                  "reporter_file": kept[0].details() if kept else None})
    found = registry.by_id(conn, content_id)
    assert found is not None
    return found
