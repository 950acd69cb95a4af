"""The domain's words have one source (backend/vocabulary.py): the player plugin's constants and the
label texts are checked against it, so a state or category added on one side fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path

from backend import vocabulary_ts
from backend.vocabulary import LabelState, ReportCategory, Tier, Verdict

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_SRC = ROOT / "player_plugin" / "src"


def _ts_constants(source: str) -> dict[str, list[str]]:
    """`export const NAME = ["a", "b"] as const;` blocks of a TypeScript file, by name."""
    found = {}
    for name, body in re.findall(r"export const (\w+) = \[(.*?)\] as const;", source, re.S):
        found[name] = re.findall(r'"([^"\\]*)"', body)
    return found


def test_the_plugin_constants_are_the_backend_enums() -> None:
    ts = (PLUGIN_SRC / "vocabulary.ts").read_text(encoding="utf-8")
    constants = _ts_constants(ts)
    for const, _type_name, enum, _doc in vocabulary_ts.EXPORTS:
        assert constants.get(const) == [m.value for m in enum], (
            f"player_plugin/src/vocabulary.ts {const} differs from {enum.__name__}: "
            "run .venv/bin/python -m backend.vocabulary_ts")
    assert ts == vocabulary_ts.render(), "vocabulary.ts was edited by hand: run python -m backend.vocabulary_ts"


def test_the_plugin_takes_states_and_categories_from_the_generated_file() -> None:
    """No second copy: the label document type and the report form's list come from vocabulary.ts."""
    api = (PLUGIN_SRC / "api.ts").read_text(encoding="utf-8")
    i18n = (PLUGIN_SRC / "i18n.ts").read_text(encoding="utf-8")
    assert 'from "./vocabulary"' in api and 'from "./vocabulary"' in i18n
    for path in PLUGIN_SRC.glob("*.ts"):
        if path.name == "vocabulary.ts":
            continue
        source = path.read_text(encoding="utf-8")
        # A category spelled as a string literal elsewhere would be a list kept by hand.
        spelled = [c.value for c in ReportCategory if f'"{c.value}"' in source]
        assert not spelled, f"{path.name} spells report categories {spelled}; import them from ./vocabulary"


def test_every_label_state_has_its_texts_and_no_text_names_an_unknown_state() -> None:
    texts = json.loads((ROOT / "manifests" / "labels.json").read_text(encoding="utf-8"))
    states = set(texts) - {"burned_in", "tiers"}  # the burned-in text and the tiers' words are not states
    assert set(texts["tiers"]) == {t.value for t in Tier} | {"ai_enhanced"}
    # A verify answer shows an untrusted signature as it is, so that verdict has a text too.
    assert states == {s.value for s in LabelState} | {Verdict.SIGNED_UNTRUSTED.value}
