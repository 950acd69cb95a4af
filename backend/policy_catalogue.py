"""The policy catalogue: the rules a decision may cite in its statement of reasons.

Each rule is one of the Provisions' articles (the Labelling Measures, the Deep Synthesis Provisions) or a
clause of the platform's own terms, with its ground (`illegal`: a law; `incompatible`: the terms), the DSA
Transparency Database category it reports under, and the report categories it is the default for. The
file is `manifests/policy_catalogue.json`; a deployment points `AVLABEL_POLICY_CATALOGUE` at its own.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.domain_errors import InvalidInput
from backend.manifest_data import MANIFESTS_DIR

DEFAULT_PATH = MANIFESTS_DIR / "policy_catalogue.json"
GROUNDS = ("illegal", "incompatible")
SOURCES = ("provisions", "terms")


@dataclass(frozen=True)
class Rule:
    id: str
    source: str
    article: str
    title: dict[str, str]
    ground: str
    dsa_category: str
    url: str
    default_for: tuple[str, ...]

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "article": self.article, "title": self.title,
                "ground": self.ground, "url": self.url}


@dataclass(frozen=True)
class Catalogue:
    rules: dict[str, Rule]

    def rule_for(self, rule_id: str | None, category: str) -> Rule:
        """The cited rule, or the category's default when none is cited; an unknown id is a 400."""
        if rule_id:
            rule = self.rules.get(rule_id)
            if rule is None:
                raise InvalidInput("unknown_rule", f"`rule` must be one of {', '.join(self.rules)}")
            return rule
        for rule in self.rules.values():
            if category in rule.default_for:
                return rule
        return next(iter(self.rules.values()))


def parse(data: Any) -> Catalogue:
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list) or not data["rules"]:
        raise ValueError("a policy catalogue is {\"rules\": [ … ]} with at least one rule")
    rules: dict[str, Rule] = {}
    for raw in data["rules"]:
        rule = Rule(id=str(raw["id"]), source=str(raw["source"]), article=str(raw["article"]),
                    title={k: str(v) for k, v in dict(raw["title"]).items()}, ground=str(raw["ground"]),
                    dsa_category=str(raw["dsa_category"]), url=str(raw.get("url", "")),
                    default_for=tuple(str(c) for c in raw.get("default_for", [])))
        if rule.ground not in GROUNDS or rule.source not in SOURCES or rule.id in rules:
            raise ValueError(f"policy rule {rule.id!r}: ground must be one of {GROUNDS}, source one of {SOURCES}, "
                             "ids unique")
        rules[rule.id] = rule
    return Catalogue(rules)


@functools.cache
def load(path: Path = DEFAULT_PATH) -> Catalogue:
    return parse(json.loads(Path(path).read_text(encoding="utf-8")))
