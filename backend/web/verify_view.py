"""What /verify/{id} shows beyond the label document: the provenance chain read from the stored file's
manifest (its actions and ingredients), the evidence behind the tier, and the detectors' model-card
figures (the `held_out` / `heldout` blocks of detectors/models/*.json, read as data files).

Everything returned is plain strings and numbers for the template, which escapes them; manifests are
hostile input, so every value is cut to a bounded length and list lengths are bounded too."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from backend.verification.provenance import ProvenanceReader

MAX_TEXT = 300
MAX_ITEMS = 20


def text(value: object) -> str | None:
    if value is None or value == "":
        return None
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return shown[:MAX_TEXT]


MAX_DEPTH = 8  # manifests followed back through parentOf ingredients


def _ingredient_check(item: dict[str, Any]) -> str | None:
    """What c2pa found of an ingredient's own manifest when it was added: "valid", or its failure codes."""
    if not item.get("active_manifest"):
        return None
    results = item.get("validation_results")
    if isinstance(results, dict):
        failures = (results.get("activeManifest") or {}).get("failure") or []
    else:  # the older ingredient form: a flat list of the failures only
        failures = item.get("validation_status") if isinstance(item.get("validation_status"), list) else []
    codes = sorted({str(f.get("code")) for f in failures if isinstance(f, dict) and f.get("code")})
    if codes == ["signingCredential.untrusted"]:
        return "untrusted"  # intact and validly signed, by an issuer not on this service's trust list
    return "valid" if not codes else text(", ".join(codes[:MAX_ITEMS]))


def _summary(manifest: dict[str, Any]) -> dict[str, Any]:
    """One manifest's signer, time, actions and ingredients, as bounded strings."""
    actions: list[dict[str, str | None]] = []
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, dict) or not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in ((assertion.get("data") or {}).get("actions") or [])[:MAX_ITEMS]:
            if isinstance(action, dict):
                agent = action.get("softwareAgent")
                actions.append({"action": text(action.get("action")),
                                "agent": text(agent.get("name") if isinstance(agent, dict) else agent),
                                "source_type": text(str(action.get("digitalSourceType") or "").rsplit("/", 1)[-1])})
    ingredients = []
    for item in (manifest.get("ingredients") or [])[:MAX_ITEMS]:
        if isinstance(item, dict):
            ingredients.append({"title": text(item.get("title")), "format": text(item.get("format")),
                                "relationship": text(item.get("relationship")),
                                "manifest": text(item.get("active_manifest")), "check": _ingredient_check(item)})
    sig = manifest.get("signature_info") or {}
    sig = sig if isinstance(sig, dict) else {}
    return {"label": text(manifest.get("label")), "title": text(manifest.get("title")),
            "issuer": text(sig.get("issuer")), "signed_at": text(sig.get("time")),
            "actions": actions[:MAX_ITEMS], "ingredients": ingredients}


def chain(reader: ProvenanceReader, path: Path, mime: str) -> dict[str, Any] | None:
    """The active manifest (actions and ingredients) and, as `earlier`, the manifests before it: each
    parentOf ingredient's own manifest, followed back through the store. None without a readable store."""
    store = reader.read_store(path, mime)
    if store is None:
        manifest = reader.read(path, mime).manifest
        return {**_summary(manifest), "earlier": []} if manifest else None
    manifests: dict[str, Any] = store["manifests"]
    active = manifests.get(str(store.get("active_manifest")))
    if not isinstance(active, dict):
        return None
    head = _summary(active)
    earlier: list[dict[str, Any]] = []
    seen = {str(store.get("active_manifest"))}
    current = active
    while len(earlier) < MAX_DEPTH:
        parents = [i for i in (current.get("ingredients") or []) if isinstance(i, dict)
                   and i.get("relationship") == "parentOf" and str(i.get("active_manifest")) in manifests]
        if not parents:
            break
        label = str(parents[0]["active_manifest"])
        if label in seen:  # a store that loops back on itself
            break
        seen.add(label)
        current = manifests[label]
        if not isinstance(current, dict):
            break
        earlier.append({**_summary(current), "check": _ingredient_check(parents[0])})
    return {**head, "earlier": earlier}


def _interval(point: object, ci: object) -> str | None:
    """`0.938 (0.928–0.950)` from a point and an interval, or a [point, low, high] triple."""
    if isinstance(point, list) and len(point) == 3 and ci is None:
        triple: list[object] = point
        point, ci = triple[0], triple[1:]
    if not isinstance(point, (int, float)):
        return None
    if isinstance(ci, list) and len(ci) == 2 and all(isinstance(v, (int, float)) for v in ci):
        return f"{point:.3f} ({ci[0]:.3f}–{ci[1]:.3f})"
    return f"{point:.3f}"


def _figures(meta: dict[str, Any]) -> dict[str, Any]:
    held = meta.get("held_out") or meta.get("heldout") or {}
    if not isinstance(held, dict):
        return {}
    figures = held.get("figures")
    if isinstance(figures, list) and figures and isinstance(figures[0], dict):
        first = figures[0]
        viewer = next((t for t in first.get("at_thresholds") or [] if isinstance(t, dict)
                       and t.get("name") == "viewer"), {})
        return {"measured_on": text(first.get("comparison")), "n_real": first.get("n_real"),
                "n_synthetic": first.get("n_synthetic"), "auc": _interval(first.get("roc_auc"), None),
                "fpr": _interval(viewer.get("fpr") or held.get("viewer_threshold_fpr"), None)}
    comparisons = held.get("comparisons") or {}
    name = next(iter(comparisons), None) if isinstance(comparisons, dict) else None
    return {"measured_on": text(name), "n_real": held.get("n_real"), "n_synthetic": held.get("n_synthetic"),
            "auc": _interval(held.get("roc_auc"), held.get("roc_auc_ci95")),
            "fpr": _interval(held.get("fpr_at_viewer"), held.get("fpr_at_viewer_ci95"))}


@functools.cache
def model_cards(models_dir: Path) -> tuple[dict[str, Any], ...]:
    """Each shipped model's card figures, read once per process."""
    cards = []
    for path in sorted(models_dir.glob("*.json")):
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict) or "version" not in meta or "threshold" not in meta:
            continue
        card = meta.get("card") or f"{path.stem}.md"
        cards.append({"name": path.stem, "version": text(meta.get("version")),
                      "viewer_facing": meta.get("viewer_facing") is True,
                      "viewer_threshold": meta.get("viewer_threshold", meta.get("threshold")),
                      "review_threshold": meta.get("review_threshold", meta.get("threshold")),
                      "card": f"detectors/models/{card}", **_figures(meta)})
    return tuple(cards)


def model_signals(answer: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The model scores of a stored analysis of these bytes (a queued verify), if there is one."""
    detection = (answer or {}).get("detection") or {}
    out = []
    for signal in (detection.get("signals") or [])[:MAX_ITEMS]:
        if isinstance(signal, dict) and signal.get("kind") == "model" and isinstance(signal.get("score"), (int, float)):
            out.append({"detector": text(signal.get("detector")), "score": f"{signal['score']:.3f}"})
    return out
