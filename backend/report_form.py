"""A report sent as multipart/form-data (with the reporter's file): its text fields as the JSON body
`reports.parse` checks, so both forms of `POST /v1/reports` obey the same rules."""

from __future__ import annotations

import json
import math
from typing import Any

from backend.domain_errors import InvalidInput

TEXT_FIELDS = ("category", "description", "content_id", "media_url", "sha256", "contact")
JSON_FIELDS = ("time_range", "items")  # structured fields travel as JSON text


def body(fields: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {name: fields[name] for name in TEXT_FIELDS if fields.get(name, "") != ""}
    good_faith = fields.get("good_faith", "").strip().lower()
    out["good_faith"] = good_faith in ("1", "true", "yes", "on")
    playback = fields.get("playback_time", "").strip()
    if playback:
        try:
            value = float(playback)
        except ValueError:
            value = math.nan
        out["playback_time"] = value  # reports.parse refuses what is not finite or out of range
    for name in JSON_FIELDS:
        raw = fields.get(name, "").strip()
        if not raw:
            continue
        try:
            out[name] = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput(f"invalid_{name}", f"`{name}` must be JSON text in a multipart report") from exc
    return out
