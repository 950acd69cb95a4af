"""Request bodies: multipart uploads (the `file` part spooled to disk and checked, the other fields as text)
and JSON objects."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from python_multipart.exceptions import ParseError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request

from backend.domain_errors import BadMedia
from backend.errors import ApiError


async def read_form(request: Request, dest: Path, max_fields: int = 20) -> tuple[Path | None, dict[str, str]]:
    """Save the `file` part under `dest`; return its path and the text fields."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise ApiError(415, "unsupported_content_type", "send multipart/form-data with a `file` part")
    try:
        form = await request.form(max_files=1, max_fields=max_fields, max_part_size=64 * 1024)
    except (ParseError, MultiPartException, ValueError, KeyError) as exc:
        raise ApiError(400, "malformed_multipart", f"the multipart body cannot be parsed: {exc}") from exc
    except ClientDisconnect as exc:
        raise ApiError(400, "client_disconnected", "the upload was interrupted") from exc
    fields: dict[str, str] = {}
    saved: Path | None = None
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key != "file":
                    raise ApiError(400, "unexpected_file", f"unexpected file part {key!r}; use `file`")
                saved = dest / "upload"
                with saved.open("wb") as out:
                    await value.seek(0)
                    shutil.copyfileobj(value.file, out, 1 << 20)
            else:
                fields[key] = value
    except OSError as exc:
        raise BadMedia("bad_upload", "the upload could not be stored") from exc
    finally:
        await form.close()
    return saved, fields


def flag(fields: dict[str, str], name: str) -> bool | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ApiError(400, f"invalid_{name}", f"{name} must be true or false")


async def read_json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; 400 `invalid_json` for anything else."""
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    return body
