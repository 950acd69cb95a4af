"""Loads the data files under `manifests/`: label texts, the manifest template, source types."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFESTS_DIR = Path(__file__).resolve().parent.parent / "manifests"


@dataclass(frozen=True)
class ManifestData:
    labels: dict[str, Any]
    template: dict[str, Any]
    source_types: dict[str, Any]
    gb45438: dict[str, Any]

    @classmethod
    def load(cls, directory: Path = MANIFESTS_DIR) -> ManifestData:
        def read(name: str) -> dict[str, Any]:
            data: dict[str, Any] = json.loads((directory / name).read_text(encoding="utf-8"))
            return data

        return cls(read("labels.json"), read("manifest.json"), read("source_types.json"), read("gb45438.json"))

    def display(self, state: str) -> dict[str, str] | None:
        value = self.labels.get(state)
        return dict(value) if isinstance(value, dict) else None

    def fresh_template(self) -> dict[str, Any]:
        return copy.deepcopy(self.template)

    def source_uri(self, name: str) -> str:
        return str(self.source_types[name]["uri"])

    def is_synthetic_uri(self, uri: str | None) -> bool:
        kinds = [v for v in self.source_types.values() if isinstance(v, dict)]
        return any(v.get("uri") == uri and v.get("synthetic") for v in kinds)

    @property
    def signable(self) -> list[str]:
        return list(self.source_types["signable"])
